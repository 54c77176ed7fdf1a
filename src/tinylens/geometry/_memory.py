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

__all__ = ["TRIM_EVERY", "join_freeing", "permute_rows", "trim"]

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


def permute_rows(a: np.ndarray, order: np.ndarray, block: int = 4096) -> None:
    """Reorder the rows of ``a`` in place: row ``i`` becomes the old ``a[order[i]]``, as
    ``a[:] = a[order]`` would, holding at most ``2 * block`` rows more, not a second ``a``
    (a region set orders a million packed codes, 1.8 GB on the MNIST CNN, this way).

    Each cycle of ``order`` (``i``, ``order[i]``, ``order[order[i]]``, ...) shifts by one:
    its positions are written in that order, each from the next, which is still unwritten,
    and the last from the first's old row, saved before. Cycles go in groups of up to
    ``block``, each group's positions in blocks of ``block`` rows.

    >>> a = np.arange(6)[:, None] * 10
    >>> permute_rows(a, np.array([2, 0, 1, 3, 5, 4]), block=2)
    >>> a.ravel().tolist()
    [20, 0, 10, 30, 50, 40]
    """
    order = np.asarray(order)
    n = len(a)
    # each row once (a count, 20 ms on a million rows; a sort of them took 0.8 s)
    inside = len(order) == n and (not n or (order.min() >= 0 and order.max() < n))
    if not (inside and (np.bincount(order, minlength=n) == 1).all()):
        raise ValueError("order must be a permutation of the rows")
    nxt = order.tolist()
    seen = bytearray(n)
    seq: list[int] = []  # the positions of a group's cycles, one cycle after another
    starts: list[int] = []  # where each cycle starts in seq
    for i in range(n):
        if seen[i] or nxt[i] == i:
            continue
        starts.append(len(seq))
        j = i
        while not seen[j]:
            seen[j] = 1
            seq.append(j)
            j = nxt[j]
        if len(starts) >= block:
            _shift_cycles(a, seq, starts, block)
            seq, starts = [], []
    if starts:
        _shift_cycles(a, seq, starts, block)


def _shift_cycles(a: np.ndarray, seq: list[int], starts: list[int], block: int) -> None:
    """Shift each cycle of ``seq`` (cycles one after another, each from ``starts``) by one."""
    s, first = np.array(seq), np.array(starts)
    last = np.append(first[1:], len(s)) - 1
    src = np.empty_like(s)
    src[:-1] = s[1:]  # each position takes the next one's row (unwritten yet)...
    src[last] = s[first]  # (read, then replaced below: that row is written already)
    is_last = np.zeros(len(s), dtype=bool)
    is_last[last] = True
    saved = a[s[first]]  # ...except a cycle's last, which takes its first's old row
    for lo in range(0, len(s), block):
        rows = a[src[lo : lo + block]]
        ends = np.flatnonzero(is_last[lo : lo + block])
        rows[ends] = saved[np.searchsorted(last, lo + ends)]
        a[s[lo : lo + block]] = rows


def trim() -> bool:
    """Give free heap pages back to the system (glibc); return whether any were."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False  # type: ignore[operator]
