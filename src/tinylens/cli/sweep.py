"""``tinylens sweep SWEEP.yaml``: a grid of runs x seeds on local processes or a Dask cluster."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinylens.cli.common import add_common, emit, positive_int

ORDER = 90
EXAMPLE = "tinylens sweep examples/sweep_spiral.yaml --workers 2"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a grid of studies x parameters x seeds (local processes or Dask)",
        description=(
            "Expand SWEEP.yaml into runs (study config x parameter grid x seeds) and run them "
            "on local worker processes or, with --scheduler, on a Dask cluster; collect one "
            "table (results.csv, results.parquet), plots and a report. Each finished run is "
            "stored, so re-running skips what is done and a killed sweep resumes. "
            f"Example: {EXAMPLE}"
        ),
    )
    p.add_argument("sweep_file", metavar="SWEEP.yaml", help="the sweep (see examples/)")
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on this Dask scheduler instead of local processes",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        help="local worker processes (default: the number of cores; 1 runs in this process)",
    )
    add_common(p, seed=None)
    p.set_defaults(func=run)
    # --force has its sweep meaning: forget stored results and run everything again.
    for action in p._actions:
        if action.dest == "force":
            action.help = "forget the stored results in --out and run every run again"
        if action.dest == "out":
            action.help = "sweep directory (default: runs/sweep-<name>; re-running resumes it)"


def run(args: argparse.Namespace) -> int:
    from tinylens.report import render_run
    from tinylens.sweeps import load_sweep, run_sweep

    spec = load_sweep(args.sweep_file)
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{spec.name}"
    result = run_sweep(
        spec,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        force=args.force,
        quiet=args.quiet,
    )
    render_run(out)
    failed = result.failed
    lines = [
        f"sweep {spec.name}: {len(result.runs)} runs; {result.ran} ran ({result.executor}), "
        f"{result.skipped} already done, {len(failed)} failed",
    ]
    lines += [
        f"  failed {r['run_id']} {r['params']} seed {r['seed']}: {r['error']}" for r in failed[:5]
    ]
    if len(failed) > 5:
        lines.append(f"  ... and {len(failed) - 5} more (see the report)")
    lines += [f"table:  {out / 'results.csv'}", f"report: {out / 'index.html'}"]
    emit(args, result.summary(), lines)
    return 0
