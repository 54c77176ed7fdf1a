"""Exact (rational) cells against the float region enumeration of tinylens.geometry.

The exact verification of circuits on real boxes enumerates a network's linear pieces with
rational vertices (tinylens.circuits.exact.piecewise.network_cells). This benchmark times it against
tinylens.geometry.linear_regions (float64: polygons in 2-D, an LP arrangement in 3-D and 4-D)
on the same random networks, checks that both find the same regions (same count and
activation patterns), and times a full exact verification of compiled circuits.

The n-D rows (issue 15, "n-D boxes") time the batched arrangement that ``linear_regions`` uses
against the reference one it replaced (one HiGHS LP per decision, still callable as
``_linear_regions(..., arrangement="reference")``) on the issue's net, in the same run and at
the same BLAS threads: a 6-12-12-1 ReLU MLP with PyTorch's default initialisation
(``MLP(..., rng=0, init="torch")``) on the box [-1, 1]^6, 16,438 regions. Both must find the
same activation patterns. Target: the batched one at least 10x faster.

    python benchmarks/exact_regions.py [--seed 0] [--nd 6-12-12-1] [--threads 1] [--nd-only]

Prints one row per network and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from fractions import Fraction

import numpy as np
from threadpoolctl import threadpool_limits

from tinylens.circuits import compile_expression, verify
from tinylens.circuits.exact import box_polytope, network_cells
from tinylens.engine import MLP, AffineNet
from tinylens.geometry import linear_regions
from tinylens.geometry.regions import _linear_regions

NETS = [[2, 16, 1], [2, 8, 8, 1], [3, 6, 4, 1], [3, 8, 8, 1], [4, 6, 4, 1]]
CIRCUITS = [
    ("min(x1, x2, x3, x4)", "x1=-1:1,x2=-1:1,x3=-1:1,x4=-1:1"),
    ("max(x1, x2, x3) - abs(x1 - x3)", "x1=-1:1,x2=-1:1,x3=-1:1"),
    ("clamp(x1 + x2, -1/2, 1/2) + min(x1, 0)", "x1=-1:1,x2=-1:1"),
]


def _random_net(sizes: list[int], rng: np.random.Generator) -> AffineNet:
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        act = "relu" if i < len(sizes) - 2 else "identity"
        layers.append((rng.normal(size=(b, a)), 0.5 * rng.normal(size=b), act))
    return AffineNet.from_lists(layers)


TARGET_ND_SPEEDUP = 10.0


def nd_rows(spec: str, seed: int) -> list[dict]:
    """The batched arrangement against the reference on ``spec`` nets (e.g. ``6-12-12-1``):
    wall and CPU seconds of each (one run each, reference first; on a shared machine the CPU
    seconds are the steadier ratio), regions, LPs, and whether the activation patterns are
    the same."""
    rows = []
    head = f"{'n-D box':14s} {'regions':>8s} {'reference s':>12s} {'batched s':>10s}"
    print(f"\n{head} {'speed-up':>9s}")
    for text in spec.split(","):
        sizes = [int(v) for v in text.split("-")]
        net = MLP(sizes, rng=seed, init="torch")
        box = [(-1.0, 1.0)] * sizes[0]
        seconds, cpu, found = {}, {}, {}
        for which in ("reference", "batched"):
            t0, c0 = time.perf_counter(), time.process_time()
            found[which] = _linear_regions(net, box, method="arrangement", arrangement=which)
            seconds[which] = time.perf_counter() - t0
            cpu[which] = time.process_time() - c0
        ref, new = found["reference"], found["batched"]
        same = ref.pattern_strings == new.pattern_strings
        speedup = seconds["reference"] / seconds["batched"]
        rows.append(
            {
                "sizes": sizes,
                "regions": new.count,
                "reference_regions": ref.count,
                "same_patterns": same,
                "reference_seconds": seconds["reference"],
                "batched_seconds": seconds["batched"],
                "reference_lps": ref.n_lp,
                "batched_lps": new.n_lp,
                "speedup": speedup,
                "reference_cpu_seconds": cpu["reference"],
                "batched_cpu_seconds": cpu["batched"],
                "cpu_speedup": cpu["reference"] / cpu["batched"],
            }
        )
        print(
            f"{text:14s} {new.count:8d} {seconds['reference']:12.2f} {seconds['batched']:10.2f} "
            f"{speedup:8.1f}x{'' if same else '  MISMATCH'}"
        )
        print(
            f"{'  CPU seconds':14s} {'':8s} {cpu['reference']:12.2f} {cpu['batched']:10.2f} "
            f"{cpu['reference'] / cpu['batched']:8.1f}x"
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nd", default="6-12-12-1", help="n-D nets, comma-separated (6-12-12-1)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads for every row (1)")
    p.add_argument("--nd-only", action="store_true", help="only the n-D rows")
    args = p.parse_args()
    print(f"BLAS threads: {args.threads}")
    with threadpool_limits(args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    nd = nd_rows(args.nd, args.seed)
    nd_summary = {
        "nd_boxes": nd,
        "nd_same_patterns": all(r["same_patterns"] for r in nd),
        "nd_min_speedup": min(r["speedup"] for r in nd),
        "nd_target_speedup": TARGET_ND_SPEEDUP,
        "nd_target_met": min(r["speedup"] for r in nd) >= TARGET_ND_SPEEDUP,
        "threads": args.threads,
    }
    if args.nd_only:
        print(json.dumps({"benchmark": "exact_regions", **nd_summary}))
        return
    rng = np.random.default_rng(args.seed)
    rows = []
    print(f"{'network':14s} {'regions':>8s} {'exact s':>8s} {'float s':>8s} {'float/exact':>12s}")
    for sizes in NETS:
        net = _random_net(sizes, rng)
        d = sizes[0]
        t0 = time.perf_counter()
        cells = network_cells(net, box_polytope([(Fraction(-1), Fraction(1))] * d))
        exact_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        regions = linear_regions(net, [(-1, 1)] * d)
        float_s = time.perf_counter() - t0
        patterns = {"".join("1" if v > 0 else "0" for v in c.signs) for c in cells}
        same = len(cells) == regions.count and patterns == set(regions.pattern_strings)
        rows.append(
            {
                "sizes": sizes,
                "regions": len(cells),
                "float_regions": regions.count,
                "same_regions": same,
                "exact_seconds": exact_s,
                "float_seconds": float_s,
                "float_over_exact": float_s / exact_s,
            }
        )
        print(
            f"{'-'.join(map(str, sizes)):14s} {len(cells):8d} {exact_s:8.3f} {float_s:8.3f} "
            f"{float_s / exact_s:12.2f}{'' if same else '  MISMATCH'}"
        )
    checks = []
    for source, domain in CIRCUITS:
        c = compile_expression(source, domain=domain)
        t0 = time.perf_counter()
        v = verify(c.net, c.expr, c.domain)
        seconds = time.perf_counter() - t0
        checks.append(
            {"expression": source, "verified": v.verified, "cells": v.cells, "seconds": seconds}
        )
        print(f"verify {source!r}: {v.verified}, {v.cells} pieces, {seconds:.3f} s")
    summary = {
        "benchmark": "exact_regions",
        "nets": rows,
        "all_same_regions": all(r["same_regions"] for r in rows),
        "verifications": checks,
        "all_verified": all(c["verified"] for c in checks),
        **nd_summary,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
