"""Image data for the probing and optimizer studies, with an honest offline fallback.

:func:`load_image_split` returns a train/test pair and says where it came from:

1. full MNIST (train and test IDX files) from ``data_dir``, the cache, or a verified download;
2. else, when only the 10,000-image MNIST *test* set is at hand (as on machines that ship it
   for testing), those genuine images split 8,000 / 2,000, stratified, with a fixed seed;
3. else scikit-learn's bundled 8x8 digits, split 80 / 20.

Every substitution is recorded in ``notes`` so reports can say what was really used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tinylens.data.dataset import Dataset
from tinylens.data.digits import digits
from tinylens.data.mnist import MnistChecksumError, load_mnist
from tinylens.errors import DataError, UnknownNameError

__all__ = ["IMAGE_DATASETS", "ImageSplit", "load_image_split"]

IMAGE_DATASETS = ("mnist", "digits")


@dataclass
class ImageSplit:
    """``train`` and ``test`` datasets; ``source`` names what was used; ``notes`` say why."""

    train: Dataset
    test: Dataset
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) of the images: (28, 28) for MNIST, (8, 8) for digits."""
        assert self.train.image_shape is not None  # both image datasets carry it
        return self.train.image_shape


def load_image_split(
    dataset: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    download: bool = True,
    fallback: bool = True,
    test_size: int = 2000,
) -> ImageSplit:
    """Load ``"mnist"`` or ``"digits"`` as a train/test split.

    Parameters
    ----------
    dataset : {"mnist", "digits"}
    data_dir : path, optional
        A directory holding MNIST IDX files (gzip or raw).
    seed : int
        Seeds the stratified splits of the substitutes.
    download : bool
        Try the standard mirrors (md5-verified) when the files are not local.
    fallback : bool
        Substitute as described in the module docstring instead of raising ``DataError`` when
        files are missing (a corrupt file, :class:`MnistChecksumError`, is always raised).
    test_size : int
        Test images when the MNIST test set is split (2,000 of its 10,000).
    """
    if dataset not in IMAGE_DATASETS:
        raise UnknownNameError("image dataset", dataset, IMAGE_DATASETS)
    notes: list[str] = []
    if dataset == "mnist":
        try:
            train = load_mnist(data_dir, split="train", download=download)
            test = load_mnist(data_dir, split="test", download=download)
            return ImageSplit(train, test, "mnist")
        except MnistChecksumError:
            raise  # a corrupt local file is the user's to fix, not a reason to use other data
        except DataError as exc:
            if not fallback:
                raise
            missing_train = str(exc)
        try:
            full_test = load_mnist(data_dir, split="test", download=False)
        except MnistChecksumError:
            raise
        except DataError:
            full_test = None
        if full_test is not None:
            train, test = full_test.split(test_size=test_size, rng=seed)
            notes.append(
                f"MNIST training files unavailable ({missing_train}); using the {full_test.n} "
                f"genuine MNIST test images split {train.n} / {test.n} (stratified, seed {seed})."
            )
            return ImageSplit(train, test, "mnist-test-split", notes)
        notes.append(
            f"MNIST unavailable ({missing_train}); using scikit-learn's bundled 8x8 digits "
            "instead (64 inputs, not 784)."
        )
    data = digits()
    train, test = data.split(0.2, rng=seed)
    return ImageSplit(train, test, "digits", notes)
