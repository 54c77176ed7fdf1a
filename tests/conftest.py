"""Shared pytest fixtures.

MNIST: tests that need the genuine files skip when they are missing, unless the environment sets
``TINYLENS_REQUIRE_MNIST=1`` (CI does, see ``.ci/run``), in which case they fail: a CI run must
not pass by skipping them. The same pattern as ``TINYLENS_REQUIRE_BROWSER`` in ``browser.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# -- tinylens.data: the genuine MNIST files -----------------------------------------------------

_MNIST_TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_MNIST_TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


def _missing(reason: str) -> None:
    """Skip, or fail when ``TINYLENS_REQUIRE_MNIST=1``."""
    if os.environ.get("TINYLENS_REQUIRE_MNIST") == "1":
        pytest.fail(f"{reason} (TINYLENS_REQUIRE_MNIST=1: MNIST is required)")
    pytest.skip(reason)


def _file(directory: Path, gz_name: str) -> Path | None:
    """``directory/gz_name`` or its uncompressed twin (the loader accepts both)."""
    for path in (directory / gz_name, directory / gz_name.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def _mnist_candidates() -> list[Path]:
    repo = Path(__file__).resolve().parents[1]
    env = os.environ.get("TINYLENS_MNIST_DIR")
    found = [Path(env)] if env else []
    return [*found, repo.parent / "shared" / "data" / "mnist", Path("/work/shared/data/mnist")]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """A directory holding the two genuine MNIST t10k .gz files (and perhaps the training set).

    Looked for in ``$TINYLENS_MNIST_DIR``, then ``<repo>/../shared/data/mnist``, then
    ``/work/shared/data/mnist``. Nothing is ever downloaded.
    """
    for candidate in _mnist_candidates():
        if all((candidate / f).is_file() for f in _MNIST_TEST_FILES):
            return candidate
    _missing("MNIST t10k files not found; set TINYLENS_MNIST_DIR to a directory holding them")
    raise AssertionError("unreachable")  # skip and fail raise


@pytest.fixture(scope="session")
def mnist_test_only_dir(mnist_dir, tmp_path_factory) -> Path:
    """A directory holding only the two t10k files (symlinks into :func:`mnist_dir`): the
    "training set missing" fallbacks are exercised whatever the shared directory holds."""
    directory = tmp_path_factory.mktemp("mnist-test-only")
    for name in _MNIST_TEST_FILES:
        (directory / name).symlink_to(mnist_dir / name)
    return directory


@pytest.fixture(scope="session")
def mnist_full_dir(mnist_dir) -> Path:
    """:func:`mnist_dir` when it also holds the training files (.gz or uncompressed)."""
    missing = [name for name in _MNIST_TRAIN_FILES if _file(mnist_dir, name) is None]
    if missing:
        _missing(f"MNIST training files not found in {mnist_dir} (missing {', '.join(missing)})")
    return mnist_dir
