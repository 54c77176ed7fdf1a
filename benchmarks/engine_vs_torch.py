"""Engine versus PyTorch: training throughput of the MNIST probing model.

Trains 784-32-16-10 (ReLU, cross-entropy, SGD lr 0.01) on the 10,000 genuine MNIST test images
(the training files are not on this machine) with the tinylens engine (through ``fit``, the path
users take) and with an idiomatic PyTorch loop (tensors preloaded, ``randperm``, ``zero_grad``,
``backward``, ``step``), at batch sizes 64 and 512, in the same run, at each thread count of
``--threads`` (default 1 and 2: both sides get the same count, torch through
``torch.set_num_threads``, the engine through ``fit(..., blas_threads=N)``). Prints samples/second
and the ratio engine/torch per thread count, and ends with one JSON line.

    python benchmarks/engine_vs_torch.py [--data-dir DIR] [--epochs 3] [--repeats 3]
        [--threads 1,2] [--quick]

Targets (issue 2): ratio >= 1.5 at batch 64 and >= 1.0 at batch 512.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from _common import find_mnist  # benchmarks/ is on sys.path when run as a script


def engine_throughput(
    X: np.ndarray, y: np.ndarray, batch: int, epochs: int, seed: int, threads: int
) -> float:
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig, fit

    net = MLP([784, 32, 16, 10], rng=seed)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, optimizer="sgd", lr=0.01)
    t0 = time.perf_counter()
    fit(net, (X, y), cfg, rng=seed, quiet=True, blas_threads=threads)
    return len(X) * epochs / (time.perf_counter() - t0)


def torch_throughput(X: np.ndarray, y: np.ndarray, batch: int, epochs: int, seed: int) -> float:
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = len(Xt)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        Xs, ys = Xt[perm], yt[perm]
        for start in range(0, n, batch):
            xb, yb = Xs[start : start + batch], ys[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
    return n * epochs / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="1 epoch, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats = 1, 2
    counts = sorted({int(t) for t in args.threads.split(",")} | {1})  # always a 1-thread row

    import os

    import torch

    from tinylens.data import load_mnist

    data = load_mnist(find_mnist(args.data_dir), split="test", download=False)
    X, y = data.X.astype(np.float32), data.y.astype(np.int64)
    load = os.getloadavg()[0]
    print(
        f"MNIST test set: {len(X)} images; model 784-32-16-10, SGD lr 0.01, "
        f"{args.epochs} epochs, best of {args.repeats}; threads {counts} (both sides); "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    result: dict[str, object] = {"benchmark": "engine_vs_torch", "load_average": round(load, 2)}
    for threads in counts:
        torch.set_num_threads(threads)
        for batch in (64, 512):
            runs = range(args.repeats)
            eng = max(engine_throughput(X, y, batch, args.epochs, s, threads) for s in runs)
            tor = max(torch_throughput(X, y, batch, args.epochs, s) for s in runs)
            ratio = eng / tor
            print(
                f"threads {threads} batch {batch:4d}: engine {eng:10.0f} samples/s   "
                f"torch {tor:10.0f} samples/s   ratio {ratio:.2f}"
            )
            result[f"t{threads}_engine_samples_per_s_bs{batch}"] = round(eng)
            result[f"t{threads}_torch_samples_per_s_bs{batch}"] = round(tor)
            result[f"t{threads}_ratio_bs{batch}"] = round(ratio, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
