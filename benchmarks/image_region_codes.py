"""What keeping an image classifier's region codes packed or as digests costs, on a plane.

In the same run, on one BLAS / torch thread, the MNIST ``small_cnn`` (8 and 16 channels, seeded,
untrained: our choice, so no training is needed) on the triangle through test images 0, 1, 2
shrunk about its centroid by ``--scale``: ``image_slice_regions(net, plane, codes=F)`` for
F in full (the reference), auto (enumerated packed, unpacked to full when they fit), packed
and digest, each the best of ``--repeats`` after one warm-up, in alternating order. Checks that
every format gives the same regions (counts, areas; full patterns equal for auto and packed).
Prints seconds, bytes of codes per region and the ratio to full, and one JSON line
``{"benchmark": "image_region_codes", ...}``.

    python benchmarks/image_region_codes.py [--scale 0.1] [--repeats 3] [--data-dir DIR]
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
    args = parser.parse_args()
    if not 0 < args.scale <= 1 or args.repeats < 1:
        fail("--scale must be in (0, 1] and --repeats >= 1")

    import torch
    from threadpoolctl import threadpool_limits

    from tinylens.data.mnist import load_mnist
    from tinylens.engine import small_cnn
    from tinylens.geometry import Slice, image_slice_regions

    torch.set_num_threads(1)
    test = load_mnist(str(find_mnist(args.data_dir)), split="test", download=False)
    net = small_cnn((28, 28), (8, 16), rng=args.seed, dtype=np.float64)
    plane = Slice.through(*test.X[:3], margin=args.scale - 1)
    best = dict.fromkeys(FORMATS, np.inf)
    cpu = dict.fromkeys(FORMATS, np.inf)  # one thread: CPU seconds are steadier under load
    sets = {}
    with threadpool_limits(1):
        image_slice_regions(net, Slice.through(*test.X[3:6], margin=-0.97))  # warm-up
        for rep in range(args.repeats):
            order = FORMATS if rep % 2 == 0 else FORMATS[::-1]
            for fmt in order:
                t0, c0 = time.perf_counter(), time.process_time()
                sets[fmt] = image_slice_regions(net, plane, codes=fmt)
                best[fmt] = min(best[fmt], time.perf_counter() - t0)
                cpu[fmt] = min(cpu[fmt], time.process_time() - c0)
    full = sets["full"]
    for fmt in FORMATS[1:]:
        r = sets[fmt]
        if r.count != full.count or sorted(r.volumes()) != sorted(full.volumes()):
            fail(f"codes={fmt} gave other regions than full codes")
        if fmt != "digest" and not np.array_equal(r.patterns, full.patterns):
            fail(f"codes={fmt} gave other patterns than full codes")
    rows = {
        "regions": full.count,
        "scale": args.scale,
        "threads": 1,
        **{f"seconds_{f}": best[f] for f in FORMATS},
        **{f"cpu_seconds_{f}": cpu[f] for f in FORMATS},
        **{f"ratio_seconds_{f}_to_full": best[f] / best["full"] for f in FORMATS[1:]},
        **{f"ratio_cpu_{f}_to_full": cpu[f] / cpu["full"] for f in FORMATS[1:]},
        **{f"code_bytes_{f}": int(sets[f].codes.shape[1]) for f in FORMATS},
    }
    print(
        f"MNIST small_cnn (untrained, seed {args.seed}), plane 0,1,2 shrunk to {args.scale}: "
        f"{full.count:,} regions, 1 thread, best of {args.repeats}"
    )
    for f in FORMATS:
        print(
            f"  {f:>6}: {best[f]:.3g} s ({best[f] / best['full']:.3f} of full), CPU {cpu[f]:.3g} s "
            f"({cpu[f] / cpu['full']:.3f}), "
            f"{sets[f].codes.shape[1]:,} code bytes per region ({sets[f].code_format})"
        )
    print(json.dumps({"benchmark": "image_region_codes", **rows}))


if __name__ == "__main__":
    main()
