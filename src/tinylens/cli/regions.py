"""``tinylens regions``: every linear region of a saved network inside a box."""

from __future__ import annotations

import argparse
import sys

from tinylens.cli.common import add_common, emit, float_list, open_run

ORDER = 40
EXAMPLE = "tinylens regions model.safetensors --box -1,1,-1,1 --json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "regions",
        help="exact linear regions of a saved ReLU network in a box",
        description=(
            "Enumerate every linear region of a network (a tinylens weights file) inside a box: "
            "each region's activation pattern, affine map and, in 2-D, polygon and area. With "
            "--json the regions are printed on stdout (no run directory unless --out is "
            f"given). Example: {EXAMPLE}"
        ),
    )
    p.add_argument("weights", metavar="MODEL.safetensors", help="a tinylens weights file")
    p.add_argument(
        "--box",
        type=float_list,
        required=True,
        metavar="LO,HI[,LO,HI...]",
        help="one LO,HI pair per input, e.g. -1,1,-1,1 for two inputs",
    )
    p.add_argument(
        "--method",
        default="auto",
        help="auto (intervals in 1-D, polygons in 2-D, LP arrangement beyond), or arrangement",
    )
    p.add_argument(
        "--hrep", action="store_true", help="include each region's inequalities A x <= b in JSON"
    )
    add_common(p, seed=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.regions import RegionsStudyConfig, run_regions

    cfg = RegionsStudyConfig(args.weights, args.box, args.method)
    cfg.check()  # a bad file or box is reported before any run directory is made
    if args.json and not args.out:
        result = run_regions(cfg)
        sys.stdout.write(result.regions.to_json(hrep=args.hrep or None) + "\n")
        return 0
    with open_run(args, "regions") as run_dir:
        result = run_regions(cfg)
        result.save(run_dir)
    path = run_dir.path
    m = result.metrics
    if args.json:
        sys.stdout.write(result.regions.to_json(hrep=args.hrep or None) + "\n")
        return 0
    lines = [
        f"{m['count']} linear regions in the box ({m['method']}, {m['seconds']:.3g} s)",
        f"  per layer: {', '.join(map(str, m['counts_per_layer']))}",
        f"regions: {path / 'regions.json'}",
        f"report:  {path / 'index.html'}",
    ]
    emit(args, {"out": str(path), **m}, lines)
    return 0
