"""The basis study's settings (``tinylens basis``): the target, the network's width, where its
kinks start, its training (one nested :class:`~tinylens.training.TrainConfig`), the snapshots,
and the width sweep.

>>> cfg = BasisStudyConfig.from_dict({"hidden_dim": 6, "train": {"epochs": 60}})
>>> cfg.hidden, cfg.train.epochs, cfg.train.optimizer
(6, 60, 'adam')
>>> BasisStudyConfig.from_dict({"hiden": 6})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tinylens.errors.ConfigError: unknown basis setting 'hiden' (did you mean 'hidden'?); ...
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tinylens.data import TARGETS
from tinylens.engine.init import INITS
from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys
from tinylens.training import TrainConfig

__all__ = ["KINK_STARTS", "BasisStudyConfig"]

KINK_STARTS = ("data", "init")
"""Where the kinks start: ``data`` draws each neuron's kink uniformly inside the data's range
(the bias set to ``-slope * kink``, the slope and the output weight kept from ``init``), so
every neuron fires on part of the data at the start; ``init`` keeps the initialisation's biases
(with ``torch`` on the sine's [0, 2 pi] every kink starts within about one unit of 0, at the
range's left edge: a neuron with a negative slope and a negative bias, a quarter of them on
average, never fires on the data, and more die in training: 8 of 15 in the default run)."""


def _train() -> TrainConfig:
    # 15 neurons, 1000 epochs, Adam at 0.05: the settings of the basis-decomposition project
    # (msmrexe/interpretable-neural-basis-decomposition); the batch of 64 is our own choice.
    return TrainConfig(epochs=1000, batch_size=64, optimizer="adam", lr=0.05, loss="mse")


def _sweep_train() -> TrainConfig:
    # Our own choice: the main run's Adam at 0.05 for 1000 epochs, full batch (200 points); on
    # sine, 2000 epochs at 0.02 moved no width's median RMSE by more than 0.008 (measured once).
    return TrainConfig(
        epochs=1000, batch_size=200, optimizer="adam", lr=0.05, loss="mse", shuffle=False
    )


@dataclass(frozen=True)
class BasisStudyConfig:
    """What ``tinylens basis`` does.

    Parameters
    ----------
    target : str
        A 1-D target of :data:`tinylens.data.TARGETS` (sine, polynomial, abs, rough).
    hidden : int
        The network ``1 -> hidden -> 1`` (``hidden_dim`` in a config file or on the command
        line, the basis-decomposition project's spelling).
    train : TrainConfig
        How it is trained (``snapshot_every`` is set from ``frames``).
    n_samples, noise :
        Training points on an even grid over the target's range, with Gaussian noise.
    init : str
        Weight initialisation of :data:`tinylens.engine.init.INITS` (``torch``: PyTorch's
        ``nn.Linear`` default, as in the basis-decomposition project).
    kinks : str
        Where the kinks start, one of :data:`KINK_STARTS` (``data``: inside the data's range).
    seed : int
    frames : int
        About this many snapshots for the slider and the animation (every
        ``max(1, epochs // frames)`` epochs, plus the initial and final weights).
    grid_points : int
        Resolution of the curves in ``basis_frames.json`` and the figures.
    animation : bool
        Write ``basis_evolution.gif`` (and ``.mp4`` when ffmpeg is installed).
    sweep, sweep_widths, sweep_targets, sweep_seeds, sweep_train :
        The width sweep: for each target and width, ``sweep_seeds`` trained networks (kinks
        started as ``kinks`` says), the least-squares network with evenly placed kinks, the
        piecewise-linear interpolant and, for smooth targets, the 1/width^2 rate.
    """

    target: str = "sine"
    hidden: int = 15
    train: TrainConfig = field(default_factory=_train)
    n_samples: int = 200
    noise: float = 0.0
    init: str = "torch"
    kinks: str = "data"
    seed: int = 2024
    frames: int = 50
    grid_points: int = 121
    animation: bool = True
    sweep: bool = True
    sweep_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    sweep_targets: tuple[str, ...] = ("sine", "polynomial", "abs", "rough")
    sweep_seeds: int = 3
    sweep_train: TrainConfig = field(default_factory=_sweep_train)

    def __post_init__(self) -> None:
        for name in [self.target, *self.sweep_targets]:
            if name not in TARGETS:
                raise UnknownNameError("1-D target", name, TARGETS)
        if self.init not in INITS:
            raise UnknownNameError("initialisation", self.init, INITS)
        if self.kinks not in KINK_STARTS:
            raise UnknownNameError("kink start", self.kinks, KINK_STARTS)
        for key in ("hidden", "n_samples", "frames", "sweep_seeds"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} must be a positive integer, got {value!r}")
        if self.grid_points < 2:
            raise ConfigError(f"grid_points must be at least 2, got {self.grid_points}")
        if not self.noise >= 0:
            raise ConfigError(f"noise must be >= 0, got {self.noise}")
        if not self.sweep_widths or any(int(w) < 1 for w in self.sweep_widths):
            raise ConfigError(f"sweep widths must be positive, got {list(self.sweep_widths)}")
        for key in ("train", "sweep_train"):
            if not isinstance(getattr(self, key), TrainConfig):
                raise ConfigError(f"{key} must be a TrainConfig, not {getattr(self, key)!r}")
        object.__setattr__(self, "sweep_widths", tuple(int(w) for w in self.sweep_widths))
        object.__setattr__(self, "sweep_targets", tuple(self.sweep_targets))

    @property
    def snapshot_every(self) -> int:
        return max(1, self.train.epochs // self.frames)

    def train_config(self) -> TrainConfig:
        """:attr:`train` with the MSE loss and a snapshot every :attr:`snapshot_every` epochs."""
        return dataclasses.replace(self.train, loss="mse", snapshot_every=self.snapshot_every)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["train"] = self.train.to_dict()
        out["sweep_train"] = self.sweep_train.to_dict()
        out["sweep_widths"] = list(self.sweep_widths)
        out["sweep_targets"] = list(self.sweep_targets)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> BasisStudyConfig:
        """Build from :meth:`to_dict`'s layout (a YAML file); ``hidden_dim`` is read as
        ``hidden``; an unknown key is an error."""
        d = dict(d or {})
        if "hidden_dim" in d:
            if "hidden" in d:
                raise ConfigError("give hidden or hidden_dim (the same setting), not both")
            d["hidden"] = d.pop("hidden_dim")
        known = [f.name for f in dataclasses.fields(cls)]
        reject_unknown_keys(d, known, "basis setting", "known settings")
        for key in ("train", "sweep_train"):
            if isinstance(d.get(key), dict):
                base = getattr(cls(), key).to_dict()
                d[key] = TrainConfig.from_dict({**base, **d[key]})
        return cls(**d)
