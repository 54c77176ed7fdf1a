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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["limit_blas_threads", "pin_blas_threads"]


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
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=int(n)):
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
