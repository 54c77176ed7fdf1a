"""The batched trainer before and after a change: ``circuits recover min`` in one run, side by side.

Both sides run the same study (``run_recovery``: the ``min`` target, the 2-3-1 network without
biases, SGD lr 0.1, batch 1000, float32) in fresh Python processes, alternating, at the same
BLAS thread count:

* **reference**: the source tree of a git revision, unpacked with ``git archive`` into a
  temporary directory: by default ``2a60289``, the base of issue 18 (before the batched
  trainer kept its work arrays for the run); ``--reference eac9017`` is main before the
  recovery package, which already did;
* **this tree**: ``src/`` of this checkout.

Each side's time is the study alone (imports excluded), wall clock and the process's CPU time
(user + system: steadier on a shared machine). The script checks that both sides end with the
same weights, evaluation losses and loss curves bit for bit and, seed by seed, the same
outcome, formula read back and structural and read-back checks; it prints the ratios and ends
with one JSON line.

    python benchmarks/batched_recover.py [--seeds 1000] [--steps 10000] [--repeats 3]
        [--reference REV] [--threads 1] [--workers 1] [--quick]

``--threads`` sets BLAS threads, ``--workers`` the batched trainer's own worker threads
(``TINYLENS_THREADS``; one by default in both trees), the same on both sides.

Target (issue 18): this tree at least 1.5x faster than the reference, bit for bit the same.
The child builds ``RecoveryConfig(target="min", seeds=..., steps=...)``, which both the old
module and the package accept.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from _common import reference_tree, run_child  # benchmarks/ is on sys.path as a script

ROOT = Path(__file__).resolve().parent.parent

# Run in the child: time the study alone, report a digest of the final weights and outcomes.
CHILD = r"""
import hashlib, json, os, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from tinylens.studies.recovery import RecoveryConfig, run_recovery
seeds, steps, threads = map(int, sys.argv[1:4])
cfg = RecoveryConfig(target="min", seeds=seeds, steps=steps)
with threadpool_limits(threads):
    w0, c0 = time.perf_counter(), time.process_time()
    r = run_recovery(cfg, quiet=True)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
h = hashlib.sha256()
for p in r.main.net.parameters():
    h.update(np.ascontiguousarray(p.data).tobytes())
# and the evaluation losses and loss curves, which both trees' results hold
for a in (r.main.losses, r.main.curves):
    h.update(np.ascontiguousarray(a).tobytes())
# and what the classification found per seed: outcome, formula read back, the two checks
print(json.dumps({"wall": wall, "cpu": cpu, "weights": h.hexdigest(),
                  "outcomes": r.main.outcomes.tolist(), "formulas": r.main.formulas.tolist(),
                  "readback": r.main.readback.tolist(),
                  "structural": r.main.structural.tolist()}))
"""


def run_side(src: Path, seeds: int, steps: int, threads: int, workers: int) -> dict:
    args = [str(seeds), str(steps), str(threads)]
    return run_child(src, CHILD, args, threads, TINYLENS_THREADS=str(workers))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--reference", default="2a60289", help="git revision to compare with (issue 18's base)"
    )
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads on both sides")
    ap.add_argument(
        "--workers", type=int, default=1, help="the batched trainer's threads on both sides"
    )
    ap.add_argument("--quick", action="store_true", help="200 seeds x 2000 steps, 2 repeats")
    a = ap.parse_args()
    if a.quick:
        a.seeds, a.steps, a.repeats = 200, 2000, 2
    load = os.getloadavg()[0]
    print(
        f"circuits recover min: {a.seeds} seeds x {a.steps} steps, BLAS threads {a.threads}, "
        f"trainer threads {a.workers}, {a.repeats} repeats, reference {a.reference}; "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="tinylens-bench-") as tmp:
        sides = {"reference": reference_tree(a.reference, tmp), "this tree": ROOT / "src"}
        rows: dict[str, list[dict]] = {name: [] for name in sides}
        for rep in range(a.repeats):
            for name, src in sides.items():
                r = run_side(src, a.seeds, a.steps, a.threads, a.workers)
                rows[name].append(r)
                print(
                    f"  repeat {rep + 1}  {name:10s} {r['wall']:7.2f} s wall {r['cpu']:7.2f} s CPU"
                )
    ref, new = rows["reference"], rows["this tree"]
    checked = ("weights", "outcomes", "formulas", "readback", "structural")
    same = all(r[key] == ref[0][key] for r in ref + new for key in checked)
    wall_ratios = [r["wall"] / n["wall"] for r, n in zip(ref, new, strict=True)]
    cpu_ratios = [r["cpu"] / n["cpu"] for r, n in zip(ref, new, strict=True)]
    print(
        "same final weights, losses, curves (sha256), outcomes, formulas read back and both "
        f"checks on both sides: {same}"
    )
    print(
        f"speed-up (reference / this tree) wall: min {min(wall_ratios):.2f} median "
        f"{statistics.median(wall_ratios):.2f}; CPU: min {min(cpu_ratios):.2f} median "
        f"{statistics.median(cpu_ratios):.2f}"
    )
    print(
        json.dumps(
            {
                "benchmark": "batched_recover",
                "seeds": a.seeds,
                "steps": a.steps,
                "threads": a.threads,
                "workers": a.workers,
                "reference": a.reference,
                "load_average": round(load, 2),
                "reference_wall_s": [round(r["wall"], 3) for r in ref],
                "this_wall_s": [round(r["wall"], 3) for r in new],
                "speedup_wall_min": round(min(wall_ratios), 3),
                "speedup_wall_median": round(statistics.median(wall_ratios), 3),
                "speedup_cpu_min": round(min(cpu_ratios), 3),
                "speedup_cpu_median": round(statistics.median(cpu_ratios), 3),
                "bit_identical": same,
            }
        )
    )
    if not same:
        raise SystemExit("the two sides ended with different weights or outcomes")


if __name__ == "__main__":
    main()
