"""Training configuration: one frozen dataclass, validated when built.

>>> TrainConfig(epochs=20, batch_size=64, optimizer="sgd", lr=0.01).optimizer_kwargs()
{'lr': 0.01}
>>> TrainConfig.from_dict({"epochs": 5, "optimiser": "adam"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tinylens.errors.ConfigError: unknown training setting 'optimiser' (did you mean 'optimizer'?); ...
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from tinylens.engine.losses import LOSSES
from tinylens.engine.optim import OPTIMIZERS
from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Parameters
    ----------
    epochs : int
        Passes over the training data.
    batch_size : int
        Minibatch size (the last batch of an epoch may be smaller).
    optimizer : str
        A preset of :data:`tinylens.engine.OPTIMIZERS`: ``sgd``, ``momentum``, ``nesterov``,
        ``ema_momentum``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``.
    lr, momentum, betas, eps, weight_decay :
        Optimizer hyperparameters; ``None`` keeps the preset's default (PyTorch's).
    loss : str
        ``auto`` (cross-entropy for classification, MSE for regression), ``mse``,
        ``cross_entropy`` or ``bce``.
    shuffle : bool
        Reshuffle the training set every epoch (with the ``rng`` given to ``fit``).
    snapshot_every : int
        Keep a copy of the weights every k epochs (and before training); 0 keeps none.
    early_stopping : int
        Stop after this many epochs without improvement of the monitored loss (validation
        loss if there is validation data, else training loss); 0 disables.
    min_delta : float
        The improvement that counts for early stopping.
    restore_best : bool
        With early stopping, end with the best weights seen.
    divergence_threshold : float
        A loss above this (or NaN/inf) stops training with ``DivergenceError``.
    """

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float | None = None
    betas: tuple[float, float] | None = None
    eps: float | None = None
    weight_decay: float | None = None
    loss: str = "auto"
    shuffle: bool = True
    snapshot_every: int = 0
    early_stopping: int = 0
    min_delta: float = 0.0
    restore_best: bool = True
    divergence_threshold: float = 1e12
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.optimizer not in OPTIMIZERS:
            raise UnknownNameError("optimizer", self.optimizer, OPTIMIZERS)
        if self.loss != "auto" and self.loss not in LOSSES:
            raise UnknownNameError("loss", self.loss, [*LOSSES, "auto"])
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if self.betas is not None:
            object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
            if len(self.betas) != 2:
                raise ConfigError(f"betas must be two numbers, got {self.betas}")
        for name in ("snapshot_every", "early_stopping"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")

    def optimizer_kwargs(self) -> dict[str, Any]:
        """The hyperparameters given explicitly (the rest come from the preset)."""
        names = ("lr", "momentum", "betas", "eps", "weight_decay")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("extra")
        if d["betas"] is not None:
            d["betas"] = list(d["betas"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a mapping (a YAML file); unknown keys are an error, not ignored."""
        known = sorted({f.name for f in dataclasses.fields(cls)} - {"extra"})
        reject_unknown_keys(d, known, "training setting", "known settings")
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(f"bad training settings: {exc}") from None
