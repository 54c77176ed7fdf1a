"""Run the plain training study: load the data by name, build the MLP (or small CNN), ``fit`` it
and measure it. Writes no files (:func:`tinylens.studies.train.write` does).

>>> from tinylens.studies.train import TrainStudyConfig, run
>>> from tinylens.training import TrainConfig
>>> cfg = TrainStudyConfig(data="spiral", data_params={"n": 300}, hidden=(32,),
...                        train=TrainConfig(epochs=40, optimizer="adam", lr=0.01))
>>> result = run(cfg, progress=False)
>>> result.metrics["val_accuracy"] > 0.6, result.net.sizes
(True, [2, 32, 3])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinylens.data import Dataset
from tinylens.engine import MLP, small_cnn
from tinylens.engine.init import as_rng
from tinylens.errors import ShapeError
from tinylens.studies.data import load_named_dataset
from tinylens.studies.train.config import TrainStudyConfig
from tinylens.studies.train.result import TrainResult
from tinylens.training import Callback, fit

__all__ = ["check_widths", "run"]


def check_widths(config: TrainStudyConfig, data: Dataset) -> list[int]:
    """The MLP's widths for ``data``; a mismatch with ``inputs``/``outputs`` (set by ``arch``)
    is one clear :class:`~tinylens.errors.ShapeError` naming the fix."""
    if config.inputs is not None and config.inputs != data.n_features:
        raise ShapeError(
            f"arch starts with {config.inputs} inputs but {data.name} has {data.n_features} "
            f"features; start it with {data.n_features}"
        )
    if config.outputs is not None and config.outputs != data.n_outputs:
        raise ShapeError(
            f"arch ends with {config.outputs} outputs but {data.name} needs {data.n_outputs}; "
            f"end it with {data.n_outputs}"
        )
    return config.sizes(data.n_features, data.n_outputs)


def run(
    config: TrainStudyConfig,
    *,
    data: Dataset | None = None,
    rng: Any = None,
    progress: bool = True,
    checkpoint: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Load the data, build the network, train it, and measure it.

    Parameters
    ----------
    config : TrainStudyConfig
    data : Dataset, optional
        Default: ``config.data`` by name (:func:`tinylens.studies.data.load_named_dataset`).
    rng : int or Generator, optional
        Splits the data, initialises the weights and shuffles the batches, in that order.
        Default: ``config.seed``.
    progress : bool
        A progress bar (a line per finished epoch when output is not a terminal).
    checkpoint : path, optional
        Makes training resumable (see :func:`tinylens.training.fit`): written every few epochs,
        and training continues from it when it exists.
    callbacks : sequence of Callback
    """
    gen = as_rng(config.seed if rng is None else rng)
    if data is None:
        data = load_named_dataset(config.data, config.data_params, config.seed, config.data_dir)
    sizes = check_widths(config, data) if config.model == "mlp" else []
    if config.val_fraction > 0:
        train, val = data.split(config.val_fraction, rng=gen)
    else:
        train, val = data, None
    net: Any
    if config.model == "cnn":
        if data.image_shape is None:
            raise ShapeError(
                f"a CNN needs image data; {data.name} has no image shape (try digits or mnist)"
            )
        net = small_cnn(data.image_shape, config.channels, data.n_outputs, rng=gen)
    else:
        net = MLP(sizes, config.activation, rng=gen, input_names=data.feature_names)
    n_parameters = net.n_parameters()
    if config.backend == "torch":
        from tinylens.torch import to_torch

        net = to_torch(net)
    every = max(1, config.train.epochs // 50)
    history = fit(net, train, config.train, rng=gen, val=val, quiet=not progress,
                  callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=every)  # fmt: skip
    metrics: dict[str, float] = dict(history.final)
    metrics["epochs_run"] = len(history.epoch)
    metrics["parameters"] = n_parameters
    return TrainResult(config, net, history, train, val, metrics)
