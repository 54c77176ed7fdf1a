"""The recovery study's result: the main variant's seeds and outcomes, the optimizer /
initialisation grid, and their views for a notebook."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.studies.recovery.config import RecoveryConfig
from tinylens.studies.recovery.targets import RecoveryTarget
from tinylens.studies.recovery.variant import VariantResult

__all__ = ["RecoveryResult"]


@dataclass(repr=False)
class RecoveryResult:
    config: RecoveryConfig
    target: RecoveryTarget
    main: VariantResult
    grid: list[VariantResult] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, Any]:
        m = self.main.summary()
        out: dict[str, Any] = {
            "target": self.target.name,
            "success_rate": m["success_rate"],
            "structural_rate": m["structural_rate"],
            "readback_rate": m["readback_rate"],
            "success_means": self.success_means,
            "solved_rate": m["solved_rate"],
            "outcomes": m["outcomes"],
            "seeds": m["seeds"],
            "optimizer": m["optimizer"],
            "lr": m["lr"],
            "init": m["init"],
            "steps": self.config.steps or self.target.steps,
            "median_loss": m["median_loss"],
            "seconds": m["seconds"],
            "examples": {o: self.main.examples(o) for o in self.main.counts()},
        }
        both = self.main.init_sides()
        if both is not None:
            out["init_sides"] = {
                label: {
                    "seeds": int(sel.sum()),
                    "success_rate": float(np.mean(self.main.outcomes[sel] == "success"))
                    if sel.any()
                    else None,
                }
                for label, sel in (("both", both), ("one", ~both))
            }
        if self.target.sharpens:
            out["sharpening"] = self.sharpening()
        if self.grid:
            out["grid"] = [v.summary() for v in self.grid]
        return out

    @property
    def success_means(self) -> str:
        if self.target.sharpens:
            return (
                "the gentle-introduction article's solution: the step's threshold found "
                "(9 < -b/w < 10) and the sharpness M = -w still growing over the last quarter "
                "of training (the loss reaches 0 only as M grows without bound)"
            )
        if self.target.expression is not None:
            return "read-back formula equals the target"
        return "the known unit structure (no exact formula for this target)"

    def sharpening(self) -> dict[str, Any]:
        """For the sigmoid step: the median sharpness ``M`` and threshold of the successful
        seeds at the start and the end of training, and how many seeds were still sharpening."""
        from tinylens.studies.recovery.sharpening import sharpness, threshold

        m = self.main
        ok = m.outcomes == "success"
        M, c = sharpness(m.trace), threshold(m.trace)

        def median(a: np.ndarray) -> float | None:
            return float(np.median(a)) if a.size else None

        return {
            "seeds": int(ok.sum()),
            "median_M_start": median(M[0, ok]),
            "median_M_end": median(M[-1, ok]),
            "median_threshold_end": median(c[-1, ok]),
            "median_loss": median(m.losses[ok]),
        }

    def rows(self) -> dict[str, list[Any]]:
        """One row per seed of the main variant: seed, final loss, outcome and both checks."""
        main = self.main
        return {
            "seed": [int(s) for s in main.seeds],
            "loss": [float(v) for v in main.losses],
            "outcome": [str(o) for o in main.outcomes],
            "structural": [bool(v) for v in main.structural],
            "readback": [None if v is None else bool(v) for v in main.readback],
            "formula": [str(f) for f in main.formulas],
        }

    def to_dict(self) -> dict[str, list[Any]]:
        """:meth:`rows`, which ``pandas.DataFrame`` takes as it is."""
        return self.rows()

    def to_pandas(self) -> Any:
        """:meth:`rows` as a DataFrame, one row per seed (needs pandas: ``tinylens[test]``)."""
        from tinylens._optional import require_pandas

        pd = require_pandas()
        return pd.DataFrame(self.rows())

    def __repr__(self) -> str:
        m = self.main
        return (
            f"RecoveryResult({self.target.name}: {len(m.seeds)} seeds of "
            f"{'-'.join(map(str, self.target.sizes))}, {m.optimizer} lr {m.lr:g}, "
            f"{self.config.steps} steps; success {m.success_rate:.1%}, loss < tol "
            f"{m.solved_rate:.1%}"
            + (f", {len(self.grid)} grid variants" if self.grid else "")
            + ")"
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import figure_img  # matplotlib on first use

        m, n = self.main, len(self.main.seeds)
        rows = "".join(
            f"<tr><td>{html.escape(o)}</td><td>{c}</td><td>{c / n:.1%}</td>"
            f"<td>{html.escape(', '.join(map(str, m.examples(o))))}</td></tr>"
            for o, c in m.counts().items()
        )
        return (
            f"<div><b>Does gradient descent find {html.escape(self.target.name)}?</b> "
            f"{n} seeds, {html.escape(m.optimizer)} lr {m.lr:g}, {self.config.steps} steps: "
            f"success {m.success_rate:.1%}, known circuit {m.structural_rate:.1%}, loss &lt; "
            f"{self.config.tol:g} {m.solved_rate:.1%}"
            "<table><tr><th>outcome</th><th>seeds</th><th>share</th><th>example seeds</th></tr>"
            f"{rows}</table>{figure_img(self.plot(), close=True)}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        """The final loss of every seed, by outcome (a matplotlib figure)."""
        from tinylens.studies.recovery.classify import OUTCOMES
        from tinylens.viz.circuits import plot_loss_distribution

        m = self.main
        order = [o for o in OUTCOMES if o in m.counts()]
        return plot_loss_distribution(
            m.losses,
            m.outcomes,
            order,
            tol=self.config.tol,
            title=f"{self.target.name}: final loss of {len(m.seeds)} seeds",
            ax=ax,
        )

    def save(self, run: Any) -> Any:
        """Write the run (see :func:`~tinylens.studies.recovery.write`) into ``run``: a
        :class:`~tinylens.io.RunDir`, or a path, which is written whole or not at all.
        Returns the path."""
        from tinylens.io import RunDir
        from tinylens.studies.recovery.write import write

        if isinstance(run, RunDir):
            write(self, run)
            return run.path
        with RunDir(run) as out:
            write(self, out)
        return out.path
