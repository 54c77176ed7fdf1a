"""``tinylens demo`` per part, and against another checkout in the same run (issue 18).

Runs ``tinylens demo [--quick] --parts P`` in fresh interpreters (so each measures its own
imports, as a user's command does), ``--repeats`` times, alternating with the checkout given by
``--against`` (its ``src`` directory) when there is one, and prints each part's best wall and
CPU seconds (``time.process_time`` of the process that ran the part, as the demo records it in
``metrics.json``, or measured here for a checkout that does not: less inflated by a busy
machine than wall seconds), the total (wall: the whole command, imports included; CPU: the
parts' sum when they ran in worker processes) and the ratios this checkout / the other. The
demo runs its parts in one worker process per core (``--workers``); pass ``--workers 1`` in
``--demo-args`` to time them in order in one process. The demo pins BLAS to
one thread (``limit_blas_threads(1)``); so does this script's every run. The machine's load
average is printed beside the numbers: seconds on a busy machine are not comparable to an idle
one's, the ratios measured side by side are.

    python benchmarks/demo.py [--quick] [--parts basis,regions] [--repeats 3] [--against SRC]
                              [--demo-args "--workers 1"]

Targets (issue 18, on an idle 2-core machine): ``tinylens demo --quick`` under 12 s,
``tinylens demo`` under 20 s; the basis, regions, sae and superposition parts at most 2 s each
with ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_QUICK, TARGET_FULL, TARGET_PART_QUICK = 12.0, 20.0, 2.0
HERE = Path(__file__).resolve().parent.parent / "src"

_CHILD = (
    "import json, sys, time; t = time.perf_counter(); c = time.process_time(); "
    "import tinylens.studies.demo as demo; cpu = {}; "
    "wrap = lambda n, f: lambda *a: (cpu.__setitem__(n, -time.process_time()), f(*a), "
    "cpu.__setitem__(n, cpu[n] + time.process_time()))[1]; "
    "demo.PARTS.update({n: wrap(n, f) for n, f in demo.PARTS.items()}); "
    "from tinylens.cli.main import main; "
    "code = main(['demo', *sys.argv[2:], '--out', sys.argv[1], '--quiet']); "
    "total, total_cpu = time.perf_counter() - t, time.process_time() - c; "
    "m = json.load(open(sys.argv[1] + '/metrics.json')); "
    "cpu = m.get('cpu_seconds', cpu); total_cpu = max(total_cpu, sum(cpu.values())); "
    "print(json.dumps({'wall': {'total': total, **m['seconds']}, "
    "'cpu': {'total': total_cpu, **cpu}}))"
)


def measure(src: Path, args: list[str]) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(tmp) / "run"), *args],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--parts", default="")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--against", type=Path, help="another checkout's src directory")
    p.add_argument("--demo-args", default="", help="more arguments for tinylens demo")
    a = p.parse_args()
    args = (["--quick"] if a.quick else []) + (["--parts", a.parts] if a.parts else [])
    this_args = args + a.demo_args.split()
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"this": [], "other": []}
    for _ in range(a.repeats):
        if a.against:
            runs["other"].append(measure(a.against, args))
        runs["this"].append(measure(HERE, this_args))
    best = {
        k: {clock: {n: min(r[clock][n] for r in v) for n in v[0][clock]} for clock in v[0]}
        for k, v in runs.items()
        if v
    }
    print(f"tinylens demo {' '.join(this_args)}: best of {a.repeats}, 1 BLAS thread, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; wall seconds "
          "(inflated by load) and CPU seconds of this process")  # fmt: skip
    target = TARGET_PART_QUICK if a.quick else None
    this, other = best["this"], best.get("other")
    for name, secs in this["wall"].items():
        line = f"  {name:14s} wall {secs:6.2f} s  cpu {this['cpu'][name]:6.2f} s"
        if other and name in other["wall"]:
            ref, ref_cpu = other["wall"][name], other["cpu"][name]
            line += (f"   other wall {ref:6.2f} s  cpu {ref_cpu:6.2f} s   ratio wall "
                     f"{secs / ref:.2f}  cpu {this['cpu'][name] / ref_cpu:.2f}")  # fmt: skip
        if target and name in ("basis", "regions", "sae", "superposition"):
            line += f"   (target {target:g} s idle)"
        print(line)
    total = TARGET_QUICK if a.quick else TARGET_FULL
    print(f"  target total: {total:g} s on an idle machine")
    print(json.dumps({"benchmark": "demo", "quick": a.quick, **best}))


if __name__ == "__main__":
    main()
