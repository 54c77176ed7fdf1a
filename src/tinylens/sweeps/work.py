"""The work function of a sweep: one run in, one record out, on any worker.

:func:`run_one` is a top-level function of plain dicts, so a process pool and Dask can pickle
it (by reference) and its payload. It never raises for a failing run: the failure is the
run's result, recorded with a one-line error, and the other runs go on.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from tinylens.errors import TinylensError
from tinylens.training.threads import pin_blas_threads

__all__ = ["execute", "one_line", "run_one"]


def one_line(exc: BaseException) -> str:
    """``exc`` as one line: the message of a TinylensError, else ``Type: message``."""
    text = " ".join(str(exc).split())
    if isinstance(exc, TinylensError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    """Build and run the study of ``payload`` here; return the record (status ok or failed).

    ``payload`` has ``run_id``, ``study`` and ``config`` (the resolved study config).
    """
    from tinylens.sweeps.registry import sweep_study

    t0, c0 = time.perf_counter(), time.process_time()
    metrics: dict[str, float] = {}
    error = None
    try:
        study = sweep_study(payload["study"])
        metrics = study.run(study.build(payload["config"]))
        status = "ok"
    except Exception as exc:  # a run's failure is its result; the sweep goes on
        status, error = "failed", one_line(exc)
    return {
        "run_id": payload["run_id"],
        "status": status,
        "metrics": metrics,
        "error": error,
        "seconds": time.perf_counter() - t0,
        # CPU time of the whole process: with one task per process (pool, Dask process
        # workers) cpu_seconds / seconds is the share of a core this run got.
        "cpu_seconds": time.process_time() - c0,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def run_one(payload: dict[str, Any]) -> dict[str, Any]:
    """:func:`execute` in a worker process, with BLAS pinned to ``payload["blas_threads"]``.

    Pinning is per process and permanent (a worker does nothing else), so concurrent tasks in
    one worker cannot undo each other's limit.
    """
    pin_blas_threads(payload.get("blas_threads", 1))
    return execute(payload)
