"""What ``tinylens mnist`` writes: ``metrics.json``, CSV tables, weights and snapshots, figures
and one report section per part of the study."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.mnist import SOURCE_TEST_ACCURACY

if TYPE_CHECKING:
    from tinylens.studies.mnist import MnistStudyResult, ModelRun
    from tinylens.studies.mnist_analysis import LayerAnalysis

__all__ = ["metrics", "save"]


def _clean(obj: Any) -> Any:
    """JSON-ready: arrays to lists, NaN and infinities to None (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _r(v: float, digits: int = 6) -> float | None:
    v = float(v)
    return round(v, digits) if math.isfinite(v) else None


# Section ids start with "mnist-" so that a page holding several studies (tinylens demo) keeps
# its anchors apart; the CNN's sections add "cnn_".


def _stem(name: str) -> str:
    return name.replace(".", "_").replace(":", "_")


# -- metrics --------------------------------------------------------------------------------------


def _layer_metrics(la: LayerAnalysis, final: Any) -> dict[str, Any]:
    """``final``: the NeuronStats of the last statistics pass at this hook point."""
    sel = la.selectivity
    out: dict[str, Any] = {
        "unit": la.unit,
        "units": la.n_units,
        "dead_final": la.dead_units.tolist(),
        "mean": final.mean_.reshape(-1),
        "std": final.std_.reshape(-1),
        "frac_active": final.frac_active_.reshape(-1),
        "class_means": sel.class_means_,
        "mean_selectivity": _r(sel.mean_selectivity()),
        "preferred_class": sel.preferred_class_.tolist(),
        "max_selectivity": [_r(v) for v in sel.max_selectivity_],
        "top_neurons": {
            by: (None if getattr(la.top, f"{by}_") is None else getattr(la.top, f"{by}_").tolist())
            for by in ("activation", "gradient", "selectivity")
        },
    }
    if la.top.gradient_ is not None:
        out["ranking_agreement"] = {
            "activation_vs_selectivity": _r(la.top.agreement("activation", "selectivity")),
            "gradient_vs_selectivity": _r(la.top.agreement("gradient", "selectivity")),
            "activation_vs_gradient": _r(la.top.agreement("activation", "gradient")),
        }
    if la.ablation is not None:
        abl = la.ablation
        worst = int(np.argmax(abl.drop_))
        out["ablation"] = {
            "baseline_accuracy": _r(abl.baseline_accuracy_),
            "accuracy": [_r(v) for v in abl.accuracy_],
            "class_accuracy": abl.class_accuracy_,
            "most_needed_unit": int(abl.units[worst, 0]),
            "largest_drop": _r(abl.drop_[worst]),
            "units_costing_over_1pct": int(np.sum(abl.drop_ > 0.01)),
        }
        out["bottlenecks"] = la.bottlenecks()
    if la.scaling is not None:
        out["scaling"] = {"scales": la.scaling.scales, "accuracy": la.scaling.accuracy_}
    if la.subspaces is not None:
        ss = la.subspaces
        out["subspaces"] = {
            "k": ss.k,
            "top_units": ss.top_units,
            "silhouette": ss.silhouette_,
            "random_mean": ss.random_.mean(axis=1),
            "percentile": ss.percentile_,
        }
    if la.pruning is not None:
        out["pruning"] = _pruning_json(la.pruning)
    if la.drift:
        out["drift"] = {k: d.to_dict() for k, d in la.drift.items()}
    return out


def _pruning_json(p: Any) -> dict[str, Any]:
    return {
        "layers": p.names,
        "ks": p.ks,
        "kept": p.n_kept_,
        "n_units": p.n_units,
        "accuracy": p.accuracy_,
        "random_mean": p.random_accuracy_.mean(axis=1) if p.random_accuracy_.size else None,
        "random_sd": p.random_accuracy_.std(axis=1) if p.random_accuracy_.size else None,
        "baseline_accuracy": p.baseline_accuracy_,
    }


def _run_metrics(run: ModelRun) -> dict[str, Any]:
    a = run.analysis
    out: dict[str, Any] = {
        **run.summary(),
        "per_class_accuracy": a.confusion.per_class_accuracy_,
        "confusion_matrix": a.confusion.matrix_,
        "input_range": a.input_range.to_dict(),
        "history": run.history.to_dict(),
        "dead_neurons": {
            n: la.lifecycle.to_dict() for n, la in run.layers.items() if la.lifecycle is not None
        },
        "layers": {
            n: _layer_metrics(la, run.stats[max(run.stats)][n]) for n, la in run.layers.items()
        },
        "analysis_seconds_by_part": {k: round(v, 4) for k, v in a.seconds.items()},
    }
    if a.joint_pruning is not None:
        out["pruning_joint"] = _pruning_json(a.joint_pruning)
    if a.embeddings:
        out["embeddings"] = [
            {
                "space": e.space,
                "method": e.method,
                "samples": len(e.labels),
                "silhouette_2d": _r(e.silhouette_),
                "silhouette_full_space": _r(e.silhouette_full_),
            }
            for e in a.embeddings
        ]
    if len(run.history.snapshots) > 1:
        out["weight_drift"] = run.weight_drift()
    return out


def _comparison_rows(runs: list[ModelRun]) -> list[dict[str, Any]]:
    return [r.summary() for r in runs]


def metrics(result: MnistStudyResult) -> dict[str, Any]:
    """The content of ``metrics.json`` (see docs/mnist.md for every key)."""
    p = result.primary
    data = result.data
    a = p.analysis
    out: dict[str, Any] = {
        "dataset": result.config.dataset,
        "data_source": data.source,
        "data_notes": data.notes,
        "n_train": data.train.n,
        "n_test": data.test.n,
        "image_shape": list(data.image_shape),
        "model": p.net.sizes,
        "variant": p.variant,
        "input_range": a.input_range.to_dict(),
        "test_accuracy": p.test_accuracy,
        "source_test_accuracy_full_mnist": SOURCE_TEST_ACCURACY,
        "per_class_accuracy": a.confusion.per_class_accuracy_,
        "confusion_matrix": a.confusion.matrix_,
        "dead_neurons": {
            n: la.lifecycle.to_dict() for n, la in p.layers.items() if la.lifecycle is not None
        },
        "top_selective_neurons": {
            n: {
                str(c): [
                    {"unit": int(u), "selectivity": _r(la.selectivity.selectivity_[c, u])}
                    for u in row
                ]
                for c, row in enumerate(la.top.selectivity_)
            }
            for n, la in p.layers.items()
        },
        "bottleneck_neurons": {str(c): b for c, b in p.bottlenecks().items()},
        "variants": {name: _run_metrics(r) for name, r in result.runs.items()},
        "variant_comparison": _comparison_rows(list(result.runs.values())),
        "seconds": {
            "total": round(result.seconds, 3),
            **{f"train_{n}": round(r.train_seconds, 3) for n, r in result.runs.items()},
        },
        "notes": result.notes(),
    }
    if result.cnn is not None:
        out["cnn"] = _run_metrics(result.cnn)
        out["cnn_comparison"] = _comparison_rows([p, result.cnn])
        out["seconds"]["train_cnn"] = round(result.cnn.train_seconds, 3)
    return _clean(out)  # type: ignore[no-any-return]


# -- files ----------------------------------------------------------------------------------------


def _weights_info(result: MnistStudyResult, run: ModelRun, epoch: int) -> dict[str, Any]:
    return {
        "study": "mnist",
        "variant": run.variant,
        "epoch": epoch,
        "input_range": run.analysis.input_range.to_dict(),
        "image_shape": list(result.data.image_shape),
        "data_source": result.data.source,
    }


def _save_weights(result: MnistStudyResult, run: ModelRun, rd: RunDir, primary: bool) -> None:
    last = run.history.epoch[-1] if run.history.epoch else 0
    info = {**_weights_info(result, run, last), "config": result.config.to_dict()}
    if primary:
        rd.save_weights("model.safetensors", run.net, info=info)
    rd.save_weights(f"weights/{run.variant}.safetensors", run.net, info=info)
    snap = run.net.copy()
    for epoch, state in run.history.snapshots:
        snap.load_state_dict(state)
        rd.save_weights(
            f"snapshots/{run.variant}/epoch_{epoch:04d}.safetensors",
            snap,
            info=_weights_info(result, run, epoch),
        )


def _csvs(run: ModelRun, rd: RunDir, prefix: str = "") -> None:
    for name, la in run.layers.items():
        stem = f"{prefix}{_stem(name)}"
        if la.ablation is not None:
            rd.write_csv(f"ablation_{stem}.csv", la.ablation.rows(), la.ablation.columns())
        if la.scaling is not None:
            sc = la.scaling
            k = sc.class_accuracy_.shape[2]
            rows = [
                [int(u), float(s), _r(sc.accuracy_[i, j])]
                + [_r(v) for v in sc.class_accuracy_[i, j]]
                for i, u in enumerate(sc.units)
                for j, s in enumerate(sc.scales)
            ]
            rd.write_csv(
                f"scaling_{stem}.csv",
                rows,
                ["unit", "scale", "accuracy"] + [f"class_{c}" for c in range(k)],
            )
        if la.pruning is not None:
            rd.write_csv(f"pruning_{stem}.csv", la.pruning.rows(), la.pruning.columns())
    if run.analysis.joint_pruning is not None:
        jp = run.analysis.joint_pruning
        rd.write_csv(f"pruning_{prefix}joint.csv", jp.rows(), jp.columns())


# -- report ---------------------------------------------------------------------------------------


class _Page:
    """Figures saved into the run and captioned for one section."""

    def __init__(self, rd: RunDir) -> None:
        self.rd = rd
        self.figures: list[Figure] = []

    def add(self, path: str, fig: Any, caption: str) -> None:
        self.rd.save_figure(path, fig)
        self.figures.append(Figure(path, caption))

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


def _training_section(result: MnistStudyResult, page: _Page) -> Section:
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
        [c] + [_r(r.analysis.confusion.per_class_accuracy_[c], 4) for r in runs]
        for c in range(classes)
    ]
    metrics_ = {
        "test accuracy": round(p.test_accuracy, 4),
        "train accuracy": round(float(p.history.train_accuracy[-1]), 4),
        "source (full MNIST)": SOURCE,
        "training images": d.train.n,
        "test images": d.test.n,
        "parameters": p.n_parameters,
        "training seconds": round(p.train_seconds, 2),
    }
    summary = (
        f"The source's setup: a {'-'.join(map(str, p.net.sizes))} ReLU MLP, cross-entropy, SGD "
        f"at lr {result.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epochs, seed {cfg.seed}, "
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


SOURCE = f"{100 * SOURCE_TEST_ACCURACY:.2f}%"


def _lifecycle_section(run: ModelRun, page: _Page, prefix: str = "") -> Section:
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
            f"{prefix}lifecycle_{_stem(name)}.png",
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


def _selectivity_section(run: ModelRun, page: _Page, prefix: str = "") -> Section:
    from tinylens.viz.probes import plot_selectivity

    rows = []
    metrics_: dict[str, Any] = {}
    for name, la in run.layers.items():
        sel = la.selectivity
        page.add(
            f"{prefix}selectivity_{_stem(name)}.png",
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
        metrics_[f"mean S: {name}"] = _r(sel.mean_selectivity(), 3)
        if la.top.gradient_ is not None:
            metrics_[f"top-{la.top.k} overlap, selectivity vs gradient: {name}"] = _r(
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
                    _r(sel.selectivity_[c, top_s[0]], 3) if len(top_s) else None,
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


def _drift_section(run: ModelRun, page: _Page) -> Section:
    from tinylens.viz.probes import plot_drift

    settle: dict[str, np.ndarray] = {}
    epochs = None
    for name, la in run.layers.items():
        if not la.drift:
            continue
        d = la.drift
        epochs = d["mean"].epochs
        page.add(
            f"drift_{_stem(name)}.png",
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
    return Section(
        id="mnist-drift",
        title="Drift across epochs",
        summary=(
            "Mean, standard deviation, fraction active, class means and selectivity of every "
            "neuron, followed through the per-epoch statistics passes, and the weights through "
            "the per-epoch snapshots (snapshots/)."
        ),
        figures=page.take(),
    )


def _ablation_section(run: ModelRun, page: _Page, prefix: str = "") -> Section | None:
    from tinylens.viz.interventions import plot_ablation_heatmap, plot_scaling_curves

    tables = []
    bottleneck_rows = []
    metrics_: dict[str, Any] = {}
    for name, la in run.layers.items():
        stem = f"{prefix}{_stem(name)}"
        if la.ablation is not None:
            abl = la.ablation
            page.add(
                f"ablation_{stem}.png",
                plot_ablation_heatmap(
                    abl.class_drop_,
                    [f"{la.unit} {int(u)}" for u in abl.units[:, 0]],
                    title=f"{run.variant} {name}: per-class accuracy drop when ablated",
                ),
                f"Test accuracy lost per class when each {la.unit} of {name} is zeroed "
                f"(red: the {la.unit} helps that class). Baseline {abl.baseline_accuracy_:.4f}.",
            )
            worst = abl.costliest_rows(8)
            tables.append(
                Table(
                    f"{name}: the {len(worst)} {la.unit}s whose ablation costs most",
                    abl.columns(),
                    worst,
                    note=f"every row: ablation_{stem}.csv",
                )
            )
            metrics_[f"largest drop: {name}"] = _r(float(abl.drop_.max()), 4)
            bottleneck_rows += [
                [b["class"], name, b["unit"], b["class_accuracy_drop"], b["class_accuracy"]]
                for b in la.bottlenecks()
            ]
        if la.scaling is not None:
            sc = la.scaling
            page.add(
                f"scaling_{stem}.png",
                plot_scaling_curves(
                    sc.scales,
                    sc.accuracy_,
                    sc.baseline_accuracy_,
                    [f"{la.unit} {int(u)}" for u in sc.units],
                    title=f"{run.variant} {name}: accuracy as each {la.unit} is scaled",
                ),
                f"Test accuracy with each {la.unit} of {name} multiplied by "
                f"{', '.join(f'{s:g}' for s in sc.scales)}; the five with the largest effect are "
                f"coloured. Per-class accuracies: scaling_{stem}.csv.",
            )
    if not page.figures:
        return None
    best = run.bottlenecks()
    overall = [
        [c, b["layer"], b["unit"], b["class_accuracy_drop"], b["class_accuracy"]]
        for c, b in best.items()
    ]
    first = next(iter(run.layers.values()))
    return Section(
        id=f"mnist-{prefix}ablation",
        title=f"{'CNN: ' if prefix else ''}Ablation and scaling",
        summary=(
            f"Every {first.unit} of every hidden layer zero-ablated, and scaled, one at a time, "
            "in batched sweeps on the test set (one forward of the shared prefix per layer). A "
            f"bottleneck {first.unit} of a class is the one whose ablation costs that class most."
        ),
        metrics=metrics_,
        figures=page.take(),
        tables=[
            Table(
                f"bottleneck {first.unit}s (over all layers)",
                ["class", "hook point", "unit", "class accuracy drop", "class accuracy after"],
                overall,
            ),
            *tables,
            Table(
                f"bottleneck {first.unit}s per layer",
                ["class", "hook point", "unit", "class accuracy drop", "class accuracy after"],
                bottleneck_rows,
            ),
        ],
    )


def _embedding_section(run: ModelRun, page: _Page, cfg: Any) -> Section | None:
    from tinylens.viz.probes import plot_embeddings, plot_subspace_embeddings, plot_subspaces

    a = run.analysis
    tables = []
    if a.embeddings:
        page.add(
            "embeddings.png",
            plot_embeddings(a.embeddings, title=f"{run.variant}: test images embedded"),
            f"{len(a.embeddings[0].labels)} random test images in the input space and at each "
            "hidden layer, embedded in 2-D, coloured by class. Silhouettes (-1..1, higher: "
            "classes better separated) are of the 2-D embedding and of the full space.",
        )
        tables.append(
            Table(
                "silhouettes",
                ["space", "method", "2-D embedding", "full space"],
                [
                    [e.space, e.method, _r(e.silhouette_, 3), _r(e.silhouette_full_, 3)]
                    for e in a.embeddings
                ],
            )
        )
    for name, la in run.layers.items():
        ss = la.subspaces
        if ss is None:
            continue
        page.add(
            f"subspaces_{_stem(name)}.png",
            plot_subspaces(
                ss.silhouette_,
                ss.random_,
                k=ss.k,
                title=f"{run.variant} {name}: top-{ss.k} selective subspaces",
            ),
            f"Silhouette of each class against the rest in the space of its {ss.k} most "
            f"selective neurons of {name} (red), and in {ss.random_.shape[1]} random "
            f"{ss.k}-subsets of the live neurons (grey), on {len(ss.labels)} test images.",
        )
        page.add(
            f"subspace_pca_{_stem(name)}.png",
            plot_subspace_embeddings(
                ss.points_,
                ss.labels,
                top_units=ss.top_units,
                title=f"{run.variant} {name}: each class in its top-{ss.k} selective neurons",
            ),
            f"For each class, the test images in the space of its {ss.k} most selective neurons "
            f"of {name} (units in the title), by PCA to 2-D: the class in colour, the rest grey.",
        )
        tables.append(
            Table(
                f"{name}: selective subspaces",
                ["class", "top units", "silhouette", "random mean", "beats random"],
                [
                    [
                        c,
                        ", ".join(map(str, ss.top_units[c])),
                        _r(ss.silhouette_[c], 3),
                        _r(ss.random_[c].mean(), 3) if ss.random_.shape[1] else None,
                        f"{100 * ss.percentile_[c]:.0f}%",
                    ]
                    for c in range(len(ss.silhouette_))
                ],
            )
        )
    if not page.figures:
        return None
    return Section(
        id="mnist-embeddings",
        title="Embeddings and selective subspaces",
        summary=(
            f"PCA is tinylens' own; t-SNE is scikit-learn's and UMAP umap-learn's, on a random "
            f"subsample of {cfg.embedding_samples} test images (both cost seconds per thousand "
            "points; choose them with --embeddings)."
        ),
        figures=page.take(),
        tables=tables,
    )


def _maps_section(
    result: MnistStudyResult, run: ModelRun, page: _Page, prefix: str = ""
) -> Section | None:
    from tinylens.viz.probes import plot_image_grid

    h, w = result.data.image_shape
    a = run.analysis
    for name, la in run.layers.items():
        stem = f"{prefix}{_stem(name)}"
        if la.pixel_maps is not None:
            pm = la.pixel_maps
            page.add(
                f"pixel_maps_{stem}.png",
                plot_image_grid(
                    pm.maps_,
                    [f"{la.unit[0]}{int(u)}" for u in pm.units],
                    ncols=8,
                    title=f"{run.variant} {name}: single-pixel perturbation maps",
                ),
                f"For each {la.unit} of {name}: its change when one pixel alone is lit "
                f"({pm.info['on']:.4g}) on a dark image ({pm.info['off']:.4g}), at every one of "
                f"the {h}x{w} pixels ({h * w} one-pixel images in one batch), in the model's own "
                "input scale. Red raises, blue lowers; each tile scaled to its own peak.",
            )
        if la.saliency is not None:
            sm = la.saliency
            page.add(
                f"saliency_{stem}.png",
                plot_image_grid(
                    sm.maps_,
                    [f"{la.unit[0]}{int(u)}" for u in sm.units],
                    ncols=8,
                    signed=False,
                    title=f"{run.variant} {name}: saliency maps",
                ),
                f"Mean |d {la.unit} / d pixel| over {sm.info['samples']} test images, for each "
                f"{la.unit} of {name}.",
            )
    if a.class_saliency is not None:
        cm = a.class_saliency
        page.add(
            f"{prefix}class_saliency.png",
            plot_image_grid(
                cm.maps_,
                [f"class {int(c)}" for c in cm.units],
                ncols=5,
                signed=False,
                title=f"{run.variant}: saliency of each class's logit",
            ),
            f"Mean |d logit_c / d pixel| over up to {cm.info['per_class']} test images of class c.",
        )
    if not page.figures:
        return None
    return Section(
        id=f"mnist-{prefix}maps",
        title=f"{'CNN: ' if prefix else ''}Perturbation and saliency maps",
        summary=(
            f"Input-space pictures of what each unit responds to ({h}x{w}, the data's image "
            f"shape). The single-pixel maps use the model's own input scale, "
            f"{a.input_range}: the source computed some of these on 0..255 pixels fed to a "
            "model trained on [0, 1]."
        ),
        figures=page.take(),
    )


def _pruning_section(run: ModelRun, page: _Page) -> Section | None:
    from tinylens.viz.probes import plot_pruning

    tables = []
    parts = [(n, la.pruning) for n, la in run.layers.items() if la.pruning is not None]
    if run.analysis.joint_pruning is not None:
        parts.append(("every hidden layer", run.analysis.joint_pruning))
    for label, p in parts:
        stem = "joint" if label == "every hidden layer" else _stem(label)
        page.add(
            f"pruning_{stem}.png",
            plot_pruning(
                p.n_kept_,
                p.accuracy_,
                p.random_accuracy_,
                p.baseline_accuracy_,
                ks=list(p.ks),
                n_units=p.n_units,
                title=f"{run.variant}: pruning {label}",
            ),
            f"Test accuracy keeping, in {label}, the union over classes of each class's top-k "
            "selective neurons (red) and silencing the rest, against random keep-sets of the "
            f"same size ({p.random_accuracy_.shape[1]} per k, grey).",
        )
        tables.append(Table(f"pruning {label}", p.columns(), p.rows()))
    if not parts:
        return None
    return Section(
        id="mnist-pruning",
        title="Pruning by selectivity",
        summary=(
            "Planned by the source and never run: keep each class's top-k selective neurons "
            "(selectivity from the training set), zero the others, and score the network on the "
            "test set; the control keeps as many neurons chosen at random among the live ones."
        ),
        figures=page.take(),
        tables=tables,
    )


def _cnn_section(result: MnistStudyResult, page: _Page) -> list[Section]:
    from tinylens.viz import plot_history
    from tinylens.viz.probes import plot_feature_maps

    cnn = result.cnn
    assert cnn is not None
    h, w = result.data.image_shape
    page.add(
        "cnn_loss.png",
        plot_history(cnn.history.to_dict(), title="CNN: training"),
        "CNN loss and accuracy per epoch ('validation' is the test set).",
    )
    if cnn.feature_maps is not None and cnn.feature_map_rows is not None:
        images = cnn.test.X[cnn.feature_map_rows].reshape(-1, h, w)
        labels = [f"class {int(cnn.test.y[i])}" for i in cnn.feature_map_rows]
        for name, maps in cnn.feature_maps.items():
            page.add(
                f"cnn_feature_maps_{_stem(name)}.png",
                plot_feature_maps(images, maps, input_labels=labels, title=f"CNN {name}"),
                f"Feature maps of {name} (after the ReLU) for the first test image of each of "
                "the first classes.",
            )
    rows = []
    p = result.primary
    for r in (p, cnn):
        s = r.summary()
        dead = sum(s["dead_units"].values())
        units = sum(s["units"].values())
        rows.append(
            [
                f"{r.variant} ({'channels' if r is cnn else 'neurons'})",
                s["parameters"],
                round(s["test_accuracy"], 4),
                f"{dead}/{units}",
                " / ".join(
                    "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"
                    for v in s["mean_selectivity"].values()
                ),
                s.get("max_ablation_drop"),
                round(s["train_seconds"], 1),
            ]
        )
    first = Section(
        id="mnist-cnn",
        title="CNN track",
        summary=(
            f"{cnn.description}, trained like the MLP (SGD, lr {result.lr:g}, batch "
            f"{result.config.batch_size}, {len(cnn.history.epoch)} epochs). The same diagnostics, "
            "per channel: a channel is one unit, its activation summarised over positions "
            "(dead: never > 0 anywhere on any training image; selectivity on its mean over "
            "positions; ablation and scaling of the whole map)."
        ),
        metrics={"CNN test accuracy": round(cnn.test_accuracy, 4), "parameters": cnn.n_parameters},
        figures=page.take(),
        tables=[
            Table(
                "MLP against CNN",
                [
                    "model (units)",
                    "parameters",
                    "test acc",
                    "dead / units",
                    "mean selectivity per layer",
                    "largest ablation drop",
                    "train s",
                ],
                rows,
            )
        ],
    )
    out = [first, _lifecycle_section(cnn, page, "cnn_"), _selectivity_section(cnn, page, "cnn_")]
    abl = _ablation_section(cnn, page, "cnn_")
    if abl is not None:
        out.append(abl)
    maps = _maps_section(result, cnn, page, "cnn_")
    if maps is not None:
        out.append(maps)
    return out


def save(result: MnistStudyResult, rd: RunDir) -> None:
    """Write the whole run into ``rd``."""
    cfg = result.config
    rd.write_yaml("config.yaml", {**cfg.to_dict(), "lr": result.lr})
    rd.write_json("metrics.json", metrics(result))
    runs = list(result.runs.values()) + ([result.cnn] if result.cnn is not None else [])
    history_rows = [[r.variant, *row] for r in runs for row in r.history.rows()]
    from tinylens.training import History

    rd.write_csv("history.csv", history_rows, ["model", *History.COLUMNS])
    dead_rows = [
        [
            r.variant,
            n,
            int(e),
            int(la.lifecycle.dead[i].sum()),
            " ".join(map(str, np.flatnonzero(la.lifecycle.dead[i]))),
        ]
        for r in runs
        for n, la in r.layers.items()
        if la.lifecycle is not None
        for i, e in enumerate(la.lifecycle.epochs)
    ]
    rd.write_csv("dead_units.csv", dead_rows, ["model", "hook point", "epoch", "dead", "units"])
    for i, r in enumerate(runs):
        _save_weights(result, r, rd, primary=i == 0)
    p = result.primary
    _csvs(p, rd)
    if result.cnn is not None:
        _csvs(result.cnn, rd, "cnn_")
    page = _Page(rd)
    sections = [
        _training_section(result, page),
        _lifecycle_section(p, page),
        _selectivity_section(p, page),
        _drift_section(p, page),
    ]
    for part in (
        _ablation_section(p, page),
        _embedding_section(p, page, cfg),
        _maps_section(result, p, page),
        _pruning_section(p, page),
    ):
        if part is not None:
            sections.append(part)
    if result.cnn is not None:
        sections += _cnn_section(result, page)
    title = f"tinylens mnist: {'-'.join(map(str, p.net.sizes))} on {result.data.source}"
    for s in sections:
        rd.add_section(s, title=title)
