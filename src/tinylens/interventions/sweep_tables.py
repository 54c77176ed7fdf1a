"""The result tables of the unit sweeps (:mod:`tinylens.interventions.unit_sweeps`): accuracy
with each unit ablated or scaled, the effect of patching each unit; each shows itself in a
notebook (a short ``repr``, an HTML card, ``to_pandas()``, ``plot()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.errors import ConfigError

__all__ = ["AblationSweep", "PatchingSweep", "ScalingSweep"]


@dataclass(repr=False)
class AblationSweep:
    """Accuracy with each unit (or each pair of units) ablated.

    Attributes
    ----------
    name : str
        The hook point.
    kind : str
        ``"zero"`` or ``"mean"``.
    units : array of shape (k, r)
        The ablated unit(s) of each row: r = 1 for single units, 2 for pairs.
    accuracy_ : array of shape (k,)
    class_accuracy_ : array of shape (k, n_classes)
    baseline_accuracy_ : float
    baseline_class_accuracy_ : array of shape (n_classes,)
    class_counts_ : array of shape (n_classes,)
    """

    name: str
    kind: str
    units: np.ndarray
    accuracy_: np.ndarray
    class_accuracy_: np.ndarray
    baseline_accuracy_: float
    baseline_class_accuracy_: np.ndarray
    class_counts_: np.ndarray
    n_units: int = 0

    @property
    def drop_(self) -> np.ndarray:
        """Accuracy lost by each ablation (baseline minus ablated)."""
        return self.baseline_accuracy_ - self.accuracy_

    @property
    def class_drop_(self) -> np.ndarray:
        return self.baseline_class_accuracy_ - self.class_accuracy_

    def pair_matrix(self) -> np.ndarray:
        """For a pairs sweep: accuracy as a symmetric (n_units, n_units) matrix (NaN diagonal)."""
        if self.units.shape[1] != 2:
            raise ConfigError("pair_matrix needs a sweep over pairs (pairs=True)")
        ids = np.unique(self.units)
        pos = {int(u): i for i, u in enumerate(ids)}
        mat = np.full((len(ids), len(ids)), np.nan)
        for (a, b), acc in zip(self.units, self.accuracy_, strict=True):
            mat[pos[int(a)], pos[int(b)]] = mat[pos[int(b)], pos[int(a)]] = acc
        return mat

    def columns(self) -> list[str]:
        k = self.class_accuracy_.shape[1]
        return ["units", "accuracy", "drop"] + [f"class_{c}" for c in range(k)]

    def rows(self) -> list[list[Any]]:
        """One row per ablation: units (``"3"``, ``"3+7"``), accuracy, drop, per-class accuracy."""
        out = []
        for u, acc, drop, per in zip(
            self.units, self.accuracy_, self.drop_, self.class_accuracy_, strict=True
        ):
            out.append(
                ["+".join(str(int(v)) for v in u), round(float(acc), 6), round(float(drop), 6)]
                + [round(float(v), 6) for v in per]
            )
        return out

    def costliest_rows(self, k: int) -> list[list[Any]]:
        """The :meth:`rows` of the ``k`` ablations that lose the most accuracy, costliest first."""
        rows = self.rows()
        return [rows[i] for i in np.argsort(-self.drop_)[:k]]

    # -- display (notebooks) -------------------------------------------------------------------

    def to_dict(self) -> dict[str, list[Any]]:
        """The :meth:`columns`, unrounded (``rows`` rounds for the report): ``units``,
        ``accuracy``, ``drop``, ``class_0``...; ``pandas.DataFrame`` accepts it."""
        out: dict[str, list[Any]] = {
            "units": ["+".join(str(int(v)) for v in u) for u in self.units],
            "accuracy": [float(v) for v in self.accuracy_],
            "drop": [float(v) for v in self.drop_],
        }
        for c in range(self.class_accuracy_.shape[1]):
            out[f"class_{c}"] = [float(v) for v in self.class_accuracy_[:, c]]
        return out

    def to_pandas(self) -> Any:
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """Per-class accuracy drop of each ablation (single units), or of each pair (pairs)."""
        from tinylens.viz.interventions import plot_ablation_heatmap, plot_pair_matrix

        title = f"{self.kind} ablation at {self.name}"
        if self.units.shape[1] == 2:
            labels = [str(int(u)) for u in np.unique(self.units)]
            return plot_pair_matrix(
                self.pair_matrix(), labels, self.baseline_accuracy_, title=title, ax=ax
            )
        labels = ["+".join(str(int(v)) for v in u) for u in self.units]
        return plot_ablation_heatmap(self.class_drop_, labels, title=title, ax=ax)

    def _key_numbers(self) -> dict[str, Any]:
        worst = int(np.argmax(self.drop_)) if len(self.drop_) else None
        return {
            "ablations": len(self.units),
            "baseline_accuracy": float(self.baseline_accuracy_),
            "largest_drop": float(self.drop_[worst]) if worst is not None else float("nan"),
            "costliest": "+".join(str(int(v)) for v in self.units[worst])
            if worst is not None
            else "",
        }

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        return short_repr("AblationSweep", name=self.name, kind=self.kind, **self._key_numbers())

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        order = np.argsort(-self.drop_, kind="stable")  # the card's rows: costliest first
        table = {k: [v[i] for i in order] for k, v in self.to_dict().items()}
        title = f"AblationSweep: {self.kind} ablation at {self.name}"
        return html_card(title, self._key_numbers(), table, self.plot())


@dataclass(repr=False)
class ScalingSweep:
    """Accuracy with each unit multiplied by each factor.

    Attributes
    ----------
    name : str
    units : array of shape (n_units,)
    scales : array of shape (n_scales,)
    accuracy_ : array of shape (n_units, n_scales)
    class_accuracy_ : array of shape (n_units, n_scales, n_classes)
    baseline_accuracy_ : float
    baseline_class_accuracy_ : array of shape (n_classes,)
    """

    name: str
    units: np.ndarray
    scales: np.ndarray
    accuracy_: np.ndarray
    class_accuracy_: np.ndarray
    baseline_accuracy_: float
    baseline_class_accuracy_: np.ndarray
    class_counts_: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def columns(self) -> list[str]:
        return ["unit"] + [f"x{s:g}" for s in self.scales]

    def rows(self) -> list[list[Any]]:
        return [
            [int(u)] + [round(float(a), 6) for a in accs]
            for u, accs in zip(self.units, self.accuracy_, strict=True)
        ]

    def to_dict(self) -> dict[str, list[Any]]:
        """The :meth:`columns`, unrounded: ``unit`` and the accuracy at each scale (``x0``...)."""
        out: dict[str, list[Any]] = {"unit": [int(u) for u in self.units]}
        for j, name in enumerate(self.columns()[1:]):
            out[name] = [float(v) for v in self.accuracy_[:, j]]
        return out

    def to_pandas(self) -> Any:
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """Accuracy against the scale factor, one line per unit (the largest effects coloured)."""
        from tinylens.viz.interventions import plot_scaling_curves

        labels = [str(int(u)) for u in self.units]
        title = f"scaling at {self.name}"
        return plot_scaling_curves(
            self.scales, self.accuracy_, self.baseline_accuracy_, labels, title=title, ax=ax
        )

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        return short_repr(
            "ScalingSweep",
            name=self.name,
            units=len(self.units),
            scales=len(self.scales),
            baseline_accuracy=float(self.baseline_accuracy_),
            lowest_accuracy=float(np.min(self.accuracy_)) if self.accuracy_.size else float("nan"),
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        numbers = {"units": len(self.units), "baseline_accuracy": float(self.baseline_accuracy_)}
        return html_card(f"ScalingSweep at {self.name}", numbers, self.to_dict(), self.plot())


@dataclass(repr=False)
class PatchingSweep:
    """The effect of patching each unit's clean activation into the corrupted run.

    Attributes
    ----------
    name : str
    units : array of shape (n_units,)
    effect_ : array of shape (n_units,)
        The metric with that unit patched (by default: the fraction of corrupted inputs whose
        prediction becomes the clean prediction).
    corrupted_ : float
        The metric with nothing patched.
    clean_ : float
        The metric with every unit patched (the clean run itself).
    """

    name: str
    units: np.ndarray
    effect_: np.ndarray
    corrupted_: float
    clean_: float

    @property
    def restored_(self) -> np.ndarray:
        """Fraction of the clean-minus-corrupted gap each unit restores."""
        gap = self.clean_ - self.corrupted_
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.effect_ - self.corrupted_) / gap

    def to_dict(self) -> dict[str, list[Any]]:
        """One row per unit: ``unit``, ``effect`` (the metric with it patched), ``restored``."""
        return {
            "unit": [int(u) for u in self.units],
            "effect": [float(v) for v in self.effect_],
            "restored": [float(v) for v in self.restored_],
        }

    def to_pandas(self) -> Any:
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """The fraction of the clean-corrupted gap each unit restores, as bars."""
        from tinylens.viz.figure import new_axes

        fig, ax = new_axes(ax, max(4.0, 0.25 * len(self.units) + 2.0), 3.2)
        ax.bar(np.arange(len(self.units)), self.restored_, color="C0")
        ax.set_xticks(np.arange(len(self.units)), [str(int(u)) for u in self.units])
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set(xlabel="patched unit", ylabel="gap restored", title=f"patching at {self.name}")
        return fig

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        return short_repr(
            "PatchingSweep",
            name=self.name,
            units=len(self.units),
            corrupted=float(self.corrupted_),
            clean=float(self.clean_),
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        numbers = {"corrupted": float(self.corrupted_), "clean": float(self.clean_)}
        return html_card(f"PatchingSweep at {self.name}", numbers, self.to_dict(), self.plot())
