"""Write the SAE study: config, metrics, the SAE itself, per-unit tables, figures and the report
section (called by ``tinylens sae``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.sae.result import SAEStudyResult
from tinylens.superposition import DENSE_FREQUENCY, RESPONSE_FRACTION

__all__ = ["write"]


def _rows(table: dict[str, list]) -> tuple[list[str], list[list]]:
    return list(table), [list(r) for r in zip(*table.values(), strict=True)]


def selectivity_figure(selectivity: np.ndarray, **kw: object) -> object:
    """:func:`tinylens.viz.probes.plot_selectivity` at its own size, laid out by fixed margins:
    constrained layout measured every tick label of these wide heatmaps (128 latents), most of
    their drawing time (issue 18)."""
    from tinylens.viz.figure import new_axes_fixed
    from tinylens.viz.probes import plot_selectivity

    c, u = np.shape(selectivity)
    width = max(4.0, 0.22 * u + 2.2)
    fig, ax = new_axes_fixed(None, width, max(2.8, 0.3 * c + 1.2), right=0.9)
    box = ax.get_position()
    plot_selectivity(selectivity, ax=ax, **kw)
    # the colorbar 0.15 in wide, 0.15 in right of the heatmap (not a fraction of a wide axes)
    bar, gap = 0.15 / width, 0.15 / width
    ax.set_position([box.x0, box.y0, box.width - bar - gap, box.height])
    fig.axes[-1].set_position([box.x1 - bar, box.y0, bar, box.height])
    return fig


def fixed_margin_plot(plot: Callable[..., object], *, log_y: bool = False) -> object:
    """``plot(ax=...)`` (a result's ``plot`` method) drawn on a 5 x 3 in figure, its default
    size, laid out by fixed margins; a log y axis labelled in plain text. Constrained layout
    and mathtext were most of drawing these small figures (issue 18)."""
    from tinylens.viz.figure import new_axes_fixed, plain_log_labels

    fig, ax = new_axes_fixed(None, 5.0, 3.0, left=0.9, top=0.35)
    plot(ax=ax)
    if log_y:
        plain_log_labels(ax.yaxis)
    return fig


def _figures(result: SAEStudyResult, run: RunDir) -> list[Figure]:
    from tinylens.viz.probes import plot_image_grid
    from tinylens.viz.sae import plot_entropy_selectivity

    hook, ev = result.config.hook, result.evaluation
    n, lat = result.neurons, result.latents
    figures = []

    def save(name: str, fig: object, caption: str) -> None:
        run.save_figure(name, fig)
        figures.append(Figure(name, caption))

    save(
        "classes_responded.png",
        result.plot(),
        f"How many classes each live {n.kind} of {hook} and each live SAE latent responds to "
        f"(classes with a mean activation >= {RESPONSE_FRACTION:g} x the unit's largest), as "
        "a share of the live units of each kind.",
    )
    k = n.class_means_.shape[0]
    live_n, live_l = ~n.dead_, ~lat.dead_
    save(
        "entropy_selectivity.png",
        plot_entropy_selectivity(
            [
                (n.entropy_[live_n], n.max_selectivity_[live_n]),
                (lat.entropy_[live_l], lat.max_selectivity_[live_l]),
            ],
            [f"{n.kind}s", "latents"],
            max_entropy=float(np.log2(k)),
            title=f"{hook}: class entropy against selectivity",
        ),
        "Each live unit: the entropy of its class distribution (0 bits: one class; dashed: all "
        "classes alike) against its largest selectivity index.",
    )
    save(
        "selectivity_neurons.png",
        selectivity_figure(
            n.selectivity_, dead=n.dead_, unit_label=n.kind, title=f"{hook}: {n.kind}s"
        ),
        f"Class selectivity of every {n.kind} of {hook} (x: dead).",
    )
    save(
        "selectivity_latents.png",
        selectivity_figure(
            lat.selectivity_, dead=lat.dead_, unit_label="latent", title="SAE latents"
        ),
        "Class selectivity of every SAE latent (x: dead).",
    )
    save(
        "sae_loss.png",
        fixed_margin_plot(result.sae.plot, log_y=True),
        "The SAE's training loss per step (reconstruction MSE + sparsity + AuxK).",
    )
    save(
        "latent_frequency.png",
        fixed_margin_plot(ev.plot),
        f"Firing frequency of the live latents on held-out data (dense: > {DENSE_FREQUENCY:g}).",
    )
    chosen = result.polysemantic_units
    if result.pixel_maps is not None and len(chosen):
        labels = [f"{n.kind} {u}: {n.n_classes_[u]} classes" for u in chosen]
        save(
            "pixel_maps_polysemantic.png",
            plot_image_grid(result.pixel_maps.maps_[chosen], labels, ncols=len(chosen)),
            f"Single-pixel maps of the {len(chosen)} most polysemantic {n.kind}s (label: how "
            "many classes each responds to; which, in the table below): how lighting one pixel "
            "alone moves the unit.",
        )
    if result.saliency is not None:
        save(
            "saliency_polysemantic.png",
            plot_image_grid(result.saliency.maps_, labels, ncols=len(chosen), signed=False),
            "Saliency maps (mean |gradient| over 200 held-out images) of the same units.",
        )
    for kind, top in result.top_images.items():
        if not len(top.units):
            continue
        m = top.images.shape[1]
        tiles = top.images.reshape(-1, *top.images.shape[2:])
        labels = [
            f"{kind[:-1]} {int(u)}: {int(c)}" if j == 0 else str(int(c))
            for u, row in zip(top.units, top.labels, strict=True)
            for j, c in enumerate(row)
        ]
        save(
            f"top_images_{kind}.png",
            plot_image_grid(tiles, labels, ncols=m, signed=False, normalize=False),
            f"Top {m} activating held-out images (with their class) of "
            + (
                f"the most polysemantic {n.kind}s"
                if kind == "neurons"
                else "the most often firing latents"
            )
            + ", one row each.",
        )
    return figures


def write(result: SAEStudyResult, run_dir: RunDir) -> None:
    """Files and the report section of ``result`` into ``run_dir``."""
    cfg, n, lat = result.config, result.neurons, result.latents
    run_dir.write_yaml("config.yaml", cfg.to_dict())
    metrics = result.metrics()
    run_dir.write_json("metrics.json", {**metrics, "notes": result.notes})
    result.sae.save(run_dir.file("sae.safetensors"))
    run_dir.write_csv(f"{n.kind}s.csv", *reversed(_rows(n.to_dict())))
    run_dir.write_csv("latents.csv", *reversed(_rows(lat.to_dict())))
    figures = _figures(result, run_dir)
    head, rows = _rows(result.table())
    poly = [
        [
            int(u),
            n.n_classes_[u],
            " ".join(map(str, n.classes_of(int(u)))),
            round(float(n.max_selectivity_[u]), 4),
            round(float(n.entropy_[u]), 4),
        ]
        for u in result.polysemantic_units
    ]
    tables = [
        Table(f"{n.kind}s against SAE latents at {cfg.hook}", head, rows),
        Table(
            f"The most polysemantic {n.kind}s",
            [n.kind, "classes", "which", "max selectivity", "entropy (bits)"],
            poly,
            note=f"every {n.kind} is in {n.kind}s.csv, every latent in latents.csv",
        ),
    ]
    sae = result.sae
    summary = (
        f"A sparse autoencoder with {sae.n_latents} "
        + (f"TopK latents (k = {sae.k})" if sae.k else f"ReLU latents (L1 = {sae.l1:g})")
        + f" was trained for {sae.steps_} steps on the {sae.d}-dimensional activations of "
        f"{cfg.hook}, streamed from {result.n_train} training images of {result.data_source}, "
        f"and measured on {result.evaluation.n_rows} held-out images: it explains "
        f"{result.evaluation.fve_:.1%} of the variance with {result.evaluation.l0_:.1f} active "
        f"latents per image. Live latents respond to "
        f"{lat.summary()['mean classes responded to']} classes on average, the layer's "
        f"{n.kind}s to {n.summary()['mean classes responded to']}."
    )
    section = Section(
        id="sae",
        title=f"Sparse dictionary at {cfg.hook}",
        summary=summary,
        metrics=metrics,
        figures=figures,
        tables=tables,
        config=cfg.to_dict(),
        notes=result.notes,
    )
    name = Path(cfg.model).name if cfg.model else "model"
    run_dir.add_section(section, title=f"tinylens sae: {name}")
