"""The engine's training step against a hand-written NumPy loop and the machine's FLOP ceiling.

One run, the same work on every row: the 784-32-16-10 ReLU MLP, softmax cross-entropy, SGD
lr 0.01, on the 10,000 genuine MNIST test images (float32), shuffled every epoch, batch 64
and 512, at 1 BLAS thread and at the machine's count. Rows:

* **engine**: ``tinylens.training.fit`` on ``MLP([784, 32, 16, 10])``, the path users take,
  with its checks (labels and shapes once per fit, the inputs' finiteness in the first epoch,
  the loss at every step), history and accuracy;
* **NumPy loop**: the same maths written by hand: the batch gathered with ``np.take(out=)``,
  three products forward, one softmax, the fused softmax-cross-entropy gradient, five products
  backward, the SGD update; no checks at all. It starts from the engine's initial weights and
  follows the same shuffles, so it must end with the same loss (checked to float32 rounding);
* **products only**: the loop's eight matrix products and nothing else (a floor for the loop);
* **one step**: the engine's step (``EngineBackend.train_epoch`` over 16 batches in order) and
  the loop's, on the same batches, best of 10 x ``--repeats``: the per-step cost without the
  gather and without ``fit``'s once-per-run work (microseconds);
* **FLOP ceiling**: a timed 1024 x 1024 x 1024 float32 GEMM (GFLOP/s) turned into samples/s at
  6 x 25,818 FLOPs per sample (2 for the forward, 4 for the backward, per parameter: the
  usual estimate; 25,818 weights and biases).

Everything is warmed up first; each row is the best of ``--repeats`` runs, and the ratios are
taken inside one run. Ends with one JSON line.

    python benchmarks/engine_step.py [--data-dir DIR] [--epochs 2] [--repeats 3] [--quick]

Targets (issue 18): engine / NumPy loop >= 1.0 at batch 64 and 512 on one thread, and the
engine at >= 0.4 of the one-thread FLOP ceiling at batch 512.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from _common import find_mnist  # benchmarks/ is on sys.path when run as a script

SIZES = [784, 32, 16, 10]
N_PARAMS = sum(a * b + b for a, b in itertools.pairwise(SIZES))  # 25,818
FLOPS_PER_SAMPLE = 6 * N_PARAMS
LR = 0.01
# float32 sums in another order in the engine and the loop (BLAS blocking is the same, but
# the bias gradient and the loss reduce differently): the mean epoch losses agree to this.
LOSS_RTOL = 1e-4


def engine_run(X, y, batch: int, epochs: int, seed: int, threads: int) -> tuple[float, float]:
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig, fit

    net = MLP(SIZES, rng=seed)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, optimizer="sgd", lr=LR, loss="cross_entropy")
    t0 = time.perf_counter()
    history = fit(net, (X, y), cfg, rng=seed, quiet=True, blas_threads=threads)
    return len(X) * epochs / (time.perf_counter() - t0), history.train_loss[-1]


def numpy_run(X, y, batch: int, epochs: int, seed: int, products_only: bool = False):
    """The hand-written loop. Weights as the engine's ``MLP(SIZES, rng=seed)`` draws them."""
    from tinylens.engine import MLP

    lins = MLP(SIZES, rng=seed).linears
    W = [np.ascontiguousarray(m.weight.data.T) for m in lins]  # (in, out)
    b = [m.bias.data.copy() for m in lins]  # type: ignore[union-attr]
    gen = np.random.default_rng(seed)
    n = len(X)
    xb_buf = np.empty((batch, X.shape[1]), dtype=X.dtype)
    yb_buf = np.empty(batch, dtype=y.dtype)
    total = 0.0
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = gen.permutation(n)
        total = 0.0
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            m = len(idx)
            xb = np.take(X, idx, axis=0, out=xb_buf[:m], mode="clip")
            yb = np.take(y, idx, out=yb_buf[:m], mode="clip")
            z1 = xb @ W[0]
            if products_only:
                z2 = z1 @ W[1]
                z3 = z2 @ W[2]
                g2 = z3 @ W[2].T
                g1 = g2 @ W[1].T
                W[2] - z2.T @ z3
                W[1] - z1.T @ g2
                W[0] - xb.T @ g1
                continue
            total += loop_step(xb, yb, W, b)
    return n * epochs / (time.perf_counter() - t0), total / n


def loop_step(xb, yb, W: list, b: list) -> float:
    """One step of the hand-written loop on a batch, in place on ``W`` and ``b``; returns the
    batch's summed loss."""
    m = len(xb)
    z1 = xb @ W[0]
    z1 += b[0]
    h1 = np.maximum(z1, 0, out=z1)
    z2 = h1 @ W[1]
    z2 += b[1]
    h2 = np.maximum(z2, 0, out=z2)
    z3 = h2 @ W[2]
    z3 += b[2]
    z3 -= z3.max(axis=1, keepdims=True)
    p = np.exp(z3, out=z3)
    s = p.sum(axis=1, keepdims=True)
    rows = np.arange(m)
    total = float(-np.log(p[rows, yb] / s[:, 0]).sum())
    p /= s
    p[rows, yb] -= 1.0
    p /= m  # d loss / d logits
    g2 = p @ W[2].T
    g2 *= h2 > 0
    g1 = g2 @ W[1].T
    g1 *= h1 > 0
    W[2] -= LR * (h2.T @ p)
    b[2] -= LR * p.sum(axis=0)
    W[1] -= LR * (h1.T @ g2)
    b[1] -= LR * g2.sum(axis=0)
    W[0] -= LR * (xb.T @ g1)
    b[0] -= LR * g1.sum(axis=0)
    return total


