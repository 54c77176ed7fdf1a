"""The MNIST study's models and data: each MLP variant as an engine ``Sequential``, the split it
trains on, and training with streaming statistics after every epoch."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.data import MNIST_MEAN, MNIST_STD, Dataset, ImageSplit, load_image_split, normalize
from tinylens.engine import Dropout, LayerNorm, Linear, Sequential
from tinylens.engine.activations import activation as make_activation
from tinylens.engine.init import resolve_init
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.probes import StatsCallback, StreamingStats, neuron_stats
from tinylens.studies.mnist.config import DROPOUT_P, VARIANT_ALIASES, VARIANTS, MnistStudyConfig
from tinylens.training import History, TrainConfig, fit

__all__ = ["build_variant", "load_data", "train_model", "variant_data"]


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
