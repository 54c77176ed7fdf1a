"""The topology study's settings: the spirals, the lifting and the MLP (one nested
:class:`~tinylens.training.TrainConfig`).

>>> cfg = TopologyConfig.from_dict({"classes": [3], "train": {"epochs": 30}})
>>> cfg.train.epochs, cfg.train.optimizer, cfg.train.lr
(30, 'adam', 0.01)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from tinylens.errors import ConfigError, reject_unknown_keys
from tinylens.training import TrainConfig

__all__ = ["MLP_TRAINING", "TopologyConfig"]

MLP_TRAINING = TrainConfig(
    epochs=300, batch_size=64, optimizer="adam", lr=0.01, loss="cross_entropy"
)
"""How the deep MLP trains unless told otherwise: Adam, lr 0.01, batch 64, 300 epochs (our own
choice: msmrexe/interpretable-neural-basis-decomposition's topology notebook trains its MLP with
Adam; these reach 1.00 held-out accuracy on the 3-arm spiral). A ``train`` mapping in
:meth:`TopologyConfig.from_dict` overrides these, key by key."""


@dataclass(frozen=True)
class TopologyConfig:
    """What ``tinylens topology`` compares.

    Parameters
    ----------
    classes : tuple of int
        Spiral arms; one comparison per entry (default K = 3 and K = 4).
    points, noise :
        The spiral of msmrexe/interpretable-neural-basis-decomposition: 1000 points, noise 0.2.
    degree : int
        Highest total degree of the monomials (5: 20 features for 2 inputs).
    hidden : tuple of int
        The MLP's hidden widths (64, 32).
    train : TrainConfig
        The MLP's training (:data:`MLP_TRAINING` by default).
    lift_epochs, lift_lr :
        The lifted linear classifier's training (full-batch Adam, cross-entropy).
    test_fraction : float
        Held out, stratified.
    box : float
        Half-width of the square ``[-box, box]^2`` where regions are counted and the grid is
        folded (the spiral lies in the unit disc, plus noise).
    seed : int
    """

    classes: tuple[int, ...] = (3, 4)
    points: int = 1000
    noise: float = 0.2
    degree: int = 5
    hidden: tuple[int, ...] = (64, 32)
    train: TrainConfig = field(default_factory=lambda: MLP_TRAINING)
    lift_epochs: int = 1000
    lift_lr: float = 0.05
    test_fraction: float = 0.2
    box: float = 1.25
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(int(k) for k in self.classes))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if not self.classes or any(k < 2 for k in self.classes):
            raise ConfigError(f"classes must be integers >= 2, got {list(self.classes)}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden widths must be positive, got {list(self.hidden)}")
        if not isinstance(self.degree, int) or self.degree < 1:
            raise ConfigError(f"degree must be a positive integer, got {self.degree!r}")
        if not isinstance(self.lift_epochs, int) or self.lift_epochs < 1:
            raise ConfigError(f"lift_epochs must be a positive integer, got {self.lift_epochs!r}")
        if not self.lift_lr > 0:
            raise ConfigError(f"lift_lr must be positive, got {self.lift_lr!r}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not self.box > 0:
            raise ConfigError(f"box must be positive, got {self.box}")
        if self.points < 10 * max(self.classes):
            raise ConfigError(
                f"{self.points} points are too few for {max(self.classes)} arms; use at least "
                f"{10 * max(self.classes)}"
            )
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(f"train must be a TrainConfig, not {self.train!r}")

    def mlp_config(self) -> TrainConfig:
        """The MLP's :class:`TrainConfig` (``train``)."""
        return self.train

    def lift_config(self, n: int) -> TrainConfig:
        """The lifted classifier's: full-batch Adam on all ``n`` training points."""
        return TrainConfig(
            epochs=self.lift_epochs,
            batch_size=n,
            optimizer="adam",
            lr=self.lift_lr,
            loss="cross_entropy",
            shuffle=False,
        )

    @property
    def box_bounds(self) -> list[tuple[float, float]]:
        return [(-self.box, self.box)] * 2

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["classes"], d["hidden"] = list(self.classes), list(self.hidden)
        d["train"] = self.train.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TopologyConfig:
        """Build from a mapping (``to_dict``'s layout); unknown keys are an error. ``train``
        overrides :data:`MLP_TRAINING` key by key."""
        if not isinstance(d, dict):
            raise ConfigError(f"the topology config must be a mapping of settings, got {d!r}")
        reject_unknown_keys(d, [f.name for f in fields(cls)], "topology setting")
        d = dict(d)
        if "train" in d:
            train = d["train"]
            if isinstance(train, dict):
                known = sorted({f.name for f in fields(TrainConfig)} - {"extra"})
                reject_unknown_keys(train, known, "training setting", "known settings")
                d["train"] = TrainConfig.from_dict({**MLP_TRAINING.to_dict(), **train})
        for key in ("classes", "hidden"):
            if isinstance(d.get(key), int):
                d[key] = (d[key],)
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(f"bad topology settings: {exc}") from None

    def replace(self, **changes: Any) -> TopologyConfig:
        """A copy with ``changes`` (``train`` may be a mapping of overrides)."""
        train = changes.get("train")
        if isinstance(train, dict):
            changes["train"] = dataclasses.replace(self.train, **train)
        return dataclasses.replace(self, **changes)
