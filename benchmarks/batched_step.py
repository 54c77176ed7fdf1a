"""The batched trainer's step before and after a change, in one process, alternating.

The training step of ``circuits recover min``: 1000 instances of the 2-3-1 network without
biases, float32, SGD lr 0.1, batches of 1000 from 10,000 points (10 steps an epoch), one BLAS
thread and one trainer thread. Both sides run ``BatchedBackend.train_epoch`` on the same
shuffles, in blocks of 3 epochs, alternating, timed in CPU time (``process_time``): both share
each moment's load, where ``benchmarks/batched_recover.py`` runs separate processes (which a
shared machine loads differently) and also times the classification, the same on both sides.

The reference's ``engine/_batched_passes.py`` and ``training/batched.py`` come from a git
revision (``git show``) and load as standalone modules on this tree's engine, so the revision
must have both files (main since def8b44): by default ``7e3dd3a``, main before the work
arrays became per-chunk views made once per run. The script checks that both sides end with
the same weights bit for bit and ends with one JSON line.

    python benchmarks/batched_step.py [--reference 7e3dd3a] [--repeats 12] [--seeds 1000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

from _common import fail  # benchmarks/ is on sys.path when run as a script
from tinylens.engine import BatchedMLP
from tinylens.training import TrainConfig
from tinylens.training.batched import BatchedBackend

ROOT = Path(__file__).resolve().parent.parent


def load_reference(rev: str, tmp: Path) -> tuple[type, type]:
    """The reference revision's hot path (as a BatchedMLP subclass) and its backend class."""
    modules: dict[str, ModuleType] = {}
    for name, path in [
        ("ref_passes", "src/tinylens/engine/_batched_passes.py"),
        ("ref_training", "src/tinylens/training/batched.py"),
    ]:
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True
        )
        if shown.returncode != 0:
            fail(f"revision {rev!r} has no {path} (the reference needs main since def8b44)")
        text = shown.stdout
        file = tmp / f"{name}.py"
        file.write_text(text)
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        modules[name] = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[name])  # registered first, as dataclasses need
    passes = modules["ref_passes"]
    methods = {"_one_hidden_relu": passes.one_hidden_relu, "_parallel": passes.parallel}
    if hasattr(passes, "workspace"):
        methods["_workspace"] = passes.workspace
    return type("ReferenceMLP", (BatchedMLP,), methods), modules["ref_training"].BatchedBackend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default="7e3dd3a", help="git revision to compare with")
    ap.add_argument("--repeats", type=int, default=12, help="blocks of 3 epochs per side")
    ap.add_argument("--seeds", type=int, default=1000)
    a = ap.parse_args()
    load = os.getloadavg()[0]
    print(
        f"batched train step, circuits recover min: {a.seeds} instances, batch 1000, 1 BLAS "
        f"thread, 1 trainer thread, reference {a.reference}; load average {load:.2f} on "
        f"{os.cpu_count()} CPUs"
    )
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (10_000, 2)).astype(np.float32)
    y = X.min(axis=1, keepdims=True)
    cfg = TrainConfig(epochs=1, batch_size=1000, optimizer="sgd", lr=0.1)
    with tempfile.TemporaryDirectory(prefix="tinylens-bench-") as tmp:
        ref_mlp, ref_backend = load_reference(a.reference, Path(tmp))
    sides = {}
    for name, mlp, backend in [
        ("reference", ref_mlp, ref_backend),
        ("this tree", BatchedMLP, BatchedBackend),
    ]:
        net = mlp([2, 3, 1], range(a.seeds), bias=False, dtype=np.float32, threads=1)
        b = backend(net, cfg, "mse")
        b.bind(*b.prepare(X, y))
        sides[name] = (b, np.random.default_rng(1))
    ms: dict[str, list[float]] = {name: [] for name in sides}
    with threadpool_limits(1):
        for _ in range(a.repeats):
            for name, (b, gen) in sides.items():
                t0 = time.process_time()
                for _ in range(3):
                    b.train_epoch(gen.permutation(len(X)), 1000)
                ms[name].append((time.process_time() - t0) / 30 * 1e3)
    ref, new = (sides[n][0].model.parameters() for n in sides)
    same = all(np.array_equal(p.data, q.data) for p, q in zip(ref, new, strict=True))
    med = {n: statistics.median(v) for n, v in ms.items()}
    ratio = med["reference"] / med["this tree"]
    for n in sides:
        print(
            f"  {n:10s} {med[n]:6.2f} ms CPU per step (median of {a.repeats}), min {min(ms[n]):.2f}"
        )
    print(
        f"speed-up (reference / this tree), median: {ratio:.3f}; same weights bit for bit: {same}"
    )
    print(
        json.dumps(
            {
                "benchmark": "batched_step",
                "seeds": a.seeds,
                "reference": a.reference,
                "blas_threads": 1,
                "load_average": round(load, 2),
                "reference_ms": round(med["reference"], 3),
                "this_ms": round(med["this tree"], 3),
                "speedup_median": round(ratio, 3),
                "bit_identical": same,
            }
        )
    )
    if not same:
        sys.exit("the two sides ended with different weights")


if __name__ == "__main__":
    main()
