"""Many seeds at once versus one at a time: the 2-3-1 min network, 1000 seeds x 500 steps.

The recovery study's setting for ``min``: inputs uniform on [-1, 1], ``y = min(x1, x2)``, a
2-3-1 ReLU network without biases, SGD lr 0.1, batch 1000, float32, a fresh batch at every
step. Every seed sees the same batches and starts from the weights ``MLP([2, 3, 1], rng=seed)``
draws, so the two sides below do the same training:

* **batched**: one :class:`tinylens.engine.BatchedMLP` holding all the seeds, trained by
  ``tinylens.training.fit`` (the path ``tinylens circuits recover`` takes);
* **PyTorch, seed by seed**: an idiomatic loop (``nn.Sequential``, ``F.mse_loss``,
  ``zero_grad``, ``backward``, ``step``, tensors preloaded, 1 thread: torch's fastest for a net
  this small) over ``--torch-seeds`` seeds, enough to measure its per-seed cost.

It prints the time per seed of each and their ratio, checks that batched instance k and the
torch run of seed k end with the same weights (to float32 rounding), and ends with one JSON
line.

    python benchmarks/multiseed.py [--seeds 1000] [--steps 500] [--torch-seeds 20] [--repeats 3]

Target (issue 5): batched >= 50x less time per seed than PyTorch seed by seed.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def make_data(steps: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(steps * batch, 2)).astype(np.float32)
    return X, np.minimum(X[:, :1], X[:, 1:])


def batched_run(X, y, seeds: int, batch: int, threads: int | None):
    from tinylens.engine import BatchedMLP
    from tinylens.training import TrainConfig, fit

    net = BatchedMLP([2, 3, 1], range(seeds), bias=False, dtype=np.float32, threads=threads)
    cfg = TrainConfig(
        epochs=1, batch_size=batch, optimizer="sgd", lr=0.1, loss="mse", shuffle=False
    )
    t0 = time.perf_counter()
    fit(net, (X, y), cfg, rng=0, quiet=True)
    return net, time.perf_counter() - t0


def torch_run(X, y, seeds: list[int], batch: int):
    import torch
    import torch.nn.functional as F
    from torch import nn

    from tinylens.engine import MLP

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    steps = len(X) // batch
    finals = {}
    t0 = time.perf_counter()
    for seed in seeds:
        init = MLP([2, 3, 1], rng=seed, bias=False, dtype=np.float32)  # the same initial weights
        model = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1, bias=False))
        with torch.no_grad():
            model[0].weight.copy_(
                torch.from_numpy(np.ascontiguousarray(init.linears[0].weight.data))
            )
            model[2].weight.copy_(
                torch.from_numpy(np.ascontiguousarray(init.linears[1].weight.data))
            )
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for s in range(steps):
            xb, yb = Xt[s * batch : (s + 1) * batch], yt[s * batch : (s + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
        finals[seed] = (
            model[0].weight.detach().numpy().copy(),
            model[2].weight.detach().numpy().copy(),
        )
    return finals, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--torch-seeds", type=int, default=20, help="seeds timed with PyTorch")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    parser.add_argument("--threads", type=int, help="batched worker threads (default: 1)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    X, y = make_data(args.steps, args.batch, 0)
    print(
        f"min(x1, x2), 2-3-1 ReLU without bias, SGD lr 0.1, batch {args.batch}, {args.steps} "
        f"steps, float32; {args.seeds} seeds batched vs {args.torch_seeds} seeds with PyTorch "
        f"(1 thread), best of {args.repeats}; BLAS threads 1 on both sides (fit's policy for a "
        f"BatchedMLP; torch.set_num_threads(1)), batched worker threads "
        f"{args.threads or 'default (1)'}"
    )
    best_b, net = float("inf"), None
    for _ in range(args.repeats):
        net, seconds = batched_run(X, y, args.seeds, args.batch, args.threads)
        best_b = min(best_b, seconds)
    torch_seeds = list(range(args.torch_seeds))
    best_t, finals = float("inf"), {}
    for _ in range(args.repeats):
        finals, seconds = torch_run(X, y, torch_seeds, args.batch)
        best_t = min(best_t, seconds)
    per_b, per_t = best_b / args.seeds, best_t / len(torch_seeds)
    ratio = per_t / per_b
    # The same training: instance k of the batched run against torch's seed k.
    assert net is not None
    diff = max(
        max(np.abs(net.weights[0].data[s] - w0).max(), np.abs(net.weights[1].data[s] - w1).max())
        for s, (w0, w1) in finals.items()
        if s < args.seeds
    )
    print(f"batched : {best_b:8.2f} s for {args.seeds} seeds   {per_b * 1e3:8.3f} ms per seed")
    print(
        f"pytorch : {best_t:8.2f} s for {len(torch_seeds)} seeds     {per_t * 1e3:8.3f} ms per seed"
    )
    print(f"ratio   : {ratio:.1f}x less time per seed (target >= 50x)")
    print(f"same training: largest weight difference, batched vs torch, {diff:.2e} (float32)")
    losses = net.loss(X[-args.batch :], y[-args.batch :])
    print(f"seeds with final batch loss < 1e-6: {np.mean(losses < 1e-6):.1%}")
    result = {
        "benchmark": "multiseed",
        "seeds": args.seeds,
        "steps": args.steps,
        "batch": args.batch,
        "batched_seconds": round(best_b, 4),
        "batched_ms_per_seed": round(per_b * 1e3, 4),
        "torch_seeds": len(torch_seeds),
        "torch_seconds": round(best_t, 4),
        "torch_ms_per_seed": round(per_t * 1e3, 4),
        "ratio_per_seed": round(ratio, 2),
        "target_ratio": 50,
        "max_weight_diff": float(f"{diff:.3g}"),
        "threads": net.threads,
        "blas_threads": 1,
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
