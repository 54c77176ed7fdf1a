"""The ablation study's result: per hook point, the accuracy with each unit (and each pair)
ablated and with each unit scaled; it shows itself in a notebook (a short ``repr``, an HTML card
with the costliest units, a table of every unit, the first layer's heatmap)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.interventions import AblationSweep, ScalingSweep
from tinylens.io import RunDir
from tinylens.studies.ablate.config import AblateConfig

__all__ = ["AblateResult"]


@dataclass
class AblateResult:
    """What :func:`tinylens.studies.ablate.run` measured.

    Attributes
    ----------
    config : AblateConfig
    data_source : str
        Where the data came from (``digits (sklearn), test part``).
    notes : list of str
    n_samples : int
    layers : list of str
        The hook points ablated, in network order.
    ablations, pairs, scaling : dict
        Per hook point: its :class:`~tinylens.interventions.AblationSweep` (single units),
        its sweep over pairs (with ``pairs``), its :class:`~tinylens.interventions.ScalingSweep`
        (with ``scales``).
    unit_kinds : dict
        Per hook point: ``"neuron"`` or ``"channel"``.
    """

    config: AblateConfig
    data_source: str
    notes: list[str]
    n_samples: int
    layers: list[str]
    ablations: dict[str, AblationSweep]
    pairs: dict[str, AblationSweep]
    scaling: dict[str, ScalingSweep]
    unit_kinds: dict[str, str]

    @property
    def baseline_accuracy(self) -> float:
        return next(iter(self.ablations.values())).baseline_accuracy_

    def metrics(self) -> dict[str, Any]:
        """Every number of the report, flat (``metrics.json``)."""
        out: dict[str, Any] = {
            "baseline_accuracy": round(self.baseline_accuracy, 6),
            "samples": self.n_samples,
        }
        for name, table in self.ablations.items():
            worst = int(np.argmax(table.drop_))
            out[f"{name}: units"] = len(table.units)
            out[f"{name}: most needed {self.unit_kinds[name]}"] = int(table.units[worst, 0])
            out[f"{name}: largest accuracy drop"] = round(float(table.drop_[worst]), 6)
            out[f"{name}: units costing > 1% accuracy"] = int(np.sum(table.drop_ > 0.01))
            out[f"{name}: units costing nothing"] = int(np.sum(np.abs(table.drop_) < 1e-12))
        return out

    def to_dict(self) -> dict[str, list[Any]]:
        """Every single-unit ablation of every layer: ``layer``, ``unit``, ``accuracy``,
        ``drop`` (unrounded); ``pandas.DataFrame`` accepts it."""
        out: dict[str, list[Any]] = {"layer": [], "unit": [], "accuracy": [], "drop": []}
        for name in self.layers:
            table = self.ablations[name]
            out["layer"] += [name] * len(table.units)
            out["unit"] += [int(u) for u in table.units[:, 0]]
            out["accuracy"] += [float(v) for v in table.accuracy_]
            out["drop"] += [float(v) for v in table.drop_]
        return out

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame``, one row per ablated unit."""
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """The per-class accuracy drop of each unit of the first layer (its sweep's heatmap)."""
        return self.ablations[self.layers[0]].plot(ax=ax)

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        return short_repr(
            "AblateResult",
            layers=", ".join(self.layers),
            samples=self.n_samples,
            baseline_accuracy=self.baseline_accuracy,
            pairs=bool(self.pairs),
            scales=len(self.config.scales),
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        table = self.to_dict()
        order = np.argsort(-np.asarray(table["drop"]), kind="stable")  # costliest first
        shown = {k: [v[i] for i in order] for k, v in table.items()}
        numbers = {"data": self.data_source, **self.metrics()}
        figure = self.plot()
        html = html_card(f"Ablations of {self.config.model or 'the model'}", numbers, shown, figure)
        import matplotlib.pyplot as plt

        plt.close(figure)  # shown once, in the card
        return html

    def save(self, run_dir: RunDir) -> None:
        """Write the study into ``run_dir`` (:func:`tinylens.studies.ablate.write`)."""
        from tinylens.studies.ablate.write import write

        write(self, run_dir)
