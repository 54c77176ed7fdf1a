"""The MNIST probing study behind ``tinylens mnist``: a 784-32-16-10 MLP trained as our source
trained it, its neurons followed epoch by epoch, then taken apart; its variants side by side;
and a small CNN with the same diagnostics per channel.

The pieces are the functions of :mod:`tinylens.probes` and :mod:`tinylens.interventions`;
this module only composes them:

* :func:`build_variant` builds each variant as an engine ``Sequential``;
* :func:`train_model` trains one with ``fit``, gathering streaming statistics after every
  epoch (:class:`~tinylens.probes.StatsCallback`: O(units) numbers per epoch, never the
  activations) and a weight snapshot per epoch;
* :func:`analyse_model` runs every analysis on a trained model (any engine network or torch
  module, through :func:`tinylens.hooked`) and data;
* :func:`run_mnist` does all of it for the configured variants (and the CNN).

>>> from tinylens.studies.mnist import MnistStudyConfig, run_mnist
>>> result = run_mnist(MnistStudyConfig.quick(), quiet=True)
>>> run = result.primary
>>> run.net.sizes, len(run.history.epoch), sorted(run.layers)
([64, 32, 16, 10], 20, ['layers.1', 'layers.3'])
>>> run.layers["layers.1"].selectivity.selectivity_.shape  # classes x neurons
(10, 32)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.data import (
    MNIST_MEAN,
    MNIST_STD,
    Dataset,
    ImageSplit,
    load_image_split,
    normalize,
)
from tinylens.engine import Dropout, LayerNorm, Linear, Sequential, small_cnn
from tinylens.engine.activations import activation as make_activation
from tinylens.engine.init import resolve_init
from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys
from tinylens.hooks import evaluating
from tinylens.probes import StatsCallback, StreamingStats, neuron_stats, weight_drift
from tinylens.progress import progress
from tinylens.studies.mnist_analysis import (
    ANALYSES,
    EMBEDDING_METHODS,
    AnalysisConfig,
    LayerAnalysis,
    ModelAnalysis,
    analyse_model,
    names_of,
    neuron_points,
    positive_ints,
)
from tinylens.training import History, TrainConfig, fit
from tinylens.training.threads import limit_blas_threads

__all__ = [
    "ANALYSES",
    "EMBEDDING_METHODS",
    "SOURCE_TEST_ACCURACY",
    "VARIANTS",
    "AnalysisConfig",
    "LayerAnalysis",
    "MnistStudyConfig",
    "MnistStudyResult",
    "ModelAnalysis",
    "ModelRun",
    "analyse_model",
    "build_variant",
    "load_data",
    "neuron_points",
    "run_mnist",
    "train_model",
    "variant_data",
]

SOURCE_TEST_ACCURACY = 0.948
"""What our source reports for its default setup on full MNIST (60,000 training images)."""

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


@dataclass(frozen=True)
class MnistStudyConfig:
    """What ``tinylens mnist`` runs. The defaults are the source's setup.

    Parameters
    ----------
    dataset : {"mnist", "digits"}
        ``mnist`` falls back (with a note) to the 10,000 MNIST test images split 8,000 / 2,000,
        then to scikit-learn's 8x8 digits (a 64-32-16-10 model); see
        :func:`tinylens.data.load_image_split`.
    data_dir : str, optional
        A directory with the MNIST IDX files.
    download : bool
        Fetch MNIST from the standard mirrors (md5-checked) when it is not local.
    hidden : tuple of int
        Hidden widths (32, 16).
    epochs, batch_size : SGD for ``epochs`` epochs of minibatches of ``batch_size``.
    lr : float, optional
        The SGD learning rate; None is the source's 0.01 on MNIST and 0.1 on digits (its 1,438
        training images give 23 steps an epoch: at 0.01, 20 epochs reach about 37%).
    init : str
        Weight initialisation (``auto``: He for ReLU layers; ``torch``: PyTorch's ``nn.Linear``
        default, which the source used, reaches lower accuracy in 20 epochs).
    seed : int
        Seeds the split, the initial weights, the shuffling and every random subsample. Every
        variant starts from the same linear weights and sees the same minibatches.
    variants : tuple of str
        From :data:`VARIANTS` (``layernorm`` = ``layernorm_pre``; ``all``: every one). The
        first gets every analysis; the others are trained and compared (dead units,
        selectivity, accuracy, ablations).
    cnn : bool
        Also train :func:`tinylens.engine.small_cnn` with ``cnn_channels`` and analyse it per
        channel.
    cnn_channels : tuple of int
    cnn_epochs : int, optional
        Epochs of the CNN (default: ``epochs``).
    stats_every : int
        Statistics pass every k epochs (and before training).
    analyses, embeddings, embedding_samples, top_k, scales, subspace_k, subspace_random,
    subspace_samples, prune_ks, prune_random, saliency_samples :
        What :func:`analyse_model` does, and on how many samples: see
        :class:`~tinylens.studies.mnist_analysis.AnalysisConfig` (``seed`` seeds it too).
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
    epochs: int = 20
    batch_size: int = 64
    lr: float | None = None
    init: str = "auto"
    seed: int = 31416
    variants: tuple[str, ...] = ("raw",)
    cnn: bool = False
    cnn_channels: tuple[int, ...] = (8, 16)
    cnn_epochs: int | None = None
    stats_every: int = 1
    # The analysis settings default to AnalysisConfig's own, so the two cannot drift apart.
    analyses: tuple[str, ...] = AnalysisConfig.analyses
    embeddings: tuple[str, ...] = AnalysisConfig.embeddings
    embedding_samples: int = AnalysisConfig.embedding_samples
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

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.dataset not in ("mnist", "digits"):
            raise UnknownNameError("dataset", self.dataset, ("mnist", "digits"))
        set_(self, "hidden", positive_ints("hidden", self.hidden))
        set_(self, "cnn_channels", positive_ints("cnn_channels", self.cnn_channels))
        for name in ("epochs", "batch_size", "stats_every", "feature_map_inputs", "test_size"):
            positive_ints(name, getattr(self, name))
        for name in ("cnn_epochs", "train_size"):
            if getattr(self, name) is not None:
                positive_ints(name, getattr(self, name))
        if self.lr is not None and not (
            isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)
        ):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
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
            "epochs": 20,
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
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> MnistStudyConfig:
        """Build from :meth:`to_dict`'s layout; unknown keys are an error.

        >>> MnistStudyConfig.from_dict({"epoch": 3})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinylens.errors.ConfigError: unknown mnist-study setting 'epoch' (did you mean 'epochs'?)...
        """
        d = dict(d or {})
        reject_unknown_keys(
            d, [f.name for f in dataclasses.fields(cls)], "mnist-study setting", "known"
        )
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(f"bad mnist-study settings: {exc}") from None

    def resolved_lr(self, source: str) -> float:
        """The learning rate for data ``source`` (``lr``, else 0.01 on MNIST, 0.1 on digits)."""
        if self.lr is not None:
            return float(self.lr)
        return 0.01 if source.startswith("mnist") else 0.1

    def train_config(self, lr: float, epochs: int | None = None) -> TrainConfig:
        """SGD at ``lr`` with the configured batch, a weight snapshot every epoch."""
        return TrainConfig(
            epochs=epochs or self.epochs,
            batch_size=self.batch_size,
            optimizer="sgd",
            lr=float(lr),
            snapshot_every=1,
        )


