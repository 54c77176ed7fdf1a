"""The settings of the MNIST probing study (``tinylens mnist``): data, the MLP's hidden widths and
initialisation, its training (one nested :class:`~tinylens.training.TrainConfig`), its
variants, the CNN track, and what the analyses measure.

The defaults are those of eriktholmes/interpreting_mnist (the project whose notebooks this study
retells): a 784-32-16-10 ReLU MLP, SGD at lr 0.01, batch 64, 20 epochs, seed 31416, inputs in
[0, 1]. Two of ours: the initialisation (``auto``: He for ReLU layers; that project used
PyTorch's ``nn.Linear`` default, ``init="torch"``) and lr 0.1 on the 8x8 digits fallback.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys
from tinylens.training import TrainConfig

__all__ = [
    "ANALYSES",
    "DROPOUT_P",
    "EMBEDDING_METHODS",
    "SOURCE",
    "SOURCE_TEST_ACCURACY",
    "VARIANTS",
    "VARIANT_ALIASES",
    "AnalysisConfig",
    "MnistStudyConfig",
    "names_of",
    "positive_ints",
]

ANALYSES = (
    "gradients",
    "ablation",
    "scaling",
    "embeddings",
    "subspaces",
    "perturbation",
    "saliency",
    "pruning",
)
"""Analyses that can be switched off. Per-unit statistics, dead units and their lifecycle,
selectivity, drift and the confusion matrix always run (they cost almost nothing: the
statistics are gathered during training)."""

EMBEDDING_METHODS = ("pca", "tsne", "umap")


def names_of(what: str, value: Any, known: Sequence[str], aliases: Mapping[str, str]) -> tuple:
    """A tuple of known names from a list or a comma-separated string (``all``: every one)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    items: list[str] = []
    for v in value:
        if v == "all":
            items += list(known)
        elif v in ("none", ""):
            continue
        else:
            v = aliases.get(v, v)
            if v not in known:
                raise UnknownNameError(what, v, [*known, *aliases, "all"])
            items.append(v)
    return tuple(dict.fromkeys(items))


def positive_ints(name: str, value: Any, *, allow_empty: bool = False) -> tuple[int, ...]:
    if isinstance(value, int):
        value = (value,)
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of positive integers, not {value!r}") from None
    if (not out and not allow_empty) or any(v < 1 for v in out):
        raise ConfigError(f"{name} must be positive integers, got {list(out)}")
    return out


