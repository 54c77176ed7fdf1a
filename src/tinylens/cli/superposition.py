"""``tinylens superposition``: toy models of superposition (Elhage et al., 2022)."""

from __future__ import annotations

import argparse

from tinylens.cli.common import add_common, emit, float_list, open_run, positive_float, positive_int

ORDER = 62
EXAMPLE = "tinylens superposition --features 5 --hidden 2 --sparsity 0,0.7,0.9,0.97,0.99"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "superposition",
        help="toy models of superposition: n sparse features in m < n dimensions",
        description=(
            "Train the toy models of Elhage et al. (2022), one per sparsity and importance "
            "(and --instances seeds each), all at once on the NumPy engine; measure from the "
            "weights which features are represented, at what angles, how much they share "
            "their dimensions (D_i and the fractions they stick to); --phase-diagram adds the "
            f"n=2, m=1 phase diagram. Defaults are the paper's. Example: {EXAMPLE}"
        ),
    )
    p.add_argument("--features", type=positive_int, default=None, help="n features (5)")
    p.add_argument("--hidden", type=positive_int, default=None, help="m hidden dimensions (2)")
    p.add_argument(
        "--sparsity", type=float_list, default=None, metavar="S[,S...]",
        help="sparsities in [0, 1) (0,0.7,0.9,0.97,0.99)",
    )  # fmt: skip
    p.add_argument(
        "--importance", type=float_list, default=None, metavar="R[,R...]",
        help="importance decays: feature i has importance R**i (0.9)",
    )  # fmt: skip
    p.add_argument(
        "--instances", type=positive_int, default=None,
        help="models per setting, differently initialised; the lowest loss is reported (1)",
    )  # fmt: skip
    p.add_argument("--hidden-relu", action="store_true", help="the variant h = ReLU(W x)")
    p.add_argument(
        "--phase-diagram", action="store_true", help="also the n=2, m=1 phase diagram (8x8 grid)"
    )
    p.add_argument("--steps", type=positive_int, default=None, help="training steps (10000)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="batch size (1024)")
    p.add_argument("--lr", type=positive_float, default=None, help="AdamW learning rate (0.001)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.superposition import SuperpositionConfig, run, write

    given = {
        "features": args.features,
        "hidden": args.hidden,
        "sparsity": args.sparsity,
        "importance": args.importance,
        "instances": args.instances,
    }
    d = {k: v for k, v in given.items() if v is not None}
    train = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr}
    d["train"] = {k: v for k, v in train.items() if v is not None}
    d["hidden_relu"] = args.hidden_relu
    d["seed"] = args.seed
    if args.phase_diagram:
        d["phase"] = {}  # PhaseConfig's default grid
    cfg = SuperpositionConfig.from_dict(d)
    with open_run(args, "superposition") as run_dir:
        result = run(cfg, progress=not args.quiet)
        write(result, run_dir)
    lines = [
        f"{len(result.loss_)} toy models (n={cfg.features}, m={cfg.hidden}) trained at once in "
        f"{result.seconds['toy models']:.1f} s"
    ]
    cols = result.SUMMARY_COLUMNS
    widths = (6, 10, 11, 30, 26, 9)
    lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in result.summary_rows():
        cells = [f"{row[0]:g}", f"{row[1]:g}", str(row[2]), row[3], row[4], f"{row[5]:.3g}"]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    summary: dict[str, object] = {
        "out": str(run_dir.path),
        "best": [
            {k: m[k] for k in ("sparsity", "importance_decay", "represented", "dimensionality")}
            for m in (result.instance_metrics(k) for k in result.best())
        ],
    }
    if result.phase is not None:
        lines.append(f"phase diagram (n=2, m=1) cells: {result.phase.counts()}")
        summary["phase_counts"] = result.phase.counts()
    lines.append(f"report:  {run_dir.path / 'index.html'}")
    emit(args, summary, lines)
    return 0
