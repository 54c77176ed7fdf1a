"""What a million-region plane leaves in memory (issue 15): the kept chunks are joined into one
array each freed as soon as it is copied, the freed pages handed back, and the region set
puts the codes in pattern order in place (packed codes are their own sort key:
test_geometry_image_regions_codes.py), so no second copy of them is made.

Oracles: ``np.concatenate``, weak references to the chunks, and NumPy's fancy indexing."""

from __future__ import annotations

import platform
import sys
import weakref

import numpy as np
import pytest

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


@pytest.mark.parametrize("kind", ["random", "identity", "one cycle", "swaps", "few moved"])
@pytest.mark.parametrize("block", [1, 3, 4096])
def test_permuting_rows_in_place_equals_fancy_indexing(kind, block):
    rng = np.random.default_rng(7)
    n = 257
    order = np.arange(n)
    if kind == "random":
        order = rng.permutation(n)
    elif kind == "one cycle":
        order = np.roll(order, 1)
    elif kind == "swaps":  # 128 cycles of two, one fixed point
        order[: n - 1] = order[: n - 1].reshape(-1, 2)[:, ::-1].ravel()
    elif kind == "few moved":  # a 3-cycle among fixed points
        order[[3, 100, 250]] = [100, 250, 3]
    a = rng.integers(0, 255, (n, 5), dtype=np.uint8)
    want = a[order]
    _memory.permute_rows(a, order, block=block)
    np.testing.assert_array_equal(a, want)


def test_permuting_rows_refuses_what_is_not_a_permutation():
    with pytest.raises(ValueError, match="permutation"):
        _memory.permute_rows(np.zeros((3, 2)), np.array([0, 0, 1]))


def test_a_region_set_owning_its_split_is_the_set_that_copies(monkeypatch):
    """``image_slice_regions`` lets the set reorder the split's codes in place (``own``): the
    same set as one built from a copy, with the codes reordered in the split's own array."""
    pytest.importorskip("torch")
    from test_geometry_conv_slices import mid_cnn
    from tinylens.geometry import Slice, image_regions
    from tinylens.geometry.conv_layers import image_layers
    from tinylens.geometry.conv_slice import split_image_slice

    plane = Slice.plane(np.zeros(64), radius=2.0, rng=0)
    steps = image_layers(mid_cnn(0), (1, 8, 8))
    for fmt in ("full", "packed", "digest"):
        split = split_image_slice(steps, plane.origin, plane.directions, plane.domain, codes=fmt)
        before = split.codes.copy()
        copied = image_regions.ImageRegionSet(steps, plane, split, codes=fmt)
        np.testing.assert_array_equal(split.codes, before)  # not owned: untouched
        owned = image_regions.ImageRegionSet(steps, plane, split, codes=fmt, own=True)
        assert owned.codes is split.codes and owned.count > 200
        assert not np.array_equal(owned.codes, before)  # it was really reordered
        np.testing.assert_array_equal(owned.codes, copied.codes)
        np.testing.assert_array_equal(owned.W, copied.W)
        assert all(
            np.array_equal(a, b) for a, b in zip(owned.vertices, copied.vertices, strict=True)
        )
