"""``tinylens regions``: every linear region of a saved network in a box or on a slice."""

from __future__ import annotations

import argparse
import sys

from tinylens.cli.common import add_common, emit, float_list, open_run, positive_int

ORDER = 40
EXAMPLE = "tinylens regions model.safetensors --box -1,1,-1,1 --json"
SLICE_EXAMPLE = "tinylens regions mnist-mlp.safetensors --through 0,1,2 --data mnist"


def indices(text: str) -> tuple[int, ...]:
    """``0,1,2`` as test-set indices (whole numbers >= 0)."""
    try:
        out = tuple(int(v) for v in text.split(","))
    except ValueError:
        out = ()
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError(
            f"expected indices like 0,1,2 (whole numbers >= 0), got {text!r}"
        )
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "regions",
        help="exact linear regions of a saved ReLU network in a box or on a slice",
        description=(
            "Enumerate every linear region of a network (a tinylens weights file) inside a box, "
            "or on a plane through three test inputs (--through I,J,K), a segment between two "
            "(--through I,J) or a random plane through one (--plane I): each region's "
            "activation pattern, affine map and, in 2-D, polygon and area; on a slice also the "
            "predicted class and the exact decision boundary. With --json the regions are "
            "printed on stdout (no run directory unless --out is given). Examples: "
            f"{EXAMPLE}; {SLICE_EXAMPLE}"
        ),
    )
    p.add_argument("weights", metavar="MODEL.safetensors", help="a tinylens weights file")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--box",
        type=float_list,
        metavar="LO,HI[,LO,HI...]",
        help="one LO,HI pair per input, e.g. -1,1,-1,1 for two inputs",
    )
    where.add_argument(
        "--through",
        type=indices,
        metavar="I,J[,K]",
        help="test-set indices: the segment between two inputs or the plane through three",
    )
    where.add_argument(
        "--plane",
        type=int,
        metavar="I",
        help="the plane through test input I along two random directions (--seed, --radius)",
    )
    p.add_argument("--data", default="mnist", help="mnist (test set, default) or digits")
    p.add_argument("--data-dir", help="directory with the MNIST IDX files (for --data mnist)")
    p.add_argument(
        "--margin",
        type=float,
        default=0.0,
        help="grow the --through triangle by this fraction (above -1; -0.9 shrinks it to 0.1)",
    )
    p.add_argument(
        "--radius", type=float, default=1.0, help="half-width of the --plane square (default 1)"
    )
    p.add_argument(
        "--method",
        default="auto",
        help="auto (intervals in 1-D, polygons in 2-D, LP arrangement beyond), or arrangement",
    )
    p.add_argument(
        "--codes",
        default="auto",
        help="a conv net's region codes on a plane: auto (packed when full ones would not fit "
        "the memory budget, ~205k regions), full, packed (~1.1M) or digest (~4.8M; JSON and "
        "hover tips show digests instead of patterns)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        help="threads sharing a conv net's plane (default: the cores, up to 4); the regions are "
        "the same for any count",
    )
    p.add_argument(
        "--hrep", action="store_true", help="include each region's inequalities A x <= b in JSON"
    )
    add_common(p, seed=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.box is None:
        return run_slice(args)
    given = {"--codes": args.codes != "auto", "--workers": args.workers is not None}
    misplaced = [flag for flag, on in given.items() if on]
    if misplaced:
        from tinylens.errors import ConfigError

        raise ConfigError(f"{misplaced[0]} applies to slices (--through, --plane), not to --box")
    from tinylens.studies.geometry import RegionsStudyConfig, run_regions, write_box

    cfg = RegionsStudyConfig(args.weights, args.box, args.method)
    cfg.check()  # a bad file or box is reported before any run directory is made
    if args.json and not args.out:
        result = run_regions(cfg)
        sys.stdout.write(result.regions.to_json(hrep=args.hrep or None) + "\n")
        return 0
    with open_run(args, "regions") as run_dir:
        result = run_regions(cfg)
        write_box(result, run_dir)
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


def run_slice(args: argparse.Namespace) -> int:
    import json

    from tinylens.studies.geometry import SliceStudyConfig, run, write

    cfg = SliceStudyConfig(
        weights=args.weights,
        through=tuple(args.through or ()),
        plane=args.plane,
        data=args.data,
        data_dir=args.data_dir,
        margin=args.margin,
        radius=args.radius,
        method=args.method,
        seed=args.seed,
        codes=args.codes,
        workers=args.workers,
    )
    if args.json and not args.out:
        result = run(cfg, progress=not args.quiet)
        sys.stdout.write(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        return 0
    # computed before the run directory: a bad input leaves nothing behind
    result = run(cfg, progress=not args.quiet)
    with open_run(args, "regions") as run_dir:
        write(result, run_dir)
    path = run_dir.path
    m = result.metrics
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        return 0
    kind = "plane" if m["dim"] == 2 else "segment"
    lines = [
        f"{m['count']} linear regions on the {kind} through {result._where()} "
        f"({m['method']}, {m['seconds']:.3g} s)",
        f"  per layer: {', '.join(map(str, m['counts_per_layer']))}",
        f"  regions by predicted class: {m['regions_by_class']}",
        f"  decision boundary: {_boundary(m)}",
        f"regions: {path / 'regions.json'}",
        f"report:  {path / 'index.html'}",
    ]
    emit(args, {"out": str(path), **m}, lines)
    return 0


SHOWN_POINTS = 6
"""A segment's boundary points listed on the printout (all are in --json and regions.json)."""


def _boundary(m: dict) -> str:
    """``25 segments`` on a plane; on a segment ``2 points: t=0.4245 (7 -> 5), ...``."""
    if "boundary_points" not in m:
        return f"{m['boundary_segments']} segments"
    points = m["boundary_points"]
    shown = ", ".join(f"t={t:.4g} ({a} -> {b})" for t, a, b in points[:SHOWN_POINTS])
    more = f", ... ({len(points) - SHOWN_POINTS} more)" if len(points) > SHOWN_POINTS else ""
    return f"{len(points)} point{'s' if len(points) != 1 else ''}" + (
        f": {shown}{more}" if points else ""
    )
