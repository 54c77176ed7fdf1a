"""Where two BLAS threads start to pay: ``fit`` at one and at two threads, side by side.

Trains ``[784, width, 10]`` ReLU MLPs (cross-entropy, SGD lr 0.01, float32) on 8,192 random
images-sized inputs with random labels (the same data, weights and shuffles on both sides) for
each width and batch size, alternating ``fit(..., blas_threads=1)`` and ``blas_threads=2``,
best of ``--repeats``. For each row it prints the largest product of a step (multiply-adds),
samples/s at 1 and 2 threads, their ratio and what the policy
(:func:`tinylens.training.threads.blas_threads_for`) picks, and ends with one JSON line.
Two threads pay where the ratio 2-thread / 1-thread is above 1; the policy's threshold
(``LARGE_PRODUCT``) should sit there.

    python benchmarks/threads.py [--widths 32,128,512,2048] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def rate(X, y, width: int, batch: int, threads: int) -> float:
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig, fit

    net = MLP([X.shape[1], width, 10], rng=0)
    cfg = TrainConfig(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, loss="cross_entropy")
    t0 = time.perf_counter()
    fit(net, (X, y), cfg, rng=0, quiet=True, blas_threads=threads)
    return len(X) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default="32,128,512,2048")
    parser.add_argument("--batches", default="64,512")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,048 samples, 2 repeats")
    args = parser.parse_args()
    from tinylens.training.threads import LARGE_PRODUCT, blas_threads_for

    n = 2048 if args.quick else 8192
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(n, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=n)
    load = os.getloadavg()[0]
    print(
        f"{n} samples, 784-width-10, 1 epoch, best of {repeats}; policy threshold "
        f"{LARGE_PRODUCT:,} multiply-adds; load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    rows = []
    for width in [int(w) for w in args.widths.split(",")]:
        for batch in [int(b) for b in args.batches.split(",")]:
            rate(X[:512], y[:512], width, batch, 1)  # warm up
            one, two = [], []
            for _ in range(repeats):
                one.append(rate(X, y, width, batch, 1))
                two.append(rate(X, y, width, batch, 2))
            product = batch * 784 * width
            row = {
                "width": width,
                "batch": batch,
                "largest_product": product,
                "t1_samples_s": round(max(one)),
                "t2_samples_s": round(max(two)),
                "t2_over_t1": round(max(two) / max(one), 3),
                "policy_threads": blas_threads_for([784, width, 10], batch, limit=2),
            }
            rows.append(row)
            print(
                f"  width {width:5d} batch {batch:4d}: product {product / 1e6:7.1f} M  "
                f"1 thread {row['t1_samples_s'] / 1e3:7.1f}k/s  2 threads "
                f"{row['t2_samples_s'] / 1e3:7.1f}k/s  2/1 {row['t2_over_t1']:.2f}  "
                f"policy {row['policy_threads']}"
            )
    print(json.dumps({"benchmark": "threads", "load_average": round(load, 2), "rows": rows}))


if __name__ == "__main__":
    main()
