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


# -- the thread policy of fit (issue 18) ----------------------------------------------------------
def _threads_seen_by_fit(net, X, y, batch: int, **kw) -> list[int]:
    from tinylens.training import LambdaCallback

    seen: list[int] = []
    cb = LambdaCallback(on_epoch_end=lambda *a: seen.append(min(_blas_threads())))
    cfg = TrainConfig(epochs=1, batch_size=batch, loss="mse")
    fit(net, (X, y), cfg, rng=0, quiet=True, callbacks=[cb], **kw)
    return seen


def test_fit_trains_small_networks_on_one_thread_and_restores_the_count():
    from tinylens.training.threads import blas_threads_for

    assert blas_threads_for([784, 32, 16, 10], 512) == 1  # 12.8 M multiply-adds
    assert blas_threads_for([784, 256, 10], 512) == 2  # 103 M
    assert blas_threads_for([784, 256, 10], 512, limit=1) == 1
    X = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    before = _blas_threads()
    with limit_blas_threads(2):
        assert _threads_seen_by_fit(MLP([8, 4, 1], rng=0), X, X[:, :1], 32) == [1]
        # large products: two threads, and never more than the limit in force (a sweep's pin)
        wide = MLP([8, 250_000, 1], rng=0)  # 64 x 8 x 250,000 = 128 M
        assert _threads_seen_by_fit(wide, X, X[:, :1], 64) == [min(2, min(_blas_threads()))]
    with limit_blas_threads(1):
        assert _threads_seen_by_fit(wide, X, X[:, :1], 64) == [1]
        assert _threads_seen_by_fit(MLP([8, 4, 1], rng=0), X, X[:, :1], 32, blas_threads=2) == [2]
    assert _blas_threads() == before


def test_fit_refuses_a_bad_thread_count():
    from tinylens.errors import ConfigError

    X = np.zeros((8, 2), dtype=np.float32)
    for bad in (0, -1, 1.5, "many", True):
        with pytest.raises(ConfigError, match="blas_threads must be"):
            fit(MLP([2, 1], rng=0), (X, X[:, :1]), TrainConfig(epochs=1), blas_threads=bad)


def test_the_threadpool_controller_is_kept_until_a_module_is_imported(monkeypatch):
    """fit asks threadpoolctl twice per run; scanning the loaded libraries each time cost
    ~1 ms. The cached controller must be remade when an import may have loaded a library."""
    import sys
    import types

    from tinylens.training import threads

    first = threads._controller()
    assert threads._controller() is first
    monkeypatch.setitem(sys.modules, "_tinylens_fake_import", types.ModuleType("fake"))
    second = threads._controller()
    assert second is not first and threads._controller() is second
    with limit_blas_threads(1):  # and the cached controller still limits and restores
        assert all(n == 1 for n in _blas_threads())
        assert threads.current_blas_threads() == 1
