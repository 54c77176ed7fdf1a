"""Running a sweep: serially, on a local process pool, or on a Dask cluster; resumably.

The sweep directory is the sweep's memory::

    OUT/
      sweep.yaml          the spec (its name ties the directory to the sweep)
      runs/<run_id>.json  one record per finished run (ok or failed), written atomically
      results.csv         the collected table (and results.parquet with pyarrow)
      <metric>.png        plots; report.json (and index.html from the CLI)

Records are written by the process that launched the sweep, as each run finishes, so a killed
sweep loses only the runs in flight, and a re-run skips every run whose record says ``ok``
(failed runs are tried again). Results do not depend on where a run ran: the work function is
deterministic in its config, and BLAS is pinned to the same thread count everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tinylens._optional import require
from tinylens.errors import ConfigError
from tinylens.io.atomic import atomic_write_json, atomic_write_text
from tinylens.io.rundir import lock_output, recover_output, replace_dir, unlock_output
from tinylens.progress import progress
from tinylens.sweeps.results import SweepResult
from tinylens.sweeps.spec import RunSpec, SweepSpec
from tinylens.sweeps.work import execute, one_line, run_one
from tinylens.training.threads import limit_blas_threads, pin_blas_threads

__all__ = ["SweepStore", "run_sweep"]


class SweepStore:
    """The records of one sweep in its directory (see the module docstring).

    Parameters
    ----------
    path : path
    spec : SweepSpec
    force : bool
        Start over: the runs are stored in a fresh ``.NAME.partial`` beside ``path``, which
        replaces ``path`` only when the sweep completes (:meth:`commit`); killed early, the
        earlier sweep is intact.

    Raises
    ------
    ConfigError
        The directory holds something else (no ``sweep.yaml``) or another sweep (another
        name), and ``force`` is not set.
    """

    def __init__(self, path: str | os.PathLike[str], spec: SweepSpec, *, force: bool = False):
        self.path = self.final = Path(path)
        self.spec = spec
        marker = self.path / "sweep.yaml"
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"sweep output {self.path} is a file; choose a directory with --out")
        if self.path.is_dir() and any(self.path.iterdir()) and not force:
            if not marker.exists():
                raise ConfigError(
                    f"{self.path} exists and is not a sweep directory; choose another --out or "
                    "pass --force to replace it"
                )
            import yaml

            try:
                old = yaml.safe_load(marker.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                old = {}
            if old.get("name") != spec.name:
                raise ConfigError(
                    f"{self.path} holds sweep {old.get('name')!r}, not {spec.name!r}; choose "
                    "another --out or pass --force to start over"
                )
        if force and self.path.exists():
            self.path = self.final.parent / f".{self.final.name}.partial"
            if self.path.exists():
                shutil.rmtree(self.path)
        self.runs_dir = self.path / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        import yaml

        atomic_write_text(marker, yaml.safe_dump(spec.to_dict(), sort_keys=False))

    def commit(self) -> Path:
        """Move a forced sweep into place (replacing the earlier one); returns the final path."""
        if self.path != self.final:
            replace_dir(self.path, self.final)
            self.path = self.final
            self.runs_dir = self.path / "runs"
        return self.path

    def record_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    def read(self, run_id: str) -> dict[str, Any] | None:
        """The stored record of ``run_id``, or None (missing or unreadable)."""
        try:
            return json.loads(self.record_path(run_id).read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_done(self, run_id: str) -> bool:
        rec = self.read(run_id)
        return rec is not None and rec.get("status") == "ok"

    def write(self, run: RunSpec, record: dict[str, Any]) -> dict[str, Any]:
        """Store ``record`` (from the work function) with the run's seed, params and config."""
        full = {
            "run_id": run.run_id,
            "study": run.study,
            "seed": run.seed,
            "params": run.params,
            **{k: v for k, v in record.items() if k != "run_id"},
            "config": run.config,
        }
        atomic_write_json(self.record_path(run.run_id), full)
        return full


def _payload(run: RunSpec, blas_threads: int | None) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "study": run.study,
        "config": run.config,
        "blas_threads": blas_threads,
    }


def _lost(run: RunSpec, exc: BaseException) -> dict[str, Any]:
    """The record of a run whose worker failed (died, was killed, lost its connection)."""
    return {
        "run_id": run.run_id,
        "status": "failed",
        "metrics": {},
        "error": f"worker failed: {one_line(exc)}",
        "seconds": None,
    }


def _serial(
    todo: Sequence[RunSpec], threads: int | None
) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    # In this process: limit BLAS for the loop only, and give it back afterwards.
    with limit_blas_threads(threads):
        for run in todo:
            yield run, execute(_payload(run, threads))