# -- models ---------------------------------------------------------------------------------------


def build_variant(
    variant: str,
    sizes: Sequence[int],
    *,
    rng: np.random.Generator | int | None = None,
    init: str = "auto",
    dropout_rng: np.random.Generator | int | None = None,
) -> Sequential:
    """The engine network of an MLP variant (see :data:`VARIANTS`).

    Parameters
    ----------
    variant : str
    sizes : sequence of int
        Widths from input to output, e.g. ``[784, 32, 16, 10]``.
    rng : Generator or int
        Draws the linear layers' weights, in order. LayerNorm and Dropout draw nothing, so
        every variant built from the same seed has the same linear weights (``raw`` is exactly
        ``MLP(sizes, rng=rng, init=init)``).
    init : str
    dropout_rng : Generator or int
        Dropout's masks (separate, so that dropout does not shift the minibatch order).

    >>> [m.kind for m in build_variant("best", [64, 32, 16, 10], rng=0).layers]
    ['linear', 'relu', 'layernorm', 'dropout', 'linear', 'layernorm', 'relu', 'linear']
    """
    from tinylens.engine.init import as_rng

    variant = VARIANT_ALIASES.get(variant, variant)
    if variant not in VARIANTS:
        raise UnknownNameError("variant", variant, [*VARIANTS, *VARIANT_ALIASES])
    sizes = [int(s) for s in sizes]
    if len(sizes) < 3:
        raise ConfigError(f"an MLP variant needs at least one hidden layer, got sizes {sizes}")
    gen = as_rng(rng)
    hidden_init, out_init = resolve_init(init, "relu"), resolve_init(init, "identity")
    modules: list[Any] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes[:-1])):
        modules.append(Linear(n_in, n_out, rng=gen, init=hidden_init))
        relu = make_activation("relu")
        if variant == "layernorm_pre":
            modules += [LayerNorm(n_out), relu]
        elif variant == "layernorm_post":
            modules += [relu, LayerNorm(n_out)]
        elif variant == "best" and i == 0:
            modules += [relu, LayerNorm(n_out), Dropout(DROPOUT_P, rng=dropout_rng)]
        elif variant == "best":
            modules += [LayerNorm(n_out), relu]
        elif variant == "dropout" and i == 0:
            modules += [relu, Dropout(DROPOUT_P, rng=dropout_rng)]
        else:
            modules.append(relu)
    modules.append(Linear(sizes[-2], sizes[-1], rng=gen, init=out_init))
    return Sequential(modules)


