"""Cost of settling 2-D close calls exactly (issue 15): ``split_polygons`` against a reference.

The reference is ``_polygons.py`` as it was at a git revision (``--reference``, default the
last commit before exact sides: snapping at ``SIDE_RTOL_2D``), loaded beside today's module in
the same process; both split the same unit-box stacks, interleaved, best of ``--repeats``. It
prints each net's regions by both (the exact split may find more: slivers), the seconds, and
the ratio exact / reference; one JSON line at the end. BLAS threads: whatever the environment
sets (the split is element-wise NumPy; state OMP_NUM_THREADS when you quote it).

    python benchmarks/exact_sides.py [--reference REV] [--repeats 7] [--local-complexity 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def reference_module(rev: str):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/tinylens/geometry/_polygons.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "reference_polygons.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("reference_polygons", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["reference_polygons"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="af0122f", help="git revision (af0122f)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--local-complexity", type=int, default=0, metavar="N", help="also the LC pass, best of N"
    )
    args = parser.parse_args()

    from tinylens.engine import MLP
    from tinylens.geometry import _polygons
    from tinylens.geometry._affine import piecewise_stack

    ref = reference_module(args.reference)
    rows = []
    for name, sizes in (("random 2-32-32-1", [2, 32, 32, 1]), ("random 2-64-64-1", [2, 64, 64, 1])):
        for seed in (0, 1):
            unit = piecewise_stack(MLP(sizes, rng=seed, init="torch"))
            best = {"exact": np.inf, "reference": np.inf}
            counts = {}
            for _ in range(args.repeats):
                for key, split in (
                    ("exact", _polygons.split_polygons),
                    ("reference", ref.split_polygons),
                ):
                    t0 = time.perf_counter()
                    out = split(unit)
                    best[key] = min(best[key], time.perf_counter() - t0)
                    counts[key] = len(out.vertices)
            ratio = best["exact"] / best["reference"]
            rows.append(
                {
                    "network": f"{name} seed {seed}",
                    **{f"{k}_seconds": v for k, v in best.items()},
                    "exact_regions": counts["exact"],
                    "reference_regions": counts["reference"],
                    "ratio_exact_to_reference": ratio,
                }
            )
            print(
                f"{name} seed {seed}: {counts['exact']} regions exact, "
                f"{counts['reference']} reference; "
                f"{best['exact']:.4f} s vs {best['reference']:.4f} s: {ratio:.2f}x"
            )
    if args.local_complexity:
        rows.append(local_complexity(ref, args.local_complexity))
    print(json.dumps({"benchmark": "exact_sides", "reference": args.reference, "nets": rows}))


def local_complexity(ref, repeats: int) -> dict:
    """The local-complexity pass of ``benchmarks/regions.py`` (980 small squares, many tiny
    splits: per-call overhead) with ``linear_regions`` on today's split and on the reference."""
    from tinylens.geometry import regions

    sys.path.insert(0, str(Path(__file__).parent))
    from regions import local_complexity_row  # benchmarks/regions.py

    exact_split = regions.split_polygons
    best = {"exact": np.inf, "reference": np.inf}
    try:
        for _ in range(repeats):
            for key in best:
                regions.split_polygons = (  # type: ignore[assignment]
                    exact_split
                    if key == "exact"
                    else lambda unit, domain=None: ref.split_polygons(unit)
                )
                best[key] = min(best[key], local_complexity_row(0, 16)["seconds"])
    finally:
        regions.split_polygons = exact_split  # type: ignore[assignment]
    ratio = best["exact"] / best["reference"]
    print(
        f"local complexity, 980 squares: {best['exact']:.3f} s vs {best['reference']:.3f} s: "
        f"{ratio:.2f}x"
    )
    return {
        "network": "local complexity (digits MLP, 980 squares)",
        **{f"{k}_seconds": v for k, v in best.items()},
        "ratio_exact_to_reference": ratio,
    }


if __name__ == "__main__":
    main()
