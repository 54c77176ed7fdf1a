"""``tinylens topology``: depth versus width on the spiral (lifting against a deep MLP)."""

from __future__ import annotations

import argparse

from tinylens.cli.common import (
    add_common,
    check_network_size,
    emit,
    int_list,
    nonnegative_float,
    open_run,
    positive_float,
    positive_int,
)

ORDER = 35
EXAMPLE = "tinylens topology --classes 3 --points 1000 --noise 0.2 --degree 5 --hidden 64,32"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "topology",
        help="depth versus width on the spiral: polynomial lifting against a deep MLP",
        description=(
            "Solve the spiral by polynomial lifting (all monomials up to a degree, then a "
            "linear classifier) and by a deep MLP; show decision boundaries, the plane folded "
            "layer by layer, linear separability and exact region counts per layer. "
            f"Example: {EXAMPLE}"
        ),
    )
    p.add_argument(
        "--classes", type=int_list, default=(3, 4), metavar="K[,K...]", help="arms (3,4)"
    )
    p.add_argument("--points", type=positive_int, default=1000)
    p.add_argument("--noise", type=nonnegative_float, default=0.2)
    p.add_argument("--degree", type=positive_int, default=5, help="lifting degree P (5)")
    p.add_argument("--hidden", type=int_list, default=(64, 32), help="MLP widths (64,32)")
    p.add_argument("--epochs", type=positive_int, default=300, help="MLP epochs (300)")
    p.add_argument("--lr", type=positive_float, default=0.01, help="MLP learning rate (0.01)")
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--lift-epochs", type=positive_int, default=1000)
    p.add_argument("--box", type=positive_float, default=1.25, help="half-width of the box")
    add_common(p)
    p.set_defaults(func=run)


MAX_LIFTED_NUMBERS = 20_000_000
"""Most numbers the lifted feature matrix may hold (points x monomials; 160 MB in float64, our
own bound: the default degree 5 on 1,000 points is 20,000)."""


def run(args: argparse.Namespace) -> int:
    from tinylens.errors import ConfigError

    check_network_size((2, *args.hidden, 2), "--hidden")
    features = (args.degree + 1) * (args.degree + 2) // 2 - 1  # monomials of (x1, x2)
    if features * args.points > MAX_LIFTED_NUMBERS:
        raise ConfigError(
            f"--degree {args.degree} lifts each of --points {args.points} to {features:,} "
            f"monomials: {features * args.points:,} numbers, more than {MAX_LIFTED_NUMBERS:,}; "
            "lower --degree (the default is 5) or --points"
        )
    from tinylens.studies.topology import TopologyConfig, run_topology

    cfg = TopologyConfig(
        classes=args.classes,
        points=args.points,
        noise=args.noise,
        degree=args.degree,
        hidden=args.hidden,
        epochs=args.epochs,
        lr=args.lr,
        optimizer=args.optimizer,
        lift_epochs=args.lift_epochs,
        box=args.box,
        seed=args.seed,
    )
    with open_run(args, "topology") as run_dir:
        result = run_topology(cfg, quiet=args.quiet)
        result.save(run_dir)
    path = run_dir.path
    lines = []
    summary: dict[str, object] = {"out": str(path)}
    for k, pc in result.per_class.items():
        lift, mlp = pc["lift"], pc["mlp"]
        lines.append(
            f"K={k}: lifting (degree {cfg.degree}, {lift['parameters']} params) test acc "
            f"{lift['test_accuracy']:.3f}; MLP ({mlp['parameters']} params) test acc "
            f"{mlp['test_accuracy']:.3f}"
        )
        seps = ", ".join(f"{s['test_accuracy']:.2f}" for s in pc["separability"])
        lines.append(f"  separability per layer: {seps}; regions per layer: {pc['region_counts']}")
        summary[f"K{k}"] = pc
    lines.append(f"report:  {path / 'index.html'}")
    emit(args, summary, lines)
    return 0
