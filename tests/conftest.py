"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# -- tinylens.data: the genuine MNIST test files ----------------------------------------------

_MNIST_TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """A directory holding the two genuine MNIST t10k .gz files, or skip.

    Looked for in ``$TINYLENS_MNIST_DIR``, then ``<repo>/../shared/data/mnist``, then
    ``/work/shared/data/mnist``. Nothing is ever downloaded.
    """
    repo = Path(__file__).resolve().parents[1]
    candidates = [os.environ.get("TINYLENS_MNIST_DIR"), repo.parent / "shared" / "data" / "mnist"]
    candidates.append("/work/shared/data/mnist")
    for candidate in candidates:
        if candidate and all((Path(candidate) / f).is_file() for f in _MNIST_TEST_FILES):
            return Path(candidate)
    pytest.skip("MNIST t10k files not found; set TINYLENS_MNIST_DIR to a directory holding them")
