"""Progress of long work: a bar in a terminal or a notebook, one line per step in a log.

Library code reports progress through :func:`progress`; how it is shown is decided here, once,
by :func:`progress_mode`:

* ``"off"``: when ``quiet``, inside :func:`silenced`, or when ``TINYLENS_QUIET`` is set;
* ``"notebook"``: inside a Jupyter kernel, an HTML table of bars updated in place (an IPython
  display handle; at most one redraw per :data:`NOTEBOOK_INTERVAL_S`);
* ``"terminal"``: when stderr is a terminal, a rich bar (nested work adds a row);
* ``"lines"``: otherwise (a pipe, a log file, CI), one line on stderr per finished step of the
  outermost task, at most one per :data:`LINE_INTERVAL_S` seconds, plus a last line when the
  task ends. Work that ends within the interval prints nothing, as before. Long work that
  finishes no step for a while says it is alive with :meth:`Progress.heartbeat` (the same
  line, at most one per interval).
"""

from __future__ import annotations

import contextlib
import html
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

__all__ = [
    "LINE_INTERVAL_S",
    "NOTEBOOK_INTERVAL_S",
    "Progress",
    "progress",
    "progress_enabled",
    "progress_mode",
    "silenced",
]

# Our choices: a log gets a line every few seconds (a minute of work is a dozen lines, not
# thousands); a notebook redraws five times a second (each redraw is a message to the browser).
LINE_INTERVAL_S = 5.0
NOTEBOOK_INTERVAL_S = 0.2


def _in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell); IPython not imported."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


_SILENCED = [0]  # how many silenced() blocks are open


@contextlib.contextmanager
def silenced(on: bool = True) -> Iterator[None]:
    """No progress from anything called inside (when ``on``): for work asked to be quiet
    that calls functions without a ``quiet`` of their own (a CLI's ``--quiet`` around
    ``linear_regions`` on a CNN's planes, say)."""
    _SILENCED[0] += on
    try:
        yield
    finally:
        _SILENCED[0] -= on


def progress_mode(quiet: bool = False) -> str:
    """``"off"``, ``"notebook"``, ``"terminal"`` or ``"lines"`` (see the module docstring)."""
    if quiet or _SILENCED[0] or os.environ.get("TINYLENS_QUIET"):
        return "off"
    if _in_notebook():
        return "notebook"
    return "terminal" if sys.stderr.isatty() else "lines"


def progress_enabled(quiet: bool = False) -> bool:
    """Whether :func:`progress` shows anything at all."""
    return progress_mode(quiet) != "off"


class Progress:
    """A task handle: ``advance(n)``, ``update(total=..., description=..., status=...)``; a no-op
    when progress is off."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task

    def advance(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def update(self, **fields: Any) -> None:
        if self._bar is not None:
            self._bar.update(self._task, **fields)

    def heartbeat(self) -> None:
        """Work goes on but no step has finished: a log gets its line anyway (at most one per
        :data:`LINE_INTERVAL_S`), a notebook redraws (the elapsed time); a terminal's rich
        bar redraws on its own."""
        if isinstance(self._bar, _Board):
            self._bar._tick(self._task)


class _Board:
    """The tasks in progress (outermost first), drawn as lines or as a notebook table.

    It speaks rich's task protocol (``add_task``, ``advance``, ``update``, ``remove_task``), so a
    :class:`Progress` handle drives it exactly as it drives a rich bar.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.tasks: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.start = self.last = time.monotonic()
        self.printed = False
        self.handle: Any = None

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        self.next_id += 1
        self.tasks[self.next_id] = {
            "description": description,
            "total": total,
            "completed": 0.0,
            "status": "",
            "start": time.monotonic(),
            **fields,
        }
        return self.next_id

    def advance(self, task: int, n: float = 1) -> None:
        self.tasks[task]["completed"] += n
        if n:  # advance(0) (fit resuming at epoch 0) finished no step
            self._tick(task)

    def update(self, task: int, **fields: Any) -> None:
        self.tasks[task].update(fields)
        if self.mode == "notebook":
            self._tick(task)

    def remove_task(self, task: int) -> None:
        self.tasks.pop(task, None)

    def _tick(self, task: int) -> None:
        now = time.monotonic()
        interval = LINE_INTERVAL_S if self.mode == "lines" else NOTEBOOK_INTERVAL_S
        if now - self.last < interval:
            return
        if self.mode == "lines":
            t = self.tasks[task]
            if task != min(self.tasks):
                return  # a log follows the outermost task only
            if t["total"] and t["completed"] >= t["total"]:
                return  # the last step: finish() prints it, with the time taken
        self.last = now
        self._draw()

    def _draw(self) -> None:
        if self.mode == "lines":
            task = self.tasks[min(self.tasks)]
            print(_line(task, time.monotonic()), file=sys.stderr, flush=True)
            self.printed = True
        else:
            page = _table(list(self.tasks.values()), time.monotonic())
            if self.handle is None:
                from IPython.display import HTML, display

                self.handle = display(HTML(page), display_id=True)
            else:
                from IPython.display import HTML

                self.handle.update(HTML(page))

    def finish(self, task: int) -> None:
        """The outermost task ended: a last line (lines, if the work was long enough to print),
        or the finished table (notebook)."""
        now = time.monotonic()
        if self.mode == "lines":
            if self.printed or now - self.start >= LINE_INTERVAL_S:
                print(_line(self.tasks[task], now, done=True), file=sys.stderr)
        else:
            self._draw()


