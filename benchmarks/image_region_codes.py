"""What keeping an image classifier's region codes packed or as digests costs, on a plane.

In the same run, on one BLAS / torch thread, the MNIST ``small_cnn`` (8 and 16 channels, seeded,
untrained: our choice, so no training is needed) on the triangle through test images 0, 1, 2
shrunk about its centroid by ``--scale``: ``image_slice_regions(net, plane, codes=F)`` for
each F of ``--formats`` (the first is the reference): full, auto (enumerated packed, unpacked
to full when they fit), packed and digest, each the best of ``--repeats`` (wall and CPU
seconds) after one warm-up, in alternating order. Checks that every format gives the same
regions (counts, areas; patterns equal unless a digest is involved) and that every point of a
``--grid`` strictly inside the triangle has the code of an exact region (a forward pass; dense
sampling is a lower bound). Prints seconds, bytes of codes per region and the ratios to the
first format, and one JSON line ``{"benchmark": "image_region_codes", ...}``.

    python benchmarks/image_region_codes.py [--scale 0.1] [--repeats 3] [--grid 100]
        [--formats full,auto,packed,digest] [--data-dir DIR]

``--formats auto --scale 0.55 --repeats 1`` is a plane past the full-code budget (about
205,000 regions): ``auto`` keeps it packed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fail, find_mnist

FORMATS = ("full", "auto", "packed", "digest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="triangle shrunk to this")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir")
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help="comma-separated formats to time (full first is the reference; without full, a "
        "plane past the full-code budget: auto alone, checked against a grid)",
    )
    parser.add_argument("--grid", type=int, default=100, help="grid points per side (checks)")
    args = parser.parse_args()
    if not 0 < args.scale <= 1 or args.repeats < 1:
        fail("--scale must be in (0, 1] and --repeats >= 1")
    formats = tuple(f.strip() for f in args.formats.split(","))
    if not formats or not set(formats) <= set(FORMATS):
        fail(f"--formats takes some of {', '.join(FORMATS)}, got {args.formats!r}")

    import torch
    from threadpoolctl import threadpool_limits

    from tinylens.data.mnist import load_mnist
    from tinylens.engine import small_cnn
    from tinylens.geometry import Slice, image_slice_regions

    torch.set_num_threads(1)
    test = load_mnist(str(find_mnist(args.data_dir)), split="test", download=False)
    net = small_cnn((28, 28), (8, 16), rng=args.seed, dtype=np.float64)
    plane = Slice.through(*test.X[:3], margin=args.scale - 1)
    best = dict.fromkeys(formats, np.inf)
    cpu = dict.fromkeys(formats, np.inf)  # one thread: CPU seconds are steadier under load
    sets = {}
    with threadpool_limits(1):
        image_slice_regions(net, Slice.through(*test.X[3:6], margin=-0.97))  # warm-up
        for rep in range(args.repeats):
            order = formats if rep % 2 == 0 else formats[::-1]
            for fmt in order:
                t0, c0 = time.perf_counter(), time.process_time()
                sets[fmt] = image_slice_regions(net, plane, codes=fmt)
                best[fmt] = min(best[fmt], time.perf_counter() - t0)
                cpu[fmt] = min(cpu[fmt], time.process_time() - c0)
    ref = sets[formats[0]]
    for fmt in formats[1:]:
        r = sets[fmt]
        if r.count != ref.count or sorted(r.volumes()) != sorted(ref.volumes()):
            fail(f"codes={fmt} gave other regions than codes={formats[0]}")
        if "digest" not in (fmt, ref.code_format) and not np.array_equal(r.patterns, ref.patterns):
            fail(f"codes={fmt} gave other patterns than codes={formats[0]}")
    # a grid strictly inside the triangle: every point's forward-pass code is an exact region's
    g = (np.arange(args.grid) + 1 / 3) / args.grid
    a, b = np.meshgrid(g, g)
    w = np.column_stack([a.ravel(), b.ravel()])
    w = w[w.sum(axis=1) < 1]
    d = plane.domain
    pts = d[0] + w[:, :1] * (d[1] - d[0]) + w[:, 1:] * (d[2] - d[0])
    found = np.concatenate([ref.locate(pts[i : i + 1000]) for i in range(0, len(pts), 1000)])
    if (found < 0).any():
        fail(f"{int((found < 0).sum())} grid points have a code no exact region has")
    base = formats[0]
    rows = {
        "regions": ref.count,
        "scale": args.scale,
        "threads": 1,
        "counts_per_layer": list(ref.counts_per_layer),
        "grid_points": len(pts),
        "grid_regions": len(set(found.tolist())),
        **{f"seconds_{f}": best[f] for f in formats},
        **{f"cpu_seconds_{f}": cpu[f] for f in formats},
        **{f"ratio_seconds_{f}_to_{base}": best[f] / best[base] for f in formats[1:]},
        **{f"ratio_cpu_{f}_to_{base}": cpu[f] / cpu[base] for f in formats[1:]},
        **{f"code_bytes_{f}": int(sets[f].codes.shape[1]) for f in formats},
        **{f"kept_as_{f}": sets[f].code_format for f in formats},
    }
    print(
        f"MNIST small_cnn (untrained, seed {args.seed}), plane 0,1,2 shrunk to {args.scale}: "
        f"{ref.count:,} regions, 1 thread, best of {args.repeats}; {len(pts):,} grid points "
        f"all in exact regions ({rows['grid_regions']:,} of them)"
    )
    for f in formats:
        print(
            f"  {f:>6}: {best[f]:.3g} s ({best[f] / best[base]:.3f} of {base}), CPU "
            f"{cpu[f]:.3g} s ({cpu[f] / cpu[base]:.3f}), {sets[f].codes.shape[1]:,} code bytes "
            f"per region (kept {sets[f].code_format})"
        )
    print(json.dumps({"benchmark": "image_region_codes", **rows}))


if __name__ == "__main__":
    main()
