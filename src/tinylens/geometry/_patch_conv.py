"""A convolution on many regions' maps at once, computed once per distinct patch.

On a CNN plane (:mod:`tinylens.geometry.conv_slice`) every region after the first
conv-ReLU-pool stage has a map that is, feature by feature, a column of one shared table: the
first conv's map (one for the whole plane) times the ReLU's slope, the column picked by the
region's ReLU bit and pool winner. :class:`_Gathered` keeps the maps in that form (the table
and an integer index per region and feature) instead of as ``(regions, 3, features)`` floats.

The next convolution's output at one position depends only on the table columns under its
kernel, its *patch*; neighbouring regions share most patches (on the MNIST CNN's plane through
three test images, a chunk of ~240 regions has ~10 distinct patches per position, measured),
so :func:`patch_conv` finds the distinct patches (a 64-bit hash of their column indices, then
checked index by index: a collision only costs time) and computes each once, as the sum over
the kernel's taps in a fixed order (tap 0 first, one IEEE multiply and one add per tap). A
region's output therefore depends only on its own patches, never on which other regions share
its chunk, and the arithmetic is the same on every machine (no BLAS summation order). It
differs from torch's ``conv2d`` on the same inputs only by rounding (tests compare the two
within :data:`TORCH_RTOL` and recompute the taps' sum in plain Python, bit for bit).
"""

from __future__ import annotations

import threading

import numpy as np

from tinylens.geometry import _exact_sides
from tinylens.geometry._kink_maps import _KinkMaps

__all__: list[str] = []

TORCH_RTOL = 1e-12
"""How close :func:`patch_conv` and torch's ``conv2d`` agree, relative to the largest output
(both sum the same float64 products, in different orders)."""


class _Gathered:
    """Maps ``(R, 3, F)`` given as columns of a shared ``table`` (3, Z): region ``r``'s
    feature ``j`` is ``table[:, index[r, j]]``. ``source`` names where the table came from
    (an array, one of its rows, and the kink's slopes): chunks with the same source have the
    same table, so :class:`PatchMemo` may reuse their patches' outputs."""

    def __init__(self, table: np.ndarray, index: np.ndarray, source: tuple = ()) -> None:
        self.table, self.index, self.source = np.ascontiguousarray(table), index, source

    def __len__(self) -> int:
        return len(self.index)

    def dense(self) -> np.ndarray:
        """The maps as one ``(R, 3, F)`` array (the same numbers)."""
        return np.ascontiguousarray(self.table[:, self.index].transpose(1, 0, 2))


def gathered(M: object, root: np.ndarray, idx: np.ndarray) -> _Gathered | None:
    """The maps ``M[root[r], :, idx[r, j]]`` as a :class:`_Gathered`, when every region of
    ``root`` has the same parent map: ``M`` an array (R0, 3, F), or the maps after a kink
    (:class:`~tinylens.geometry._kink_maps._KinkMaps`, whose parent's columns are scaled by
    the slope of each unit's side, the same products it computes). None otherwise."""
    if isinstance(M, _KinkMaps):
        parents = M.root[root]
        if (parents != parents[0]).any():
            return None
        low, high = M.slopes
        base = M.M[parents[0]]  # (3, F)
        bits = M.bits[root[:, None], idx]
        table = np.concatenate([base * high, base * low], axis=1)
        index = np.where(bits.astype(bool), idx, idx + base.shape[1])
        return _Gathered(table, index, (M.M, int(parents[0]), M.slopes))
    assert isinstance(M, np.ndarray)
    if (root != root[0]).any():
        return None
    return _Gathered(M[root[0]], idx, (M, int(root[0]), None))


MEMO_PATCHES = 400_000
"""Distinct patches one :class:`PatchMemo` keeps per conv and table (~670 bytes each for the
MNIST CNN's second conv: ~270 MB at most); past it, new patches are computed but not kept.
Our choice: the whole MNIST CNN plane through three test images has far fewer."""


class PatchMemo:
    """The outputs of the patches one enumeration has computed, per conv and table: on the
    MNIST CNN's plane, chunks share most of their patches with earlier chunks (measured: the
    first 161 chunks had 716,314 chunk-distinct patches, 27,846 distinct overall). A patch is
    found by its hash, then checked index by index; its output is the one computing it again
    would give, bit for bit, so the memo changes the time, never a result."""

    def __init__(self) -> None:
        self.stores: dict[tuple, _Store] = {}
        self.lock = threading.Lock()  # threads of one enumeration share the memo

    def store(self, step: object, G: _Gathered, K: int, C: int) -> _Store | None:
        if not G.source:
            return None
        array, row, slopes = G.source
        key = (id(step), id(array), row, slopes)
        with self.lock:
            found = self.stores.get(key)
            if found is None or found.array is not array:  # (an id reused by a new array)
                found = self.stores[key] = _Store(array, K, C)
        return found


