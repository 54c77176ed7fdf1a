"""Helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

__all__ = [
    "BENCH_LIBRARIES",
    "bench_libraries",
    "fail",
    "find_mnist",
    "reference_tree",
    "run_child",
]

ROOT = Path(__file__).resolve().parent.parent


def find_mnist(explicit: str | None = None) -> Path:
    """The directory with the genuine MNIST test set: ``--data-dir``, ``$TINYLENS_MNIST_DIR``,
    the checkout's ``../shared/data/mnist``, or ``/work/shared/data/mnist``."""
    here = Path(__file__).resolve().parent.parent
    for cand in (
        explicit,
        os.environ.get("TINYLENS_MNIST_DIR"),
        here.parent / "shared/data/mnist",
        "/work/shared/data/mnist",
    ):
        if cand and (Path(cand) / "t10k-images-idx3-ubyte.gz").exists():
            return Path(cand)
    raise SystemExit("MNIST test files not found; pass --data-dir DIR")


# The libraries ``benchmarks/hooks.py --compare`` times tinylens against: module name -> the
# PyPI name in the ``bench`` extra of pyproject.toml.
BENCH_LIBRARIES = {"nnsight": "nnsight", "transformer_lens": "transformer-lens"}


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2, as the tinylens command does for a usage mistake."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def bench_libraries(spec: str) -> tuple[str, ...]:
    """The comma-separated ``--compare`` value, checked: known names, and installed."""
    from tinylens.errors import did_you_mean

    names = tuple(n.strip().replace("-", "_") for n in spec.split(",") if n.strip())
    for name in names:
        if name not in BENCH_LIBRARIES:
            fail(
                f"--compare: unknown library {name!r}{did_you_mean(name, BENCH_LIBRARIES)}; "
                f"expected one of {', '.join(BENCH_LIBRARIES)}"
            )
    missing = [BENCH_LIBRARIES[n] for n in names if importlib.util.find_spec(n) is None]
    if missing:
        fail(
            f"--compare needs {' and '.join(missing)}, which are not installed; "
            'install them with: pip install -e ".[bench]"'
        )
    return names


def reference_tree(revision: str, dest: str | Path) -> Path:
    """The ``src`` tree of git ``revision`` of this checkout, unpacked with ``git archive``
    into ``dest``: the other side of a before/after benchmark. One line and exit 2 when the
    revision has no such tree."""
    archived = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], capture_output=True
    )
    if archived.returncode != 0:
        fail(f"no source tree at revision {revision!r} (git archive failed)")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archived.stdout, check=True)
    return Path(dest) / "src"


def run_child(src: Path, code: str, args: list[str], threads: int, **env: str) -> dict:
    """Run ``python -c code *args`` in a fresh process importing tinylens from ``src``, with
    ``threads`` BLAS / OpenMP threads (and any extra environment), and return the JSON object
    its last line prints: one side of a before/after benchmark."""
    full = dict(os.environ, PYTHONPATH=str(src), **env)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        full[var] = str(threads)
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=full, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
