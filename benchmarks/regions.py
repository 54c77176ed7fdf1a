"""Exact 2-D linear-region enumeration against a 1000x1000 grid of activation patterns.

For random 2-32-32-1 and 2-64-64-1 ReLU nets (PyTorch's default initialisation, so biases are
nonzero and the lines do not all meet at the origin) and a spiral net (2-64-32-3) trained with
``fit``, all seeded, in the same run:

* **exact**: :func:`tinylens.geometry.linear_regions` (polygon splitting): regions, seconds
  (best of ``--repeats``), regions per second;
* **grid** (the reference most tools use): the activation pattern at every point of a
  ``--grid`` x ``--grid`` grid over the box, and the number of distinct patterns, which misses
  regions smaller than a grid cell.

Checks, per net: every grid pattern is one of the exact regions (so the exact count can never
be below the grid's). Prints a table with the ratios exact/grid (regions and seconds) and ends
with one JSON line ``{"benchmark": "regions", ...}``.

    python benchmarks/regions.py [--grid 1000] [--repeats 3]

Targets (issue 4): >= 10,000 regions per second, and never fewer regions than the grid.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

TARGET_RATE = 10_000


def nets(seed: int) -> list[tuple[str, object, list[tuple[float, float]]]]:
    from tinylens.data import spiral
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig, fit

    box = [(-1.0, 1.0), (-1.0, 1.0)]
    out: list[tuple[str, object, list[tuple[float, float]]]] = [
        ("random 2-32-32-1", MLP([2, 32, 32, 1], rng=seed, init="torch"), box),
        ("random 2-64-64-1", MLP([2, 64, 64, 1], rng=seed, init="torch"), box),
    ]
    rng = np.random.default_rng(seed)
    data = spiral(1000, 3, 0.2, rng=rng)
    net = MLP([2, 64, 32, 3], rng=rng)
    fit(net, data, TrainConfig(epochs=200, optimizer="adam", lr=0.01), rng=rng, quiet=True)
    acc = float(np.mean(net.predict(data.X).argmax(1) == data.y))
    out.append((f"trained spiral 2-64-32-3 (acc {acc:.3f})", net, [(-1.25, 1.25)] * 2))
    return out


def grid_patterns(stack: object, box: list[tuple[float, float]], n: int) -> tuple[set, float]:
    """Distinct activation patterns on an n x n grid (as bytes), and the seconds it took."""
    from tinylens.geometry._affine import forward_patterns

    t0 = time.perf_counter()
    xs = np.linspace(box[0][0], box[0][1], n)
    ys = np.linspace(box[1][0], box[1][1], n)
    seen: set[bytes] = set()
    for chunk in np.array_split(ys, max(1, n // 100)):
        xx, yy = np.meshgrid(xs, chunk)
        bits = forward_patterns(stack, np.column_stack([xx.ravel(), yy.ravel()]))
        packed = np.packbits(bits, axis=1)
        rows = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel())
        seen.update(r.tobytes() for r in rows)
    return seen, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=1000, help="grid points per side (1000)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, best kept (3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from tinylens.geometry import linear_regions
    from tinylens.geometry._affine import piecewise_stack

    results = []
    header = (
        f"{'network':38s} {'exact':>7s} {'seconds':>8s} {'regions/s':>10s} {'grid':>7s} "
        f"{'grid s':>7s} {'exact/grid':>10s} {'time grid/exact':>15s}"
    )
    print(header)
    print("-" * len(header))
    for name, net, box in nets(args.seed):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            regions = linear_regions(net, box)
            times.append(time.perf_counter() - t0)
        seconds = min(times)
        stack = piecewise_stack(net)
        grid, grid_seconds = grid_patterns(stack, box, args.grid)
        exact = {np.packbits(p).tobytes() for p in regions.patterns}
        missing = len(grid - exact)  # grid patterns the exact enumeration lacks: must be 0
        rate = regions.count / seconds
        row = {
            "network": name,
            "regions": regions.count,
            "seconds": seconds,
            "regions_per_second": rate,
            "grid_points": args.grid**2,
            "grid_regions": len(grid),
            "grid_seconds": grid_seconds,
            "missed_by_grid": regions.count - len(grid & exact),
            "grid_patterns_not_exact": missing,
            "exact_over_grid_regions": regions.count / max(len(grid), 1),
            "grid_over_exact_seconds": grid_seconds / seconds,
            "counts_per_layer": list(regions.counts_per_layer),
        }
        results.append(row)
        print(
            f"{name:38s} {regions.count:7d} {seconds:8.3f} {rate:10.0f} {len(grid):7d} "
            f"{grid_seconds:7.2f} {row['exact_over_grid_regions']:10.3f} "
            f"{row['grid_over_exact_seconds']:15.1f}"
        )
    min_rate = min(r["regions_per_second"] for r in results)
    never_fewer = all(
        r["regions"] >= r["grid_regions"] and r["grid_patterns_not_exact"] == 0 for r in results
    )
    print(
        f"\nslowest rate {min_rate:,.0f} regions/s (target >= {TARGET_RATE:,}); exact never "
        f"below the grid and containing every grid pattern: {never_fewer}"
    )
    summary = {
        "benchmark": "regions",
        "grid": args.grid,
        "nets": results,
        "min_regions_per_second": min_rate,
        "target_regions_per_second": TARGET_RATE,
        "rate_target_met": min_rate >= TARGET_RATE,
        "never_fewer_than_grid": never_fewer,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
