"""``tinylens demo``: every study, small and offline, in one report."""

from __future__ import annotations

import argparse

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
    lines = [f"tinylens demo: {len(result.seconds)} studies in {result.wall:.1f} s"]
    lines += [f"  {name:11s} {secs:5.1f} s" for name, secs in result.seconds.items()]
    lines += [f"report: {index}", f"open it in a browser: file://{index.resolve()}"]
    emit(args, {"out": str(run_dir.path), "report": str(index), "seconds": result.seconds,
                "wall_seconds": result.wall, "workers": result.workers,
                "highlights": result.highlights}, lines)  # fmt: skip
    return 0