# -- data -----------------------------------------------------------------------------------------


def load_data(config: MnistStudyConfig) -> ImageSplit:
    """The split of :func:`tinylens.data.load_image_split`, subsampled to ``train_size``."""
    split = load_image_split(
        config.dataset,
        config.data_dir,
        seed=config.seed,
        download=config.download,
        test_size=config.test_size,
    )
    train, notes = split.train, list(split.notes)
    if config.train_size is not None and config.train_size < train.n:
        train, _ = train.split(test_size=train.n - config.train_size, rng=config.seed)
        notes.append(f"Trained on a stratified subset of {train.n} training images.")
    return ImageSplit(train, split.test, split.source, notes)


def variant_data(variant: str, data: ImageSplit) -> tuple[Dataset, Dataset, str | None]:
    """``(train, test, note)``: the images a variant sees. ``normalized`` standardises them with
    MNIST's constants (mean 0.1307, std 0.3081) on MNIST, and with the training pixels' own
    mean and std on digits; every other variant sees pixels in [0, 1]."""
    if VARIANT_ALIASES.get(variant, variant) != "normalized":
        return data.train, data.test, None
    if data.source.startswith("mnist"):
        mean, std, how = MNIST_MEAN, MNIST_STD, "MNIST's constants"
    else:
        mean = float(data.train.X.mean())
        std = float(data.train.X.std())
        how = "the training pixels' mean and std"
    note = f"normalized: inputs (x - {mean:.4g}) / {std:.4g} ({how})."
    return normalize(data.train, mean, std), normalize(data.test, mean, std), note


# -- training -------------------------------------------------------------------------------------


