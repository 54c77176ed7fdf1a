"""``tinylens circuits compile "EXPR"``: an expression as an exact ReLU network."""

from __future__ import annotations

import argparse

from tinylens.cli.common import positive_int
from tinylens.studies.circuits.config import CompileConfig


def add(inner: argparse._SubParsersAction) -> None:
    comp = inner.add_parser(
        "compile",
        help="compile an expression into an exact ReLU network",
        description="Compile an expression (variables, numbers, + - * /, abs, relu, min, max, "
        "clamp, < <= > >= == !=, is_even(x, bits=n), is_odd, where(c, a, b)) into a ReLU "
        "network with exact rational weights.",
    )
    comp.add_argument("expression", help='e.g. "min(x1, x2)" or "where(x < 8, x, 15 - x)"')
    comp.add_argument(
        "--domain",
        help="x=0..15,y=-3..3 (integers) or x=-1:1 (reals); "
        "an unnamed 0..15 applies to every input",
    )
    comp.add_argument(
        "--verify",
        action="store_true",
        help="check the network against the expression on the whole domain",
    )
    comp.add_argument(
        "--max-work",
        type=positive_int,
        default=CompileConfig.max_work,
        help="largest 2^(real inputs) x ReLU units the exact check on a real box starts "
        f"({CompileConfig.max_work:,}, about a minute)",
    )
    comp.add_argument("--out", metavar="F.safetensors", help="write the network here")
    comp.add_argument("--force", action="store_true", help="replace an existing --out file")
    comp.add_argument("--quiet", action="store_true", help="print nothing on success")
    comp.add_argument("--json", action="store_true", help="print a JSON summary")
    comp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinylens.cli.common import emit
    from tinylens.studies.circuits import run_compile
    from tinylens.studies.circuits.write import check_weights_path, compile_lines, write_weights

    out_path = Path(args.out) if args.out else None
    if out_path is not None:
        check_weights_path(out_path, args.force)
    cfg = CompileConfig(
        expression=args.expression, domain=args.domain, verify=args.verify, max_work=args.max_work
    )
    result = run_compile(cfg)
    if out_path is not None:
        write_weights(result, out_path)
    emit(args, result.to_dict(str(out_path) if out_path else None), compile_lines(result, out_path))
    v = result.verification
    return 1 if v is not None and v.verified is False else 0
