"""Run directories: where a study writes its config, metrics, weights and figures.

A run is written into a hidden sibling ``.NAME.partial`` and moved into place by
:meth:`RunDir.finish`, so a crash never leaves a half-written run where a finished one is
expected, and an earlier run at the same path survives until the new one is complete. An
existing directory is replaced only with ``force=True``.

A new run starts from an empty ``.partial`` directory, so nothing an interrupted run wrote can
leak into it, unless the caller asks to ``resume``: then the files of the interrupted run stay
(``tinylens train`` keeps its checkpoint there, and a killed run resumes from it).

Two runs cannot share an output: a run holds an exclusive lock on ``.NAME.lock`` from start to
finish, and a second run with the same path is refused ("in use"). Replacing an earlier run
moves it to ``.NAME.old`` before the new one moves in; a run killed between those two renames
is repaired by the next run at that path (the earlier run is put back, or ``.NAME.old``
removed when the new run had already moved in).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tinylens.errors import ConfigError
from tinylens.io.atomic import atomic_path, atomic_write_json, atomic_write_text

__all__ = [
    "RunDir",
    "lock_output",
    "recover_output",
    "replace_dir",
    "save_figure",
    "unlock_output",
]


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Save a matplotlib figure to ``path`` (PNG, or by the suffix) atomically; then free it.

    Every figure tinylens writes goes through here. NOTE: our figures (constrained layout,
    made without pyplot) are drawn once, straight onto an Agg canvas whose pixels become the
    PNG: ``savefig`` draws a laid-out figure twice (a layout pass, then the real one), and
    ``bbox_inches="tight"`` added a tight-box pass on top (issue 18: saving figures was 64% of
    ``tinylens demo --quick``). A figure without a layout engine is still cropped tight, and
    one that pyplot manages (a user's) or another format goes through ``savefig``.
    """
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    laid_out = fig.get_layout_engine() is not None
    managed = getattr(fig.canvas, "manager", None) is not None
    with atomic_path(target) as tmp:
        if fmt == "png" and laid_out and not managed:
            _draw_png_once(fig, tmp, dpi)
        else:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches=None if laid_out else "tight")
    fig.clf()
    # A figure made with pyplot is registered there and must be closed; ours are not, and
    # importing pyplot costs ~0.4 s.
    if managed:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return target


def _draw_png_once(fig: Any, path: Path, dpi: int) -> None:
    """One draw (the layout runs inside it) onto an Agg canvas, written as PNG as ``savefig``
    writes it (``matplotlib.image.imsave`` of the canvas's RGBA buffer)."""
    import matplotlib
    import matplotlib.image as mimage
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    mimage.imsave(
        path,
        canvas.buffer_rgba(),
        format="png",
        origin="upper",
        dpi=dpi,
        metadata={
            "Software": f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"
        },
    )


