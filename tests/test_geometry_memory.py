"""What a million-region plane leaves in memory (issue 15): the kept chunks are joined into one
array each freed as soon as it is copied, the freed pages handed back, and packed codes are
their own sort key (no second copy of them to order a region set:
test_geometry_image_regions_codes.py)."""

from __future__ import annotations

import platform
import sys
import weakref

import numpy as np

from tinylens.geometry import _memory


def test_join_equals_concatenate_and_frees_each_chunk_once_copied(monkeypatch):
    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, 255, (n, 5), dtype=np.uint8) for n in (3, 1, 4, 1, 5, 9, 2)]
    want = np.concatenate(chunks)
    alive = [weakref.ref(x) for x in chunks]
    seen = []  # at each trim: which chunks are still alive
    monkeypatch.setattr(_memory, "trim", lambda: seen.append([r() is not None for r in alive]))
    monkeypatch.setattr(_memory, "TRIM_EVERY", 2 * 5 * 4)  # every 8 rows of 5 bytes
    got = _memory.join_freeing(chunks)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.uint8 and chunks == []
    # copied last first; freed as copied: after 9 + 2 rows, then 5 + 1 + 4, then the rest
    assert seen == [[True] * 5 + [False] * 2, [True, True] + [False] * 5, [False] * 7]


def test_join_keeps_the_shape_of_rows():
    parts = [np.arange(12.0).reshape(2, 3, 2), np.arange(6.0).reshape(1, 3, 2)]
    np.testing.assert_array_equal(_memory.join_freeing(list(parts)), np.concatenate(parts))


def test_trim_asks_glibc_on_linux_and_nothing_elsewhere(monkeypatch):
    _memory._malloc_trim.cache_clear()
    if platform.libc_ver()[0] == "glibc":
        assert _memory._malloc_trim() is not None
    assert isinstance(_memory.trim(), bool)
    _memory._malloc_trim.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert _memory._malloc_trim() is None and _memory.trim() is False
    monkeypatch.undo()
    _memory._malloc_trim.cache_clear()
