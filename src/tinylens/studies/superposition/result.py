"""The superposition study's result: the trained weights and everything measured from them.

Fields ending in ``_`` were learned or measured (scikit-learn's convention); the others are
the settings each instance was trained with.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.studies.superposition.config import SuperpositionConfig
from tinylens.superposition import geometry as G

__all__ = ["PhaseDiagram", "SuperpositionResult"]


@dataclass
class PhaseDiagram:
    """The ``n=2, m=1`` grid: ``W_[row, col]`` (shape ``(1, 2)``) and its phase, for relative
    importance ``relative_importance[row]`` and density ``densities[col]``."""

    densities: np.ndarray
    relative_importance: np.ndarray
    W_: np.ndarray  # (rows, cols, 1, 2)
    phases_: np.ndarray  # (rows, cols) of str

    def phase_index(self) -> np.ndarray:
        """The phases as indices into :data:`tinylens.superposition.geometry.PHASES`."""
        return np.vectorize(G.PHASES.index)(self.phases_)

    def counts(self) -> dict[str, int]:
        return {p: int((self.phases_ == p).sum()) for p in G.PHASES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "densities": self.densities.tolist(),
            "relative_importance": self.relative_importance.tolist(),
            "phases": self.phases_.tolist(),
            "W": self.W_[:, :, 0, :].tolist(),
            "counts": self.counts(),
            "rule": "extra feature (feature 2): not represented if ||W_2|| <= 0.5; dedicated "
            "dimension if ||W_2|| > 0.5 and ||W_1|| <= 0.5; superposition if both > 0.5",
        }

    def plot(self, ax: Any = None) -> Any:
        from tinylens.viz.superposition import plot_phase_diagram

        return plot_phase_diagram(
            self.densities, self.relative_importance, self.phase_index(), ax=ax
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import figure_img  # matplotlib on first use

        rows = "".join(f"<tr><td>{p}</td><td>{c}</td></tr>" for p, c in self.counts().items())
        return (
            f"<div><b>Phase diagram, n=2, m=1</b> ({len(self.relative_importance)} relative "
            f"importances x {len(self.densities)} densities)<table><tr><th>phase of feature 2"
            f"</th><th>cells</th></tr>{rows}</table>{figure_img(self.plot(), tight=True)}</div>"
        )

    def __repr__(self) -> str:
        return (
            f"PhaseDiagram({len(self.relative_importance)}x{len(self.densities)}, {self.counts()})"
        )


@dataclass
class SuperpositionResult:
    """Per instance ``k`` (``instances`` per setting, settings sparsity-major):

    Attributes
    ----------
    sparsity, importance_decay : arrays of shape (K,)
        The setting instance ``k`` was trained with (importance of feature ``i``: ``decay**i``).
    W_ : array of shape (K, m, n)
    b_ : array of shape (K, n)
    loss_ : array of shape (K,)
        Mean logged training loss over the last tenth of training.
    loss_history_ : array of shape (n_logged, K)
    phase : PhaseDiagram or None
    seconds : dict
        Wall-clock time of each batched run.
    """

    config: SuperpositionConfig
    sparsity: np.ndarray
    importance_decay: np.ndarray
    W_: np.ndarray
    b_: np.ndarray
    loss_: np.ndarray
    loss_history_: np.ndarray
    phase: PhaseDiagram | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    # -- measured from the weights -------------------------------------------------------------
    @property
    def norms_(self) -> np.ndarray:
        return G.feature_norms(self.W_)

    @property
    def superposition_(self) -> np.ndarray:
        return G.superposition(self.W_)

    @property
    def dimensionality_(self) -> np.ndarray:
        return G.dimensionality(self.W_)

    @property
    def represented_(self) -> np.ndarray:
        return G.represented(self.W_)

    @property
    def gram_(self) -> np.ndarray:
        return G.gram(self.W_)

    def best(self) -> list[int]:
        """Per (sparsity, importance) setting, the instance with the lowest final loss."""
        per = self.config.instances
        return [
            int(start + np.argmin(self.loss_[start : start + per]))
            for start in range(0, len(self.loss_), per)
        ]

    def instance_metrics(self, k: int) -> dict[str, Any]:
        """Everything measured from instance ``k``'s weights (the rows of ``metrics.json``)."""
        W = self.W_[k : k + 1]
        d = G.dimensionality(W)[0]
        out: dict[str, Any] = {
            "instance": k,
            "sparsity": float(self.sparsity[k]),
            "importance_decay": float(self.importance_decay[k]),
            "loss": float(self.loss_[k]),
            "represented": int(G.represented(W)[0]),
            "norms": G.feature_norms(W)[0].tolist(),
            "superposition": G.superposition(W)[0].tolist(),
            "dimensionality": d.tolist(),
            "fractions": [str(G.nearest_fraction(v)) for v in d],
            "dimensions_per_feature": float(self.config.hidden / max((W**2).sum(), 1e-12)),
            "angles": np.round(G.feature_angles(W)[0], 4).tolist(),
            "W": W[0].tolist(),
            "b": self.b_[k].tolist(),
            "WtW": G.gram(W)[0].tolist(),
        }
        if self.config.hidden == 2:
            out["neighbour_angles"] = G.neighbour_angles(W)[0]
        return out

    def metrics(self) -> dict[str, Any]:
        """``metrics.json``: per setting its best instance, every instance, the phase diagram."""
        cfg = self.config
        return {
            "features": cfg.features,
            "hidden": cfg.hidden,
            "norm_threshold": G.NORM_THRESHOLD,
            "best": [self.instance_metrics(k) for k in self.best()],
            "instances": [self.instance_metrics(k) for k in range(len(self.loss_))],
            "phase_diagram": None if self.phase is None else self.phase.to_dict(),
            "seconds": self.seconds,
        }

    # -- tables ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, list[Any]]:
        """One row per (instance, feature), as columns (``pandas.DataFrame`` accepts it)."""
        cols: dict[str, list[Any]] = {
            k: []
            for k in (
                "instance",
                "sparsity",
                "importance_decay",
                "feature",
                "importance",
                "norm",
                "superposition",
                "dimensionality",
                "fraction",
                "best",
            )
        }
        norms, sup, dim = self.norms_, self.superposition_, self.dimensionality_
        best = set(self.best())
        for k in range(len(self.loss_)):
            for i in range(self.config.features):
                cols["instance"].append(k)
                cols["sparsity"].append(float(self.sparsity[k]))
                cols["importance_decay"].append(float(self.importance_decay[k]))
                cols["feature"].append(i)
                cols["importance"].append(float(self.importance_decay[k] ** i))
                cols["norm"].append(float(norms[k, i]))
                cols["superposition"].append(float(sup[k, i]))
                cols["dimensionality"].append(float(dim[k, i]))
                cols["fraction"].append(str(G.nearest_fraction(dim[k, i])))
                cols["best"].append(k in best)
        return cols

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame`` (pandas is optional)."""
        from tinylens._optional import require_pandas

        return require_pandas().DataFrame(self.to_dict())

    def summary_rows(self) -> list[list[Any]]:
        """Per setting (its best instance): S, decay, represented, D_i, fractions, loss."""
        rows = []
        for k in self.best():
            m = self.instance_metrics(k)
            rows.append(
                [
                    m["sparsity"],
                    m["importance_decay"],
                    m["represented"],
                    " ".join(f"{v:.2f}" for v in m["dimensionality"]),
                    " ".join(m["fractions"]),
                    m["loss"],
                ]
            )
        return rows

    SUMMARY_COLUMNS = ("S", "importance", "represented", "D_i", "fractions", "loss")

    # -- showing itself -------------------------------------------------------------------------
    def __repr__(self) -> str:
        cfg = self.config
        reps = [int(self.represented_[k]) for k in self.best()]
        return (
            f"SuperpositionResult(n={cfg.features}, m={cfg.hidden}, "
            f"settings={len(cfg.settings)}, instances={cfg.instances}, "
            f"steps={cfg.train.steps}, represented={reps}"
            + (f", phase={self.phase.counts()}" if self.phase is not None else "")
            + ")"
        )

    def plot(self, ax: Any = None) -> Any:
        """Per-feature dimensionality ``D_i`` against ``1 / (1 - S)``, with the fractions."""
        from tinylens.viz.superposition import plot_dimensionality

        best = self.best()
        return plot_dimensionality(
            self.sparsity[best],
            self.dimensionality_[best],
            dims_per_feature=self.config.hidden / (self.W_[best] ** 2).sum(axis=(1, 2)),
            ax=ax,
        )

    def plot_columns(self) -> Any:
        """The columns of ``W`` for each setting (``m = 2``), one panel each."""
        from tinylens.viz.superposition import plot_columns_grid

        best = self.best()
        titles = [f"S={self.sparsity[k]:g}, r={self.importance_decay[k]:g}" for k in best]
        return plot_columns_grid(self.W_[best], self.importance_decay[best], titles)

    def _repr_html_(self) -> str:
        from tinylens.viz.display import figure_img  # matplotlib on first use

        cfg = self.config
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.SUMMARY_COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{v:.4g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"
                for v in row
            )
            + "</tr>"
            for row in self.summary_rows()
        )
        img = figure_img(self.plot_columns() if cfg.hidden == 2 else self.plot(), tight=True)
        phase = (
            ""
            if self.phase is None
            else f"<p>phase diagram (n=2, m=1): {html.escape(str(self.phase.counts()))}</p>"
        )
        return (
            f"<div><b>Toy models of superposition</b>: n={cfg.features} features in "
            f"m={cfg.hidden} dimensions, {len(self.loss_)} models trained at once "
            f"({cfg.train.steps} steps, batch {cfg.train.batch_size})"
            f"<table><tr>{head}</tr>{body}</table>{phase}{img}</div>"
        )
