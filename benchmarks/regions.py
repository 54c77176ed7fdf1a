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

    python benchmarks/regions.py [--grid 1000] [--repeats 3] [--mnist-dir DIR]

With ``--mnist-dir`` (the MNIST IDX files; nothing is downloaded) it adds the slice rows of
issue 15: a 784-32-16-10 MLP trained one epoch (Adam, lr 1e-3, batch 64, seeded) on the 60,000
training images, on the plane through test images 0, 1, 2 (the triangle they span); the grid
is then ``--grid`` x ``--grid`` points of that triangle's bounding box, inside the triangle.

With ``--mnist-dir`` and ``--cnn-radius R`` it also times the MNIST CNN
(:func:`tinylens.engine.small_cnn`, seeded initialisation, untrained: our choice, so the row
needs no training) on the square of half-width R around test image 0 along two random
directions (seed ``--seed``), with max pools read exactly (:mod:`tinylens.geometry.conv_slice`);
its grid is ``--grid`` x ``--grid`` points of the square, patterns read by a forward pass.

The local-complexity row (issue 15): a 64-32-16-10 MLP trained 19 epochs on the 8x8 digits
(SGD lr 0.1, batch 64, seeded; snapshots at epochs 0..19, so 20 networks), and
:func:`tinylens.studies.geometry.over_training.partition_over_training` on them: ``--lc-points``
training, test and far points each (16 by default, as ``tinylens mnist --geometry``), squares
of half-width 0.5 (our choice, the CLI's default), plus the plane through three test images.
Its seconds are for one pass (no repeats), on one BLAS thread as the study runs.

With ``--mnist-dir`` and ``--cnn-through SCALE`` it enumerates the same CNN (or, with
``--cnn-epochs E``, trained E epochs with Adam, lr 1e-3, batch 64, seeded) on the plane through
test images 0, 1, 2: the whole triangle for SCALE 1, or the triangle shrunk by SCALE about its
centroid; codes kept as 16-byte digests. It reports regions, seconds, regions per second, the
process's peak resident memory after it (getrusage maxrss, MNIST included), and a
``--cnn-grid`` grid of the triangle (patterns by a forward pass; each must be an exact region).

Targets (issue 4): >= 10,000 regions per second, and never fewer regions than the grid.
Target (issue 15): the MNIST MLP slice in under 2 s; the CNN on the plane through three test
images in under 60 s (not met: see docs/geometry.md; ``--cnn-through`` measures it).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

TARGET_RATE = 10_000
TARGET_MNIST_SLICE_SECONDS = 2.0
TARGET_CNN_SLICE_SECONDS = 60.0


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


def mnist_slice(mnist_dir: str, seed: int) -> tuple[str, object, object]:
    """A 784-32-16-10 MLP trained one epoch on MNIST, and the plane through test 0, 1, 2."""
    from tinylens.data.mnist import load_mnist
    from tinylens.engine import MLP
    from tinylens.geometry import Slice
    from tinylens.training import TrainConfig, fit

    train = load_mnist(mnist_dir, split="train", download=False)
    test = load_mnist(mnist_dir, split="test", download=False)
    net = MLP([784, 32, 16, 10], rng=seed)
    cfg = TrainConfig(epochs=1, optimizer="adam", lr=1e-3, batch_size=64)
    fit(net, train, cfg, rng=np.random.default_rng(seed), quiet=True)
    acc = float(np.mean(net.predict(test.X).argmax(1) == test.y))
    name = f"MNIST MLP 784-32-16-10 (test acc {acc:.3f}), plane 0,1,2"
    return name, net, Slice.through(*test.X[:3])


def slice_grid_patterns(stack: object, plane: object, n: int) -> tuple[set, float]:
    """Distinct activation patterns at grid points of the slice's triangle, and the seconds."""
    from tinylens.geometry._affine import forward_patterns

    t0 = time.perf_counter()
    g = np.linspace(0, 1, n)
    seen: set[bytes] = set()
    for chunk in np.array_split(g, max(1, n // 100)):
        ss, tt = np.meshgrid(g, chunk)
        pts = np.column_stack([ss.ravel(), tt.ravel()])
        pts = pts[pts.sum(axis=1) <= 1]
        bits = forward_patterns(stack, plane.to_input(pts))  # type: ignore[attr-defined]
        packed = np.packbits(bits, axis=1)
        rows = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel())
        seen.update(r.tobytes() for r in rows)
    return seen, time.perf_counter() - t0


def cnn_square(mnist_dir: str, seed: int, radius: float) -> dict:
    """The MNIST small_cnn on a square around test image 0: regions, seconds, grid count."""
    from tinylens.data.mnist import load_mnist
    from tinylens.engine import small_cnn
    from tinylens.geometry import Slice, linear_regions

    test = load_mnist(mnist_dir, split="test", download=False)
    net = small_cnn((28, 28), rng=seed)
    plane = Slice.plane(test.X[0], radius=radius, rng=seed)
    t0 = time.perf_counter()
    regions = linear_regions(net, slice=plane)
    seconds = time.perf_counter() - t0
    return {"regions": regions, "seconds": seconds, "plane": plane}


def cnn_through(mnist_dir: str, seed: int, scale: float, grid: int, epochs: int) -> dict:
    """The MNIST small_cnn on the plane through test images 0, 1, 2: the whole triangle
    (``scale`` 1) or the triangle shrunk by ``scale`` about its centroid. Codes are kept as
    16-byte digests (:mod:`tinylens.geometry._codes`), so memory stays ~0.52 KB per region;
    the grid's forward-pass codes are digested the same way and must all be exact regions."""
    import resource

    from tinylens.data.mnist import load_mnist
    from tinylens.engine import small_cnn
    from tinylens.geometry import Slice
    from tinylens.geometry._codes import CodeLayout, digest
    from tinylens.geometry.conv_layers import image_layers
    from tinylens.geometry.conv_slice import forward_codes, split_image_slice

    test = load_mnist(mnist_dir, split="test", download=False)
    net = small_cnn((28, 28), rng=seed)
    name = "MNIST small_cnn (untrained, seeded)"
    if epochs:
        from tinylens.training import TrainConfig, fit

        train = load_mnist(mnist_dir, split="train", download=False)
        cfg = TrainConfig(epochs=epochs, optimizer="adam", lr=1e-3, batch_size=64)
        fit(net, train, cfg, rng=np.random.default_rng(seed), quiet=True)
        acc = float(np.mean(net.predict(test.X).argmax(1) == test.y))
        name = f"MNIST small_cnn ({epochs} epoch(s) Adam, test acc {acc:.3f})"
    plane = Slice.through(*test.X[:3])
    centre = plane.domain.mean(axis=0)
    domain = centre + scale * (plane.domain - centre)
    steps = image_layers(net, (784,))
    t0, c0 = time.perf_counter(), time.process_time()
    split = split_image_slice(steps, plane.origin, plane.directions, domain, codes="digest")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    # grid: barycentric points strictly inside the (shrunk) triangle, codes by a forward pass.
    # Not on its edges: the whole triangle's edges are lines where units vanish identically
    # (pixels zero in two of the three images), so a forward pass there reads the pattern of a
    # segment, which no region (a piece with an interior) has.
    layout = CodeLayout.of(steps)
    g = (np.arange(grid) + 1 / 3) / grid
    a, b = np.meshgrid(g, g)
    w = np.column_stack([a.ravel(), b.ravel()])
    w = w[w.sum(axis=1) < 1]
    pts = domain[0] + w[:, :1] * (domain[1] - domain[0]) + w[:, 1:] * (domain[2] - domain[0])
    t0 = time.perf_counter()
    seen: set[bytes] = set()
    for part in np.array_split(pts, max(1, len(pts) // 2000)):
        codes, _ = forward_codes(steps, plane.to_input(part))
        seen.update(row.tobytes() for row in digest(layout.pack(codes)))
    grid_seconds = time.perf_counter() - t0
    exact = {row.tobytes() for row in split.codes}
    return {
        "network": f"{name}, plane 0,1,2" + ("" if scale == 1 else f" (triangle x{scale})"),
        "regions": len(split.codes),
        "seconds": seconds,
        "regions_per_second": len(split.codes) / seconds,
        "cpu_seconds": cpu,  # all threads; on a loaded machine closer to the quiet time
        "peak_rss_mb": peak / 2**20,
        "area": float(split.areas.sum()),
        "grid_points": len(pts),
        "grid_regions": len(seen),
        "grid_seconds": grid_seconds,
        "grid_patterns_not_exact": len(seen - exact),
        "counts_per_layer": list(split.counts_per_layer),
    }


def local_complexity_row(seed: int, points: int) -> dict:
    """Local complexity over 20 snapshots of a digits MLP: seconds, points, layers, squares."""
    from tinylens.data import digits
    from tinylens.engine import MLP
    from tinylens.studies.geometry.over_training import RADIUS, partition_over_training
    from tinylens.training import TrainConfig, fit
    from tinylens.training.threads import limit_blas_threads

    data = digits()
    rng = np.random.default_rng(seed)
    net = MLP([64, 32, 16, 10], rng=rng)
    cfg = TrainConfig(epochs=19, lr=0.1, batch_size=64, snapshot_every=1)
    history = fit(net, data, cfg, rng=rng, quiet=True)
    snaps = []
    for epoch, state in history.snapshots:
        snap = net.copy()
        snap.load_state_dict(state)
        snaps.append((epoch, snap))
    pick = np.random.default_rng([seed, 15]).choice(len(data.X), size=2 * points, replace=False)
    X = data.X[pick]
    with limit_blas_threads(1):
        t0 = time.perf_counter()
        r = partition_over_training(
            snaps, X[:points], X[points:], radius=RADIUS, far_points=points, rng=seed
        )
        seconds = time.perf_counter() - t0
    squares = len(snaps) * 3 * points
    return {
        "network": "digits MLP 64-32-16-10, 20 snapshots",
        "snapshots": len(snaps),
        "points_per_set": points,
        "layers": r.n_layers,
        "squares": squares,
        "seconds": seconds,
        "squares_per_second": squares / seconds,
        "blas_threads": 1,
        "mean_regions_last_epoch": {n: float(r.mean(n)[-1, -1]) for n in ("train", "test", "far")},
        "plane_regions_first_last": [int(r.plane_counts[0, -1]), int(r.plane_counts[-1, -1])],
    }


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
    parser.add_argument("--mnist-dir", help="MNIST IDX files: adds the MNIST slice rows")
    parser.add_argument(
        "--cnn-radius", type=float, help="with --mnist-dir: the CNN square row, half-width R"
    )
    parser.add_argument(
        "--cnn-through",
        type=float,
        metavar="SCALE",
        help="with --mnist-dir: the CNN on the plane through test 0,1,2; SCALE 1 is the whole "
        "triangle, less shrinks it about its centroid (for a quick, loaded-machine rate)",
    )
    parser.add_argument(
        "--cnn-grid", type=int, default=400, help="--cnn-through: grid points per side (400)"
    )
    parser.add_argument(
        "--cnn-epochs", type=int, default=0, help="--cnn-through: train the CNN first (0)"
    )
    parser.add_argument(
        "--lc-points", type=int, default=16, help="local complexity: points per set (16)"
    )
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
    cases: list[tuple[str, object, object]] = list(nets(args.seed))
    if args.mnist_dir:
        cases.append(mnist_slice(args.mnist_dir, args.seed))
    slice_seconds = None
    for name, net, box in cases:
        is_slice = not isinstance(box, list)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            regions = linear_regions(net, slice=box) if is_slice else linear_regions(net, box)
            times.append(time.perf_counter() - t0)
        seconds = min(times)
        if is_slice:
            slice_seconds = seconds
            grid, grid_seconds = slice_grid_patterns(piecewise_stack(net), box, args.grid)
        else:
            stack = piecewise_stack(net)
            grid, grid_seconds = grid_patterns(stack, box, args.grid)  # type: ignore[arg-type]
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
            "slice": is_slice,
        }
        results.append(row)
        print(
            f"{name:38s} {regions.count:7d} {seconds:8.3f} {rate:10.0f} {len(grid):7d} "
            f"{grid_seconds:7.2f} {row['exact_over_grid_regions']:10.3f} "
            f"{row['grid_over_exact_seconds']:15.1f}"
        )
    cnn_row = None
    if args.mnist_dir and args.cnn_radius:
        out = cnn_square(args.mnist_dir, args.seed, args.cnn_radius)
        regions, seconds = out["regions"], out["seconds"]
        box = regions.box
        g = [np.linspace(lo, hi, args.grid) for lo, hi in box]
        pts = np.stack(np.meshgrid(*g), axis=-1).reshape(-1, 2)
        t0 = time.perf_counter()
        seen = {
            row.tobytes()
            for part in np.array_split(pts, max(1, len(pts) // 2000))
            for row in regions.codes_at(part)[0]
        }
        grid_seconds = time.perf_counter() - t0
        exact = {row.tobytes() for row in regions.patterns}
        cnn_row = {
            "network": f"MNIST small_cnn (untrained), square r={args.cnn_radius} at test 0",
            "regions": regions.count,
            "seconds": seconds,
            "regions_per_second": regions.count / seconds,
            "grid_points": args.grid**2,
            "grid_regions": len(seen),
            "grid_seconds": grid_seconds,
            "grid_patterns_not_exact": len(seen - exact),
            "counts_per_layer": list(regions.counts_per_layer),
        }
        print(
            f"{cnn_row['network']}: {regions.count} regions in {seconds:.2f} s "
            f"({cnn_row['regions_per_second']:.0f}/s); grid {len(seen)} patterns, "
            f"{cnn_row['grid_patterns_not_exact']} not among the exact regions"
        )
    through = None
    if args.mnist_dir and args.cnn_through:
        through = cnn_through(
            args.mnist_dir, args.seed, args.cnn_through, args.cnn_grid, args.cnn_epochs
        )
        print(
            f"{through['network']}: {through['regions']} regions in {through['seconds']:.1f} s "
            f"({through['regions_per_second']:.0f}/s; {through['cpu_seconds']:.1f} s CPU), "
            f"peak RSS {through['peak_rss_mb']:.0f} MB "
            f"(whole process); grid {through['grid_points']} points, {through['grid_regions']} "
            f"patterns, {through['grid_patterns_not_exact']} not among the exact regions "
            f"(target < {TARGET_CNN_SLICE_SECONDS:.0f} s for the whole triangle)"
        )
    lc = local_complexity_row(args.seed, args.lc_points)
    print(
        f"local complexity over {lc['snapshots']} snapshots ({lc['network']}): "
        f"{lc['squares']} squares ({lc['points_per_set']} points x 3 sets), {lc['layers']} "
        f"layers, {lc['seconds']:.2f} s ({lc['squares_per_second']:.0f} squares/s, 1 thread)"
    )
    # the rate target is for boxes (issue 4); the slice has its own target in seconds
    min_rate = min(r["regions_per_second"] for r in results if not r["slice"])
    never_fewer = all(
        r["regions"] >= r["grid_regions"] and r["grid_patterns_not_exact"] == 0 for r in results
    )
    if slice_seconds is not None:
        print(f"MNIST MLP slice: {slice_seconds:.3f} s (target < {TARGET_MNIST_SLICE_SECONDS} s)")
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
        "mnist_slice_seconds": slice_seconds,
        "mnist_cnn_square": cnn_row,
        "mnist_cnn_through": through,
        "local_complexity_over_snapshots": lc,
        "mnist_slice_target_met": None
        if slice_seconds is None
        else slice_seconds < TARGET_MNIST_SLICE_SECONDS,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
