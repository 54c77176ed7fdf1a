"""The optimizer study's data: images (MNIST, digits), the spiral or the sine, split once."""

from __future__ import annotations

from dataclasses import dataclass

from tinylens.data import Dataset, load_image_split, sine, spiral
from tinylens.studies.optimizers.config import OptimizerStudyConfig

__all__ = ["StudyData", "load_study_data"]


@dataclass
class StudyData:
    """The train and test sets of a study, and what was really used (``source``, ``notes``)."""

    train: Dataset
    test: Dataset
    source: str
    notes: list[str]
    sizes: list[int]

    @property
    def task(self) -> str:
        return self.train.task


def load_study_data(config: OptimizerStudyConfig) -> StudyData:
    """The data and the network widths of ``config`` (images via ``load_image_split``)."""
    c = config
    notes: list[str] = []
    if c.dataset in ("mnist", "digits"):
        split = load_image_split(
            c.dataset, c.data_dir, seed=c.seed, download=c.download, test_size=c.mnist_test_size
        )
        train, test, source = split.train, split.test, split.source
        notes += split.notes
        size = c.digits_train_size if c.dataset == "digits" else c.mnist_train_size
        if size is not None and size < train.n:
            train, _ = train.split(test_size=train.n - size, rng=c.seed)
            notes.append(f"Trained on a stratified subset of {train.n} training images.")
    elif c.dataset == "spiral":
        data = spiral(
            c.spiral_points * c.spiral_classes, c.spiral_classes, c.spiral_noise, rng=c.seed
        )
        train, test = data.split(c.test_fraction, rng=c.seed)
        source = "spiral"
    else:
        data = sine(c.sine_points, c.sine_noise, rng=c.seed)
        train, test = data.split(c.test_fraction, rng=c.seed)
        source = "sine"
        notes.append(
            f"Sine regression: a 1-{'-'.join(map(str, c.hidden or ()))}-1 {c.activation} MLP "
            "(a smooth activation for a smooth target), mean squared error; accuracy is not "
            "defined, so the tables report test MSE."
        )
    sizes = [train.n_features, *(c.hidden or ()), train.n_outputs]
    return StudyData(train, test, source, notes, sizes)