def step_seconds(X, y, batch: int, reps: int, steps: int = 16) -> tuple[float, float]:
    """Seconds per step over ``steps`` batches taken in order (no gather), best of ``reps``:
    the engine's (``EngineBackend.train_epoch``: fused step, loss, optimizer, bookkeeping)
    and the loop's. Without ``fit`` around it: what a step costs, once-per-run work left out."""
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig
    from tinylens.training.backends import EngineBackend

    Xs, ys = X[: batch * steps].copy(), y[: batch * steps].copy()
    net = MLP(SIZES, rng=0)
    cfg = TrainConfig(batch_size=batch, optimizer="sgd", lr=LR, loss="cross_entropy")
    backend = EngineBackend(net, cfg, "cross_entropy")
    backend.bind(*backend.prepare(Xs, ys))
    W = [np.ascontiguousarray(m.weight.data.T) for m in net.linears]
    b = [m.bias.data.copy() for m in net.linears]  # type: ignore[union-attr]
    best = [float("inf"), float("inf")]
    for _ in range(reps):
        t0 = time.perf_counter()
        backend.train_epoch(None, batch)
        t1 = time.perf_counter()
        for start in range(0, len(Xs), batch):
            loop_step(Xs[start : start + batch], ys[start : start + batch], W, b)
        t2 = time.perf_counter()
        best = [min(best[0], t1 - t0), min(best[1], t2 - t1)]
    return best[0] / steps, best[1] / steps


def gemm_gflops(repeats: int, size: int = 1024) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    c = rng.standard_normal((size, size), dtype=np.float32)
    a @ c  # warm up
    best = float("inf")
    for _ in range(max(3, repeats)):
        t0 = time.perf_counter()
        a @ c
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    parser.add_argument("--quick", action="store_true", help="1 epoch, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats = 1, 2

    from tinylens.data import load_mnist

    data = load_mnist(find_mnist(args.data_dir), split="test", download=False)
    X, y = data.X.astype(np.float32), data.y.astype(np.int64)
    blas = ", ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    )
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    print(
        f"MNIST test set: {len(X)} images; 784-32-16-10, SGD lr {LR}, {args.epochs} epochs, "
        f"best of {args.repeats}; BLAS {blas}; load average {load:.2f} on {cpus} CPUs"
    )
    result: dict[str, object] = {
        "benchmark": "engine_step",
        "load_average": round(load, 2),
        "threads": sorted({1, cpus}),
    }
    for threads in sorted({1, cpus}):
        with threadpool_limits(threads):
            gflops = gemm_gflops(args.repeats)
            ceiling = gflops * 1e9 / FLOPS_PER_SAMPLE
            print(
                f"threads {threads}: fp32 GEMM {gflops:.1f} GFLOP/s -> ceiling "
                f"{ceiling / 1e3:.0f}k samples/s"
            )
            result[f"t{threads}_gemm_gflops"] = round(gflops, 1)
            for batch in (64, 512):
                engine_run(X[:2048], y[:2048], batch, 1, 0, threads)  # warm up
                numpy_run(X[:2048], y[:2048], batch, 1, 0)
                eng, npy, mm = [], [], []
                for r in range(args.repeats):
                    e_rate, e_loss = engine_run(X, y, batch, args.epochs, r, threads)
                    n_rate, n_loss = numpy_run(X, y, batch, args.epochs, r)
                    m_rate, _ = numpy_run(X, y, batch, args.epochs, r, products_only=True)
                    if not np.isclose(e_loss, n_loss, rtol=LOSS_RTOL):
                        raise SystemExit(f"the loop does other maths: loss {n_loss} vs {e_loss}")
                    eng.append(e_rate)
                    npy.append(n_rate)
                    mm.append(m_rate)
                e, n_, m_ = max(eng), max(npy), max(mm)
                se, sl = step_seconds(X, y, batch, 10 * args.repeats)
                print(
                    f"  batch {batch:3d}: engine {e / 1e3:6.0f}k/s  NumPy loop {n_ / 1e3:6.0f}k/s"
                    f"  products only {m_ / 1e3:6.0f}k/s  engine/loop {e / n_:.2f}  "
                    f"engine/ceiling {e / ceiling:.2f}\n"
                    f"             one step: engine {se * 1e6:5.0f} us  loop {sl * 1e6:5.0f} us  "
                    f"loop/engine {sl / se:.2f}"
                )
                key = f"t{threads}_b{batch}"
                result[f"{key}_engine"] = round(e)
                result[f"{key}_numpy_loop"] = round(n_)
                result[f"{key}_products_only"] = round(m_)
                result[f"{key}_engine_over_loop"] = round(e / n_, 3)
                result[f"{key}_engine_over_ceiling"] = round(e / ceiling, 3)
                result[f"{key}_step_us_engine"] = round(se * 1e6, 1)
                result[f"{key}_step_us_loop"] = round(sl * 1e6, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
