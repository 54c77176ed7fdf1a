"""The optimizer study's result: runs, summaries and curves, showable in a notebook."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.engine import Sequential
from tinylens.io import RunDir
from tinylens.studies.optimizers.config import OptimizerStudyConfig
from tinylens.studies.optimizers.data import StudyData
from tinylens.studies.optimizers.paths import OptimizerPath
from tinylens.studies.optimizers.rules import update_rule_text
from tinylens.training import History

__all__ = ["OptimizerRun", "OptimizerStudyResult"]


@dataclass
class OptimizerRun:
    """One optimizer trained from one seed.

    ``history`` holds train loss/accuracy and test (``val_*``) loss/accuracy per epoch;
    ``diverged`` is the one-line reason when training diverged (history then stops there).
    """

    optimizer: str
    seed: int
    hyperparameters: dict[str, Any]
    history: History
    seconds: float
    diverged: str | None = None
    net: Sequential | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        h = self.history
        last = f", final train loss {h.train_loss[-1]:.4g}" if h.train_loss else ""
        return (
            f"OptimizerRun({self.optimizer}, seed {self.seed}, lr {self.hyperparameters['lr']:g}, "
            f"{len(h.epoch)} epochs{last}{', diverged' if self.diverged else ''})"
        )


def _mean_sd(values: list[float] | np.ndarray) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


@dataclass
class OptimizerStudyResult:
    """Everything the study measured.

    Attributes
    ----------
    config : OptimizerStudyConfig
    data : StudyData
    runs : list of OptimizerRun
        Optimizer-major, seed-minor.
    lrs : dict of str -> float
        The learning rate each optimizer was compared at (tuned or preset).
    tuning : dict, optional
        The grid, scores and choices when ``config.tune``.
    paths : dict of surface -> dict of optimizer -> OptimizerPath, optional
    """

    config: OptimizerStudyConfig
    data: StudyData
    runs: list[OptimizerRun]
    lrs: dict[str, float]
    tuning: dict[str, Any] | None = None
    paths: dict[str, dict[str, OptimizerPath]] | None = None

    @property
    def classification(self) -> bool:
        return self.data.task == "classification"

    def curves(self, key: str) -> dict[str, np.ndarray]:
        """Per optimizer, array of shape (n_seeds, epochs) of a History field, e.g.
        ``"train_loss"``, ``"val_loss"`` (the test set), ``"val_accuracy"``; NaN-padded."""
        out: dict[str, np.ndarray] = {}
        for name in self.config.optimizers:
            rows = [r for r in self.runs if r.optimizer == name]
            arr = np.full((len(rows), self.config.epochs), np.nan)
            for i, r in enumerate(rows):
                values = getattr(r.history, key)
                arr[i, : len(values)] = values
            out[name] = arr
        return out

    def _reach(self, run: OptimizerRun) -> tuple[int | None, float | None]:
        """(epoch, seconds) at which the epoch-mean training loss first reached the target."""
        target = self.config.target_loss
        elapsed = 0.0
        for epoch, loss, secs in zip(
            run.history.epoch, run.history.train_loss, run.history.seconds, strict=False
        ):
            elapsed += secs
            if loss <= target:  # type: ignore[operator]
                return int(epoch), elapsed
        return None, None

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per optimizer: final test metrics (mean, sd, min, max over seeds), time to target."""
        out: dict[str, dict[str, Any]] = {}
        for name in self.config.optimizers:
            rows = [r for r in self.runs if r.optimizer == name]
            final = [
                r.history.val_loss[-1] if r.diverged is None and r.history.val_loss else math.nan
                for r in rows
            ]
            s: dict[str, Any] = {"lr": self.lrs[name], "seeds": len(rows)}
            s["test_loss_mean"], s["test_loss_sd"] = _mean_sd(final)
            tl = [r.history.train_loss[-1] if r.diverged is None else math.nan for r in rows]
            s["train_loss_mean"], s["train_loss_sd"] = _mean_sd(tl)
            if self.classification:
                acc = np.array(
                    [r.history.val_accuracy[-1] if r.diverged is None else math.nan for r in rows]
                )
                s["test_accuracy_mean"], s["test_accuracy_sd"] = _mean_sd(acc)
                finite = acc[np.isfinite(acc)]
                s["test_accuracy_min"] = float(finite.min()) if finite.size else math.nan
                s["test_accuracy_max"] = float(finite.max()) if finite.size else math.nan
            reach = [self._reach(r) for r in rows]
            epochs = [e for e, _ in reach if e is not None]
            secs = [t for _, t in reach if t is not None]
            s["reached_target"] = len(epochs)
            s["epochs_to_target_mean"], s["epochs_to_target_sd"] = _mean_sd(epochs)
            s["seconds_to_target_mean"], s["seconds_to_target_sd"] = _mean_sd(secs)
            s["seconds_per_run"] = float(np.mean([r.seconds for r in rows]))
            s["diverged"] = sum(r.diverged is not None for r in rows)
            out[name] = s
        return out

    @property
    def metrics(self) -> dict[str, float]:
        """Flat scalars ``"<optimizer>.<measure>"`` (what a sweep collects)."""
        flat: dict[str, float] = {}
        for name, s in self.summary().items():
            for k, v in s.items():
                if isinstance(v, (int, float)):
                    flat[f"{name}.{k}"] = float(v)
        return flat

    def update_rules(self) -> dict[str, str]:
        return {
            n: update_rule_text(n, {**self.config.optimizer_params[n], "lr": self.lrs[n]})
            for n in self.config.optimizers
        }

    def notes(self) -> list[str]:
        """Caveats for the report: substituted data, untuned rates, grid edges, divergence."""
        notes = list(self.data.notes)
        cfg = self.config
        if not cfg.tune:
            rates = ", ".join(f"{n} {self.lrs[n]:g}" for n in cfg.optimizers)
            notes.append(
                "Unfair by construction: learning rates were not tuned per optimizer; each ran "
                f"at its preset ({rates}). A ranking at untuned rates measures the rates as much "
                "as the methods. Run with --tune to compare each optimizer at its best rate "
                "from a grid (chosen on a validation split of the training data, not the test set)."
            )
        else:
            assert self.tuning is not None
            edge = [
                n
                for n, g in self.tuning["grid"].items()
                if g["chosen"] in (min(g["lrs"]), max(g["lrs"]))
            ]
            if edge:
                notes.append(
                    f"The best rate of {', '.join(edge)} lies at the edge of the grid; the true "
                    "optimum may lie beyond it (widen tune_factors)."
                )
        bad = [r for r in self.runs if r.diverged]
        if bad:
            notes.append(
                f"{len(bad)} run(s) diverged and are left out of the means: "
                + "; ".join(f"{r.optimizer} seed {r.seed}" for r in bad[:5])
            )
        if {"momentum", "ema_momentum"} <= set(cfg.optimizers):
            notes.append(
                "Two momentum rules ran: momentum is PyTorch's heavy ball (b = μb + g, "
                "θ -= lr·b); ema_momentum is the rule msmrexe/interpretable-neural-basis-"
                "decomposition calls Momentum (v = βv + (1 − β)g, θ -= lr·v), whose steps "
                "are 1 − β times as long at the same lr and β."
            )
        if cfg.seeds < 3:
            notes.append(f"Only {cfg.seeds} seed(s) per optimizer: the error bars are weak.")
        return notes

    # -- saving ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.config.dataset,
            "data_source": self.data.source,
            "data_notes": self.data.notes,
            "n_train": self.data.train.n,
            "n_test": self.data.test.n,
            "model": self.data.sizes,
            "activation": self.config.activation,
            "target_loss": self.config.target_loss,
            "tuned": self.config.tune,
            "lrs": self.lrs,
            "summary": self.summary(),
            "update_rules": self.update_rules(),
            "tuning": self.tuning,
            "notes": self.notes(),
            "runs": [
                {
                    "optimizer": r.optimizer,
                    "seed": r.seed,
                    "hyperparameters": r.hyperparameters,
                    "seconds": r.seconds,
                    "diverged": r.diverged,
                    "history": r.history.to_dict(),
                }
                for r in self.runs
            ],
            "paths": {
                s: {n: p.to_dict() for n, p in ps.items()} for s, ps in (self.paths or {}).items()
            },
        }

    # -- showing ----------------------------------------------------------------------------
    @property
    def score_name(self) -> str:
        """What the study ranks by: ``"test accuracy"`` (classification) or ``"test MSE"``."""
        return "test accuracy" if self.classification else "test MSE"

    def ranked(self) -> list[str]:
        """The optimizers, best first (highest mean test accuracy, or lowest test MSE)."""
        summary = self.summary()
        if self.classification:
            return sorted(summary, key=lambda n: -np.nan_to_num(summary[n]["test_accuracy_mean"]))
        return sorted(summary, key=lambda n: np.nan_to_num(summary[n]["test_loss_mean"], nan=1e30))

    def _score(self, s: dict[str, Any]) -> tuple[float, float]:
        key = "test_accuracy" if self.classification else "test_loss"
        return s[f"{key}_mean"], s[f"{key}_sd"]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """The summary as (header, rows), one row per optimizer in the config's order."""
        header = ["optimizer", "lr", f"{self.score_name} mean", "sd", "reached target", "diverged"]
        rows = []
        for name, s in self.summary().items():
            mean, sd = self._score(s)
            rows.append([name, s["lr"], mean, sd, s["reached_target"], s["diverged"]])
        return header, rows

    def to_pandas(self) -> Any:
        """One row per optimizer: every measure of :meth:`summary`, indexed by optimizer."""
        from tinylens._optional import require_pandas

        pd = require_pandas("summary(), a dict")
        frame = pd.DataFrame.from_dict(self.summary(), orient="index")
        frame.index.name = "optimizer"
        return frame

    def plot(self, ax: Any = None) -> Any:
        """Training loss per epoch (mean over seeds, band = min to max); returns the Figure."""
        from tinylens.viz.optimizers import plot_curve_bands

        fig = plot_curve_bands(self.curves("train_loss"), ylabel="training loss", logy=True, ax=ax)
        fig.axes[0].axhline(self.config.target_loss, color="k", ls=":", lw=1)
        return fig

    def __repr__(self) -> str:
        cfg = self.config
        best = self.ranked()[0]
        mean, sd = self._score(self.summary()[best])
        return (
            f"OptimizerStudyResult({self.data.source}, {len(cfg.optimizers)} optimizers x "
            f"{cfg.seeds} seeds, {cfg.epochs} epochs; best {best} {self.score_name} "
            f"{mean:.4g} ± {sd:.2g})"
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import figure_img, html_table

        header, rows = self.table()
        columns = {h: [row[i] for row in rows] for i, h in enumerate(header)}
        return (
            f"<div><b>OptimizerStudyResult</b>: {html.escape(repr(self))}"
            f"{html_table(columns)}{figure_img(self.plot())}</div>"
        )

    def save(self, run: RunDir) -> None:
        """Write config, metrics, curves, weights, figures and the report section into ``run``
        (:func:`tinylens.studies.optimizers.write`)."""
        from tinylens.studies.optimizers.write import write

        write(self, run)
