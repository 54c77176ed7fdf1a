"""``tinylens circuits list``: every network of the library (``--out``: its report)."""

from __future__ import annotations

import argparse

from tinylens.cli.common import emit, open_run


def add(inner: argparse._SubParsersAction) -> None:
    ls = inner.add_parser("list", help="every network of the library")
    ls.add_argument("--sizes", action="store_true", help="compile each one and compare sizes")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.add_argument(
        "--out", metavar="DIR", help="also write the library report: every circuit drawn"
    )
    ls.add_argument("--force", action="store_true", help="replace an existing --out directory")
    ls.add_argument(
        "--quiet", action="store_true", help="no table (with --out: print only the path)"
    )
    ls.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.circuits import ListConfig, run_list
    from tinylens.studies.circuits.write import list_lines, write_library

    if args.out:
        with open_run(args, "circuits") as run_dir:
            write_library(run_dir)
        if not args.json:
            print(f"report:  {run_dir.path / 'index.html'}")
        if args.quiet:
            return 0
    result = run_list(ListConfig(sizes=args.sizes))
    if args.json:
        emit(args, result.to_dict(), [])
        return 0
    emit(args, {}, list_lines(result))
    return 0
