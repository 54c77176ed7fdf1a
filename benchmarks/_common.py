"""Helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import NoReturn

__all__ = ["BENCH_LIBRARIES", "bench_libraries", "fail", "find_mnist"]


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
