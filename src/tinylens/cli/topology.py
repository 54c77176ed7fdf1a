"""``tinylens topology``: depth versus width on the spiral (lifting against a deep MLP)."""

from __future__ import annotations

import argparse
from typing import Any

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
    # Defaults live in the study's config (TopologyConfig, MLP_TRAINING): read, not copied.
    from tinylens.studies.topology import TopologyConfig

    d, t = TopologyConfig(), TopologyConfig().train

    def csv(values: tuple[int, ...]) -> str:
        return ",".join(map(str, values))

    p.add_argument("--classes", type=int_list, metavar="K[,K...]", help=f"arms ({csv(d.classes)})")
    p.add_argument("--points", type=positive_int, help=f"spiral points ({d.points})")
    p.add_argument("--noise", type=nonnegative_float, help=f"spiral noise ({d.noise})")
    p.add_argument("--degree", type=positive_int, help=f"lifting degree P ({d.degree})")
    p.add_argument("--hidden", type=int_list, help=f"MLP widths ({csv(d.hidden)})")
    p.add_argument("--epochs", type=positive_int, help=f"MLP epochs ({t.epochs})")
    p.add_argument("--lr", type=positive_float, help=f"MLP learning rate ({t.lr})")
    p.add_argument("--optimizer", help=f"MLP optimizer ({t.optimizer})")
    p.add_argument(
        "--lift-epochs", type=positive_int, help=f"lifted classifier epochs ({d.lift_epochs})"
    )
    p.add_argument("--box", type=positive_float, help=f"half-width of the box ({d.box})")
    add_common(p)
    p.set_defaults(func=run)


MAX_LIFTED_NUMBERS = 20_000_000
"""Most numbers the lifted feature matrix may hold (points x monomials; 160 MB in float64, our
own bound: the default degree 5 on 1,000 points is 20,000)."""


def build_config(args: argparse.Namespace) -> Any:
    """The study config from the options given (the rest: the config's defaults)."""
    from tinylens.errors import ConfigError
    from tinylens.studies.topology import TopologyConfig

    names = ("classes", "points", "noise", "degree", "hidden", "lift_epochs", "box")
    d: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    train = {n: getattr(args, n) for n in ("epochs", "lr", "optimizer")}
    d["train"] = {k: v for k, v in train.items() if v is not None}
    d["seed"] = args.seed
    cfg = TopologyConfig.from_dict(d)
    check_network_size((2, *cfg.hidden, 2), "--hidden")
    features = (cfg.degree + 1) * (cfg.degree + 2) // 2 - 1  # monomials of (x1, x2)
    if features * cfg.points > MAX_LIFTED_NUMBERS:
        raise ConfigError(
            f"--degree {cfg.degree} lifts each of --points {cfg.points} to {features:,} "
            f"monomials: {features * cfg.points:,} numbers, more than {MAX_LIFTED_NUMBERS:,}; "
            f"lower --degree (the default is {TopologyConfig().degree}) or --points"
        )
    return cfg


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.topology import run, write

    cfg = build_config(args)
    with open_run(args, "topology") as run_dir:
        result = run(cfg, progress=not args.quiet)
        write(result, run_dir)
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
