"""Engine versus PyTorch: training throughput of the MNIST probing model.

Trains 784-32-16-10 (ReLU, cross-entropy, SGD lr 0.01) on the 10,000 genuine MNIST test images
(the training files are not on this machine) with the tinylens engine (through ``fit``, the path
users take) and with an idiomatic PyTorch loop (tensors preloaded, ``randperm``, ``zero_grad``,
``backward``, ``step``; 2 threads), at batch sizes 64 and 512, in the same run. Prints
samples/second and the ratio engine/torch, and ends with one JSON line.

    python benchmarks/engine_vs_torch.py [--data-dir DIR] [--epochs 3] [--repeats 3]

Targets (issue 2): ratio >= 1.5 at batch 64 and >= 1.0 at batch 512.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from _common import find_mnist  # benchmarks/ is on sys.path when run as a script


def engine_throughput(X: np.ndarray, y: np.ndarray, batch: int, epochs: int, seed: int) -> float:
    from tinylens.engine import MLP
    from tinylens.training import TrainConfig, fit

    net = MLP([784, 32, 16, 10], rng=seed)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, optimizer="sgd", lr=0.01)
    t0 = time.perf_counter()
    fit(net, (X, y), cfg, rng=seed, quiet=True)
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
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    from tinylens.data import load_mnist

    data = load_mnist(find_mnist(args.data_dir), split="test", download=False)
    X, y = data.X.astype(np.float32), data.y.astype(np.int64)
    print(
        f"MNIST test set: {len(X)} images; model 784-32-16-10, SGD lr 0.01, "
        f"{args.epochs} epochs, best of {args.repeats}; torch threads {torch.get_num_threads()}"
    )
    result: dict[str, object] = {"benchmark": "engine_vs_torch"}
    for batch in (64, 512):
        eng = max(engine_throughput(X, y, batch, args.epochs, s) for s in range(args.repeats))
        tor = max(torch_throughput(X, y, batch, args.epochs, s) for s in range(args.repeats))
        ratio = eng / tor
        print(
            f"batch {batch:4d}: engine {eng:10.0f} samples/s   torch {tor:10.0f} samples/s   "
            f"ratio {ratio:.2f}"
        )
        result[f"engine_samples_per_s_bs{batch}"] = round(eng)
        result[f"torch_samples_per_s_bs{batch}"] = round(tor)
        result[f"ratio_bs{batch}"] = round(ratio, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
