"""Run the MNIST probing study: load the data, then train and analyse every configured variant
(and the CNN). Writes no files (:func:`tinylens.studies.mnist.write` does).

>>> from tinylens.studies.mnist import MnistStudyConfig, run
>>> result = run(MnistStudyConfig.quick(), progress=False)
>>> p = result.primary
>>> p.net.sizes, len(p.history.epoch), sorted(p.layers)
([64, 32, 16, 10], 20, ['layers.1', 'layers.3'])
>>> p.layers["layers.1"].selectivity.selectivity_.shape  # classes x neurons
(10, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.data import Dataset, ImageSplit
from tinylens.engine import small_cnn
from tinylens.errors import ConfigError
from tinylens.hooks import evaluating
from tinylens.probes import activation_histograms
from tinylens.progress import progress as progress_bar
from tinylens.studies.mnist.analysis import analyse_model, neuron_points
from tinylens.studies.mnist.config import VARIANTS, MnistStudyConfig
from tinylens.studies.mnist.models import build_variant, load_data, train_model, variant_data
from tinylens.studies.mnist.result import MnistResult, ModelRun
from tinylens.studies.mnist.timing import now, since
from tinylens.training.threads import limit_blas_threads

__all__ = ["run", "run_mnist"]

# analyses the variants after the first get: what their comparison needs
_COMPARISON = ("ablation", "subspaces")


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


def _histogram_rows(cfg: MnistStudyConfig, n: int) -> np.ndarray:
    """The training images every epoch's histograms are taken on (one subsample for all)."""
    rng = np.random.default_rng([cfg.seed, 8])
    if cfg.histogram_samples >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cfg.histogram_samples, replace=False))


def _run_one(
    variant: str,
    cfg: MnistStudyConfig,
    data: ImageSplit,
    *,
    full: bool,
    quiet: bool,
    stages: dict[str, tuple[float, float]],
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
        epochs = cfg.cnn_epochs or cfg.train.epochs
        analyses = tuple(a for a in cfg.analyses if a not in ("embeddings", "subspaces", "pruning"))
    else:
        train, test, notes_of = variant_data(variant, data)
        sizes = [train.n_features, *cfg.hidden, train.n_outputs]
        net = build_variant(
            variant, sizes, rng=rng, init=cfg.init, dropout_rng=np.random.default_rng([cfg.seed, 9])
        )
        description = VARIANTS[variant]
        epochs = cfg.train.epochs
        analyses = cfg.analyses if full else tuple(a for a in cfg.analyses if a in _COMPARISON)
    layers = neuron_points(net)
    t0 = now()
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
    stages[f"train {variant}"] = since(t0)
    t0 = now()
    settings = cfg.analysis_config().replace(analyses=analyses)
    analysis = analyse_model(net, train, test, layers, settings, stats=stats, quiet=True)
    run = ModelRun(
        variant, description, net, history, stats, seconds, analysis, train, test, full=full
    )
    if variant != "cnn" and history.snapshots:
        rows = _histogram_rows(cfg, train.n)
        run.histograms = activation_histograms(
            net, train.X[rows], layers, history.snapshots, bins=cfg.histogram_bins
        )
    if notes_of:
        run.description += f" [{notes_of}]"
    if variant == "cnn":
        run.feature_maps, run.feature_map_rows = _feature_maps(
            net, test, layers, cfg.feature_map_inputs
        )
    stages[f"analyse {variant}"] = since(t0)
    for part, s in analysis.seconds.items():
        stages[f"  {variant}: {part}"] = (s, analysis.cpu_seconds[part])
    return run


def run(
    config: MnistStudyConfig,
    *,
    data: ImageSplit | None = None,
    seed: int | None = None,
    progress: bool = True,
    blas_threads: int | None = 1,
) -> MnistResult:
    """Load the data, then train and analyse every configured variant (and the CNN).

    Parameters
    ----------
    config : MnistStudyConfig
    data : ImageSplit, optional
        From :func:`~tinylens.studies.mnist.load_data`; skips loading.
    seed : int, optional
        Overrides ``config.seed`` (the split, initial weights, shuffling, subsamples).
    progress : bool
        One step per model through :func:`tinylens.progress.progress` (nothing when False).
    blas_threads : int, optional
        BLAS threads while the study runs: one by default, since these small matrices run
        faster on one thread, and on a busy machine many times faster (see
        :mod:`tinylens.training.threads`); results do not depend on it. None leaves BLAS alone.
    """
    if seed is not None:
        import dataclasses

        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        config = dataclasses.replace(config, seed=seed)
    t_start = now()
    stages: dict[str, tuple[float, float]] = {}
    if data is None:
        data = load_data(config)
        stages["load data"] = since(t_start)
    runs: dict[str, ModelRun] = {}
    jobs = list(config.variants) + (["cnn"] if config.cnn else [])
    with (
        limit_blas_threads(blas_threads),
        progress_bar(len(jobs), "mnist study", quiet=not progress) as bar,
    ):
        for i, variant in enumerate(config.variants):
            bar.update(description=f"mnist study: {variant}")
            runs[variant] = _run_one(
                variant, config, data, full=i == 0, quiet=not progress, stages=stages
            )
            bar.advance()
        cnn = None
        if config.cnn:
            bar.update(description="mnist study: cnn")
            cnn = _run_one("cnn", config, data, full=True, quiet=not progress, stages=stages)
            bar.advance()
    seconds = since(t_start)[0]
    return MnistResult(config, data, runs, cnn, seconds, stages)


def run_mnist(
    config: MnistStudyConfig,
    *,
    data: ImageSplit | None = None,
    quiet: bool = False,
    blas_threads: int | None = 1,
) -> MnistResult:
    """:func:`run` under its earlier name (``quiet`` is ``not progress``)."""
    return run(config, data=data, progress=not quiet, blas_threads=blas_threads)
