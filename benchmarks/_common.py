"""Helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["find_mnist"]


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