def train_model(
    net: Any,
    train: Dataset,
    test: Dataset,
    config: TrainConfig,
    layers: Sequence[str],
    *,
    rng: np.random.Generator | int,
    stats_every: int = 1,
    quiet: bool = True,
) -> tuple[History, dict[int, StreamingStats], float]:
    """Train with ``fit`` and gather streaming statistics at ``layers`` on the training set.

    A statistics pass runs before training (epoch 0), after every ``stats_every`` epochs and
    after the last one:
    the network in evaluation mode over every training image, keeping per unit (per channel
    at image hook points) count, mean, variance, extremes, fraction active and class means.

    Returns ``(history, stats_by_epoch, seconds)``; ``history.val_*`` are on ``test``.
    """
    cb = StatsCallback(train, names=list(layers), every=stats_every, per_channel=True)
    t0 = time.perf_counter()
    history = fit(net, train, config, rng=rng, val=test, callbacks=[cb], quiet=quiet)
    last = history.epoch[-1] if history.epoch else 0
    if last not in cb.stats_:  # epochs not a multiple of stats_every: the final weights too
        cb.stats_[last] = neuron_stats(net, train, list(layers), per_channel=True)
    return history, cb.stats_, time.perf_counter() - t0


# -- runs -----------------------------------------------------------------------------------------


@dataclass
class ModelRun:
    """One trained model of the study and its analysis.

    Attributes
    ----------
    variant : str
        A key of :data:`VARIANTS`, or ``"cnn"``.
    description : str
    net : Sequential
    history : History
        ``val_*`` are on the test set; ``snapshots`` hold the weights of every epoch.
    stats : dict of int -> StreamingStats
        The statistics passes (epoch 0 = before training).
    train_seconds : float
        ``fit`` with its statistics passes.
    analysis : ModelAnalysis
    train, test : Dataset
        What this model saw (normalized for the ``normalized`` variant).
    full : bool
        Every configured analysis ran (the first variant); otherwise only the comparison ones.
    feature_maps : dict of str -> array of shape (n_inputs, channels, h, w), optional
        CNN only: activations of each conv stage for ``feature_map_rows`` of the test set.
    feature_map_rows : array of int, optional
    """

    variant: str
    description: str
    net: Sequential
    history: History
    stats: dict[int, StreamingStats]
    train_seconds: float
    analysis: ModelAnalysis
    train: Dataset
    test: Dataset
    full: bool = True
    feature_maps: dict[str, np.ndarray] | None = None
    feature_map_rows: np.ndarray | None = None

    @property
    def layers(self) -> dict[str, LayerAnalysis]:
        return self.analysis.layers

    @property
    def test_accuracy(self) -> float:
        return self.analysis.confusion.accuracy_

    @property
    def n_parameters(self) -> int:
        return self.net.n_parameters()

    def weight_drift(self) -> dict[str, np.ndarray]:
        return weight_drift(self.history.snapshots)

    def bottlenecks(self) -> dict[int, dict[str, Any]]:
        """Per class, the single unit (over every layer) whose ablation costs it most."""
        best: dict[int, dict[str, Any]] = {}
        for la in self.layers.values():
            for b in la.bottlenecks():
                c = b["class"]
                if c not in best or b["class_accuracy_drop"] > best[c]["class_accuracy_drop"]:
                    best[c] = b
        return dict(sorted(best.items()))

    def summary(self) -> dict[str, Any]:
        """The row of the comparison table."""
        dead = {n: int(la.selectivity.dead_.sum()) for n, la in self.layers.items()}
        units = {n: la.n_units for n, la in self.layers.items()}
        sel = {n: la.selectivity.mean_selectivity() for n, la in self.layers.items()}
        row: dict[str, Any] = {
            "variant": self.variant,
            "description": self.description,
            "test_accuracy": round(self.test_accuracy, 6),
            "train_accuracy": round(float(self.history.train_accuracy[-1]), 6),
            "dead_units": dead,
            "units": units,
            "mean_selectivity": {n: round(v, 6) for n, v in sel.items()},
            "parameters": self.n_parameters,
            "train_seconds": round(self.train_seconds, 3),
            "analysis_seconds": round(sum(self.analysis.seconds.values()), 3),
        }
        drops = [la.ablation.drop_.max() for la in self.layers.values() if la.ablation]
        if drops:
            row["max_ablation_drop"] = round(float(max(drops)), 6)
        return row


