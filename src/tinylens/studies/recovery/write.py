"""Write the recovery study: config, metrics, per-seed outcomes, example networks, figures and
the report section (called by ``tinylens circuits recover`` and :meth:`RecoveryResult.save`)."""

from __future__ import annotations

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.recovery.classify import OUTCOMES, READBACK_DIGITS
from tinylens.studies.recovery.result import RecoveryResult
from tinylens.studies.recovery.targets import eval_grid

__all__ = ["write"]


def write(result: RecoveryResult, run: RunDir) -> None:
    """Config, metrics, per-seed outcomes, example networks, figures and a report in ``run``."""
    from tinylens.viz.circuits import (
        plot_example_fits,
        plot_loss_curves,
        plot_loss_distribution,
        plot_success_rates,
    )

    t, main = result.target, result.main
    run.write_yaml("config.yaml", result.config.to_dict())
    run.write_json("metrics.json", result.metrics)
    run.write_csv(
        "seeds.csv",
        [
            [int(s), float(v), o, bool(st), "" if rb is None else bool(rb), f]
            for s, v, o, st, rb, f in zip(
                main.seeds,
                main.losses,
                main.outcomes,
                main.structural,
                main.readback,
                main.formulas,
                strict=True,
            )
        ],
        ["seed", "loss", "outcome", "structural", "readback", "formula"],
    )
    order = [o for o in OUTCOMES if o in main.counts()]
    figures = []
    run.save_figure(
        "losses.png",
        plot_loss_distribution(
            main.losses,
            main.outcomes,
            order,
            tol=result.config.tol,
            title=f"{t.name}: final loss of {len(main.seeds)} seeds",
        ),
    )
    figures.append(Figure("losses.png", "Final evaluation loss of every seed, by outcome."))
    if main.curves.size:
        run.save_figure(
            "curves.png",
            plot_loss_curves(
                main.curve_steps,
                main.curves,
                main.outcomes,
                order,
                title=f"{t.name}: loss during training",
            ),
        )
        figures.append(Figure("curves.png", "Median loss (10-90% band) over training, by outcome."))
    if len(t.inputs) == 1:
        X = eval_grid(t)
        out = main.net.astype(np.float64).forward(X)[:, :, 0]
        ex = {o: out[np.flatnonzero(main.outcomes == o)[0]] for o in order}
        run.save_figure(
            "fits.png",
            plot_example_fits(
                X[:, 0], t.function(X)[:, 0], ex, order, title=f"{t.name}: one seed per outcome"
            ),
        )
        figures.append(Figure("fits.png", "The function one seed of each outcome computes."))
    if t.sharpens:
        from tinylens.studies.recovery.sharpening import plot_sharpening, sharpness

        run.save_figure(
            "sharpening.png",
            plot_sharpening(
                main.curve_steps,
                sharpness(main.trace),
                main.outcomes,
                title=f"{t.name}: the sharpness M = -w over training",
            ),
        )
        figures.append(
            Figure(
                "sharpening.png",
                "The sharpness M = -w of sigmoid(M (c - x)) over training: median and 10-90% "
                "band by outcome. Once the threshold c sits between 9 and 10, every step makes "
                "M larger: the loss falls to 0 only in the limit.",
            )
        )
    if result.grid:
        rows = [v.summary() for v in result.grid]
        run.save_figure(
            "rates.png",
            plot_success_rates(rows, title=f"{t.name}: success by optimizer and initialisation"),
        )
        figures.append(Figure("rates.png", "Success rate per optimizer and initialisation."))
    for o in order:  # one network per outcome, for circuits explain and friends
        k = int(np.flatnonzero(main.outcomes == o)[0])
        slug = (
            o.split(" (")[0]
            .replace(" ", "_")
            .replace(",", "")
            .replace(">", "gt")
            .replace("<", "lt")
        )
        run.save_weights(
            f"examples/{slug}_seed{int(main.seeds[k])}.safetensors",
            main.net.instance(k),
            info={
                "study": "recovery",
                "target": t.name,
                "seed": int(main.seeds[k]),
                "outcome": o,
                "loss": float(main.losses[k]),
            },
        )
    tables = [
        Table(
            "outcomes",
            ["outcome", "seeds", "share", "example seeds"],
            [
                [o, n, f"{n / len(main.seeds):.1%}", ", ".join(map(str, main.examples(o)))]
                for o, n in main.counts().items()
            ],
            note=f"success: {result.success_means}"
            if t.sharpens
            else f"success: loss < {result.config.tol:g} and "
            + (
                f"the formula read back out of the weights ({READBACK_DIGITS} decimals) "
                "equals the target on its domain, decided exactly"
                if t.expression is not None
                else "the known unit structure"
            ),
        )
    ]
    checks = main.checks_table()
    if checks:
        tables.append(
            Table(
                "two checks of the solved seeds",
                ["known circuit (structure)", "read-back = target", "seeds", "formulas"],
                checks,
                note="structure: the known circuit up to permutation and positive rescaling "
                "of units; read-back: the formula circuits explain reads, compared with the "
                "target exactly",
            )
        )
    sides = main.sides_table()
    if sides:
        tables.append(
            Table(
                "where the units started",
                ["first-layer units at initialisation", "seeds", "success", "other outcomes"],
                sides,
                note="without a bias, relu(w x) keeps the sign of w under gradient flow: "
                "units that all start on one side of 0 cover the other side only if a "
                "discrete step happens to jump across 0",
            )
        )
    if result.grid:
        tables.append(
            Table(
                "optimizer and initialisation",
                ["optimizer", "init", "lr", "seeds", "success", "loss < tol", "top failure"],
                [
                    [
                        v.optimizer,
                        v.init,
                        v.lr,
                        len(v.seeds),
                        f"{v.success_rate:.1%}",
                        f"{v.solved_rate:.1%}",
                        v.summary()["top_failure"] or "-",
                    ]
                    for v in result.grid
                ],
                note="the same seeds and data for every row",
            )
        )
    summary = (
        f"{len(main.seeds)} seeds of a {'-'.join(map(str, t.sizes))} network trained on "
        f"{t.description} ({main.optimizer}, lr {main.lr:g}, init {main.init}, "
        f"{result.config.steps or t.steps} steps). {main.solved_rate:.1%} reached loss < "
        f"{result.config.tol:g}; "
        + (
            f"for {main.success_rate:.1%} the formula read back out of the weights is the "
            f"target exactly, and {main.structural_rate:.1%} are the known circuit unit by "
            "unit."
            if t.expression is not None
            else f"{main.success_rate:.1%} have the known unit structure."
        )
    )
    if t.sharpens:
        sh = result.sharpening()
        if sh["seeds"]:
            summary += (
                f" {main.success_rate:.1%} found the article's solution: the threshold "
                f"(median {sh['median_threshold_end']:.3f}) between 9 and 10 and M still "
                f"growing (median {sh['median_M_start']:.3g} at the start, "
                f"{sh['median_M_end']:.3g} at the end)."
            )
    run.add_section(
        Section(
            id="recovery",
            title=f"Does gradient descent find {t.name}?",
            summary=summary,
            metrics={
                "success rate": main.success_rate,
                "known circuit (structure)": main.structural_rate,
                "loss < tol": main.solved_rate,
                "seeds": len(main.seeds),
                "seconds": round(main.seconds, 2),
            },
            figures=figures,
            tables=tables,
            config=result.config.to_dict(),
            notes=[f"settings: {t.settings_note}"],
        ),
        title=f"tinylens circuits recover: {t.name}",
    )
