"""The MNIST CNN's exact partition on the plane through three test images, before and after a
change, in one run, side by side (issue 15: the whole triangle in under 60 s).

Both sides enumerate ``small_cnn((28, 28), rng=0)`` (untrained, seeded: our choice, as in
``benchmarks/regions.py --cnn-through``) on ``Slice.through`` MNIST test images 0, 1, 2, the
triangle shrunk by ``--scale`` about its centroid (1 is the whole triangle), codes kept
packed (identified afterwards, outside the timing, by a digest of each region's full code,
which every revision unpacks with its own layout: the packing's bit order changed in 2169505,
and the digests of packed codes with it; before that commit this script kept digests, so
peak RSS figures from then are ~1.8 KB a region lower), in fresh Python processes,
alternating, at the same thread count:

* **reference**: the source tree of a git revision, unpacked with ``git archive`` into a
  temporary directory: by default ``af0122f``, main before the enumeration was made faster;
* **this tree**: ``src/`` of this checkout (from f6dc455 on, its enumeration shares a large
  plane among :data:`~tinylens.geometry.conv_slice.WORKERS` threads; ``--threads`` sets the
  BLAS and torch threads of both sides).

Each side's time is the enumeration alone (imports and data loading excluded), wall clock and
the process's CPU time (user + system, all threads: steadier on a shared machine). The script
checks that both sides give the same regions bit for bit (codes, vertices, areas, centroids;
sha256 over the regions sorted by code), or, against a revision before the exact cuts, the
same codes bit for bit with areas and centroids within ``GEOMETRY_ATOL``, and the same output
maps (slopes ``W`` and constant terms ``c``) within ``W_RTOL`` (their last bits follow the
batch size of one BLAS product and, since the last max pool's outputs are summed per parent
then per cell, the order of the sums), prints the ratios and ends with one JSON line.

    python benchmarks/cnn_slice.py [--scale 0.3] [--repeats 2] [--reference REV]
        [--threads 2] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import fail, find_mnist  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent

W_RTOL = 1e-12
"""Output maps (slopes and constant terms) of the two sides may differ in their last bits
(one BLAS product over a batch of regions, whose rounding follows the batch's size, and the
order of the sums); 1e-12 relative (to the value, or 1 below it) is far from any real
disagreement and far above those ~1e-16 differences."""

GEOMETRY_ATOL = 1e-12
"""Since the CNN plane's cuts are exact (each vertex the crossing of its two lines, rounded
once, instead of interpolated along an edge), a revision before that has vertices, areas and
centroids a few units in the last place apart from this tree's: with the same codes, areas
(of a triangle of area ~0.05 here) and centroids within 1e-12 are the same regions. Against
af0122f (before this round) the check fails for another reason, a bug fixed since: its
centroids of regions of area ~1e-15 lost their digits to cancellation (up to 1.4e-4 away,
outside their own polygons, on the x0.3 triangle); they are now taken about the polygon's
first vertex. Compare speed against it, and geometry against a revision from 8bb951d on.
Since f6dc455 the second conv sums each patch's taps in a fixed order instead of running
torch's conv2d, so its maps, and so vertices, areas and centroids, differ from earlier
revisions in their last bits: the same codes, geometry within this tolerance."""

# Run in the child: time the enumeration alone, report digests of what it found.
CHILD = r"""
import hashlib, json, resource, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from tinylens.data.mnist import load_mnist
from tinylens.engine import small_cnn
from tinylens.geometry import Slice
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.conv_slice import split_image_slice
mnist, scale, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
test = load_mnist(mnist, split="test", download=False)
plane = Slice.through(*test.X[:3])
centre = plane.domain.mean(axis=0)
domain = centre + scale * (plane.domain - centre)
steps = image_layers(small_cnn((28, 28), rng=0), (784,))
with threadpool_limits(threads):
    import torch
    torch.set_num_threads(threads)
    w0, c0 = time.perf_counter(), time.process_time()
    s = split_image_slice(steps, plane.origin, plane.directions, domain, codes="packed")
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the enumeration's, not ours
# each region by a digest of its full code, unpacked by this side's own layout (the packing's
# bit order is not the same on every revision; the codes it holds are)
from tinylens.geometry._codes import CodeLayout, digest
layout = CodeLayout.of(steps)
keys = np.concatenate([digest(layout.unpack(s.codes[lo : lo + 4096]))
                       for lo in range(0, len(s.codes), 4096)])
order = np.lexsort(keys.T[::-1])
h = hashlib.sha256()
for a in (keys, s.areas, s.centroids):
    h.update(np.ascontiguousarray(a[order]).tobytes())
for i in order:
    h.update(s.vertices[i].tobytes())
