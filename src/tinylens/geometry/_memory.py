"""Giving freed memory back to the operating system, where the C library allows it.

A million regions are kept as a million small arrays (their codes, polygons and outputs, a
chunk at a time) among as many temporaries of the same sizes; glibc's allocator keeps the
pages of those it frees for later, so joining the chunks into one array, which frees them,
left a process's resident memory as high as before (measured on the whole MNIST plane in
docs/geometry.md). ``malloc_trim(0)`` hands whole free pages back. Elsewhere (macOS, Windows,
musl) :func:`trim` does nothing: their allocators decide for themselves.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

__all__ = ["trim"]


@cache
def _malloc_trim() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; absent from musl
    except (AttributeError, OSError):
        return None


def trim() -> bool:
    """Give free heap pages back to the system (glibc); return whether any were."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False  # type: ignore[operator]