class _Store:
    """Patches (their table columns, K int32 each), outputs (3 * C floats each) and the sorted
    hashes that find them."""

    def __init__(self, array: np.ndarray, K: int, C: int) -> None:
        self.array = array  # keeps the source alive, so its id names it
        self.keys = np.zeros(0, dtype=np.uint64)  # sorted
        self.slots = np.zeros(0, dtype=np.int64)  # each key's row in rows / out
        self.rows = np.zeros((0, K), dtype=np.int32)  # table columns fit 32 bits
        self.out = np.zeros((0, 3 * C))
        self.n = 0
        self.lock = threading.Lock()

    def outputs(self, rows: np.ndarray, keys: np.ndarray, compute: object) -> np.ndarray:
        """The outputs (U, 3 * C) of patches ``rows`` (U, K) with hashes ``keys``: the kept
        ones read, the rest ``compute(rows)`` and kept (up to :data:`MEMO_PATCHES`)."""
        out = np.empty((len(rows), self.out.shape[1]))
        hit = np.zeros(len(rows), dtype=bool)
        with self.lock:  # read under the lock: another thread may be growing the arrays
            if len(self.keys):
                at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
                slot = self.slots[at]
                hit = self.keys[at] == keys
                hit[hit] = (self.rows[slot[hit]] == rows[hit]).all(axis=1)  # checked exactly
                out[hit] = self.out[slot[hit]]
        miss = np.flatnonzero(~hit)
        if not len(miss):
            return out
        out[miss] = compute(rows[miss])  # type: ignore[operator]
        _, first = np.unique(keys[miss], return_index=True)
        with self.lock:
            self._keep(rows, keys, out, miss[first])
        return out

    def _keep(self, rows: np.ndarray, keys: np.ndarray, out: np.ndarray, new: np.ndarray) -> None:
        """Keep the patches ``new`` whose hash is not taken (a collision is recomputed when
        met), up to :data:`MEMO_PATCHES`."""
        if len(self.keys):
            at = np.minimum(np.searchsorted(self.keys, keys[new]), len(self.keys) - 1)
            new = new[self.keys[at] != keys[new]]
        new = new[: max(0, MEMO_PATCHES - self.n)]
        if len(new):
            slots = self.n + np.arange(len(new))
            self._grow(self.n + len(new))
            self.rows[slots], self.out[slots] = rows[new], out[new]
            self.n += len(new)
            keys_all = np.concatenate([self.keys, keys[new]])
            order = np.argsort(keys_all, kind="stable")
            self.keys = keys_all[order]
            self.slots = np.concatenate([self.slots, slots])[order]

    def _grow(self, size: int) -> None:
        if size > len(self.rows):
            cap = max(size, 2 * len(self.rows), 1024)
            for name in ("rows", "out"):
                old = getattr(self, name)
                grown = np.empty((cap, old.shape[1]), dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)


def patch_conv(
    G: _Gathered, support: np.ndarray, kernel: np.ndarray, memo: _Store | None = None
) -> np.ndarray:
    """The convolution of the maps ``G`` without its bias, ``support`` and ``kernel`` as a
    :class:`~tinylens.geometry.conv_layers.Step` holds them: (R, 3, C * L), each distinct
    patch computed once (once per enumeration, given its ``memo`` store)."""
    R, F = G.index.shape
    L, K = support.shape
    C = kernel.shape[0]
    table = np.concatenate([G.table, np.zeros((3, 1))], axis=1)  # column Z: the padding's 0
    index = np.empty((R, F + 1), dtype=np.int32)
    index[:, :F], index[:, F] = G.index, G.table.shape[1]
    support = np.where(support < 0, F, support)
    # a position whose features are the same in every region has one patch: region 0's
    same = (index == index[0]).all(axis=0)[support].all(axis=1)
    varies = np.flatnonzero(~same)
    inverse = np.zeros((R, L), dtype=np.int64)
    inverse[:, same] = np.arange(int(same.sum()))
    patches = [index[0, support[same]]]
    if len(varies):  # the others: one of each kind, found by hash and checked bit for bit
        flat = np.take(index, support[varies], axis=1).reshape(R * len(varies), K)
        todo, back = _exact_sides._distinct_rows(flat)
        inverse[:, varies] = len(patches[0]) + back.reshape(R, len(varies))
        patches.append(flat[todo])
    rows = np.concatenate(patches)  # (U, K) table columns of each distinct patch

    def compute(rows: np.ndarray) -> np.ndarray:
        """(m, 3 * C): the taps' products summed in order, tap 0 first."""
        m = len(rows)
        vals = table[:, rows].transpose(2, 1, 0).reshape(K, m * 3)  # tap-major, (m, 3)
        out = vals[0][:, None] * kernel[:, 0]
        for k in range(1, K):
            out += vals[k][:, None] * kernel[:, k]
        return out.reshape(m, 3 * C)

    if memo is None:
        out = compute(rows)
    else:
        out = memo.outputs(rows, _exact_sides._row_hash(_exact_sides._row_words(rows)), compute)
    out = np.ascontiguousarray(out.T)  # (3 C, U): each output channel's values, contiguous
    Y = np.empty((R, 3 * C, L))
    for j in range(3 * C):  # one small gather per channel: cheaper than one 4-D transpose
        Y[:, j] = out[j][inverse]
    return Y.reshape(R, 3, C * L)
