"""Write the optimizer study: config, metrics, curves, weights, figures and the report section.

``write(result, run)`` reads only the result's public attributes and methods, so this module
does not import :mod:`.result` (which calls it from ``save``): no import cycle.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.optimizers.paths import paths_figure
from tinylens.studies.optimizers.rules import RULE_NAMES, update_rules_mathml
from tinylens.training import History

__all__ = ["write", "write_report"]

# The result is an OptimizerStudyResult; typed loosely here so that the writer does not import
# the module that calls it.
OptimizerStudyResult = Any


def _pm(mean: float, sd: float, digits: int = 4) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _figures(result: OptimizerStudyResult, run: RunDir) -> list[Figure]:
    from tinylens.viz.figure import new_figure
    from tinylens.viz.optimizers import (
        plot_curve_bands,
        plot_final_scores,
        plot_lr_grid,
        plot_step_sizes,
    )

    cfg = result.config
    figs: list[Figure] = []
    fig = new_figure(11.5, 4.2)
    left, right = fig.subplots(1, 2)
    plot_curve_bands(result.curves("train_loss"), ylabel="training loss", logy=True, ax=left)
    if result.classification:
        plot_curve_bands(result.curves("val_accuracy"), ylabel="test accuracy", ax=right)
    else:
        plot_curve_bands(result.curves("val_loss"), ylabel="test MSE", logy=True, ax=right)
    left.axhline(cfg.target_loss, color="k", ls=":", lw=1)
    fig.suptitle(f"{result.data.source}: mean over {cfg.seeds} seeds, band = min to max")
    run.save_figure("curves.png", fig)
    figs.append(
        Figure(
            "curves.png",
            "Training loss (log scale; dotted: the target loss) and test "
            f"{'accuracy' if result.classification else 'MSE'} per epoch: the line is the mean "
            "over seeds, the band spans the lowest to the highest seed.",
        )
    )
    key = "val_accuracy" if result.classification else "val_loss"
    finals = {n: c[:, -1] for n, c in result.curves(key).items()}
    label = "final test accuracy" if result.classification else "final test MSE"
    run.save_figure("final.png", plot_final_scores(finals, ylabel=label))
    figs.append(Figure("final.png", f"{label.capitalize()} of every seed; error bar: mean ± 1 sd."))
    if result.tuning is not None:
        grid = {
            n: (np.array(g["lrs"]), np.array(g["val_loss"]))
            for n, g in result.tuning["grid"].items()
        }
        run.save_figure("tuning.png", plot_lr_grid(grid, chosen=result.lrs))
        figs.append(
            Figure(
                "tuning.png",
                "Learning-rate grid: final validation loss (a split of the training data) per "
                "rate, mean over the tuning seeds; circled: the rate used for the comparison.",
            )
        )
    for surface, paths in (result.paths or {}).items():
        fig = paths_figure(surface, paths)
        run.save_figure(f"paths_{surface}.png", fig)
        figs.append(
            Figure(
                f"paths_{surface}.png",
                f"Paths of the engine's optimizers on {surface} from the square (star: "
                "minimum). SGD, Momentum and Nesterov share one learning rate, so the bend and "
                "the reach that momentum adds are seen at equal lr; Adam and RMSProp divide "
                "by the root of the second moment, so their steps keep a similar length on "
                "steep walls and flat floors alike.",
            )
        )
    if result.paths and "rosenbrock" in result.paths:
        # NOTE: one representative per family; Nesterov and AdamW would sit on their parents.
        paths = {
            n: p
            for n, p in result.paths["rosenbrock"].items()
            if n in ("sgd", "momentum", "adam", "rmsprop")
        } or result.paths["rosenbrock"]
        fig = plot_step_sizes(
            {n: np.linalg.norm(p.grads, axis=1) for n, p in paths.items()},
            {n: np.linalg.norm(p.steps, axis=1) for n, p in paths.items()},
            lrs={n: p.hyperparameters["lr"] for n, p in paths.items()},
            momentum={n: float(p.hyperparameters.get("momentum", 0.0)) for n, p in paths.items()},
            title="How the moments shape the step (Rosenbrock paths above)",
        )
        run.save_figure("moments.png", fig)
        figs.append(
            Figure(
                "moments.png",
                "Left: step length and gradient norm per step. Right: the effective learning "
                "rate |Δθ|/|g|. SGD's equals its lr; momentum's (first moment) climbs toward "
                "lr/(1 − μ) (10·lr at μ = 0.9) while the slope keeps its direction; Adam's "
                "and RMSProp's (second moment) rise as the gradient shrinks, since they step "
                "about lr per coordinate whatever the slope.",
            )
        )
    run.write_text("update_rules.html", update_rules_mathml(_rule_hyper(result)))
    figs.append(
        Figure(
            "update_rules.html",
            "The update rules that ran, with the hyperparameters of this comparison.",
            kind="html",
        )
    )
    return figs


def _rule_hyper(result: OptimizerStudyResult) -> dict[str, dict[str, Any]]:
    return {
        n: {**result.config.optimizer_params[n], "lr": result.lrs[n]}
        for n in result.config.optimizers
    }


def _tables(result: OptimizerStudyResult) -> list[Table]:
    summary = result.summary()
    cfg = result.config
    tables = []
    if result.classification:
        cols = ["optimizer", "lr", "test accuracy (mean ± sd)", "min", "max", "test loss"]
        rows = [
            [
                n,
                s["lr"],
                _pm(s["test_accuracy_mean"], s["test_accuracy_sd"]),
                s["test_accuracy_min"],
                s["test_accuracy_max"],
                _pm(s["test_loss_mean"], s["test_loss_sd"]),
            ]
            for n, s in summary.items()
        ]
    else:
        cols = ["optimizer", "lr", "test MSE (mean ± sd)", "training loss (mean ± sd)"]
        rows = [
            [
                n,
                s["lr"],
                _pm(s["test_loss_mean"], s["test_loss_sd"], 5),
                _pm(s["train_loss_mean"], s["train_loss_sd"], 5),
            ]
            for n, s in summary.items()
        ]
    tables.append(
        Table(
            "final results after the last epoch",
            cols,
            rows,
            note=f"{cfg.seeds} seeds per optimizer; sd is the sample standard deviation.",
        )
    )
    tables.append(
        Table(
            f"time to reach a training loss of {cfg.target_loss:g}",
            ["optimizer", "reached", "epochs (mean ± sd)", "seconds (mean ± sd)", "s / run"],
            [
                [
                    n,
                    f"{s['reached_target']} / {s['seeds']}",
                    _pm(s["epochs_to_target_mean"], s["epochs_to_target_sd"], 1),
                    _pm(s["seconds_to_target_mean"], s["seconds_to_target_sd"], 3),
                    s["seconds_per_run"],
                ]
                for n, s in summary.items()
            ],
            note="The epoch-mean training loss; means are over the seeds that reached it. "
            "Seconds are wall time on this machine (training and the per-epoch test pass).",
        )
    )
    tables.append(
        Table(
            "update rules (plain text)",
            ["optimizer", "rule"],
            [[f"{n} ({RULE_NAMES.get(n, n)})", rule] for n, rule in result.update_rules().items()],
        )
    )
    if result.tuning is not None:
        factors = result.tuning["factors"]
        tables.append(
            Table(
                "learning-rate grid (final validation loss)",
                ["optimizer", "preset lr", *[f"× {f:g}" for f in factors], "chosen lr"],
                [
                    [n, g["preset"], *g["val_loss"], g["chosen"]]
                    for n, g in result.tuning["grid"].items()
                ],
                note=f"Trained on {result.tuning['n_fit']} and scored on {result.tuning['n_val']} "
                f"held-out training samples, {result.tuning['seeds']} seed(s) per rate; the "
                "test set is not used to choose.",
            )
        )
    if result.paths:
        rows = [
            [
                s,
                n,
                p.hyperparameters["lr"],
                float(p.losses[0]),
                float(p.losses[-1]),
                f"({p.points[-1, 0]:.3f}, {p.points[-1, 1]:.3f})",
                p.diverged,
            ]
            for s, paths in result.paths.items()
            for n, p in paths.items()
        ]
        tables.append(
            Table(
                "paths on 2-D surfaces",
                ["surface", "optimizer", "lr", "start loss", "final loss", "end", "diverged"],
                rows,
            )
        )
    return tables


def _resolution(summary: dict[str, dict[str, Any]], ranked: list[str], accuracy: bool) -> str:
    """A sentence naming the optimizers the seeds cannot tell apart from the best (gap < 1 sd)."""
    key = "test_accuracy" if accuracy else "test_loss"
    best = ranked[0]
    m0, s0 = summary[best][f"{key}_mean"], summary[best][f"{key}_sd"]
    if math.isnan(m0):
        return ""
    close = [
        n
        for n in ranked[1:]
        if not math.isnan(summary[n][f"{key}_mean"])
        and abs(summary[n][f"{key}_mean"] - m0) <= max(s0, summary[n][f"{key}_sd"])
    ]
    if not close:
        return f" {best} is ahead of the others by more than one sd."
    return (
        f" {', '.join(close)} {'is' if len(close) == 1 else 'are'} within one sd of {best}: "
        "these seeds do not separate them."
    )


def write_report(result: OptimizerStudyResult, run: RunDir) -> None:
    """Figures, tables and the section of ``result`` into ``run``."""
    cfg = result.config
    summary = result.summary()
    figures = _figures(result, run)
    ranked = result.ranked()
    if result.classification:
        best = ", ".join(
            f"{n} {_pm(summary[n]['test_accuracy_mean'], summary[n]['test_accuracy_sd'], 3)}"
            for n in ranked
        )
        headline = f"Final test accuracy (mean ± sd), best first: {best}."
    else:
        best = ", ".join(
            f"{n} {_pm(summary[n]['test_loss_mean'], summary[n]['test_loss_sd'], 4)}"
            for n in ranked
        )
        headline = f"Final test MSE (mean ± sd), best first: {best}."
    headline += _resolution(summary, ranked, result.classification)
    how = "each at its best rate from a grid" if cfg.tune else "each at its preset rate"
    summary_text = (
        f"{len(cfg.optimizers)} optimizers trained a {'-'.join(map(str, result.data.sizes))} "
        f"{cfg.activation} MLP on {result.data.source} ({result.data.train.n} training, "
        f"{result.data.test.n} test samples) for {cfg.epochs} epochs at batch {cfg.batch_size}, "
        f"{how}, from {cfg.seeds} seeds each. For a given seed every optimizer starts from the "
        f"same weights and sees the same minibatches. {headline}"
    )
    metrics: dict[str, Any] = {"data": result.data.source, "tuned": cfg.tune}
    for n in ranked:
        key = "test_accuracy_mean" if result.classification else "test_loss_mean"
        metrics[f"{n} {'accuracy' if result.classification else 'test MSE'}"] = summary[n][key]
    section = Section(
        id="optimizers",
        title=f"Optimizers on {cfg.dataset}",
        summary=summary_text,
        metrics=metrics,
        figures=figures,
        tables=_tables(result),
        config=cfg.to_dict(),
        notes=result.notes(),
    )
    run.add_section(section, title=f"tinylens optimizers: {cfg.dataset}")


def write(result: OptimizerStudyResult, run: RunDir) -> None:
    """``config.yaml``, ``metrics.json``, ``curves.csv``, the first seed's weights per
    optimizer, the figures and the report section of ``result`` into ``run``."""
    cfg = result.config
    run.write_yaml("config.yaml", cfg.to_dict())
    run.write_json("metrics.json", result.to_json())
    header = ["optimizer", "seed", *History.COLUMNS]
    rows = [[r.optimizer, r.seed, *row] for r in result.runs for row in r.history.rows()]
    run.write_csv("curves.csv", rows, header)
    for name in cfg.optimizers:
        first = next(r for r in result.runs if r.optimizer == name)
        if first.net is not None and first.diverged is None:
            run.save_weights(
                f"weights/{name}_seed{first.seed}.safetensors",
                first.net,
                info={"study": "optimizers", "optimizer": name, "seed": first.seed},
            )
    write_report(result, run)
