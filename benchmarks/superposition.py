"""Toy models of superposition: the paper's n=5, m=2 sweep, batched on the engine vs PyTorch.

The sweep: 10 sparsities x 10 importance decays = 100 instances of the model of Elhage et al.
(2022), n=5 features, m=2 hidden dimensions, batch 1,024, AdamW lr 1e-3 (weight decay 0.01),
10,000 steps, float32: the settings of the paper's notebook (``toy_models.ipynb``). The
sparsities (0 to 0.99) and decays (0.7 to 1.0) are our choice of grid.

* **engine, batched**: :func:`tinylens.superposition.train_toy_models`, every instance at once;
* **PyTorch, batched**: the same 100 instances the way the paper's notebook trains them: an
  instance axis, ``torch.einsum`` forward, two ``torch.rand`` draws and ``torch.where`` per
  batch, the loss ``(importance * (x - x')**2)`` averaged over batch and features and summed
  over instances, autograd, ``torch.optim.AdamW``;
* **PyTorch, one by one** (labelled as such): the same code with one instance at a time; its
  time for all 100 is estimated from ``--one-by-one`` instances (default 3).

Both sides use the same number of threads (``--threads``, default 1: numpy's BLAS through
threadpoolctl, ``torch.set_num_threads``), are warmed up (``--warmup`` steps, untimed), and the
best of ``--repeats`` runs counts. ``--steps`` shortens the run (per-step times and the ratio
are what count; the full 10,000-step time is then estimated from them, and the JSON says so).

    python benchmarks/superposition.py [--steps 10000] [--threads 1] [--repeats 1]

Target (issue 14): engine batched >= 1.5x faster than PyTorch batched. One JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

N_FEATURES, N_HIDDEN, BATCH, FULL_STEPS = 5, 2, 1024, 10_000
SPARSITIES = np.array([0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 0.995])
DECAYS = np.linspace(0.7, 1.0, 10)


def sweep() -> tuple[np.ndarray, np.ndarray]:
    """(feature_probability, importance), each of shape (100, 5)."""
    s = np.repeat(SPARSITIES, len(DECAYS))
    r = np.tile(DECAYS, len(SPARSITIES))
    prob = np.repeat((1 - s)[:, None], N_FEATURES, axis=1)
    return prob, r[:, None] ** np.arange(N_FEATURES)[None, :]


def engine_run(prob, imp, steps: int, seed: int) -> float:
    from tinylens.superposition import train_toy_models

    t0 = time.perf_counter()
    train_toy_models(
        prob, imp, N_HIDDEN, steps=steps, batch_size=BATCH, rng=np.random.default_rng(seed)
    )
    return time.perf_counter() - t0


def torch_run(prob, imp, steps: int, seed: int) -> float:
    """The paper notebook's Model and optimize(), instance axis second ('b i f')."""
    import torch
    from torch.nn import functional as F

    torch.manual_seed(seed)
    k = prob.shape[0]
    W = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(k, N_FEATURES, N_HIDDEN)))
    b_final = torch.nn.Parameter(torch.zeros(k, N_FEATURES))
    feature_probability = torch.tensor(prob, dtype=torch.float32)
    importance = torch.tensor(imp, dtype=torch.float32)
    opt = torch.optim.AdamW([W, b_final], lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        feat = torch.rand((BATCH, k, N_FEATURES))
        batch = torch.where(
            torch.rand((BATCH, k, N_FEATURES)) <= feature_probability, feat, torch.zeros(())
        )
        hidden = torch.einsum("...if,ifh->...ih", batch, W)
        out = F.relu(torch.einsum("...ih,ifh->...if", hidden, W) + b_final)
        error = importance * (batch.abs() - out) ** 2
        loss = error.mean(dim=(0, 2)).sum()  # einops.reduce(error, 'b i f -> i', 'mean').sum()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=FULL_STEPS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--one-by-one", type=int, default=3, help="instances timed one by one")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    prob, imp = sweep()
    k = prob.shape[0]
    with threadpool_limits(args.threads):
        engine_run(prob, imp, args.warmup, 1)
        torch_run(prob, imp, args.warmup, 1)
        eng = min(engine_run(prob, imp, args.steps, 0) for _ in range(args.repeats))
        tor = min(torch_run(prob, imp, args.steps, 0) for _ in range(args.repeats))
        one = sum(
            torch_run(prob[i : i + 1], imp[i : i + 1], args.steps, i)
            for i in np.linspace(0, k - 1, args.one_by_one).astype(int)
        )
    one_all = one / args.one_by_one * k
    scale = FULL_STEPS / args.steps
    print(f"{k} instances (n={N_FEATURES}, m={N_HIDDEN}), batch {BATCH}, {args.steps} steps, "
          f"{args.threads} thread(s), best of {args.repeats}")  # fmt: skip
    print(f"  engine, batched:        {eng:8.2f} s  ({eng / args.steps * 1e3:.2f} ms/step)")
    print(f"  PyTorch, batched:       {tor:8.2f} s  ({tor / args.steps * 1e3:.2f} ms/step)")
    print(f"  PyTorch, one by one:    {one_all:8.2f} s  (estimated from {args.one_by_one} "
          f"instances)")  # fmt: skip
    print(f"  engine speed-up over PyTorch batched: {tor / eng:.2f}x (target >= 1.5x)")
    if args.steps != FULL_STEPS:
        print(f"  at {FULL_STEPS} steps (x{scale:g}, estimated): engine {eng * scale:.0f} s, "
              f"PyTorch batched {tor * scale:.0f} s")  # fmt: skip
    summary = {
        "benchmark": "superposition",
        "instances": k,
        "steps": args.steps,
        "batch": BATCH,
        "threads": args.threads,
        "engine_batched_s": round(eng, 3),
        "torch_batched_s": round(tor, 3),
        "torch_one_by_one_s_estimated": round(one_all, 3),
        "one_by_one_measured_instances": args.one_by_one,
        "speedup_vs_torch_batched": round(tor / eng, 3),
        "target": 1.5,
        "full_steps_estimated": args.steps != FULL_STEPS,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
