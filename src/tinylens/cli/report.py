"""``tinylens report RUN_DIR``: (re)render the HTML report of a run directory."""

from __future__ import annotations

import argparse

from tinylens.cli.common import emit

ORDER = 90


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="render the HTML report of a run directory",
        description="Write RUN_DIR/index.html from RUN_DIR/report.json.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.add_argument("--json", action="store_true", help='print {"report": PATH} on stdout')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinylens.errors import ConfigError
    from tinylens.report import render_run

    root = Path(args.run_dir)
    if not (root / "report.json").is_file():
        raise ConfigError(f"{root} is not a tinylens run directory (it has no report.json)")
    path = render_run(root)
    emit(args, {"report": str(path)}, [f"report: {path}"])
    return 0