class RunDir:
    """An output directory under construction.

    Parameters
    ----------
    path : str or Path
        Where the finished run will live.
    force : bool
        Replace an existing, non-empty ``path`` when the run finishes.
    resume : bool
        Keep the files of an interrupted run (``.NAME.partial``) so its checkpoint can be
        resumed; by default the run starts empty.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> run = RunDir(root / "demo")
    >>> _ = run.write_json("metrics.json", {"accuracy": 0.9})
    >>> run.finish().name, (root / "demo" / "metrics.json").exists()
    ('demo', True)
    """

    def __init__(self, path: str | os.PathLike[str], *, force: bool = False, resume: bool = False):
        self.path = Path(path)
        self.parent: RunDir | None = None
        self.finished = False
        self._lock: int | None = None
        _refuse_unsafe(self.path)
        self.work = self.path.parent / f".{self.path.name}.partial"
        if self.path.exists() and not self.path.is_dir():  # before anything is created
            raise ConfigError(f"output path {self.path} is a file; choose a directory with --out")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = lock_output(self.path)
            recover_output(self.path)
            if self.path.exists() and not self.path.is_dir():
                raise ConfigError(
                    f"output path {self.path} is a file; choose a directory with --out"
                )
            if self.path.is_dir() and any(self.path.iterdir()) and not force:
                raise ConfigError(
                    f"output directory {self.path} already exists; pass --force to replace it "
                    "or choose another --out"
                )
            if self.work.exists() and not resume:
                shutil.rmtree(self.work)
            self.work.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.close()
            raise ConfigError(
                f"cannot create the output directory {self.path}: {_why(self.path, exc)}; "
                "choose another --out"
            ) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the lock on the output path (finishing, or giving up after an error)."""
        unlock_output(self.path, self._lock)
        self._lock = None

    def child(self, name: str) -> RunDir:
        """A run nested in this one (``name/``), with the same API, moved into place with it.

        The demo writes each study into a child, so every study keeps its own report and files.
        """
        sub = RunDir.__new__(RunDir)
        sub.path, sub.work = self.path / name, self.work / name
        if sub.work.exists():
            shutil.rmtree(sub.work)
        sub.work.mkdir(parents=True)
        sub.finished, sub.parent, sub._lock = False, self, None
        return sub

    # -- writing --------------------------------------------------------------------------------
    def file(self, relpath: str) -> Path:
        """The path of ``relpath`` inside the run being written (parents created)."""
        p = self.work / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_text(self, relpath: str, text: str) -> Path:
        return atomic_write_text(self.file(relpath), text)

    def write_json(self, relpath: str, obj: Any) -> Path:
        return atomic_write_json(self.file(relpath), obj)

    def write_yaml(self, relpath: str, obj: Any) -> Path:
        import yaml

        return atomic_write_text(self.file(relpath), yaml.safe_dump(obj, sort_keys=False))

    def write_csv(self, relpath: str, rows: Iterable[Sequence[Any]], header: Sequence[str]) -> Path:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return atomic_write_text(self.file(relpath), buf.getvalue())

    def save_figure(self, relpath: str, fig: Any, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure (PNG, or by the suffix) atomically, and close it."""
        return save_figure(fig, self.file(relpath), dpi=dpi)

    def save_weights(self, relpath: str, net: Any, info: dict[str, Any] | None = None) -> Path:
        from tinylens.io.weights import save

        return save(net, self.file(relpath), info=info)

    def add_section(self, section: Any, *, title: str | None = None) -> Path:
        """Append a :class:`~tinylens.io.sections.Section` to this run's ``report.json``."""
        import json

        path = self.file("report.json")
        data = json.loads(path.read_text()) if path.exists() else {"title": "", "sections": []}
        data["sections"] = [s for s in data["sections"] if s.get("id") != section.id]
        data["sections"].append(section.to_dict())
        if title is not None:
            data["title"] = title
        return atomic_write_json(path, data)

    # -- completion -----------------------------------------------------------------------------
    def discard(self) -> None:
        """Remove the unfinished files (after an error); the earlier run, if any, stays."""
        if self.finished or self.parent is not None:  # a child goes with its parent
            return
        shutil.rmtree(self.work, ignore_errors=True)

    def finish(self) -> Path:
        """Move the finished run into place (replacing an old one if forced); returns its path."""
        if self.finished or self.parent is not None:  # a child moves with its parent
            return self.path
        replace_dir(self.work, self.path)
        self.finished = True
        self.close()
        return self.path

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.finish()
            # On error the partial directory stays: its checkpoints let the next run resume.
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"RunDir({os.fspath(self.path)!r})"


def _why(path: Path, exc: OSError) -> str:
    """What stops ``path`` from being created, in words: a file where a directory must be."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a directory"
    return str(exc.strerror or exc)


def _old(path: Path) -> Path:
    return path.parent / f".{path.name}.old"


def replace_dir(new: Path, path: Path) -> None:
    """Move the directory ``new`` to ``path``, replacing what is there; recoverable by
    :func:`recover_output` if killed half-way (the earlier directory waits in ``.NAME.old``)."""
    old = _old(path)
    if path.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(path, old)
    os.replace(new, path)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def recover_output(path: Path) -> None:
    """Repair what a run killed inside :func:`replace_dir` left (called under the lock)."""
    leftovers = [_old(path), *path.parent.glob(f".{glob.escape(path.name)}.old-*")]
    for old in leftovers:
        if not old.is_dir():
            continue
        if path.exists():  # the new run had moved in: the earlier one is obsolete
            shutil.rmtree(old, ignore_errors=True)
        else:  # killed between the two renames: put the earlier run back
            os.replace(old, path)


def _refuse_unsafe(path: Path) -> None:
    """Refuse outputs whose replacement would destroy what the user is standing in."""
    if path.name in ("", ".", ".."):
        raise ConfigError(
            f"--out {os.fspath(path)!r} is not a new directory's name; give one, e.g. runs/demo"
        )
    resolved = path.resolve()
    if Path.cwd().resolve().is_relative_to(resolved):
        raise ConfigError(
            f"--out {os.fspath(path)!r} is the current directory or one holding it; a run "
            "replaces its output directory, so choose a new one, e.g. runs/demo"
        )


def _lock_path(path: Path) -> Path:
    return path.parent / f".{path.name}.lock"


def unlock_output(path: Path, fd: int | None) -> None:
    """Release :func:`lock_output`'s lock (and remove its file)."""
    if fd is None:
        return
    # Unlinking before unlocking is safe: a waiter checks it locked the file that is there
    # (see lock_output), so nobody keeps a lock on a deleted file.
    with contextlib.suppress(OSError):
        os.unlink(_lock_path(path))
    os.close(fd)


def lock_output(path: Path) -> int | None:
    """An exclusive lock on ``.NAME.lock`` beside ``path``, or ConfigError "in use"."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, no protection
        return None
    lock_path = _lock_path(path)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"output directory {path} is in use by another tinylens run; wait for it to "
                "finish or choose another --out"
            ) from None
        # NOTE: the holder before us may have deleted the lock file after we opened it; a lock
        # on a deleted file protects nothing, so check that we locked the file that is there.
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
