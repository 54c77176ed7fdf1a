"""One optimizer / initialisation trained on ``K`` seeds: its outcomes and their tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.engine import BatchedMLP
from tinylens.studies.recovery.classify import OUTCOMES

__all__ = ["VariantResult"]


@dataclass(repr=False)
class VariantResult:
    """One optimizer / initialisation trained on ``K`` seeds.

    ``losses`` (K,) final evaluation losses and ``outcomes`` (K,) are what training measured;
    ``curves`` (points, K) the loss at ``curve_steps`` and ``trace`` (points, K, n_parameters)
    every parameter there (in ``net.parameters()`` order, flattened).
    """

    optimizer: str
    init: str
    lr: float
    seeds: np.ndarray
    losses: np.ndarray  # (K,) final evaluation loss
    outcomes: np.ndarray  # (K,) str
    net: BatchedMLP
    curve_steps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curves: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (points, K)
    seconds: float = 0.0
    initial: dict[str, np.ndarray] = field(default_factory=dict)  # initial weights, (K, ...)
    structural: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (K,)
    readback: np.ndarray = field(default_factory=lambda: np.zeros(0, object))  # (K,) or None
    formulas: np.ndarray = field(default_factory=lambda: np.zeros(0, object))  # (K,) str
    has_readback: bool = True
    trace: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    tol: float = 1e-6

    def __repr__(self) -> str:
        top = max(self.counts().items(), key=lambda kv: kv[1])[0] if len(self.outcomes) else "-"
        return (
            f"VariantResult({self.optimizer} lr {self.lr:g}, init {self.init}: "
            f"{len(self.seeds)} seeds, success {self.success_rate:.1%}, most common {top!r})"
        )

    def init_sides(self) -> np.ndarray | None:
        """For one-input networks without bias: did the first-layer units start pointing to
        both sides of 0? (A bias-free ``relu(w x)`` keeps the sign of ``w`` under gradient
        flow, so units that start on one side stay there, unless a discrete step jumps across
        0.) None for other networks."""
        w = self.initial.get("layers.0.weight")
        if w is None or self.net.bias or w.shape[2] != 1:
            return None
        signs = np.sign(w[:, :, 0])
        return (signs > 0).any(axis=1) & (signs < 0).any(axis=1)

    def sides_table(self) -> list[list[Any]]:
        """Outcome counts for seeds whose units started on both sides of 0, or on one."""
        both = self.init_sides()
        if both is None:
            return []
        rows = []
        for label, sel in (("both sides of 0", both), ("one side of 0", ~both)):
            n = int(sel.sum())
            succ = int((self.outcomes[sel] == "success").sum())
            top = {o: int((self.outcomes[sel] == o).sum()) for o in OUTCOMES}
            rest = ", ".join(f"{o} {c}" for o, c in top.items() if c and o != "success")
            rows.append([label, n, f"{succ / n:.1%}" if n else "-", rest or "-"])
        return rows

    def counts(self) -> dict[str, int]:
        return {o: int((self.outcomes == o).sum()) for o in OUTCOMES if (self.outcomes == o).any()}

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.outcomes == "success"))

    @property
    def solved_rate(self) -> float:
        """Seeds whose final evaluation loss is below ``tol`` (diverged seeds have inf)."""
        return float(np.mean(self.losses < self.tol))

    @property
    def structural_rate(self) -> float:
        """Loss < tol and a known circuit up to permutation and positive rescaling."""
        return float(np.mean(self.structural)) if len(self.structural) else 0.0

    @property
    def readback_rate(self) -> float | None:
        """Loss < tol and the read-back formula equals the target (None: no exact target)."""
        if not self.has_readback:
            return None
        return float(np.mean([v is True for v in self.readback]))

    def checks_table(self) -> list[list[Any]]:
        """Seeds with loss < tol by (structural, read-back) agreement."""
        solved = np.isin(self.outcomes, ["success", "solved, other formula"])
        rows = []
        for s_ok in (True, False):
            for r_ok in (True, False):
                sel = (
                    solved
                    & (self.structural == s_ok)
                    & np.array([v is r_ok for v in self.readback], dtype=bool)
                )
                n = int(sel.sum())
                if n:
                    formulas = sorted(set(self.formulas[sel].tolist()))
                    shown = "; ".join(formulas[:3]) + (" ..." if len(formulas) > 3 else "")
                    rows.append(["yes" if s_ok else "no", "yes" if r_ok else "no", n, shown])
        return rows

    def examples(self, outcome: str, n: int = 3) -> list[int]:
        return [int(s) for s in self.seeds[self.outcomes == outcome][:n]]

    def summary(self) -> dict[str, Any]:
        top = [o for o in self.counts() if o != "success"]
        return {
            "optimizer": self.optimizer,
            "init": self.init,
            "lr": self.lr,
            "seeds": len(self.seeds),
            "success_rate": self.success_rate,
            "structural_rate": self.structural_rate,
            "readback_rate": self.readback_rate,
            "solved_rate": self.solved_rate,
            "outcomes": self.counts(),
            "top_failure": max(top, key=lambda o: self.counts()[o]) if top else None,
            "median_loss": float(np.median(self.losses)),
            "seconds": self.seconds,
        }
