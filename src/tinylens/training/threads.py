"""How many threads BLAS may use while small networks train.

A tinylens network multiplies small matrices (a 64 x 784 batch by a 784 x 128 weight). For
those a multi-threaded BLAS gains little on a quiet machine and loses badly on a busy one: its
threads spin-wait for a core, and on a shared 2-core box a 20-epoch run of a 64-128-64-10 MLP
took 4 s with OpenBLAS's 2 threads against 0.07 s with 1 (measured while another process kept
one core busy).

The thread count can change the last bits of a result: for large enough products OpenBLAS
splits the work differently with 1 and 2 threads (an 8000 x 784 by 784 x 32 float32 product
differed in 79% of its entries, by up to 3e-5 on values up to 69; float64 by 2e-14). Results
are reproducible bit for bit at a fixed thread count, which is why every sweep executor (serial,
local processes, Dask) pins the same count: the same sweep then gives the same numbers anywhere.

Studies that train many small networks, and every sweep worker, run inside
:func:`limit_blas_threads` (one thread by default), which also makes parallel speed-ups honest:
each process gets one core's worth of BLAS.

The policy (:func:`blas_threads_for`, applied by ``fit`` to every engine network): one thread
unless the largest matrix product of a training step has at least :data:`LARGE_PRODUCT`
multiply-adds, then :data:`LARGE_THREADS`; never more than the limit already in force (a sweep
worker's pin stays). Measured when issue 18 was filed (2-core machine, quiet): the
784-32-16-10 MLP trained 1.2x faster on one thread than on two at batch 64 and 2.3x at batch
512; on a busy machine two threads cost up to 14x. Re-measured after the engine's step lost its
per-step overheads (``python benchmarks/threads.py``, 3 December 2026, load average 0.3, and
``--widths 16,32,64,96 --batches 64,128,512``): on the quiet machine two threads are now faster
from about 1.6 M multiply-adds on (1.1x to 1.6x below the cut-off, 1.6x to 1.8x above it), while
the same script with one other job running lost with two threads in 8 of 10 rows, by up to 39x.
We keep one thread below the cut-off: a small network gives up at most ~1.6x on an idle machine
rather than risk a many-fold loss on a shared one; ``fit(..., blas_threads=2)`` takes the gain.
``benchmarks/threads.py`` checks the cut-off from both sides in one run: the step time at one
and two threads for products from 6 M to 822 M multiply-adds, and per side whether the ratios
agree with :data:`LARGE_PRODUCT` (run it on a quiet machine before moving it). The count
depends only on the network's widths, the batch size and the limit in force, never on the
machine's load or core count, so a given config trains to the same bits every time on a given
BLAS; pass ``fit(..., blas_threads=N)`` to fix it outright (``None`` leaves BLAS alone).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = [
    "LARGE_PRODUCT",
    "LARGE_THREADS",
    "blas_threads_for",
    "current_blas_threads",
    "limit_blas_threads",
    "pin_blas_threads",
]

# Our choice, from the measurements above: from here two threads gained 1.6x-1.8x on the quiet
# machine, enough to take the risk of a busy one; re-measure with benchmarks/threads.py.
LARGE_PRODUCT = 100_000_000
# Threads for large products: a constant (not the core count), so that results do not depend
# on the machine's size; 2 is what the development machine has.
LARGE_THREADS = 2


def blas_threads_for(sizes: Sequence[int], batch: int, *, limit: int | None = None) -> int:
    """BLAS threads for training a network of layer widths ``sizes`` at ``batch`` samples.

    1 when the largest product, ``batch * sizes[i] * sizes[i + 1]`` multiply-adds, is below
    :data:`LARGE_PRODUCT`, else :data:`LARGE_THREADS`; at most ``limit`` (the count in force).

    >>> blas_threads_for([784, 32, 16, 10], 512)
    1
    >>> blas_threads_for([784, 1024, 10], 512, limit=8)
    2
    """
    largest = max((batch * a * b for a, b in itertools.pairwise(sizes)), default=0)
    n = 1 if largest < LARGE_PRODUCT else LARGE_THREADS
    return max(1, min(n, limit)) if limit is not None else n


_CONTROLLER: list[tuple[int, Any]] = []  # [(len(sys.modules) when made, the controller)]


def _controller() -> Any:
    """A threadpoolctl ``ThreadpoolController``, made again only when modules were imported.

    NOTE: making one scans every loaded shared library (~0.6 ms, more on a busy machine), and
    ``fit`` needs it twice; a thread pool only appears with a newly loaded library, which only
    an import brings, so a cached controller is current while ``sys.modules`` has not grown.
    """
    from threadpoolctl import ThreadpoolController

    key = len(sys.modules)
    if not _CONTROLLER or _CONTROLLER[0][0] != key:
        _CONTROLLER[:] = [(key, ThreadpoolController())]
    return _CONTROLLER[0][1]


def current_blas_threads() -> int | None:
    """The smallest thread count of the loaded BLAS libraries (None without threadpoolctl or
    BLAS)."""
    try:
        controller = _controller()
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    counts = [int(c.num_threads) for c in controller.select(user_api="blas").lib_controllers]
    return min(counts) if counts else None


@contextlib.contextmanager
def limit_blas_threads(n: int | None = 1) -> Iterator[None]:
    """Limit BLAS (and OpenMP) thread pools to ``n`` threads inside the block.

    ``None`` leaves them alone. Without :mod:`threadpoolctl` this does nothing.

    >>> with limit_blas_threads(1):
    ...     pass
    """
    if n is None:
        yield
        return
    try:
        controller = _controller()
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with controller.limit(limits=int(n)):
        yield


_PINNED: list[int | None] = []


def pin_blas_threads(n: int | None = 1) -> None:
    """Limit BLAS to ``n`` threads for the rest of this process (for worker processes).

    Idempotent; ``None`` does nothing. Unlike :func:`limit_blas_threads` nothing is restored,
    so concurrent tasks in one worker cannot undo each other's limit.
    """
    if n is None or [n] == _PINNED:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(limits=int(n))
    _PINNED[:] = [n]
