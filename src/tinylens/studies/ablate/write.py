"""Write the ablation study: config, metrics, a CSV table per sweep, figures and the report
section (called by ``tinylens ablate`` and :meth:`AblateResult.save`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.ablate.result import AblateResult

__all__ = ["write"]


def write(result: AblateResult, run_dir: RunDir) -> None:
    """Config, metrics, CSV tables, figures and a report section, into ``run_dir``."""
    from tinylens.viz.interventions import (
        plot_ablation_heatmap,
        plot_pair_matrix,
        plot_scaling_curves,
    )

    run, cfg = run_dir, result.config
    run.write_yaml("config.yaml", cfg.to_dict())
    metrics = result.metrics()
    run.write_json("metrics.json", {**metrics, "notes": result.notes})
    figures, tables = [], []
    for name in result.layers:
        stem = name.replace(".", "_")
        abl, unit = result.ablations[name], result.unit_kinds[name]
        run.write_csv(f"ablation_{stem}.csv", abl.rows(), abl.columns())
        labels = [f"{unit} {int(u)}" for u in abl.units[:, 0]]
        fig = plot_ablation_heatmap(
            abl.class_drop_, labels, title=f"{name}: per-class accuracy drop when ablated"
        )
        run.save_figure(f"ablation_{stem}.png", fig)
        figures.append(
            Figure(
                f"ablation_{stem}.png",
                f"Accuracy lost per class when each {unit} of {name} is {cfg.kind}-ablated "
                f"(red: the {unit} helps that class). Baseline "
                f"{abl.baseline_accuracy_:.4f}.",
            )
        )
        tables.append(
            Table(
                f"{name}: the 10 {unit}s whose ablation costs most",
                abl.columns(),
                abl.costliest_rows(10),
                note=f"all {len(abl.units)} rows are in ablation_{stem}.csv",
            )
        )
        if name in result.pairs:
            pairs = result.pairs[name]
            run.write_csv(f"pairs_{stem}.csv", pairs.rows(), pairs.columns())
            ids = np.unique(pairs.units)
            matrix = pairs.pair_matrix()
            # the diagonal: each unit alone, from the single-unit table
            alone = dict(zip(abl.units[:, 0].tolist(), abl.accuracy_.tolist(), strict=True))
            np.fill_diagonal(matrix, [alone[int(i)] for i in ids])
            fig = plot_pair_matrix(
                matrix,
                [str(int(i)) for i in ids],
                pairs.baseline_accuracy_,
                title=f"{name}: accuracy drop, pairs ablated",
            )
            run.save_figure(f"pairs_{stem}.png", fig)
            figures.append(
                Figure(
                    f"pairs_{stem}.png",
                    f"Accuracy lost when two {unit}s of {name} are ablated together (the "
                    "diagonal: one alone).",
                )
            )
        if name in result.scaling:
            sc = result.scaling[name]
            run.write_csv(f"scaling_{stem}.csv", sc.rows(), sc.columns())
            fig = plot_scaling_curves(
                sc.scales,
                sc.accuracy_,
                sc.baseline_accuracy_,
                [f"{unit} {int(u)}" for u in sc.units],
                title=f"{name}: accuracy as each {unit} is scaled",
            )
            run.save_figure(f"scaling_{stem}.png", fig)
            figures.append(
                Figure(
                    f"scaling_{stem}.png",
                    f"Accuracy with each {unit} of {name} multiplied by a factor; the five "
                    "with the largest effect are coloured.",
                )
            )
    summary = (
        f"Every {'/'.join(sorted(set(result.unit_kinds.values())))} of "
        f"{', '.join(result.layers)} was {cfg.kind}-ablated, one at a time"
        + (", and in pairs" if cfg.pairs else "")
        + (f", and scaled by {', '.join(f'{s:g}' for s in cfg.scales)}" if cfg.scales else "")
        + f", on {result.n_samples} samples of {result.data_source}, all edits of a layer in one "
        "batched computation. Tables list per-class accuracy with each unit removed."
    )
    model = Path(cfg.model).name if cfg.model else "model"
    section = Section(
        id="ablate",
        title=f"Ablations of {model}",
        summary=summary,
        metrics=metrics,
        figures=figures,
        tables=tables,
        config=cfg.to_dict(),
        notes=result.notes,
    )
    run.add_section(section, title=f"tinylens ablate: {model}")