W, c = s.W[order], s.c[order]
codes = hashlib.sha256(np.ascontiguousarray(keys[order]).tobytes()).hexdigest()
print(json.dumps({"wall": wall, "cpu": cpu, "regions": len(s.codes), "digest": h.hexdigest(),
                  "codes": codes, "areas": s.areas[order].tolist(),
                  "centroids": s.centroids[order].ravel().tolist(),
                  "counts": list(s.counts_per_layer),
                  "peak_rss_mb": peak,
                  "W": W.ravel()[:: max(1, W.size // 200_000)].tolist(),
                  "c": c.ravel()[:: max(1, c.size // 100_000)].tolist()}))
"""


def run_side(src: Path, mnist: Path, scale: float, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(mnist), str(scale), str(threads)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.3, help="triangle scale (1: whole)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--reference", default="af0122f", help="git revision to compare with")
    ap.add_argument("--threads", type=int, default=2, help="BLAS and torch threads, both sides")
    ap.add_argument("--data-dir", help="MNIST directory (default: found as the tests find it)")
    a = ap.parse_args()
    if not 0 < a.scale <= 1:
        fail(f"--scale must be in (0, 1], got {a.scale}")
    mnist = find_mnist(a.data_dir)
    print(
        f"MNIST small_cnn (untrained, seeded), plane through test images 0,1,2, triangle "
        f"x{a.scale}; threads {a.threads}, {a.repeats} repeats, reference {a.reference}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="tinylens-bench-") as tmp:
        archived = subprocess.run(
            ["git", "-C", str(ROOT), "archive", a.reference, "src"], capture_output=True
        )
        if archived.returncode != 0:
            fail(f"no source tree at revision {a.reference!r} (git archive failed)")
        subprocess.run(["tar", "-x", "-C", tmp], input=archived.stdout, check=True)
        sides = {"reference": Path(tmp) / "src", "this tree": ROOT / "src"}
        rows: dict[str, list[dict]] = {name: [] for name in sides}
        for rep in range(a.repeats):
            for name, src in sides.items():
                r = run_side(src, mnist, a.scale, a.threads)
                rows[name].append(r)
                print(
                    f"  repeat {rep + 1}  {name:10s} {r['regions']:,} regions "
                    f"{r['wall']:8.2f} s wall {r['cpu']:8.2f} s CPU, peak RSS "
                    f"{r['peak_rss_mb']:.0f} MB"
                )
    ref, new = rows["reference"], rows["this tree"]
    everything = ref + new
    same = all(r["digest"] == ref[0]["digest"] for r in everything)
    same_codes = all(r["codes"] == ref[0]["codes"] for r in everything)
    close = same_codes and all(
        all(abs(x - y) <= GEOMETRY_ATOL for x, y in zip(r[key], ref[0][key], strict=True))
        for r in everything
        for key in ("areas", "centroids")
    )
    w_close = all(
        len(r[key]) == len(ref[0][key])
        and all(
            abs(x - y) <= W_RTOL * max(1.0, abs(y))
            for x, y in zip(r[key], ref[0][key], strict=True)
        )
        for r in everything
        for key in ("W", "c")
    )
    wall = [r["wall"] / n["wall"] for r, n in zip(ref, new, strict=True)]
    cpu = [r["cpu"] / n["cpu"] for r, n in zip(ref, new, strict=True)]
    print(
        f"same regions bit for bit (codes, vertices, areas, centroids): {same}; "
        f"output maps (slopes, constant terms) within {W_RTOL:g}: {w_close}; "
        f"regions per layer {new[0]['counts']}"
    )
    print(
        f"same codes bit for bit: {same_codes}; areas and centroids within "
        f"{GEOMETRY_ATOL:g}: {close}; reference regions per layer {ref[0]['counts']}"
    )
    print(
        f"speed-up (reference / this tree) wall: median {statistics.median(wall):.2f} "
        f"(min {min(wall):.2f}); CPU: median {statistics.median(cpu):.2f} (min {min(cpu):.2f})"
    )
    summary = {
        "benchmark": "cnn_slice",
        "scale": a.scale,
        "threads": a.threads,
        "reference": a.reference,
        "regions": new[0]["regions"],
        "counts_per_layer": new[0]["counts"],
        "same_regions": same,
        "same_codes": same_codes,
        "geometry_close": close,
        "outputs_close": w_close,
        "reference_cpu_s": [r["cpu"] for r in ref],
        "this_tree_cpu_s": [r["cpu"] for r in new],
        "reference_wall_s": [r["wall"] for r in ref],
        "this_tree_wall_s": [r["wall"] for r in new],
        "cpu_speedup_median": statistics.median(cpu),
        "wall_speedup_median": statistics.median(wall),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(summary))
    if not ((same or close) and w_close):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
