"""Limiting BLAS threads: the limit holds inside the block and a fixed count is reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.data import spiral
from tinylens.engine import MLP
from tinylens.training import TrainConfig, fit
from tinylens.training.threads import limit_blas_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def _train(threads: int | None) -> list[np.ndarray]:
    data = spiral(400, rng=0)
    net = MLP([2, 96, 64, 3], rng=0)
    with limit_blas_threads(threads):
        fit(net, data, TrainConfig(epochs=3, batch_size=128, optimizer="adam"), rng=0, quiet=True)
    return [p.data.copy() for p in net.parameters()]


def test_limit_applies_inside_and_is_restored_after():
    before = _blas_threads()
    with limit_blas_threads(1):
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
    with limit_blas_threads(None):
        assert _blas_threads() == before


def test_training_is_bit_identical_at_a_fixed_thread_count():
    # What sweeps rely on: every executor pins one BLAS thread, so runs agree bit for bit.
    # (Different thread counts may differ in the last bits for large products; see threads.py.)
    first, second = _train(1), _train(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