def _feature_maps(net: Any, test: Dataset, names: Sequence[str], n: int) -> tuple[Any, np.ndarray]:
    """The first test image of classes 0, 1, ... (n of them) and each stage's maps."""
    rows = []
    for c in range(int(test.y.max()) + 1):
        hits = np.flatnonzero(test.y == c)
        if len(hits):
            rows.append(int(hits[0]))
        if len(rows) == n:
            break
    idx = np.array(rows, dtype=np.int64)
    with evaluating(net) as h:
        _, cache = h.run_with_cache(test.X[idx], names=list(names))
    return {k: np.array(cache[k]) for k in names}, idx


def _run_one(
    variant: str,
    cfg: MnistStudyConfig,
    data: ImageSplit,
    *,
    full: bool,
    quiet: bool,
) -> ModelRun:
    rng = np.random.default_rng(cfg.seed)
    notes_of: str | None = None
    if variant == "cnn":
        train, test = data.train, data.test
        net = small_cnn(data.image_shape, cfg.cnn_channels, train.n_outputs, rng=rng)
        description = (
            f"small CNN: {len(cfg.cnn_channels)} x (conv 3x3, ReLU, max-pool 2x2) with "
            f"{'/'.join(map(str, cfg.cnn_channels))} channels, then linear"
        )
        epochs = cfg.cnn_epochs or cfg.epochs
        analyses = tuple(a for a in cfg.analyses if a not in ("embeddings", "subspaces", "pruning"))
    else:
        train, test, notes_of = variant_data(variant, data)
        sizes = [train.n_features, *cfg.hidden, train.n_outputs]
        net = build_variant(
            variant, sizes, rng=rng, init=cfg.init, dropout_rng=np.random.default_rng([cfg.seed, 9])
        )
        description = VARIANTS[variant]
        epochs = cfg.epochs
        analyses = cfg.analyses if full else tuple(a for a in cfg.analyses if a == "ablation")
    layers = neuron_points(net)
    history, stats, seconds = train_model(
        net,
        train,
        test,
        cfg.train_config(cfg.resolved_lr(data.source), epochs),
        layers,
        rng=rng,
        stats_every=cfg.stats_every,
        quiet=quiet,
    )
    settings = cfg.analysis_config().replace(analyses=analyses)
    analysis = analyse_model(net, train, test, layers, settings, stats=stats, quiet=quiet)
    run = ModelRun(
        variant, description, net, history, stats, seconds, analysis, train, test, full=full
    )
    if notes_of:
        run.description += f" [{notes_of}]"
    if variant == "cnn":
        run.feature_maps, run.feature_map_rows = _feature_maps(
            net, test, layers, cfg.feature_map_inputs
        )
    return run


