"""Progress of a CNN plane's enumeration (:mod:`tinylens.geometry.conv_slice`): the share of
the domain's area whose regions are final and the regions so far, shown from the calling
thread while worker threads enumerate (:mod:`tinylens.progress`: a bar, a notebook table or
log lines)."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, wait

__all__: list[str] = []


class _AreaProgress:
    """Progress of an enumeration as the share of the domain's area whose regions are final
    (depth first, so it grows steadily), opened once it has run ``after`` seconds
    (:data:`~tinylens.geometry.conv_slice.PROGRESS_AFTER_S`)."""

    def __init__(self, total_area: float, quiet: bool, after: float) -> None:
        self.total, self.quiet, self.after = total_area, quiet, after
        self.area, self.regions = 0.0, 0
        self.start = time.monotonic()
        self.stack = contextlib.ExitStack()
        self.bar: object = None
        self.shown = 0.0
        self.lock = threading.Lock()
        self.owner = threading.current_thread()

    def __enter__(self) -> _AreaProgress:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None and self.bar is not None:  # finished: the areas tile the domain
            self.bar.update(completed=100, status=f"{self.regions:,} regions")  # type: ignore[attr-defined]
        self.stack.close()  # also on an error: no bar is left open for later work

    def add(self, area: float, regions: int) -> None:
        """Count finished regions (from any thread); shown from the calling thread."""
        with self.lock:
            self.area += area
            self.regions += regions
        self.tick()

    def tick(self) -> None:
        """Show progress (from the calling thread only; also from inside one long cut, so a
        plane whose first layer alone takes seconds shows its bar in time)."""
        if threading.current_thread() is self.owner:
            self.show()

    def show(self) -> None:
        if self.quiet:
            return
        if self.bar is None:
            if time.monotonic() - self.start < self.after:
                return
            from tinylens.progress import progress

            self.bar = self.stack.enter_context(progress(100, "regions (% of the area done)"))
        with self.lock:
            area, regions = self.area, self.regions
        done = min(100.0, 100.0 * area / self.total)
        self.bar.update(status=f"{regions:,} regions")  # type: ignore[attr-defined]
        if done > self.shown:
            self.bar.advance(done - self.shown)  # type: ignore[attr-defined]
        else:  # a long cut before any region is final: a log still hears from it
            self.bar.heartbeat()  # type: ignore[attr-defined]
        self.shown = done


PROGRESS_POLL_S = 1.0
"""How often the calling thread shows progress while workers run."""


def _wait_showing(futures: list, shown: _AreaProgress) -> None:
    """Wait for ``futures``, showing progress every :data:`PROGRESS_POLL_S`; the first
    error raises at once."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, PROGRESS_POLL_S, FIRST_EXCEPTION)
        shown.show()
        for future in done:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
