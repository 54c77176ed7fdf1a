"""Wall and CPU seconds of the study's stages. CPU seconds (this process) are what a stage costs
on a quiet machine, BLAS and OpenMP being limited to one thread; wall seconds add the waits of a
busy one."""

from __future__ import annotations

import time

__all__ = ["now", "since"]


def now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU) seconds since ``t0`` (from :func:`now`)."""
    return time.perf_counter() - t0[0], time.process_time() - t0[1]
