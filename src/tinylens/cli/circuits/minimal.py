"""``tinylens circuits minimal NAME|EXPR``: the smallest network computing a function exactly
(``--table``: the size table of the library's small functions)."""

from __future__ import annotations

import argparse

from tinylens.cli.common import emit, positive_float, positive_int
from tinylens.studies.circuits.config import MinimalConfig

_D = MinimalConfig


def add(inner: argparse._SubParsersAction) -> None:
    mn = inner.add_parser(
        "minimal",
        help="the smallest network computing a function exactly",
        description="Find the smallest one-hidden-layer ReLU network (biases, linear output) "
        "computing an expression exactly on its domain: a MILP (HiGHS) per width, each solution "
        "verified exactly (real boxes: counterexamples refine the MILP's points). For is_even / "
        "is_odd also the lower bound for any ReLU network and the constructions. --table: "
        "hand-derived, compiled and smallest sizes of the library's small functions.",
    )
    mn.add_argument(
        "target", nargs="?", help='a library name or an expression, e.g. min or "abs(x)"'
    )
    mn.add_argument("--domain", help="x=0..15 (integers) or x=-1:1 (reals); default: the entry's")
    mn.add_argument(
        "--max-width",
        type=positive_int,
        default=_D.max_width,
        help=f"widths tried ({_D.max_width})",
    )
    mn.add_argument(
        "--bound",
        type=positive_float,
        default=_D.bound,
        help=f"bound on |output weight| x |incoming weight| of a unit ({_D.bound:g})",
    )
    mn.add_argument(
        "--time-limit",
        type=positive_float,
        default=_D.time_limit,
        help=f"seconds per MILP ({_D.time_limit:g})",
    )
    mn.add_argument("--table", action="store_true", help="the size table of small functions")
    mn.add_argument("--slow", action="store_true", help="with --table: also the slow is_even MILPs")
    mn.add_argument("--json", action="store_true", help="print JSON")
    mn.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.circuits import run_minimal
    from tinylens.studies.circuits.result import SizeTable
    from tinylens.studies.circuits.write import minimal_lines, table_lines

    cfg = MinimalConfig(
        target=args.target,
        domain=args.domain,
        max_width=args.max_width,
        bound=args.bound,
        time_limit=args.time_limit,
        table=args.table,
        slow=args.slow,
    )
    result = run_minimal(cfg)
    lines = table_lines(result) if isinstance(result, SizeTable) else minimal_lines(result)
    emit(args, result.to_dict(), lines)
    return 0
