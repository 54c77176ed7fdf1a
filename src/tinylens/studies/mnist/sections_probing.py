"""The report sections of the MNIST study about taking the network apart: ablation and scaling
(with each bottleneck's per-class scaling curve), embeddings and selective subspaces,
perturbation and saliency maps, pruning, and the CNN track."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tinylens.io import Section, Table
from tinylens.studies.mnist.config import SOURCE
from tinylens.studies.mnist.metrics import file_stem, rounded
from tinylens.studies.mnist.sections_training import (
    Page,
    lifecycle_section,
    selectivity_section,
)

if TYPE_CHECKING:
    from tinylens.studies.mnist.result import MnistResult, ModelRun

__all__ = [
    "ablation_section",
    "cnn_sections",
    "embedding_section",
    "maps_section",
    "pruning_section",
]


def ablation_section(run: ModelRun, page: Page, prefix: str = "") -> Section | None:
    from tinylens.viz.interventions import plot_ablation_heatmap, plot_scaling_curves

    tables = []
    bottleneck_rows = []
    metrics_: dict[str, Any] = {}
    for name, la in run.layers.items():
        stem = f"{prefix}{file_stem(name)}"
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
            metrics_[f"largest drop: {name}"] = rounded(float(abl.drop_.max()), 4)
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
    first = next(iter(run.layers.values()))
    curves = run.bottleneck_scaling()
    scaling_tables = []
    if curves:
        from tinylens.viz.training_probes import plot_bottleneck_scaling

        page.add(
            f"{prefix}bottleneck_scaling.png",
            plot_bottleneck_scaling(
                curves, title=f"{run.variant}: each bottleneck {first.unit}, scaled"
            ),
            f"For each class, its bottleneck {first.unit} (over all layers) multiplied by each "
            "factor (1: the trained network) and the class's test accuracy; dashed where it "
            "falls somewhere as the factor grows (not monotone). Every class's accuracy at "
            "every factor: metrics.json bottleneck_scaling and the scaling_*.csv tables.",
        )
        rows = []
        for e in curves:
            for c in e["classes"]:
                falls = [d for d in e["drops"] if d[0] == c]
                rows.append(
                    [
                        c,
                        e["layer"],
                        e["unit"],
                        " ".join(f"{rounded(a[c], 3)}" for a in e["class_accuracy"]),
                        "yes" if e["monotone"][str(c)] else "no",
                        "; ".join(f"{d[1]:g} to {d[2]:g}: {d[3]:.3f} to {d[4]:.3f}" for d in falls),
                    ]
                )
        scales = " ".join(f"{s:g}" for s in curves[0]["scales"])
        n_not = sum(r[4] == "no" for r in rows)
        scaling_tables.append(
            Table(
                f"bottleneck {first.unit}s scaled: their class's accuracy at scales {scales}",
                ["class", "hook point", "unit", "class accuracy", "monotone", "where it falls"],
                rows,
                note=f"{n_not} of {len(rows)} not monotone (accuracy falls somewhere as the "
                "factor grows)",
            )
        )
    if not page.figures:
        return None
    best = run.bottlenecks()
    overall = [
        [c, b["layer"], b["unit"], b["class_accuracy_drop"], b["class_accuracy"]]
        for c, b in best.items()
    ]
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
            *scaling_tables,
            *tables,
            Table(
                f"bottleneck {first.unit}s per layer",
                ["class", "hook point", "unit", "class accuracy drop", "class accuracy after"],
                bottleneck_rows,
            ),
        ],
    )


def _subspace_embeddings(result: MnistResult, page: Page) -> list[Table]:
    """Every variant's selective subspaces embedded (t-SNE, UMAP, PCA), and the silhouette
    table: in the full subspace and in each 2-D projection."""
    from tinylens.viz.probes import plot_embeddings

    rows = []
    for run in result.runs.values():
        embs = run.analysis.subspace_embeddings
        if not embs:
            continue
        page.add(
            f"subspace_embeddings_{run.variant}.png",
            plot_embeddings(embs, title=f"{run.variant}: selective subspaces embedded"),
            f"{run.variant}: test images in each hidden layer's selective subspace (the union "
            f"of every class's {result.config.subspace_k} most selective live neurons; units "
            "in the row title), embedded in 2-D by each method, coloured by class.",
        )
        rows += [
            [
                run.variant,
                e.space,
                e.method,
                len(e.labels),
                rounded(e.silhouette_full_, 3),
                rounded(e.silhouette_, 3),
            ]
            for e in embs
        ]
    if not rows:
        return []
    return [
        Table(
            "silhouettes of the selective subspaces, every variant",
            ["variant", "subspace", "method", "points in 2-D", "full subspace", "2-D projection"],
            rows,
            note="silhouette of the class labels (-1..1, higher: classes better separated) in "
            "the subspace itself and in its 2-D embedding; the full-subspace silhouette uses "
            f"all {result.config.embedding_samples} subsampled test images (or the whole test "
            "set if smaller)",
        )
    ]


def embedding_section(result: MnistResult, page: Page) -> Section | None:
    from tinylens.viz.probes import plot_embeddings, plot_subspace_embeddings, plot_subspaces

    run, cfg = result.primary, result.config
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
                    [e.space, e.method, rounded(e.silhouette_, 3), rounded(e.silhouette_full_, 3)]
                    for e in a.embeddings
                ],
            )
        )
    for name, la in run.layers.items():
        ss = la.subspaces
        if ss is None:
            continue
        page.add(
            f"subspaces_{file_stem(name)}.png",
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
            f"subspace_pca_{file_stem(name)}.png",
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
                        rounded(ss.silhouette_[c], 3),
                        rounded(ss.random_[c].mean(), 3) if ss.random_.shape[1] else None,
                        f"{100 * ss.percentile_[c]:.0f}%",
                    ]
                    for c in range(len(ss.silhouette_))
                ],
            )
        )
    tables += _subspace_embeddings(result, page)
    if not page.figures:
        return None
    slow = (
        f" (t-SNE and UMAP on {cfg.tsne_samples} of them, our choice for time: --tsne-samples)"
        if cfg.tsne_samples < cfg.embedding_samples
        else ""
    )
    return Section(
        id="mnist-embeddings",
        title="Embeddings and selective subspaces",
        summary=(
            f"PCA is tinylens' own; t-SNE is scikit-learn's and UMAP umap-learn's, on a random "
            f"subsample of {cfg.embedding_samples} test images{slow}; both cost seconds per "
            "thousand points; choose the methods with --embeddings (UMAP: add umap). Every "
            "variant's selective subspaces are embedded by the same methods."
        ),
        figures=page.take(),
        tables=tables,
    )


def maps_section(
    result: MnistResult, run: ModelRun, page: Page, prefix: str = ""
) -> Section | None:
    from tinylens.viz.probes import plot_image_grid

    h, w = result.data.image_shape
    a = run.analysis
    for name, la in run.layers.items():
        stem = f"{prefix}{file_stem(name)}"
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
            f"{a.input_range}: {SOURCE} computed some of these on 0..255 pixels fed to a "
            "model trained on [0, 1]."
        ),
        figures=page.take(),
    )


def pruning_section(run: ModelRun, page: Page) -> Section | None:
    from tinylens.viz.probes import plot_pruning

    tables = []
    parts = [(n, la.pruning) for n, la in run.layers.items() if la.pruning is not None]
    if run.analysis.joint_pruning is not None:
        parts.append(("every hidden layer", run.analysis.joint_pruning))
    for label, p in parts:
        stem = "joint" if label == "every hidden layer" else file_stem(label)
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
            f"Planned by {SOURCE} and never run: keep each class's top-k selective neurons "
            "(selectivity from the training set), zero the others, and score the network on the "
            "test set; the control keeps as many neurons chosen at random among the live ones."
        ),
        figures=page.take(),
        tables=tables,
    )


def cnn_sections(result: MnistResult, page: Page) -> list[Section]:
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
                f"cnn_feature_maps_{file_stem(name)}.png",
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
            f"{result.config.train.batch_size}, {len(cnn.history.epoch)} epochs). The same "
            "diagnostics, per channel: a channel is one unit, its activation summarised over "
            "positions (dead: never > 0 anywhere on any training image; selectivity on its "
            "mean over positions; ablation and scaling of the whole map)."
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
    out = [first, lifecycle_section(cnn, page, "cnn_"), selectivity_section(cnn, page, "cnn_")]
    abl = ablation_section(cnn, page, "cnn_")
    if abl is not None:
        out.append(abl)
    maps = maps_section(result, cnn, page, "cnn_")
    if maps is not None:
        out.append(maps)
    return out