@dataclass
class MnistStudyResult:
    """Everything ``tinylens mnist`` measured.

    Attributes
    ----------
    config : MnistStudyConfig
    data : ImageSplit
    runs : dict of str -> ModelRun
        One per variant, in the configured order; the first is the primary (every analysis).
    cnn : ModelRun, optional
    seconds : float
        Wall time of :func:`run_mnist`.
    """

    config: MnistStudyConfig
    data: ImageSplit
    runs: dict[str, ModelRun]
    cnn: ModelRun | None = None
    seconds: float = 0.0

    @property
    def primary(self) -> ModelRun:
        return next(iter(self.runs.values()))

    @property
    def lr(self) -> float:
        """The SGD learning rate every model trained with."""
        return self.config.resolved_lr(self.data.source)

    def notes(self) -> list[str]:
        """Caveats for the report and the JSON."""
        notes = list(self.data.notes)
        acc = self.primary.test_accuracy
        src = self.data.source
        if src == "mnist":
            notes.append(
                f"The source reports {100 * SOURCE_TEST_ACCURACY:.2f}% test accuracy for this "
                f"setup on full MNIST; this run reached {100 * acc:.2f}%."
            )
        else:
            what = (
                f"{self.data.train.n} training images (MNIST's test set split "
                f"{self.data.train.n} / {self.data.test.n})"
                if src == "mnist-test-split"
                else "scikit-learn's 8x8 digits (a 64-input model)"
            )
            notes.append(
                f"This run reached {100 * acc:.2f}% test accuracy on {what}. The source's "
                f"{100 * SOURCE_TEST_ACCURACY:.2f}% was measured on full MNIST (60,000 training "
                "images, 7.5 times as many SGD steps, and the official test set): the numbers "
                "are not comparable."
            )
        cfg = self.config
        if cfg.lr is None and not src.startswith("mnist"):
            steps = math.ceil(self.data.train.n / cfg.batch_size)
            notes.append(
                f"SGD ran at lr 0.1, not the source's 0.01: {self.data.train.n} training images "
                f"give {steps} steps an epoch, and on digits 20 epochs at 0.01 reach about 37% "
                "test accuracy (set lr to override)."
            )
        if cfg.init != "torch":
            notes.append(
                f"Weights start from the '{cfg.init}' initialisation (He for ReLU layers); the "
                "source used PyTorch's nn.Linear default (init='torch'), which reached 2-3 points "
                "less test accuracy here after 20 epochs of SGD at lr 0.01 (8,000 MNIST images)."
            )
        for run in [*self.runs.values(), *([self.cnn] if self.cnn is not None else [])]:
            notes += [f"{run.variant}: {n}" for n in run.analysis.notes]
        notes.append(
            "Dead means never active (> 0) on any training image during a statistics pass: "
            "after each epoch, the network in evaluation mode (dropout off) with that epoch's "
            "final weights, over the whole training set; epoch 0 is the initial weights."
        )
        if "embeddings" in cfg.analyses and cfg.embeddings:
            n = min(cfg.embedding_samples, self.data.test.n)
            notes.append(
                f"Embeddings use a random subsample of {n} test images "
                f"({', '.join(cfg.embeddings)}); t-SNE and UMAP cost seconds per thousand points."
            )
        return notes

    def metrics(self) -> dict[str, Any]:
        """The content of ``metrics.json``."""
        from tinylens.studies._mnist_report import metrics

        return metrics(self)

    def save(self, run: Any) -> None:
        """Config, metrics, tables, weights, snapshots, figures and report sections."""
        from tinylens.studies._mnist_report import save

        save(self, run)


def run_mnist(
    config: MnistStudyConfig,
    *,
    data: ImageSplit | None = None,
    quiet: bool = False,
    blas_threads: int | None = 1,
) -> MnistStudyResult:
    """Load the data, then train and analyse every configured variant (and the CNN).

    ``data`` (from :func:`load_data`) skips loading. ``blas_threads`` limits BLAS while the
    study runs: small matrices run faster on one thread, and on a busy machine many times
    faster (see :mod:`tinylens.training.threads`); results do not depend on it. None leaves
    it alone.
    """
    t0 = time.perf_counter()
    data = data if data is not None else load_data(config)
    runs: dict[str, ModelRun] = {}
    jobs = list(config.variants) + (["cnn"] if config.cnn else [])
    with limit_blas_threads(blas_threads), progress(len(jobs), "mnist study", quiet=quiet) as bar:
        for i, variant in enumerate(config.variants):
            runs[variant] = _run_one(variant, config, data, full=i == 0, quiet=True)
            bar.advance()
        cnn = _run_one("cnn", config, data, full=True, quiet=True) if config.cnn else None
        if cnn is not None:
            bar.advance()
    return MnistStudyResult(config, data, runs, cnn, time.perf_counter() - t0)
