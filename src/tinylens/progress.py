"""Progress bars for long work: a rich bar on an interactive terminal, silence otherwise.

Library code reports progress through :func:`progress`; whether anything is drawn is decided
here, once: never when ``quiet``, never when stderr is not a terminal (CI, pipes, notebooks
capturing output) and never when ``TINYLENS_QUIET`` is set.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["Progress", "progress", "progress_enabled"]


def progress_enabled(quiet: bool = False) -> bool:
    if quiet or os.environ.get("TINYLENS_QUIET"):
        return False
    return sys.stderr.isatty()


class Progress:
    """A task handle: ``advance(n)``, ``update(total=..., description=...)``; no-op if disabled."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task

    def advance(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def update(self, **fields: Any) -> None:
        if self._bar is not None:
            self._bar.update(self._task, **fields)


_ACTIVE: list[Any] = []  # the rich bar on screen, so nested work adds a row instead of a bar


@contextlib.contextmanager
def progress(total: float | None, description: str, *, quiet: bool = False) -> Iterator[Progress]:
    """Show a bar for ``total`` units of work described by ``description``.

    Nested calls (a study calling ``fit``) add a row to the bar already on screen.

    >>> with progress(3, "demo", quiet=True) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    """
    if not progress_enabled(quiet):
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
