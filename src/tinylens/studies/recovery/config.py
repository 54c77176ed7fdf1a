"""The settings of the recovery study (``tinylens circuits recover``): which target, how many
seeds, and how they train (one nested :class:`~tinylens.training.TrainConfig`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys
from tinylens.studies.recovery.targets import DISTRIBUTIONS, TARGETS, RecoveryTarget
from tinylens.training import TrainConfig

__all__ = ["RecoveryConfig"]

_UNSET: Any = None


@dataclass(frozen=True, init=False)
class RecoveryConfig:
    """What ``tinylens circuits recover`` runs.

    Parameters
    ----------
    target : str
        A name of :data:`~tinylens.studies.recovery.TARGETS`.
    seeds : int
        Number of seeds (instances), ``seed, seed + 1, ...``.
    seed : int
        The first seed; also seeds the training data and the shuffling.
    training : TrainConfig, optional
        How every seed trains: optimizer, ``lr``, ``batch_size`` and ``epochs`` (passes over
        the training data, as in :func:`~tinylens.training.fit`). Not given: the target's own
        settings (the sources' where known). ``lr`` None: the target's rate for its own
        optimizer, :data:`~tinylens.studies.recovery.DEFAULT_LR` for another. The loss is
        always MSE, and only real targets shuffle.
    optimizer, lr, batch_size : optional
        Shortcuts for the fields of ``training`` (the command line's flags); give them or
        ``training``, not both. After construction they read ``training``'s values.
    steps : int, optional
        Optimizer steps (the sources count steps, not epochs); None: the target's, or
        ``training.epochs`` times the steps of one epoch when ``training`` is given.
    init : str
        A scheme of :mod:`tinylens.engine.init`; ``auto``: the target's source initialisation
        where it names one (``is_even``: PyTorch's, ``torch``), else He for ReLU and Xavier
        otherwise.
    bias : bool, optional
        None: the target's (the sources' 1-2-1 and 2-2-1 circuits have none).
    hidden : tuple of int, optional
        Hidden-layer widths; None: the target's architecture (the sources').
    distribution : {"uniform", "normal", "gamma"}, optional
        Where real targets draw their training inputs; None: the target's own (see
        :data:`~tinylens.studies.recovery.DISTRIBUTIONS`).
    pool : int
        Real targets train on ``pool`` batches of points, reshuffled every epoch (0 draws
        fresh points for every step, in one epoch).
    tol : float
        Success needs the evaluation loss below this.
    atol : float
        Tolerance on the canonical weights when comparing with the known circuit.
    dtype : str
        float32 (like PyTorch's default) or float64.
    compare : bool
        Also train every combination of ``compare_optimizers`` and ``compare_inits``.
    compare_seeds : int, optional
        Seeds per compared variant (default: ``seeds``).
    log_points : int
        Points of the per-seed loss curves.

    >>> cfg = RecoveryConfig(target="abs", lr=0.05, steps=200)
    >>> cfg.training.optimizer, cfg.training.lr, cfg.training.epochs, cfg.steps
    ('sgd', 0.05, 20, 200)
    >>> RecoveryConfig.from_dict(cfg.to_dict()) == cfg
    True
    """

    target: str = "min"
    seeds: int = 1000
    seed: int = 0
    training: TrainConfig = field(default=_UNSET)
    steps: int = field(default=_UNSET)
    init: str = "auto"
    bias: bool | None = None
    hidden: tuple[int, ...] | None = None
    distribution: str | None = None
    pool: int = 10
    tol: float = 1e-6
    atol: float = 0.02
    dtype: str = "float32"
    compare: bool = False
    compare_optimizers: tuple[str, ...] = ("sgd", "momentum", "adam")
    compare_inits: tuple[str, ...] = ("auto", "xavier", "torch")
    compare_seeds: int | None = None
    log_points: int = 50

    def __init__(
        self,
        target: str = "min",
        seeds: int = 1000,
        seed: int = 0,
        optimizer: str | None = None,
        lr: float | None = None,
        init: str = "auto",
        steps: int | None = None,
        batch_size: int | None = None,
        bias: bool | None = None,
        pool: int = 10,
        tol: float = 1e-6,
        atol: float = 0.02,
        dtype: str = "float32",
        compare: bool = False,
        compare_optimizers: tuple[str, ...] = ("sgd", "momentum", "adam"),
        compare_inits: tuple[str, ...] = ("auto", "xavier", "torch"),
        compare_seeds: int | None = None,
        log_points: int = 50,
        *,
        training: TrainConfig | None = None,
        hidden: tuple[int, ...] | None = None,
        distribution: str | None = None,
    ) -> None:
        if target not in TARGETS:
            raise UnknownNameError("recovery target", target, TARGETS)
        t = TARGETS[target]
        if not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"seeds must be a positive number of seeds, got {seeds}")
        if pool < 0:
            raise ConfigError(f"pool must be >= 0 batches, got {pool}")
        if dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}")
        if not tol > 0:
            raise ConfigError(f"tol must be positive, got {tol}")
        if steps is not None and steps < 1:
            raise ConfigError(f"steps must be positive, got {steps}")
        if hidden is not None:
            hidden = tuple(hidden)
            if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
                raise ConfigError(f"hidden must be positive layer widths, got {list(hidden)}")
        if distribution is not None:
            if distribution not in DISTRIBUTIONS:
                raise UnknownNameError("input distribution", distribution, DISTRIBUTIONS)
            if t.integer_range is not None:
                raise ConfigError(
                    f"{target} trains on the integers {t.integer_range[0]}..{t.integer_range[1]}"
                    "; a distribution applies to real targets only"
                )
        if training is not None:
            if (optimizer, lr, batch_size) != (None, None, None):
                raise ConfigError(
                    "give the training settings once: in training, or as optimizer / lr / "
                    "batch_size, not both"
                )
            if not isinstance(training, TrainConfig):
                raise ConfigError(f"training must be a TrainConfig, got {training!r}")
            optimizer, lr, batch_size = training.optimizer, training.lr, training.batch_size
        optimizer = optimizer or t.optimizer
        batch = _batch(t, batch_size or t.batch_size)
        per_epoch = _steps_per_epoch(t, batch, pool, steps or t.steps)
        if steps is None:
            steps = training.epochs * per_epoch if training is not None else t.steps
            per_epoch = _steps_per_epoch(t, batch, pool, steps)
        epochs = math.ceil(steps / per_epoch)
        if training is not None and training.epochs != epochs:
            raise ConfigError(
                f"training.epochs is {training.epochs}, but {steps} steps of {per_epoch} per "
                f"epoch take {epochs} epochs: give steps or epochs, or both consistently"
            )
        base = training or TrainConfig()
        resolved = dataclasses.replace(
            base,
            epochs=epochs,
            batch_size=batch,
            optimizer=optimizer,
            lr=lr,
            loss="mse",
            shuffle=t.integer_range is None,
        )
        values = {
            "target": target,
            "seeds": seeds,
            "seed": seed,
            "training": resolved,
            "steps": steps,
            "init": init,
            "bias": bias,
            "hidden": hidden,
            "distribution": distribution,
            "pool": pool,
            "tol": tol,
            "atol": atol,
            "dtype": dtype,
            "compare": compare,
            "compare_optimizers": tuple(compare_optimizers),
            "compare_inits": tuple(compare_inits),
            "compare_seeds": compare_seeds,
            "log_points": log_points,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # The command line's flags, read back from ``training``.
    @property
    def optimizer(self) -> str:
        return self.training.optimizer

    @property
    def lr(self) -> float | None:
        return self.training.lr

    @property
    def batch_size(self) -> int:
        return self.training.batch_size

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one pass over the training data (``fit``'s epoch)."""
        t = TARGETS[self.target]
        return _steps_per_epoch(t, self.training.batch_size, self.pool, self.steps)

    @property
    def recovery_target(self) -> RecoveryTarget:
        """The target, with the architecture and inputs this config asks for."""
        t = TARGETS[self.target]
        changes: dict[str, Any] = {}
        if self.hidden is not None:
            changes["sizes"] = (t.sizes[0], *self.hidden, t.sizes[-1])
        if self.distribution is not None:
            changes["distribution"] = self.distribution
        return dataclasses.replace(t, **changes) if changes else t

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["training"] = self.training.to_dict()
        d["hidden"] = list(self.hidden) if self.hidden is not None else None
        d["compare_optimizers"] = list(self.compare_optimizers)
        d["compare_inits"] = list(self.compare_inits)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RecoveryConfig:
        """Build from :meth:`to_dict`'s layout (a YAML file); an unknown key is an error."""
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)]
        reject_unknown_keys(d, known, "recovery setting", "known settings")
        if isinstance(d.get("training"), dict):
            d["training"] = TrainConfig.from_dict(d["training"])
        for key in ("compare_optimizers", "compare_inits", "hidden"):
            if isinstance(d.get(key), list):
                d[key] = tuple(d[key])
        return cls(**d)


def _batch(t: RecoveryTarget, batch: int) -> int:
    """Integer targets train full-batch at most: a batch no larger than their integers."""
    if t.integer_range is not None:
        lo, hi = t.integer_range
        return min(batch, hi - lo + 1)
    return batch


def _steps_per_epoch(t: RecoveryTarget, batch: int, pool: int, steps: int) -> int:
    """Integer targets: one pass over their integers; real targets: ``pool`` batches."""
    if t.integer_range is not None:
        lo, hi = t.integer_range
        return math.ceil((hi - lo + 1) / batch)
    return min(pool if pool > 0 else steps, steps)
