"""Exact intervals of the MNIST CNN on a segment between two test images, against dense sampling.

In the same run, on one BLAS / torch thread:

* **exact**: ``linear_regions(cnn, slice=Slice.segment(x_I, x_J))``
  (:mod:`tinylens.geometry.conv_segment`): intervals, seconds (best of ``--repeats``, after one
  warm-up on another segment), intervals per second;
* **sampling** (the reference): the activation pattern (ReLU bits, max-pool winners) at
  ``--samples`` evenly spaced points of the segment by a forward pass, and the number of runs of
  equal patterns, which misses every interval shorter than the spacing.

Checks: every sampled point's pattern is the pattern of the interval holding it (points within
1e-7 of a breakpoint skipped: there rounding decides the side), so the exact count is never
below the runs. Prints the ratios exact / sampling (intervals and seconds) and ends with one
JSON line ``{"benchmark": "conv_segment", ...}``.

    python benchmarks/conv_segment.py [--weights CNN.safetensors] [--through 0,1]
        [--samples 100000] [--repeats 3] [--data-dir DIR]

Without ``--weights`` the network is :func:`tinylens.engine.small_cnn` (8 and 16 channels) with
its seeded initialisation, untrained (our choice, so the benchmark needs no training).
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

GAP = 1e-7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="a CNN weights file (default: untrained small_cnn)")
    parser.add_argument("--through", default="0,1", help="two MNIST test indices")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    try:
        i, j = (int(v) for v in args.through.split(","))
    except ValueError:
        fail(f"--through takes two indices like 0,1, got {args.through!r}")
    if args.samples < 2 or args.repeats < 1:
        fail("--samples must be >= 2 and --repeats >= 1")

    import torch
    from threadpoolctl import threadpool_limits

    from tinylens.data.mnist import load_mnist
    from tinylens.engine import small_cnn
    from tinylens.geometry import Slice, linear_regions
    from tinylens.geometry.conv_layers import image_layers, infer_image_shape
    from tinylens.geometry.conv_slice import forward_codes

    torch.set_num_threads(1)
    test = load_mnist(str(find_mnist(args.data_dir)), split="test", download=False)
    net = args.weights or small_cnn((28, 28), (8, 16), rng=args.seed, dtype=np.float64)
    seg = Slice.segment(test.X[i], test.X[j])
    with threadpool_limits(1):
        linear_regions(net, slice=Slice.segment(test.X[i + 2], test.X[j + 2]))  # warm-up
        best = np.inf
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            regions = linear_regions(net, slice=seg)
            best = min(best, time.perf_counter() - t0)
        steps = image_layers(net, infer_image_shape(net, seg.n_inputs))
        t = (np.arange(args.samples) + 0.5) / args.samples
        t0 = time.perf_counter()
        codes = np.concatenate(  # in blocks: one pass over 10^5 images would need GBs
            [
                forward_codes(steps, seg.to_input(t[lo : lo + 1000, None]))[0]
                for lo in range(0, len(t), 1000)
            ]
        )
        sample_s = time.perf_counter() - t0
    runs = 1 + int((codes[1:] != codes[:-1]).any(axis=1).sum())
    breaks = regions.intervals[1:, 0]
    far = np.ones(len(t), dtype=bool)
    for lo in range(0, len(t), 4096):  # (points x breakpoints) in blocks
        part = slice(lo, lo + 4096)
        if len(breaks):
            far[part] = np.abs(t[part, None] - breaks[None, :]).min(axis=1) > GAP
    idx = regions.locate(t[far][:, None])
    if not (regions.patterns[idx] == codes[far]).all():
        fail("a sampled pattern differs from its interval's: the enumeration is wrong")
    rows = {
        "intervals": regions.count,
        "seconds": best,
        "intervals_per_second": regions.count / best,
        "counts_per_layer": list(regions.counts_per_layer),
        "sampling_points": args.samples,
        "sampling_runs": runs,
        "sampling_seconds": sample_s,
        "ratio_intervals_exact_to_sampling": regions.count / runs,
        "ratio_seconds_exact_to_sampling": best / sample_s,
        "threads": 1,
        "through": [i, j],
        "weights": args.weights or f"small_cnn(8, 16), seed {args.seed}, untrained",
    }
    print(f"MNIST CNN on the segment through test images {i}, {j} ({rows['weights']}), 1 thread")
    print(
        f"  exact:    {regions.count:>7,} intervals in {best:.3g} s "
        f"({rows['intervals_per_second']:,.0f}/s)"
    )
    print(f"  sampling: {runs:>7,} runs of {args.samples:,} points in {sample_s:.3g} s")
    print(
        f"  exact / sampling: {rows['ratio_intervals_exact_to_sampling']:.3g}x the intervals, "
        f"{rows['ratio_seconds_exact_to_sampling']:.3g}x the seconds"
    )
    print(json.dumps({"benchmark": "conv_segment", **rows}))


if __name__ == "__main__":
    main()
