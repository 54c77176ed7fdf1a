"""Write the basis study: config, metrics, weights, snapshots, the slider's frames, figures and
the report section (called by ``tinylens basis``, the demo and ``BasisResult.save``)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import numpy as np

from tinylens.data import TARGETS
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.basis.result import BasisResult
from tinylens.studies.basis.sweep import WidthSweep, sweep_caption
from tinylens.training import History

__all__ = ["write"]

NEURON_COLUMNS = [
    "neuron",
    "slope",
    "bias",
    "kink",
    "importance",
    "active",
    "dead (data)",
    "dead (domain)",
]


def _figures(result: BasisResult, run: RunDir, frames: dict[str, Any]) -> tuple[list, list]:
    from tinylens.viz import plot_history
    from tinylens.viz.basis import plot_kink_trajectories, plot_partial_sums, plot_width_sweep

    cfg, basis = result.config, result.basis
    lo, hi = TARGETS[cfg.target].x_range
    figures = [
        Figure(
            "basis_frames.json",
            "Drag the slider through training: the network (red) is the sum of the neurons' "
            "ghosts (dashed) plus b_out. Each dot on the x axis is a kink inside the plotted "
            "range; hover it to see that neuron's slope, kink, importance and active side.",
            kind="widget",
            widget="basis",
        )
    ]

    def save(name: str, fig: Any, caption: str) -> None:
        run.save_figure(name, fig)
        figures.append(Figure(name, caption))

    save(
        "basis.png",
        result.plot(),
        "Top: each neuron's ghost function w_out * relu(w x + b) (thin, dotted at its kink) and "
        "their sum plus b_out, the network (black). Bottom: each neuron's importance w_out at "
        "its kink, wherever the kink is (the data range shaded; hollow at the left: no kink; "
        "grey: dead on the data).",
    )
    save(
        "partial_sums.png",
        plot_partial_sums(
            result.grid[:, 0],
            basis.partial_sums(result.grid)[:, :, 0],
            target=np.asarray(TARGETS[cfg.target].fn(result.grid[:, 0])),
            title="the curve built neuron by neuron, in kink order",
        ),
        "Partial sums: b_out, then b_out plus the first k ghosts taken from left to right by "
        "kink; the last (thick) is the network.",
    )
    epochs = np.array([f["epoch"] for f in result.frames])
    kinks = np.array(
        [[np.nan if k is None else k for k in f["kinks"]] for f in result.frames], dtype=float
    )
    imps = np.array([f["importances"] for f in result.frames], dtype=float)
    save(
        "kinks.png",
        plot_kink_trajectories(
            epochs,
            kinks,
            (lo, hi),
            importances=imps,
            dead=basis.dead_on_data,
            title="kinks moving during training (grey: dead on the data at the end)",
        ),
        "Each neuron's kink position over training (line width: final |importance|).",
    )
    notes = []
    if cfg.animation:
        name = _save_animation(run, frames)
        figures.append(
            Figure(name, "The basis evolving epoch by epoch (the same data as the slider).")
        )
        if shutil.which("ffmpeg") is None:
            notes.append("MP4 not written: ffmpeg is not installed on this machine (GIF only).")
        else:
            _save_animation(run, frames, suffix=".mp4")
    sweep = result.sweep
    if sweep is not None:
        save(
            "width_sweep.png",
            plot_width_sweep(
                sweep.widths,
                sweep.errors,
                least_squares=sweep.least_squares,
                interpolation=sweep.interpolation,
                rate=sweep.rate,
                title=f"error against width ({cfg.sweep_seeds} seeds, {sweep.epochs} epochs)",
            ),
            sweep_caption(sweep),
        )
    save(
        "loss.png",
        plot_history(result.history.to_dict(), title="training loss"),
        "Training loss (MSE) per epoch.",
    )
    return figures, notes


def _save_animation(run: RunDir, frames: dict[str, Any], suffix: str = ".gif") -> str:
    from tinylens.viz.basis import draw_ghosts, update_ghosts
    from tinylens.viz.figure import new_figure
    from tinylens.viz.geometry import write_animation

    name = f"basis_evolution{suffix}"
    x = np.asarray(frames["x"])
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    shots = frames["frames"]

    def arrays(f: dict[str, Any]) -> dict[str, Any]:
        return {
            "ghosts": np.asarray(f["ghosts"], dtype=float).T,
            "output": np.asarray(f["output"], dtype=float),
            "kinks": f["kinks"],
            "dead": np.asarray(f["dead_on_data"]),
            "title": f"epoch {f['epoch']}   loss {f['loss']:.3g}",
        }

    first = arrays(shots[0])
    artists = draw_ghosts(
        ax,
        x,
        first.pop("ghosts"),
        first.pop("output"),
        target=np.asarray(frames["target_y"]),
        data=(np.asarray(frames["data"]["x"]), np.asarray(frames["data"]["y"])),
        ylim=tuple(frames["ylim"]),  # type: ignore[arg-type]
        **first,
    )

    def draw(i: int) -> None:
        f = arrays(shots[i])
        update_ghosts(artists, f.pop("ghosts"), f.pop("output"), **f)

    write_animation(fig, draw, len(shots), run.file(name), fps=8)
    return name


def _summary(result: BasisResult) -> str:
    cfg, m = result.config, result.metrics
    description = TARGETS[cfg.target].description
    start = (
        "kinks started at points drawn uniformly inside the data range"
        if cfg.kinks == "data"
        else f"kinks where the {cfg.init} initialisation put them"
    )
    return (
        f"A 1-{cfg.hidden}-1 ReLU network trained on {description} ({result.data.n} points, "
        f"{start}) with {cfg.train.optimizer} for {cfg.train.epochs} epochs is exactly the sum "
        f"of its {cfg.hidden} neurons' ghost functions plus the output bias: a ghost is zero on "
        f"one side of its neuron's kink and a straight line on the other "
        f"({m['zero_slope']} neurons have no kink: a zero slope). "
        f"{m['kinks_in_domain']} kinks lie inside the data range; {m['dead_on_data']} neurons "
        f"are dead on the data ({m['dead_at_init']} at the start). The slider data for every "
        f"snapshot ({len(result.frames)} frames) is in basis_frames.json."
    )


def write(result: BasisResult, run_dir: RunDir) -> None:
    """Files and the report section of ``result`` into ``run_dir``."""
    cfg = result.config
    run_dir.write_yaml("config.yaml", cfg.to_dict())
    metrics = dict(result.metrics)
    if result.sweep is not None:
        metrics["width_sweep"] = result.sweep.to_dict()
    run_dir.write_json("metrics.json", {**metrics, "history": result.history.to_dict()})
    run_dir.write_csv("history.csv", result.history.rows(), History.COLUMNS)
    info = {"study": "basis", "config": cfg.to_dict()}
    run_dir.save_weights("model.safetensors", result.net, info=info)
    snap = result.net.copy()
    for epoch, state in result.snapshots:
        snap.load_state_dict(state)
        run_dir.save_weights(
            f"snapshots/epoch_{epoch:04d}.safetensors", snap, info={"epoch": epoch}
        )
    frames = result.frames_json()
    # compact separators: the file feeds a browser slider, not a human reader
    run_dir.write_text("basis_frames.json", json.dumps(frames, separators=(",", ":")))
    figures, notes = _figures(result, run_dir, frames)
    neurons = [
        [
            r["neuron"],
            r["slope"],
            r["bias"],
            "none" if r["kink"] is None else r["kink"],
            r["importance"],
            r["active_side"],
            r["dead_on_data"],
            r["dead_on_domain"],
        ]
        for r in result.basis.table()
    ]
    tables = [
        Table(
            "the neurons at the end of training",
            NEURON_COLUMNS,
            neurons,
            note="sorted by neuron index; the kink is -bias / slope",
        )
    ]
    if result.sweep is not None:
        tables.append(
            Table(
                "width sweep",
                WidthSweep.COLUMNS,
                result.sweep.rows(),
                note="RMSE against the noise-free target; the rate only for smooth targets",
            )
        )
    section = Section(
        id="basis",
        title=f"Basis decomposition: {cfg.target}",
        summary=_summary(result),
        metrics={k: v for k, v in metrics.items() if not isinstance(v, (list, dict))},
        figures=figures,
        tables=tables,
        config=cfg.to_dict(),
        notes=notes,
    )
    run_dir.add_section(section, title=f"tinylens basis: {cfg.target}")