@dataclass(frozen=True)
class AnalysisConfig:
    """How much :func:`analyse_model` does, and on how many samples.

    Parameters
    ----------
    analyses : tuple of str
        From :data:`ANALYSES` (``"all"`` or a subset).
    embeddings : tuple of {"pca", "tsne", "umap"}
        Embedding methods (t-SNE and UMAP take seconds per thousand points).
    embedding_samples : int
        Test images embedded (a random subsample). 500 by default (our choice, issue 18: t-SNE
        of 1,000 points was a third of ``tinylens mnist --variant raw``; 500 take about half
        the time: 14-15 s against 28-32 s, one thread, loaded machine).
    tsne_samples : int
        t-SNE and UMAP embed a random subset of at most this many of those (PCA and the
        full-space silhouettes use all of them). Our choice: 200 (issue 18: t-SNE was the
        largest analysis of ``tinylens mnist --variant raw``).
    top_k : int
        Top units listed per class.
    scales : tuple of float
        Factors of the scaling sweep.
    subspace_k, subspace_random, subspace_samples : int
        Selective subspaces: each class's top-k units against ``subspace_random`` random
        k-subsets of the live units, on a subsample of test images.
    prune_ks : tuple of int
        Pruning keeps each class's top-k selective units for each k.
    prune_random : int
        Random keep-sets per k (the control).
    saliency_samples : int
        Test images averaged per saliency map (per class for the class maps).
    seed : int
        Seeds every random subsample and control.
    """

    analyses: tuple[str, ...] = ANALYSES
    embeddings: tuple[str, ...] = ("pca", "tsne")
    embedding_samples: int = 500
    tsne_samples: int = 200
    top_k: int = 3
    scales: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    subspace_k: int = 3
    subspace_random: int = 20
    subspace_samples: int = 300
    prune_ks: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    prune_random: int = 10
    saliency_samples: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "analyses", names_of("analysis", self.analyses, ANALYSES, {}))
        set_(
            self,
            "embeddings",
            names_of("embedding method", self.embeddings, EMBEDDING_METHODS, {}),
        )
        set_(self, "prune_ks", positive_ints("prune_ks", self.prune_ks, allow_empty=True))
        for name in (
            "embedding_samples",
            "tsne_samples",
            "top_k",
            "subspace_k",
            "subspace_samples",
        ):
            positive_ints(name, getattr(self, name))
        positive_ints("saliency_samples", self.saliency_samples)
        for name in ("subspace_random", "prune_random", "seed"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
        try:
            scales = tuple(float(s) for s in self.scales)
        except (TypeError, ValueError):
            raise ConfigError(f"scales must be numbers, not {self.scales!r}") from None
        if not all(math.isfinite(s) for s in scales):
            raise ConfigError(f"scales must be finite numbers, got {list(scales)}")
        set_(self, "scales", scales)

    def replace(self, **changes: Any) -> AnalysisConfig:
        return dataclasses.replace(self, **changes)


SOURCE = "eriktholmes/interpreting_mnist"
"""The MNIST probing project this study reproduces."""

SOURCE_TEST_ACCURACY = 0.948
"""What eriktholmes/interpreting_mnist reports for its default setup on full MNIST (60,000
training images, the official 10,000 test images)."""

VARIANTS: dict[str, str] = {
    "raw": "Linear-ReLU per hidden layer; inputs in [0, 1] (the source's setup)",
    "normalized": "as raw, on normalized inputs (x - mean) / std",
    "layernorm_pre": "Linear-LayerNorm-ReLU per hidden layer (LayerNorm before the ReLU)",
    "layernorm_post": "Linear-ReLU-LayerNorm per hidden layer (LayerNorm after the ReLU)",
    "dropout": "as raw, with Dropout(0.2) after the first hidden layer's ReLU",
    "best": (
        "the source's best: layer 1 Linear-ReLU-LayerNorm-Dropout(0.2), "
        "later layers Linear-LayerNorm-ReLU"
    ),
}
"""The MLP variants. ``layernorm`` is an alias of ``layernorm_pre`` (LayerNorm between the
linear layer and its ReLU, the usual pre-activation placement); ``all`` runs every one."""

VARIANT_ALIASES = {"layernorm": "layernorm_pre"}

DROPOUT_P = 0.2

STUDY_TRAINING = TrainConfig(epochs=20, batch_size=64, optimizer="sgd", snapshot_every=1)
"""The source's SGD, batch 64, 20 epochs; a weight snapshot every epoch (the drift analysis).
``lr`` None: 0.01 on MNIST (the source's), 0.1 on digits (ours, see :meth:`resolved_lr`)."""

_TRAIN_ALIASES = ("epochs", "batch_size", "lr")


@dataclass(frozen=True)
class MnistStudyConfig:
    """What ``tinylens mnist`` runs. The defaults are the source's setup.

    Parameters
    ----------
    dataset : {"mnist", "digits"}
        ``mnist`` is full MNIST (60,000 / 10,000) when found; else it falls back (with a note)
        to the 10,000 MNIST test images split 8,000 / 2,000 (not comparable to the source's
        94.80%), then to scikit-learn's 8x8 digits (a 64-32-16-10 model); see
        :func:`tinylens.data.load_image_split`.
    data_dir : str, optional
        A directory with the MNIST IDX files.
    download : bool
        Fetch MNIST from the standard mirrors (md5-checked) when it is not local.
    hidden : tuple of int
        Hidden widths (32, 16).
    train : TrainConfig
        How every model trains: SGD, batch 64, 20 epochs, a snapshot every epoch. ``lr`` None
        is the source's 0.01 on MNIST and 0.1 on digits (its 1,438 training images give 23
        steps an epoch: at 0.01, 20 epochs reach about 37%). ``epochs``, ``batch_size`` and
        ``lr`` are also accepted as keywords (the CLI's spellings) and go into ``train``.
    init : str
        Weight initialisation (:data:`tinylens.engine.init.INITS`). ``auto`` (default, ours):
        He for ReLU layers, Glorot for the output layer. ``torch``: PyTorch's ``nn.Linear``
        default, what the source used (weights kaiming_uniform(a=sqrt 5), i.e. uniform
        +-1/sqrt(fan_in), and biases uniform +-1/sqrt(fan_in)). ``he``: He for every layer.
    seed : int
        Seeds the split, the initial weights, the shuffling and every random subsample. Every
        variant starts from the same linear weights and sees the same minibatches.
    variants : tuple of str
        From :data:`VARIANTS` (``layernorm`` = ``layernorm_pre``; ``all``: every one). The
        first gets every analysis; the others are trained and compared (dead units,
        selectivity, accuracy, ablations, subspace embeddings).
    cnn : bool
        Also train :func:`tinylens.engine.small_cnn` with ``cnn_channels`` and analyse it per
        channel.
    cnn_channels : tuple of int
    cnn_epochs : int, optional
        Epochs of the CNN (default: ``train.epochs``).
    stats_every : int
        Statistics pass every k epochs (and before training).
    histogram_samples, histogram_bins : int
        Activation histograms per layer over training: a forward pass of this many training
        images (a fixed random subsample) through every epoch's weights, counted in this many
        bins per layer (our choice: 2,000 images, 40 bins).
    analyses, embeddings, embedding_samples, tsne_samples, top_k, scales, subspace_k,
    subspace_random, subspace_samples, prune_ks, prune_random, saliency_samples :
        What :func:`~tinylens.studies.mnist.analyse_model` does, and on how many samples: see
        :class:`~tinylens.studies.mnist.AnalysisConfig` (``seed`` seeds it too).
    feature_map_inputs : int
        CNN feature maps are drawn for the first test image of classes 0, 1, ...
    train_size : int, optional
        Train on a stratified subset of this many images.
    test_size : int
        Test images when the MNIST test set is split (2,000 of 10,000).
    """

    dataset: str = "mnist"
    data_dir: str | None = None
    download: bool = True
    hidden: tuple[int, ...] = (32, 16)
    train: TrainConfig = field(default_factory=lambda: STUDY_TRAINING)
    init: str = "auto"
    seed: int = 31416
    variants: tuple[str, ...] = ("raw",)
    cnn: bool = False
    cnn_channels: tuple[int, ...] = (8, 16)
    cnn_epochs: int | None = None
    stats_every: int = 1
    histogram_samples: int = 2000
    histogram_bins: int = 40
    # The analysis settings default to AnalysisConfig's own, so the two cannot drift apart.
    analyses: tuple[str, ...] = AnalysisConfig.analyses
    embeddings: tuple[str, ...] = AnalysisConfig.embeddings
    embedding_samples: int = AnalysisConfig.embedding_samples
    tsne_samples: int = AnalysisConfig.tsne_samples
    top_k: int = AnalysisConfig.top_k
    scales: tuple[float, ...] = AnalysisConfig.scales
    subspace_k: int = AnalysisConfig.subspace_k
    subspace_random: int = AnalysisConfig.subspace_random
    subspace_samples: int = AnalysisConfig.subspace_samples
    prune_ks: tuple[int, ...] = AnalysisConfig.prune_ks
    prune_random: int = AnalysisConfig.prune_random
    saliency_samples: int = AnalysisConfig.saliency_samples
    feature_map_inputs: int = 4
    train_size: int | None = None
    test_size: int = 2000
    # the CLI's spellings of three training settings: they go into ``train``
    epochs: InitVar[int | None] = None
    batch_size: InitVar[int | None] = None
    lr: InitVar[float | None] = None

    def __post_init__(self, epochs: int | None, batch_size: int | None, lr: float | None) -> None:
        set_ = object.__setattr__
        if self.dataset not in ("mnist", "digits"):
            raise UnknownNameError("dataset", self.dataset, ("mnist", "digits"))
        train = self.train
        if isinstance(train, Mapping):
            train = TrainConfig.from_dict(dict(train))
        if not isinstance(train, TrainConfig):
            raise ConfigError(f"train must be a TrainConfig or a mapping, not {train!r}")
        if lr is not None and not (
            isinstance(lr, (int, float))
            and not isinstance(lr, bool)
            and lr > 0
            and math.isfinite(lr)
        ):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        given = {"epochs": epochs, "batch_size": batch_size, "lr": lr}
        for name in ("epochs", "batch_size"):
            if given[name] is not None:
                positive_ints(name, given[name])
        overrides = {k: v for k, v in given.items() if v is not None}
        set_(self, "train", dataclasses.replace(train, **overrides) if overrides else train)
        set_(self, "hidden", positive_ints("hidden", self.hidden))
        set_(self, "cnn_channels", positive_ints("cnn_channels", self.cnn_channels))
        for name in (
            "stats_every",
            "feature_map_inputs",
            "test_size",
            "histogram_samples",
            "histogram_bins",
        ):
            positive_ints(name, getattr(self, name))
        for name in ("cnn_epochs", "train_size"):
            if getattr(self, name) is not None:
                positive_ints(name, getattr(self, name))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        variants = names_of("variant", self.variants, list(VARIANTS), VARIANT_ALIASES)
        if not variants:
            raise ConfigError("variants is empty; name at least one (or 'all')")
        set_(self, "variants", variants)
        from tinylens.engine.init import INITS

        if self.init not in INITS:
            raise UnknownNameError("initialisation", self.init, INITS)
        # the analysis settings are validated (and normalised) by AnalysisConfig
        checked = self.analysis_config()
        for f in dataclasses.fields(AnalysisConfig):
            set_(self, f.name, getattr(checked, f.name))

    def analysis_config(self) -> AnalysisConfig:
        """The settings :func:`analyse_model` takes (the fields both configs share)."""
        return AnalysisConfig(
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(AnalysisConfig)}
        )

    @classmethod
    def quick(cls, **overrides: Any) -> MnistStudyConfig:
        """A preset that runs in a few seconds (for ``tinylens demo`` and doctests): digits
        (lr 0.1), PCA only, and the cheap analyses (ablation, scaling, single-pixel maps,
        pruning) on small samples. Any field can be overridden."""
        base: dict[str, Any] = {
            "dataset": "digits",
            "download": False,
            "analyses": ("ablation", "scaling", "perturbation", "pruning"),
            "embeddings": ("pca",),
            "embedding_samples": 300,
            "scales": (0.0, 1.0, 2.0, 3.0),
            "prune_ks": (1, 2, 4),
            "prune_random": 3,
        }
        base.update(overrides)
        return cls(**base)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["train"] = self.train.to_dict()
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> MnistStudyConfig:
        """Build from :meth:`to_dict`'s layout (``epochs``, ``batch_size`` and ``lr`` may also
        stand at the top level); unknown keys are an error.

        >>> MnistStudyConfig.from_dict({"epoch": 3})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinylens.errors.ConfigError: unknown mnist-study setting 'epoch' (did you mean 'epochs'?)...
        >>> MnistStudyConfig.from_dict({"train": {"epochs": 3}}).train.epochs
        3
        """
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)] + list(_TRAIN_ALIASES)
        reject_unknown_keys(d, known, "mnist-study setting", "known")
        if isinstance(d.get("train"), Mapping):
            d["train"] = TrainConfig.from_dict(dict(d["train"]))
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(f"bad mnist-study settings: {exc}") from None

    @property
    def n_epochs(self) -> int:
        return self.train.epochs

    def resolved_lr(self, source: str) -> float:
        """The learning rate for data ``source`` (``train.lr``, else 0.01 on MNIST, the
        source's, and 0.1 on digits, ours)."""
        if self.train.lr is not None:
            return float(self.train.lr)
        return 0.01 if source.startswith("mnist") else 0.1

    def train_config(self, lr: float, epochs: int | None = None) -> TrainConfig:
        """``train`` at ``lr`` (and ``epochs``, e.g. the CNN's)."""
        return dataclasses.replace(self.train, lr=float(lr), epochs=epochs or self.train.epochs)
