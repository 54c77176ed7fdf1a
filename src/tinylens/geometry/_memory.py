"""Giving freed memory back to the operating system, where the C library allows it.

A million regions are kept as a million small arrays (their codes, polygons and outputs, a
chunk at a time) among as many temporaries of the same sizes; glibc's allocator keeps the
pages of those it frees for later, so joining the chunks into one array, which frees them,
left a process's resident memory as high as before (measured on the whole MNIST plane in
docs/geometry.md). :func:`join_freeing` frees each chunk once copied, and ``malloc_trim(0)``
hands whole free pages back. Elsewhere (macOS, Windows, musl) :func:`trim` does nothing:
their allocators decide for themselves.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

import numpy as np

__all__ = ["TRIM_EVERY", "join_freeing", "trim"]

TRIM_EVERY = 256 * 2**20
"""Bytes of chunks :func:`join_freeing` frees before giving their pages back (our choice: a
few calls per gigabyte, each a walk over the allocator's free lists)."""


def join_freeing(chunks: list[np.ndarray]) -> np.ndarray:
    """The chunks' rows in one array, emptying the list as they are copied (last first) and
    giving the freed pages back every :data:`TRIM_EVERY` bytes, so that the codes of a
    million regions (1.8 GB packed on the MNIST CNN) are not held twice, as
    :func:`numpy.concatenate` of a live list holds them. The caller must hold no other
    reference to the chunks."""
    out = np.empty((sum(len(x) for x in chunks), *chunks[0].shape[1:]), dtype=chunks[0].dtype)
    end, freed = len(out), 0
    while chunks:
        x = chunks.pop()
        out[end - len(x) : end] = x
        end, freed = end - len(x), freed + x.nbytes
        del x
        if freed >= TRIM_EVERY or not chunks:
            trim()
            freed = 0
    return out


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
