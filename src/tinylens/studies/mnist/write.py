"""Write the MNIST study (``tinylens mnist``): ``config.yaml``, ``metrics.json``, CSV tables,
weights and per-epoch snapshots, figures and one report section per part of the study.
Called by the CLI and by :meth:`MnistResult.save`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tinylens.io import RunDir
from tinylens.studies.mnist.metrics import file_stem, metrics, rounded
from tinylens.studies.mnist.sections_probing import (
    ablation_section,
    cnn_sections,
    embedding_section,
    maps_section,
    pruning_section,
)
from tinylens.studies.mnist.sections_training import (
    Page,
    drift_section,
    lifecycle_section,
    selectivity_section,
    training_section,
)
from tinylens.studies.mnist.timing import now, since

if TYPE_CHECKING:
    from tinylens.studies.mnist.result import MnistResult, ModelRun

__all__ = ["write"]


def _weights_info(result: MnistResult, run: ModelRun, epoch: int) -> dict[str, Any]:
    return {
        "study": "mnist",
        "variant": run.variant,
        "epoch": epoch,
        "input_range": run.analysis.input_range.to_dict(),
        "image_shape": list(result.data.image_shape),
        "data_source": result.data.source,
    }


def _save_weights(result: MnistResult, run: ModelRun, rd: RunDir, primary: bool) -> None:
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
        stem = f"{prefix}{file_stem(name)}"
        if la.ablation is not None:
            rd.write_csv(f"ablation_{stem}.csv", la.ablation.rows(), la.ablation.columns())
        if la.scaling is not None:
            sc = la.scaling
            k = sc.class_accuracy_.shape[2]
            rows = [
                [int(u), float(s), rounded(sc.accuracy_[i, j])]
                + [rounded(v) for v in sc.class_accuracy_[i, j]]
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


def write(result: MnistResult, rd: RunDir) -> None:
    """Write the whole run into ``rd``."""
    cfg = result.config
    t0 = now()
    rd.write_yaml("config.yaml", {**cfg.to_dict(), "lr": result.lr})
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
    timing = {"tables, weights and snapshots": since(t0)}
    t0 = now()
    page = Page(rd)
    sections = [
        training_section(result, page),
        lifecycle_section(p, page),
        selectivity_section(p, page),
        drift_section(p, page),
    ]
    for part in (
        ablation_section(p, page),
        embedding_section(result, page),
        maps_section(result, p, page),
        pruning_section(p, page),
    ):
        if part is not None:
            sections.append(part)
    if result.cnn is not None:
        sections += cnn_sections(result, page)
    title = f"tinylens mnist: {'-'.join(map(str, p.net.sizes))} on {result.data.source}"
    for s in sections:
        rd.add_section(s, title=title)
    timing[f"report sections ({page.count} figures, each drawn once)"] = since(t0)
    m = metrics(result)
    m["write_seconds"] = {
        k: {"wall": round(w, 3), "cpu": round(c, 3)} for k, (w, c) in timing.items()
    }
    rd.write_json("metrics.json", m)
