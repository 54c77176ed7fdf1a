"""The report sections of the MNIST study about training: the run and its variants, dead units
and their lifecycle, class selectivity, drift, and activation histograms over training."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.mnist.config import SOURCE, SOURCE_TEST_ACCURACY
from tinylens.studies.mnist.metrics import file_stem, rounded

if TYPE_CHECKING:
    from tinylens.studies.mnist.result import MnistResult, ModelRun

__all__ = ["Page", "drift_section", "lifecycle_section", "selectivity_section", "training_section"]


class Page:
    """Figures saved into the run and captioned for one section."""

    def __init__(self, rd: RunDir) -> None:
        self.rd = rd
        self.figures: list[Figure] = []
        self.count = 0

    def add(self, path: str, fig: Any, caption: str) -> None:
        self.rd.save_figure(path, fig)  # drawn once (tinylens.io.save_figure)
        self.figures.append(Figure(path, caption))
        self.count += 1

    def take(self) -> list[Figure]:
        out, self.figures = self.figures, []
        return out


def _live_mean_max(S: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """Per pass: the mean over live units of their largest selectivity; S (passes, classes,
    units), dead (passes, units)."""
    best = S.max(axis=1)
    live = ~dead
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(live.any(axis=1), (best * live).sum(axis=1) / live.sum(axis=1), np.nan)


def _pct(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{100 * v:.2f}%"


def training_section(result: MnistResult, page: Page) -> Section:
    from tinylens.viz import plot_history
    from tinylens.viz.probes import plot_confusion, plot_variant_curves

    p = result.primary
    cfg = result.config
    d = result.data
    page.add(
        "loss.png",
        plot_history(p.history.to_dict(), title=f"{p.variant}: training"),
        "Loss (log scale) and accuracy per epoch; 'validation' is the test set.",
    )
    runs = list(result.runs.values()) + ([result.cnn] if result.cnn is not None else [])
    if len(runs) > 1:
        curves = {}
        for r in runs:
            c: dict[str, Any] = {
                "epoch": [0, *r.history.epoch],
                "val_accuracy": r.history.val_accuracy,
            }
            lives = [la.lifecycle for la in r.layers.values() if la.lifecycle is not None]
            if lives:
                c["dead"] = np.sum([life.dead_counts_ for life in lives], axis=0)
                c["dead_epoch"] = lives[0].epochs
            drifts = [la.drift["selectivity"] for la in r.layers.values() if la.drift]
            if drifts and lives:
                c["selectivity"] = np.mean(
                    [
                        _live_mean_max(d.values, life.dead)
                        for d, life in zip(drifts, lives, strict=True)
                    ],
                    axis=0,
                )
                c["selectivity_epoch"] = drifts[0].epochs
            curves[r.variant] = c
        page.add(
            "variants.png",
            plot_variant_curves(curves, title="variants side by side"),
            "Test accuracy, dead units (all hidden layers) and mean selectivity (over hidden "
            "layers of the mean over live units of their preferred class's S) per epoch; every "
            "MLP variant starts from the same linear weights and sees the same minibatches.",
        )
    page.add(
        "confusion.png",
        plot_confusion(p.analysis.confusion.matrix_, title=f"{p.variant}: test confusion"),
        "Confusion matrix on the test set; each row's accuracy is in its label.",
    )
    comp_rows = []
    for r in runs:
        s = r.summary()
        comp_rows.append(
            [
                r.variant,
                round(s["test_accuracy"], 4),
                " / ".join(f"{s['dead_units'][n]}/{s['units'][n]}" for n in s["units"]),
                " / ".join(
                    "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"
                    for v in s["mean_selectivity"].values()
                ),
                s["parameters"],
                round(s["train_seconds"], 2),
                r.description,
            ]
        )
    classes = len(p.analysis.confusion.per_class_accuracy_)
    per_class_rows = [
        [c] + [rounded(r.analysis.confusion.per_class_accuracy_[c], 4) for r in runs]
        for c in range(classes)
    ]
    metrics_ = {
        "test accuracy": round(p.test_accuracy, 4),
        "train accuracy": round(float(p.history.train_accuracy[-1]), 4),
        f"{SOURCE} (full MNIST)": f"{100 * SOURCE_TEST_ACCURACY:.2f}%",
        "training images": d.train.n,
        "test images": d.test.n,
        "parameters": p.n_parameters,
        "training seconds": round(p.train_seconds, 2),
    }
    summary = (
        f"The setup of {SOURCE}: a {'-'.join(map(str, p.net.sizes))} ReLU MLP, cross-entropy, SGD "
        f"at lr {result.lr:g}, batch {cfg.train.batch_size}, {cfg.train.epochs} epochs, "
        f"seed {cfg.seed}, init {cfg.init}, "
        f"inputs in {p.analysis.input_range}, trained on {d.train.n} images of {d.source} and "
        f"tested on {d.test.n}. It reached {_pct(p.test_accuracy)} test accuracy. "
        + (
            f"Variants ({', '.join(result.runs)}) were trained from the same seed and compared. "
            if len(result.runs) > 1
            else "Run with --variant all to compare the normalized, LayerNorm, dropout and "
            "best variants side by side. "
        )
    )
    return Section(
        id="mnist-training",
        title="Training and variants",
        summary=summary,
        metrics=metrics_,
        figures=page.take(),
        tables=[
            Table(
                "variant comparison",
                [
                    "model",
                    "test acc",
                    "dead / units per hidden layer",
                    "mean selectivity",
                    "parameters",
                    "train s",
                    "what",
                ],
                comp_rows,
                note="mean selectivity: mean over live units of their preferred class's S; "
                "train s includes the per-epoch statistics passes. CNN rows count channels.",
            ),
            Table("per-class test accuracy", ["class"] + [r.variant for r in runs], per_class_rows),
        ],
        config=cfg.to_dict(),
        notes=result.notes(),
    )


def lifecycle_section(run: ModelRun, page: Page, prefix: str = "") -> Section:
    from tinylens.viz.probes import plot_drift, plot_lifecycle

    counts: dict[str, np.ndarray] = {}
    event_rows: list[list[Any]] = []
    epochs = None
    for name, la in run.layers.items():
        life = la.lifecycle
        if life is None:
            continue
        epochs = life.epochs
        counts[name] = life.dead_counts_
        frac = np.stack([run.stats[int(e)][name].frac_active_.reshape(-1) for e in life.epochs])
        page.add(
            f"{prefix}lifecycle_{file_stem(name)}.png",
            plot_lifecycle(
                life.epochs,
                life.dead,
                frac_active=frac,
                events=life.events,
                unit_label=la.unit,
                title=f"{run.variant} {name}: {la.unit}s through training",
            ),
            f"Every {la.unit} of {name} (rows) at every statistics pass (columns): colour is the "
            "fraction of training images it is active on, black is dead (never active); "
            "births, deaths and revivals are marked.",
        )
        for ev in life.events:
            event_rows.append([name, ev.epoch, ev.unit, ev.kind])
    if epochs is not None:
        page.add(
            f"{prefix}dead_counts.png",
            plot_drift(epochs, counts, ylabel="dead units", title=f"{run.variant}: dead units"),
            "Dead units per statistics pass, per hook point.",
        )
    rows = [
        [int(e)] + [int(counts[n][i]) for n in counts]
        for i, e in enumerate([] if epochs is None else epochs)
    ]
    first = next(iter(run.layers.values()))
    return Section(
        id=f"mnist-{prefix}lifecycle",
        title=f"{'CNN: ' if prefix else ''}Dead {first.unit}s and their lifecycle",
        summary=(
            f"A {first.unit} is dead at an epoch when it is never active (> 0) on any training "
            "image during that epoch's statistics pass (evaluation mode, the epoch's final "
            "weights; epoch 0 is before training). Statistics are streamed: per unit, counts, "
            "means, variances, fractions active and class means, never the activations. A birth "
            "is a unit dead from the start waking for the first time; a death, a live unit going "
            "silent; a revival, a unit that had died waking again."
        ),
        metrics={
            f"dead at end: {n}": f"{int(c[-1])} of {run.layers[n].n_units}"
            for n, c in counts.items()
        },
        figures=page.take(),
        tables=[
            Table("dead units per pass", ["epoch", *counts], rows),
            Table(
                "lifecycle events",
                ["hook point", "epoch", "unit", "event"],
                event_rows[:40],
                note=f"{len(event_rows)} events"
                + (" (first 40 shown; all in metrics.json)" if len(event_rows) > 40 else ""),
            ),
        ],
    )


def selectivity_section(run: ModelRun, page: Page, prefix: str = "") -> Section:
    from tinylens.viz.probes import plot_selectivity

    rows = []
    metrics_: dict[str, Any] = {}
    for name, la in run.layers.items():
        sel = la.selectivity
        page.add(
            f"{prefix}selectivity_{file_stem(name)}.png",
            plot_selectivity(
                sel.selectivity_,
                dead=sel.dead_,
                unit_label=la.unit,
                title=f"{run.variant} {name}: class selectivity",
            ),
            f"S = (mu_class - mu_rest) / (mu_class + mu_rest + 0.001) of every {la.unit} of "
            f"{name} for every class (mu_rest: the mean of the other classes' means), from the "
            "final statistics pass over the training set. x: dead.",
        )
        metrics_[f"mean S: {name}"] = rounded(sel.mean_selectivity(), 3)
        if la.top.gradient_ is not None:
            metrics_[f"top-{la.top.k} overlap, selectivity vs gradient: {name}"] = rounded(
                la.top.agreement("selectivity", "gradient"), 2
            )
        for c in range(sel.selectivity_.shape[0]):
            grad = "" if la.top.gradient_ is None else ", ".join(map(str, la.top.gradient_[c]))
            top_s = la.top.selectivity_[c]
            rows.append(
                [
                    c,
                    name,
                    ", ".join(map(str, la.top.activation_[c])),
                    grad,
                    ", ".join(map(str, top_s)),
                    rounded(sel.selectivity_[c, top_s[0]], 3) if len(top_s) else None,
                ]
            )
    first = next(iter(run.layers.values()))
    columns = ["class", "hook point", "by activation", "by gradient", "by selectivity", "best S"]
    with_gradient = any(la.top.gradient_ is not None for la in run.layers.values())
    if with_gradient:
        summary = (
            f"Per class, the top {first.top.k} live {first.unit}s by mean activation on the "
            "class, by gradient (mean d logit_c / d unit over the class's training images) and "
            "by selectivity. Where the rankings agree, a unit both fires for the class and "
            "pushes its logit."
        )
    else:  # the gradients analysis was switched off: no empty column
        summary = (
            f"Per class, the top {first.top.k} live {first.unit}s by mean activation on the "
            "class and by selectivity (the ranking by gradient was not computed in this run)."
        )
        columns.remove("by gradient")
        rows = [row[:3] + row[4:] for row in rows]
    return Section(
        id=f"mnist-{prefix}selectivity",
        title=f"{'CNN: ' if prefix else ''}Class selectivity and top {first.unit}s",
        summary=summary,
        metrics=metrics_,
        figures=page.take(),
        tables=[Table(f"top {first.unit}s per class", columns, rows)],
    )


def drift_section(run: ModelRun, page: Page) -> Section:
    from tinylens.viz.probes import plot_drift

    settle: dict[str, np.ndarray] = {}
    epochs = None
    for name, la in run.layers.items():
        if not la.drift:
            continue
        d = la.drift
        epochs = d["mean"].epochs
        page.add(
            f"drift_{file_stem(name)}.png",
            plot_drift(
                epochs,
                {
                    "mean": d["mean"].step_,
                    "std": d["std"].step_,
                    "fraction active": d["frac_active"].step_,
                    "class means": d["class_means"].step_,
                    "selectivity": d["selectivity"].step_,
                },
                ylabel="mean |change| since the previous pass",
                log=True,
                title=f"{run.variant} {name}: drift per epoch",
            ),
            f"How far the per-neuron statistics of {name} move from one epoch to the next "
            "(mean absolute change over neurons, and classes for class means and selectivity).",
        )
        settle[name] = d["selectivity"].correlation_to_final_
    if epochs is not None:
        page.add(
            "selectivity_settling.png",
            plot_drift(
                epochs,
                settle,
                ylabel="correlation with the final selectivity",
                title=f"{run.variant}: when does selectivity settle?",
            ),
            "Correlation of each epoch's selectivity matrix (classes x neurons) with the final "
            "one: which neuron prefers which class is settled when this reaches 1, even while "
            "magnitudes still grow.",
        )
    if len(run.history.snapshots) > 1:
        wd = run.weight_drift()
        ep = wd.pop("epochs")
        page.add(
            "weight_drift.png",
            plot_drift(
                ep,
                wd,
                ylabel="||W_t - W_t-1|| / ||W_t-1||",
                log=True,
                title=f"{run.variant}: relative weight change per epoch",
            ),
            "Relative change of each weight matrix per epoch, from the weight snapshots.",
        )
    tables = []
    hist = run.histograms
    if hist is not None:
        from tinylens.viz.training_probes import plot_activation_histograms

        page.add(
            "activation_histograms.png",
            plot_activation_histograms(
                hist.epochs,
                hist.edges_,
                hist.counts_,
                title=f"{run.variant}: activations per layer over training",
            ),
            f"Histogram of every activation of each hidden layer (ReLU outputs) on the same "
            f"{hist.n_samples} random training images, through the weights of each epoch "
            "(epoch 0: before training); bins shared across epochs; counts on a symmetric log "
            "scale. Every epoch's counts: metrics.json, activation_histograms. "
            "(eriktholmes/interpreting_mnist draws these for its first layer, notebook 01.)",
        )
        names = list(hist.counts_)
        tables.append(
            Table(
                "share of activations exactly 0 (ReLU off), per epoch",
                ["epoch", *names],
                [
                    [int(e), *[rounded(hist.zero_fraction_[n][i], 4) for n in names]]
                    for i, e in enumerate(hist.epochs)
                ],
            )
        )
    return Section(
        id="mnist-drift",
        title="Drift across epochs",
        summary=(
            "Mean, standard deviation, fraction active, class means and selectivity of every "
            "neuron, followed through the per-epoch statistics passes; the weights through "
            "the per-epoch snapshots (snapshots/); and the distribution of each layer's "
            "activations at every epoch."
        ),
        figures=page.take(),
        tables=tables,
    )
