"""SAE training throughput: the NumPy SAE of tinylens against the same SAE hand-written in
PyTorch.

Both train the same model on the same activation rows, float32: ``n_latents`` latents over ``d``
dimensions, TopK (k = 8) or ReLU + L1, mean-squared reconstruction, the AuxK loss over latents
dead for ``dead_steps`` steps, the decoder gradient made orthogonal to each row and the rows
renormalised after every Adam step (``torch.optim.Adam`` against the engine's Adam). The
activations are rows of a planted sparse dictionary (``tinylens.superposition.planted_dictionary``;
content does not change the work). Both read batches from a preloaded array; neither runs a
model. Warm-up steps first, then best of ``--repeats`` timed runs; 2 threads each (torch
``set_num_threads``, NumPy's BLAS through the environment variables set below before import).

    python benchmarks/sae.py [--steps 300] [--repeats 3]

Target (issue 14): ours / torch >= 1.0 in activations per second. Ends with one JSON line.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

D, N_LATENTS, K, L1, LR, DEAD_STEPS = 32, 128, 8, 1e-3, 1e-3, 50
WARMUP = 30


def ours(A: np.ndarray, k: int | None, batch: int, steps: int) -> float:
    from tinylens.superposition import fit_sae

    fit_sae(A, N_LATENTS, k=k, l1=L1, steps=WARMUP, batch_size=batch, lr=LR, rng=0)
    t0 = time.perf_counter()
    fit_sae(
        A, N_LATENTS, k=k, l1=L1, steps=steps, batch_size=batch, lr=LR, dead_steps=DEAD_STEPS, rng=0
    )
    return steps * batch / (time.perf_counter() - t0)


def torch_sae(A: np.ndarray, k: int | None, batch: int, steps: int) -> float:
    """The same SAE, written the way a PyTorch user would (autograd, torch.optim.Adam)."""
    import torch

    torch.manual_seed(0)
    At = torch.from_numpy(A)
    W_dec = torch.randn(N_LATENTS, D)
    W_dec /= W_dec.norm(dim=1, keepdim=True)
    W_dec.requires_grad_(True)
    W_enc = W_dec.detach().T.clone().requires_grad_(True)
    b_enc = torch.zeros(N_LATENTS, requires_grad=True)
    b_dec = At[:batch].mean(0).clone().requires_grad_(True)
    opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=LR)
    since = torch.zeros(N_LATENTS, dtype=torch.long)
    n = len(At)
    k_aux = D // 2

    def step(xb: torch.Tensor) -> None:
        nonlocal since
        pre = (xb - b_dec) @ W_enc + b_enc
        if k is None:
            z = torch.relu(pre)
        else:
            top = torch.topk(pre, k, dim=1)
            z = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
        x_hat = z @ W_dec + b_dec
        loss = torch.mean((x_hat - xb) ** 2)
        if k is None:
            loss = loss + L1 * z.sum() / len(xb)
        dead = since >= DEAD_STEPS
        if dead.any():
            ka = min(k_aux, int(dead.sum()))
            masked = torch.where(dead, pre, torch.tensor(-torch.inf))
            top = torch.topk(masked, ka, dim=1)
            z_aux = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
            loss = loss + torch.mean((z_aux @ W_dec - (xb - x_hat).detach()) ** 2) / 32
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            W_dec.grad -= (W_dec.grad * W_dec).sum(1, keepdim=True) * W_dec
            opt.step()
            W_dec.div_(W_dec.norm(dim=1, keepdim=True))
            since = torch.where((z > 0).any(0), 0, since + 1)

    perm, pos = torch.randperm(n), 0
    for i in range(WARMUP + steps):
        if i == WARMUP:
            t0 = time.perf_counter()
        if pos + batch > n:
            perm, pos = torch.randperm(n), 0
        step(At[perm[pos : pos + batch]])
        pos += batch
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    args = parser.parse_args()

    import torch

    from tinylens.superposition import planted_dictionary

    torch.set_num_threads(2)
    A = planted_dictionary(50_000, n_features=256, d=D, p_active=0.02, rng=0).X
    A = A.astype(np.float32)
    print(
        f"SAE {D} -> {N_LATENTS} latents, float32, {args.steps} steps after {WARMUP} warm-up, "
        f"best of {args.repeats}; torch threads {torch.get_num_threads()}, "
        f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}"
    )
    result: dict[str, object] = {"benchmark": "sae", "d": D, "n_latents": N_LATENTS}
    for label, k in (("topk", K), ("relu_l1", None)):
        for batch in (256, 1024):
            a = max(ours(A, k, batch, args.steps) for _ in range(args.repeats))
            b = max(torch_sae(A, k, batch, args.steps) for _ in range(args.repeats))
            print(
                f"  {label:8s} batch {batch:5d}: ours {a:12,.0f} act/s   torch {b:12,.0f} act/s"
                f"   ratio {a / b:.2f}"
            )
            key = f"{label}_b{batch}"
            result[f"{key}_ours"] = round(a)
            result[f"{key}_torch"] = round(b)
            result[f"{key}_ratio"] = round(a / b, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
