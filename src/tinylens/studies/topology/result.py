"""The topology study's result: per spiral, both models and what the MLP's layers do."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinylens.io import RunDir
from tinylens.studies.topology.config import TopologyConfig

if TYPE_CHECKING:  # annotations only: the geometry stack loads when the study runs
    from tinylens.data import Dataset
    from tinylens.engine import Sequential
    from tinylens.geometry.folding import FoldedLayer
    from tinylens.geometry.lifting import LiftedClassifier
    from tinylens.geometry.regions import RegionSet
    from tinylens.training import History

__all__ = ["TopologyResult"]


@dataclass
class TopologyResult:
    """Per spiral (keyed by K): the data split, both models and every measurement.

    ``per_class[K]`` holds ``lift`` and ``mlp`` (train/test accuracy, parameters),
    ``degree_sweep`` (test accuracy per degree 1..P), ``separability`` (per layer),
    ``region_counts`` (per hidden layer) and ``region_seconds``.
    """

    config: TopologyConfig
    data: dict[int, tuple[Dataset, Dataset]]
    mlps: dict[int, Sequential]
    histories: dict[int, History]
    lifts: dict[int, LiftedClassifier]
    folds: dict[int, list[FoldedLayer]]
    regions: dict[int, RegionSet]
    per_class: dict[int, dict[str, Any]]

    @property
    def layer_names(self) -> list[str]:
        return ["input", *[f"layer {i + 1}" for i in range(len(self.config.hidden))], "logits"]

    @property
    def metrics(self) -> dict[str, float]:
        """Flat scalars (what a sweep collects): ``K3.lift.test_accuracy``, ``K3.mlp...``,
        ``K3.regions`` (the whole network's exact count in the box)."""
        out: dict[str, float] = {}
        for k, pc in self.per_class.items():
            for model in ("lift", "mlp"):
                for key in ("parameters", "train_accuracy", "test_accuracy"):
                    out[f"K{k}.{model}.{key}"] = float(pc[model][key])
            out[f"K{k}.regions"] = float(pc["region_counts"][-1])
        return out

    def model_rows(self) -> tuple[list[str], list[list[Any]]]:
        """(header, rows): one row per spiral and model."""
        cfg = self.config
        names = {
            "lift": f"degree-{cfg.degree} lifting",
            "mlp": "MLP " + "-".join(map(str, cfg.hidden)),
        }
        rows = [
            [k, names[m], pc[m]["parameters"], pc[m]["train_accuracy"], pc[m]["test_accuracy"]]
            for k, pc in self.per_class.items()
            for m in ("lift", "mlp")
        ]
        return ["K", "model", "parameters", "train acc", "test acc"], rows

    def to_pandas(self) -> Any:
        """One row per spiral and model (parameters, train and test accuracy)."""
        from tinylens._optional import require_pandas

        pd = require_pandas("per_class, a dict")
        header, rows = self.model_rows()
        return pd.DataFrame(rows, columns=header)

    def plot(self, ax: Any = None) -> Any:
        """The lifted classifier's held-out accuracy against its degree, per spiral, with the
        MLP's dashed. Returns the matplotlib Figure."""
        from tinylens.viz.topology import plot_degree_sweep

        return plot_degree_sweep(
            {k: pc["degree_sweep"] for k, pc in self.per_class.items()},
            mlp={k: pc["mlp"]["test_accuracy"] for k, pc in self.per_class.items()},
            ax=ax,
        )

    def __repr__(self) -> str:
        parts = [
            f"K={k}: lifting {pc['lift']['test_accuracy']:.3f}, MLP "
            f"{pc['mlp']['test_accuracy']:.3f}, {pc['region_counts'][-1]} regions"
            for k, pc in self.per_class.items()
        ]
        return f"TopologyResult(test accuracy {'; '.join(parts)})"

    def _repr_html_(self) -> str:
        from tinylens.viz.display import figure_img, html_table

        header, rows = self.model_rows()
        columns = {h: [row[i] for row in rows] for i, h in enumerate(header)}
        return (
            f"<div><b>TopologyResult</b>: {html.escape(repr(self))}"
            f"{html_table(columns)}{figure_img(self.plot())}</div>"
        )

    def save(self, run: RunDir) -> None:
        """Write config, metrics, weights, figures and the report section
        (:func:`tinylens.studies.topology.write`)."""
        from tinylens.studies.topology.write import write

        write(self, run)
