"""``tinylens demo``: every study, small and offline, in one report."""

from __future__ import annotations

import argparse
from typing import Any

from tinylens.cli.common import add_common, emit, open_run, positive_int

ORDER = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run every study on small embedded settings and write one report",
        description=(
            "Run the basis decomposition, exact regions, depth versus width, an optimizer "
            "comparison, the circuit library with a compile and a recovery study, and image "
            "probing, offline, and write one report (DIR/index.html) with a section per study."
        ),
    )
    p.add_argument("--quick", action="store_true", help="smaller settings: seconds, not a minute")
    p.add_argument("--parts", help="comma-separated subset of the parts (default: all)")
    p.add_argument(
        "--workers",
        type=positive_int,
        help="processes running the parts side by side (default: one per core; 1: in order, "
        "in this process); the report is the same",
    )
    add_common(p)
    p.set_defaults(func=run)


def summary_lines(result: Any) -> list[str]:
    """The demo's time, then each part's own seconds (a :class:`~tinylens.studies.demo.DemoResult`).

    Parts that ran side by side in worker processes each took their own seconds at the same
    time, so their sum exceeds the demo's: the lines say so and print the sum apart from the
    wall clock, rather than leave a reader adding up a column that does not reach the total.
    """
    n, workers = len(result.seconds), result.workers
    head = f"tinylens demo: {n} studies in {result.wall:.1f} s"
    if workers > 1:
        head += f", side by side in {workers} worker processes; each part's own time:"
    width = max((len(name) for name in result.seconds), default=0)
    lines = [head] + [f"  {name:{width}s} {secs:5.1f} s" for name, secs in result.seconds.items()]
    if workers > 1:
        total = sum(result.seconds.values())
        lines.append(
            f"  {'together':{width}s} {total:5.1f} s of work in {result.wall:.1f} s: the parts "
            "ran in parallel"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    from tinylens.report import render_run
    from tinylens.studies.demo import DemoConfig, run_demo

    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip()) if args.parts else ()
    if args.parts is not None and not parts:
        from tinylens.errors import ConfigError

        raise ConfigError(
            f"--parts {args.parts!r} names no part; give some, e.g. --parts basis,regions, or "
            "leave --parts out to run them all"
        )
    config = DemoConfig(quick=args.quick, seed=args.seed, parts=parts)
    with open_run(args, "demo") as run_dir:
        result = run_demo(config, run_dir, quiet=args.quiet, workers=args.workers)
        for path in sorted(run_dir.work.rglob("report.json")):
            if path.parent != run_dir.work:
                render_run(path.parent)
    index = run_dir.path / "index.html"
    lines = [*summary_lines(result), f"report: {index}"]
    lines.append(f"open it in a browser: file://{index.resolve()}")
    emit(args, {"out": str(run_dir.path), "report": str(index), "seconds": result.seconds,
                "wall_seconds": result.wall, "workers": result.workers,
                "highlights": result.highlights}, lines)  # fmt: skip
    return 0
