"""``tinylens circuits show NAME``: one network, its weights [out, in], formula and examples."""

from __future__ import annotations

import argparse

from tinylens.cli.common import emit


def add(inner: argparse._SubParsersAction) -> None:
    show = inner.add_parser("show", help="one network: weights [out, in], formula, examples")
    show.add_argument("name", help="a library name (see 'tinylens circuits list')")
    show.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="parameter of a parametrised entry, e.g. --param w1=2 (repeatable)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.circuits import ShowConfig, run_show
    from tinylens.studies.circuits.write import show_lines

    result = run_show(ShowConfig(name=args.name, params=tuple(args.param or ())))
    if args.json:
        emit(args, result.to_dict(), [])
        return 0
    emit(args, {}, show_lines(result))
    return 0
