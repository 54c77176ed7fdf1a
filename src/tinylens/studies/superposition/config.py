"""The settings of the superposition study: what to sweep, and how to train."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tinylens.errors import ConfigError, reject_unknown_keys

__all__ = ["PhaseConfig", "SuperpositionConfig", "ToyTrainConfig"]


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _from_dict(cls: type, d: dict[str, Any], what: str) -> Any:
    if not isinstance(d, dict):
        raise ConfigError(f"the {what} must be a mapping of settings, got {d!r}")
    known = [f.name for f in fields(cls)]
    reject_unknown_keys(d, known, f"{what} setting")
    return d


@dataclass(frozen=True)
class ToyTrainConfig:
    """How the toy models train: the paper notebook's settings (Elhage et al., 2022,
    ``toy_models.ipynb``: AdamW with PyTorch's default weight decay 0.01, lr 1e-3, batch 1,024,
    10,000 steps, constant learning rate). Fresh samples every step, so there are no epochs:
    this is why the study does not train through ``fit`` and its ``TrainConfig``.
    ``dtype`` float32 is PyTorch's default, as in the notebook."""

    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.01
    dtype: str = "float32"

    def __post_init__(self) -> None:
        _positive_int("steps", self.steps)
        _positive_int("batch_size", self.batch_size)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        wd = self.weight_decay
        if not (isinstance(wd, (int, float)) and wd >= 0 and math.isfinite(wd)):
            raise ConfigError(f"weight_decay must be a number >= 0, got {wd!r}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToyTrainConfig:
        return cls(**_from_dict(cls, d, "train"))


@dataclass(frozen=True)
class PhaseConfig:
    """The ``n=2, m=1`` phase diagram's grid: both features have density ``1 - S`` (one of
    ``densities``); feature 1 has importance 1, feature 2 (the "extra" one) has importance
    ``relative_importance``. The paper's axes span densities 1 to 0.01 and relative importance
    0.1 to 10 on log scales; the 8 x 8 grid is our choice. Each cell trains ``instances``
    differently initialised models and keeps the one with the lowest loss (our choice: one
    model alone can settle in a local minimum and speckle the diagram)."""

    densities: tuple[float, ...] = (1.0, 0.52, 0.27, 0.14, 0.072, 0.037, 0.019, 0.01)
    relative_importance: tuple[float, ...] = (0.1, 0.19, 0.37, 0.72, 1.39, 2.68, 5.18, 10.0)
    instances: int = 4

    def __post_init__(self) -> None:
        _positive_int("phase instances", self.instances)
        object.__setattr__(self, "densities", tuple(float(v) for v in self.densities))
        object.__setattr__(
            self, "relative_importance", tuple(float(v) for v in self.relative_importance)
        )
        if not self.densities or any(not (0 < v <= 1) for v in self.densities):
            raise ConfigError(f"phase densities must lie in (0, 1], got {list(self.densities)}")
        ri = self.relative_importance
        if not ri or any(not (v > 0 and math.isfinite(v)) for v in ri):
            raise ConfigError(f"relative importances must be positive, got {list(ri)}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PhaseConfig:
        return cls(**_from_dict(cls, d, "phase"))


@dataclass(frozen=True)
class SuperpositionConfig:
    """The toy-model sweep of the superposition study.

    Parameters
    ----------
    features, hidden : int
        ``n`` features squeezed into ``m`` hidden dimensions (the paper's intro: 5 and 2).
    sparsity : tuple of float
        ``S`` values in [0, 1): each feature is zero with probability ``S``.
    importance : tuple of float
        Importance decays ``r``: feature ``i`` has importance ``r**i`` (the paper: 0.9).
    instances : int
        Independently initialised models per (sparsity, importance) setting; the study reports
        the one with the lowest final loss (one run can settle in a local minimum).
    hidden_relu : bool
        The paper's variant with ``h = ReLU(W x)``.
    phase : PhaseConfig or None
        Also draw the ``n=2, m=1`` phase diagram on this grid (``--phase-diagram``).
    train : ToyTrainConfig
    seed : int
    """

    features: int = 5
    hidden: int = 2
    sparsity: tuple[float, ...] = (0.0, 0.7, 0.9, 0.97, 0.99)
    importance: tuple[float, ...] = (0.9,)
    instances: int = 1
    hidden_relu: bool = False
    phase: PhaseConfig | None = None
    train: ToyTrainConfig = field(default_factory=ToyTrainConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        _positive_int("features", self.features)
        _positive_int("hidden", self.hidden)
        _positive_int("instances", self.instances)
        if self.hidden >= self.features:
            raise ConfigError(
                f"hidden ({self.hidden}) must be smaller than features ({self.features}): "
                "superposition needs more features than dimensions"
            )
        object.__setattr__(self, "sparsity", tuple(float(v) for v in self.sparsity))
        object.__setattr__(self, "importance", tuple(float(v) for v in self.importance))
        if not self.sparsity or any(not (0 <= s < 1) for s in self.sparsity):
            raise ConfigError(
                f"sparsity values must lie in [0, 1) (S=1 would never show a feature), "
                f"got {list(self.sparsity)}"
            )
        imp = self.importance
        if not imp or any(not (v > 0 and math.isfinite(v)) for v in imp):
            raise ConfigError(f"importance decays must be positive numbers, got {list(imp)}")
        if not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")

    @property
    def settings(self) -> list[tuple[float, float]]:
        """Every (sparsity, importance decay) pair, sparsity-major."""
        return [(s, r) for s in self.sparsity for r in self.importance]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sparsity"], d["importance"] = list(self.sparsity), list(self.importance)
        if self.phase is not None:
            d["phase"] = {
                "densities": list(self.phase.densities),
                "relative_importance": list(self.phase.relative_importance),
                "instances": self.phase.instances,
            }
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SuperpositionConfig:
        d = dict(_from_dict(cls, d, "superposition"))
        if isinstance(d.get("train"), dict):
            d["train"] = ToyTrainConfig.from_dict(d["train"])
        if isinstance(d.get("phase"), dict):
            d["phase"] = PhaseConfig.from_dict(d["phase"])
        for key in ("sparsity", "importance"):
            if isinstance(d.get(key), (int, float)):
                d[key] = (d[key],)
        return cls(**d)
