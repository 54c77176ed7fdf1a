"""The thread cut-off of ``fit``, checked from both sides in one run: one and two BLAS threads.

``fit`` trains an engine MLP on one BLAS thread unless a step's largest matrix product reaches
``LARGE_PRODUCT`` multiply-adds (100 M, :mod:`tinylens.training.threads`), then on
``LARGE_THREADS`` (2). This script trains ``[784, width, 10]`` ReLU MLPs (cross-entropy, SGD
lr 0.01, float32) on 8,192 image-sized random inputs with random labels (the same data,
weights and shuffles on both sides), alternating ``fit(..., blas_threads=1)`` and
``blas_threads=2``, best of ``--repeats`` after a warm-up, for widths and batch sizes whose
largest product (``batch x 784 x width``) falls on both sides of the cut-off. Each row prints
the product, the step time at one and at two threads (one epoch's seconds over its steps),
their ratio and what the policy picks; then, per side, whether the measurements agree with the
cut-off (flagged NOT QUIET when the load average exceeds :data:`QUIET_LOAD`), and one JSON
line. Run it once on a quiet machine to confirm or move the cut-off: two threads should lose
(ratio 1-thread / 2-thread below 1) under it and win above it.

    python benchmarks/threads.py [--widths 128,256,512,1024,2048] [--batches 64,512]
        [--repeats 3] [--quick]

It checks that two BLAS threads are really available (``OPENBLAS_NUM_THREADS=1`` in the
environment caps them: one line and exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from _common import fail  # benchmarks/ is on sys.path when run as a script


def step_seconds(X, y, width: int, batch: int, threads: int) -> float:
    """Seconds per training step of one epoch of ``fit`` at ``threads`` BLAS threads."""
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig, fit

    net = MLP([X.shape[1], width, 10], rng=0)
    cfg = TrainConfig(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, loss="cross_entropy")
    t0 = time.perf_counter()
    fit(net, (X, y), cfg, rng=0, quiet=True, blas_threads=threads)
    return (time.perf_counter() - t0) / -(-len(X) // batch)


def two_threads_available() -> bool:
    from tinylens.training.threads import current_blas_threads, limit_blas_threads

    with limit_blas_threads(2):
        return current_blas_threads() == 2


MARGIN = 0.05
"""A ratio within 5% of 1 counts as even (our choice: repeats on a quiet machine spread by a
few percent), so noise alone cannot move the cut-off."""


QUIET_LOAD = 0.5
"""Load average at the start above which the run is not quiet (our choice): two BLAS threads
then wait for a core other work holds, and lose at any size (issue 18 measured up to 14x). At
the end the load average includes this benchmark's own one or two threads, so the limit there
is ``QUIET_LOAD + OWN_LOAD``."""

OWN_LOAD = 2.0
"""What this benchmark itself adds to the load average at most (two BLAS threads)."""


def verdict(rows: list[dict], cut: int) -> list[str]:
    """One line per side of the cut-off: do the measured ratios agree with it?"""
    lines = []
    for side, want_two in (("below", False), ("at or above", True)):
        mine = [r for r in rows if (r["largest_product"] >= cut) == want_two]
        if not mine:
            lines.append(f"{side} the cut-off: no row; add widths or batches there")
            continue
        two = [r for r in mine if r["t1_over_t2"] > 1 + MARGIN]
        one = [r for r in mine if r["t1_over_t2"] < 1 - MARGIN]
        ratios = ", ".join(f"{r['t1_over_t2']:.2f}" for r in mine)
        wrong = one if want_two else two
        if not wrong:
            said = "agrees"
        elif want_two:
            at = max(r["largest_product"] for r in wrong) / 1e6
            said = f"DISAGREES: one thread still won at {at:.1f} M; consider raising LARGE_PRODUCT"
        else:
            at = min(r["largest_product"] for r in wrong) / 1e6
            said = f"DISAGREES: two threads already won at {at:.1f} M; consider lowering it"
        lines.append(
            f"{side} the cut-off (policy {2 if want_two else 1}): of {len(mine)} rows two "
            f"threads faster in {len(two)}, one thread in {len(one)}, even in "
            f"{len(mine) - len(one) - len(two)} (1-thread / 2-thread {ratios}): {said}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default="128,256,512,1024,2048")
    parser.add_argument("--batches", default="64,512")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,048 samples, 2 repeats")
    args = parser.parse_args()
    from tinylens.training.threads import LARGE_PRODUCT, LARGE_THREADS, blas_threads_for

    try:
        widths = [int(w) for w in args.widths.split(",")]
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        fail(f"--widths and --batches take comma-separated integers, got {args.widths!r}, "
             f"{args.batches!r}")  # fmt: skip
    if min(widths + batches) < 1 or args.repeats < 1:
        fail("widths, batch sizes and --repeats must be positive")
    if not two_threads_available():
        fail("BLAS gives this process one thread (OPENBLAS_NUM_THREADS or OMP_NUM_THREADS=1?); "
             "unset it to compare one and two threads")  # fmt: skip
    n = 2048 if args.quick else 8192
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(n, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=n)
    load = os.getloadavg()
    print(
        f"fit's BLAS thread cut-off: LARGE_PRODUCT {LARGE_PRODUCT / 1e6:.0f} M multiply-adds "
        f"(1 thread below it, {LARGE_THREADS} at or above); {n} samples, 784-width-10, 1 "
        f"epoch, SGD, float32, best of {repeats}, 1 and 2 BLAS threads alternating; load "
        f"average {load[0]:.2f} on {os.cpu_count()} CPUs"
    )
    rows = []
    for width in widths:
        for batch in batches:
            step_seconds(X[: 2 * batch], y[: 2 * batch], width, batch, 1)  # warm up
            step_seconds(X[: 2 * batch], y[: 2 * batch], width, batch, 2)
            one, two = [], []
            for _ in range(repeats):
                one.append(step_seconds(X, y, width, batch, 1))
                two.append(step_seconds(X, y, width, batch, 2))
            product = batch * 784 * width
            row = {
                "width": width,
                "batch": batch,
                "largest_product": product,
                "t1_step_ms": round(min(one) * 1e3, 3),
                "t2_step_ms": round(min(two) * 1e3, 3),
                "t1_over_t2": round(min(one) / min(two), 3),
                "policy_threads": blas_threads_for([784, width, 10], batch, limit=2),
            }
            rows.append(row)
            side = "above" if product >= LARGE_PRODUCT else "below"
            print(
                f"  width {width:5d} batch {batch:4d}: product {product / 1e6:7.1f} M ({side})  "
                f"1 thread {row['t1_step_ms']:8.2f} ms/step  2 threads {row['t2_step_ms']:8.2f} "
                f"ms/step  1-thread/2-thread {row['t1_over_t2']:.2f}  policy "
                f"{row['policy_threads']}"
            )
    end = os.getloadavg()[0]
    lines = verdict(rows, LARGE_PRODUCT)
    if load[0] > QUIET_LOAD or end > QUIET_LOAD + OWN_LOAD:
        lines.insert(
            0,
            f"NOT QUIET: load average {load[0]:.2f} at the start, {end:.2f} at the end: other "
            "work holds the cores two threads wait for, so these rows cannot move the cut-off; "
            "run again on a quiet machine",
        )
    for line in lines:
        print(line)
    print(
        f"load average at the end {end:.2f} (this benchmark's own threads included); ratios "
        f"above {1 + MARGIN:.2f}: two threads faster"
    )
    print(
        json.dumps(
            {
                "benchmark": "threads",
                "large_product": LARGE_PRODUCT,
                "load_average": round(load[0], 2),
                "load_average_end": round(end, 2),
                "cpus": os.cpu_count(),
                "rows": rows,
                "verdict": lines,
            }
        )
    )


if __name__ == "__main__":
    main()
