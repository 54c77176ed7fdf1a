"""The plain training study behind ``tinylens train``: data by name, an MLP, ``fit``, a report.

>>> from tinylens.studies.train import TrainStudyConfig, run_train
>>> from tinylens.training import TrainConfig
>>> cfg = TrainStudyConfig(data="spiral", data_params={"n": 300}, arch=(2, 32, 3),
...                        train=TrainConfig(epochs=40, optimizer="adam", lr=0.01))
>>> result = run_train(cfg, quiet=True)
>>> result.metrics["val_accuracy"] > 0.6
True
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.data import DATASETS, Dataset, load_dataset
from tinylens.engine import MLP, Sequential, small_cnn
from tinylens.errors import ConfigError, ShapeError, reject_unknown_keys
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.training import Callback, History, TrainConfig, fit

__all__ = ["TrainResult", "TrainStudyConfig", "load_named_dataset", "run_train"]


@dataclass(frozen=True)
class TrainStudyConfig:
    """What ``tinylens train`` trains.

    Parameters
    ----------
    data : str
        A dataset name from :data:`tinylens.data.DATASETS`.
    data_params : dict
        Parameters of the dataset factory (``{"n": 1000, "noise": 0.2}``).
    arch : tuple of int, optional
        Widths from input to output; by default ``(features, 64, 32, outputs)``.
    activation : str
    train : TrainConfig
        Default: 100 epochs of Adam (its default rate), batches of 64 (``tinylens train``'s).
    val_fraction : float
        Held-out fraction (stratified for classification); 0 trains on everything.
    seed : int
        Seeds the data, the initial weights and the shuffling.
    backend : str
        ``engine`` (NumPy) or ``torch``.
    data_dir : str, optional
        For MNIST: a directory holding the IDX files.
    model : {"mlp", "cnn"}
        ``cnn`` builds :func:`tinylens.engine.small_cnn` (image data only; ``arch`` and
        ``activation`` then do not apply) with ``channels`` per conv-pool stage.
    channels : tuple of int
    """

    data: str = "spiral"
    data_params: dict[str, Any] = field(default_factory=dict)
    arch: tuple[int, ...] | None = None
    activation: str = "relu"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=100, optimizer="adam"))
    val_fraction: float = 0.2
    seed: int = 0
    backend: str = "engine"
    data_dir: str | None = None
    model: str = "mlp"
    channels: tuple[int, ...] = (8, 16)

    def __post_init__(self) -> None:
        if self.model not in ("mlp", "cnn"):
            raise ConfigError(f"model must be 'mlp' or 'cnn', not {self.model!r}")
        if self.backend not in ("engine", "torch"):
            raise ConfigError(f"backend must be 'engine' or 'torch', not {self.backend!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "data_params": dict(self.data_params),
            "arch": list(self.arch) if self.arch else None,
            "activation": self.activation,
            "train": self.train.to_dict(),
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "backend": self.backend,
            "data_dir": self.data_dir,
            "model": self.model,
            "channels": list(self.channels),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TrainStudyConfig:
        """Build from the layout of :meth:`to_dict` (a YAML file); unknown keys are an error.

        >>> TrainStudyConfig.from_dict({"data": "xor", "train": {"epochs": 3}}).train.epochs
        3
        >>> TrainStudyConfig.from_dict({"dta": "xor"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinylens.errors.ConfigError: unknown training-study setting 'dta' (did you mean 'data'?)...
        """
        d = dict(d or {})
        known = sorted(f.name for f in dataclasses.fields(cls))
        reject_unknown_keys(d, known, "training-study setting", "known settings")
        train = d.get("train")
        if isinstance(train, dict):
            d["train"] = TrainConfig.from_dict(train)
        elif train is None:
            d.pop("train", None)
        elif not isinstance(train, TrainConfig):
            raise ConfigError(f"train must be a mapping of training settings, not {train!r}")
        if d.get("arch") is not None:
            try:
                d["arch"] = tuple(int(a) for a in d["arch"])
            except (TypeError, ValueError):
                raise ConfigError(f"arch must be a list of widths, not {d['arch']!r}") from None
        if d.get("data_params") is None:
            d.pop("data_params", None)
        elif not isinstance(d["data_params"], dict):
            raise ConfigError(f"data_params must be a mapping, not {d['data_params']!r}")
        return cls(**d)


def load_named_dataset(
    name: str, params: dict[str, Any], seed: int, data_dir: str | None = None
) -> Dataset:
    """A dataset by name, seeding generators with ``seed`` and pointing MNIST at ``data_dir``."""
    if name not in DATASETS:
        return load_dataset(name)  # raises UnknownNameError with suggestions
    accepted = inspect.signature(DATASETS[name]).parameters
    kwargs = dict(params)
    if "rng" in accepted and "rng" not in kwargs:
        kwargs["rng"] = seed
    if data_dir is not None and "data_dir" in accepted:
        kwargs["data_dir"] = data_dir
    return load_dataset(name, **kwargs)


@dataclass
class TrainResult:
    config: TrainStudyConfig
    net: Any
    history: History
    train: Dataset
    val: Dataset | None
    metrics: dict[str, float]

    def engine_net(self) -> Sequential:
        """The trained network as an engine network (converted from torch if need be)."""
        if isinstance(self.net, Sequential):
            return self.net
        from tinylens.torch import from_torch

        return from_torch(self.net)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.engine_net().predict(X)

    def save(self, run: RunDir) -> None:
        """Write config, metrics, history, weights, snapshots and figures into ``run``."""
        from tinylens.viz import plot_decision_boundary, plot_history, plot_regression_fit

        cfg = self.config
        for name in (CHECKPOINT, CHECKPOINT_CONFIG):  # a finished run needs no resume point
            run.file(name).unlink(missing_ok=True)
        run.write_yaml("config.yaml", cfg.to_dict())
        history = self.history.to_dict()
        run.write_json("metrics.json", {**self.metrics, "history": history})
        run.write_csv("history.csv", self.history.rows(), History.COLUMNS)
        net = self.engine_net()
        from tinylens.probes import input_range_of

        # the range the inputs were trained on: tools that load the file check new inputs
        trained = {"input_range": input_range_of(self.train).to_dict()}
        run.save_weights(
            "model.safetensors", net, info={"study": "train", "config": cfg.to_dict(), **trained}
        )
        for epoch, state in self.history.snapshots:
            snap = net.copy()
            snap.load_state_dict(state)
            run.save_weights(
                f"snapshots/epoch_{epoch:04d}.safetensors", snap, info={"epoch": epoch, **trained}
            )
        figures = [Figure("loss.png", "Loss (log scale) and accuracy per epoch.")]
        run.save_figure("loss.png", plot_history(history, title=f"{cfg.data}: training"))
        data = self.val if self.val is not None else self.train
        if data.task == "classification" and data.n_features == 2:
            fig = plot_decision_boundary(
                net.predict, data.X, data.y, title=f"{cfg.data}: decision regions"
            )
            run.save_figure("boundary.png", fig)
            figures.append(Figure("boundary.png", "Predicted class over the plane, with the data."))
        elif data.task == "regression" and data.n_features == 1 and data.n_outputs == 1:
            full_X = np.concatenate([self.train.X] + ([self.val.X] if self.val else []))
            full_y = np.concatenate([self.train.y] + ([self.val.y] if self.val else []))
            run.save_figure(
                "fit.png",
                plot_regression_fit(full_X, full_y, net.predict, title=f"{cfg.data}: fit"),
            )
            figures.append(Figure("fit.png", "The network's function over the data."))
        section = Section(
            id="train",
            title=f"Training on {cfg.data}",
            summary=(
                (
                    f"A {'-'.join(map(str, net.sizes))} {cfg.activation} MLP"
                    if cfg.model == "mlp"
                    else f"A CNN ({'-'.join(map(str, cfg.channels))} channels)"
                )
                + " trained for "
                f"{len(self.history.epoch)} epochs with {cfg.train.optimizer} on the "
                f"{cfg.backend} backend ({self.train.n} training samples"
                + (f", {self.val.n} held out" if self.val else "")
                + ")."
            ),
            metrics={k: v for k, v in self.metrics.items() if not isinstance(v, (list, dict))},
            figures=figures,
            tables=[
                Table(
                    "per epoch",
                    list(History.COLUMNS),
                    self.history.rows()[-10:],
                    note="last 10 epochs; all of them are in history.csv",
                )
            ],
            config=cfg.to_dict(),
        )
        run.add_section(section, title=f"tinylens train: {cfg.data}")


def _default_arch(data: Dataset, arch: tuple[int, ...] | None) -> list[int]:
    if arch is None:
        return [data.n_features, 64, 32, data.n_outputs]
    arch = tuple(int(a) for a in arch)
    if len(arch) < 2:
        raise ConfigError(f"arch needs at least an input and an output width, got {list(arch)}")
    if arch[0] != data.n_features:
        raise ShapeError(
            f"arch starts with {arch[0]} inputs but {data.name} has {data.n_features} features; "
            f"start it with {data.n_features}"
        )
    if arch[-1] != data.n_outputs:
        raise ShapeError(
            f"arch ends with {arch[-1]} outputs but {data.name} needs {data.n_outputs}; "
            f"end it with {data.n_outputs}"
        )
    return list(arch)


def resume_checkpoint(run: RunDir, config: TrainStudyConfig) -> tuple[Path, bool]:
    """The checkpoint for training into ``run``, and whether an interrupted run left one.

    The study's whole configuration is kept beside the checkpoint: an interrupted run of other
    settings (another dataset, seed or architecture) is refused, never silently continued.
    """
    ckpt, marker = run.file(CHECKPOINT), run.file(CHECKPOINT_CONFIG)
    settings = json.loads(json.dumps(config.to_dict()))  # as JSON would give them back
    if ckpt.exists():
        saved = json.loads(marker.read_text()) if marker.exists() else None
        if saved != settings:
            raise ConfigError(
                f"an interrupted run with other settings is waiting in {run.work}; pass --force "
                "to start over, or rerun it with the same settings to resume it"
            )
        return ckpt, True
    run.write_json(CHECKPOINT_CONFIG, settings)
    return ckpt, False


CHECKPOINT, CHECKPOINT_CONFIG = "checkpoint.safetensors", "checkpoint.json"
"""Files a run keeps while training (removed when it finishes)."""


def run_train(
    config: TrainStudyConfig,
    *,
    quiet: bool = False,
    checkpoint: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Load the data, build the MLP, train it, and measure it.

    ``checkpoint`` makes training resumable (see :func:`tinylens.training.fit`): it is written
    every few epochs, and training continues from it when it exists.
    """
    rng = np.random.default_rng(config.seed)
    data = load_named_dataset(config.data, config.data_params, config.seed, config.data_dir)
    sizes = _default_arch(data, config.arch) if config.model == "mlp" else []
    if config.val_fraction > 0:
        train, val = data.split(config.val_fraction, rng=rng)
    else:
        train, val = data, None
    net: Any
    if config.model == "cnn":
        if data.image_shape is None:
            raise ShapeError(
                f"a CNN needs image data; {data.name} has no image shape (try digits or mnist)"
            )
        net = small_cnn(data.image_shape, config.channels, data.n_outputs, rng=rng)
    else:
        net = MLP(sizes, config.activation, rng=rng, input_names=data.feature_names)
    n_parameters = net.n_parameters()
    if config.backend == "torch":
        from tinylens.torch import to_torch

        net = to_torch(net)
    every = max(1, config.train.epochs // 50)
    history = fit(net, train, config.train, rng=rng, val=val, quiet=quiet, callbacks=callbacks,
                  checkpoint=checkpoint, checkpoint_every=every)  # fmt: skip
    metrics: dict[str, float] = dict(history.final)
    metrics["epochs_run"] = len(history.epoch)
    metrics["parameters"] = n_parameters
    return TrainResult(config, net, history, train, val, metrics)