def _local(
    todo: Sequence[RunSpec], threads: int | None, workers: int
) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    import multiprocessing

    # NOTE: "spawn", not fork: a fresh interpreter per worker inherits no threads, locks or
    # BLAS state from this process, and behaves the same on Linux, macOS and Windows.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=pin_blas_threads, initargs=(threads,)
    ) as pool:
        futures = {pool.submit(run_one, _payload(run, threads)): run for run in todo}
        for fut in as_completed(futures):
            run = futures[fut]
            try:
                yield run, fut.result()
            except Exception as exc:  # the worker died (BrokenProcessPool) or similar
                yield run, _lost(run, exc)


def _connect(scheduler: Any) -> tuple[Any, bool]:
    """``(client, owned)``: a new client for an address (closed by us), or the one given."""
    if not isinstance(scheduler, str):
        return scheduler, False
    distributed = require("distributed", feature="--scheduler")  # an extra: tinylens[dask]
    try:
        return distributed.Client(scheduler, timeout="20s"), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler} ({one_line(exc)}); start one "
            "with 'dask scheduler' and workers with 'dask worker ADDRESS'"
        ) from None


def _dask(
    todo: Sequence[RunSpec], threads: int | None, client: Any
) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    import distributed

    tag = uuid.uuid4().hex[:8]  # a fresh key per launch: a retry must not hit a cached result
    futures = {
        client.submit(
            run_one, _payload(run, threads), key=f"tinylens-{run.run_id}-{tag}", pure=False
        ): run
        for run in todo
    }
    for fut in distributed.as_completed(list(futures)):
        run = futures[fut]
        try:
            yield run, fut.result()
        except Exception as exc:  # a worker died or the task was lost
            yield run, _lost(run, exc)
        finally:
            fut.release()


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    quiet: bool = False,
) -> SweepResult:
    """Run the runs of ``spec`` that are not done yet, store each record, collect the table.

    Parameters
    ----------
    spec : SweepSpec
    out : path
        The sweep directory (created; reused to resume).
    workers : int, optional
        Local worker processes (default: the number of cores); 1 runs serially in this process.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or a connected client: run there instead.
    force : bool
        Forget stored records and run everything again.
    quiet : bool

    Returns
    -------
    SweepResult
        The table (one row per run, in expansion order) with what ran now and what was skipped.
    """
    runs = spec.expand()
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    # Connect before touching the directory: an unreachable scheduler leaves nothing behind.
    client, owned = _connect(scheduler) if scheduler is not None else (None, False)
    out = Path(out)
    lock = None
    try:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            lock = lock_output(out)
            recover_output(out)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the sweep directory {out}: {exc.strerror or exc}; choose "
                "another --out"
            ) from None
        store = SweepStore(out, spec, force=force)
        todo = [r for r in runs if not store.is_done(r.run_id)]
        threads = spec.blas_threads
        source: Iterator[tuple[RunSpec, dict[str, Any]]]
        if not todo:
            source, where = iter(()), "nothing to run"
        elif client is not None:
            source = _dask(todo, threads, client)
            where = f"dask ({scheduler if isinstance(scheduler, str) else 'client'})"
        elif workers == 1 or len(todo) <= 1:
            source, where = _serial(todo, threads), "serial"
        else:
            source = _local(todo, threads, min(workers, len(todo)))
            where = f"{min(workers, len(todo))} local processes"
        failed_now = 0
        with progress(len(todo), f"sweep {spec.name}", quiet=quiet) as bar:
            for run, record in source:
                store.write(run, record)
                failed_now += record["status"] != "ok"
                bar.update(status=f"{failed_now} failed" if failed_now else "")
                bar.advance()
        records = [store.read(r.run_id) for r in runs]
        result = SweepResult(
            spec=spec,
            runs=runs,
            records=[r for r in records if r is not None],
            path=store.path,
            ran=len(todo),
            skipped=len(runs) - len(todo),
            executor=where,
        )
        result.save()
        result.path = store.commit()
    except BaseException:
        if lock is not None:  # ours to clean; never another run's (it holds the lock)
            _discard_forced(out, force)
        raise
    finally:
        unlock_output(out, lock)
        if owned:
            client.close()
    return result


def _discard_forced(out: Path, force: bool) -> None:
    """After an error, remove a forced sweep's unfinished ``.NAME.partial``: the next run
    (forced again, or resuming the earlier sweep at ``out``) never reads it, and on a full disk
    it would keep the disk full. The earlier sweep at ``out`` stays as it was."""
    if force:
        shutil.rmtree(out.parent / f".{out.name}.partial", ignore_errors=True)