def _count(x: float) -> str:
    """Whole counts as they are (``12``), fractional ones to a tenth (``37.4``, a share)."""
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def _line(task: dict[str, Any], now: float, done: bool = False) -> str:
    """``training: 12/20 epochs (60%), 3.1 s, loss 0.12``; ``..., done in 5.2 s`` at the end."""
    total, completed = task["total"], task["completed"]
    share = f" ({100 * completed / total:.0f}%)" if total else ""
    count = f"{_count(completed)}/{_count(total)}" if total else _count(completed)
    seconds = now - task["start"]
    status = f", {task['status']}" if task.get("status") else ""
    when = f"done in {seconds:.1f} s" if done else f"{seconds:.1f} s"
    return f"{task['description']}: {count}{share}, {when}{status}"


def _table(tasks: list[dict[str, Any]], now: float) -> str:
    """The notebook's view: one row per task, an HTML ``<progress>`` bar each."""
    rows = []
    for t in tasks:
        total = t["total"] or 0
        bar = f"<progress value='{t['completed']:g}' max='{total:g}'></progress>" if total else ""
        count = f"{_count(t['completed'])}/{_count(total)}" if total else _count(t["completed"])
        status = html.escape(str(t.get("status", "")))
        rows.append(
            f"<tr><td>{html.escape(t['description'])}</td><td>{bar}</td><td>{count}</td>"
            f"<td>{now - t['start']:.1f} s</td><td>{status}</td></tr>"
        )
    return f"<table class='tinylens-progress'>{''.join(rows)}</table>"


_ACTIVE: list[Any] = []  # the bar or board on screen, so nested work adds a row instead of a bar


@contextlib.contextmanager
def progress(total: float | None, description: str, *, quiet: bool = False) -> Iterator[Progress]:
    """Show progress of ``total`` units of work described by ``description``.

    Nested calls (a study calling ``fit``) add a row to the bar already on screen.

    >>> with progress(3, "demo", quiet=True) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    """
    mode = progress_mode(quiet)
    if mode == "off":
        yield Progress()
        return
    if _ACTIVE:
        bar = _ACTIVE[-1]
        task = bar.add_task(description, total=total, status="")
        try:
            yield Progress(bar, task)
        finally:
            bar.remove_task(task)
        return
    if mode != "terminal":
        board = _Board(mode)
        task = board.add_task(description, total=total)
        _ACTIVE.append(board)
        try:
            yield Progress(board, task)
            board.finish(task)
        finally:
            _ACTIVE.pop()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with RichProgress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total, status="")
        _ACTIVE.append(bar)
        try:
            yield Progress(bar, task)
        finally:
            _ACTIVE.pop()
