"""The maps after a ReLU that a max pool reads, read only where it reads them.

After a kink every region's map is its parent's with each unit scaled by its slope on that
side (0 or 1 for a ReLU). :mod:`tinylens.geometry.conv_slice` would otherwise build that
(regions, 3, features) array whole (3 x 6,272 floats a region after the MNIST CNN's first
conv) only for the max pool to read a few windows of it, the rest settled by the parents
(:func:`~tinylens.geometry._windows._settled_after_relu`).

>>> import numpy as np
>>> M = np.arange(12.0).reshape(1, 3, 4)  # one parent, 4 units
>>> maps = _KinkMaps(M, np.array([0, 0]), np.array([[1, 0, 1, 1], [0, 1, 1, 0]], np.uint8),
...                  (0.0, 1.0))
>>> maps[np.array([1]), np.array([0, 1, 2])[:, None], np.array([[1, 2]])].tolist()
[[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]]
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


class _KinkMaps:
    """The maps after a kink for some regions, kept as their parents' maps ``M`` (P, 3, F),
    each region's parent ``root`` (R,) and bits (R, F): region ``r``'s map is
    ``M[root[r]] * slope(bit)``, computed only where a max pool reads it (a few windows per
    region once the parents have settled the rest), never as R whole maps. Indexed like the
    (R, 3, F) array it stands for, with index arrays (or ``[:, :, feats]``); the values are
    that array's, bit for bit (the same product)."""

    def __init__(
        self, M: np.ndarray, root: np.ndarray, bits: np.ndarray, slopes: tuple[float, float]
    ) -> None:
        self.M, self.bits = np.ascontiguousarray(M), np.ascontiguousarray(bits)
        self.root, self.slopes = root, slopes
        self.shape = (len(root), *M.shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: tuple) -> np.ndarray:
        rows, cols, feats = key
        if isinstance(rows, slice):  # [:, :, feats]: every region's whole map, as _thunk
            low, high = self.slopes
            return (self.M[self.root] * np.where(self.bits.astype(bool), high, low)[:, None])[key]
        # one flat gather from each array instead of fancy indexing on three axes
        n_cols, n_feats = self.shape[1:]
        at = (self.root[rows] * n_cols + cols) * n_feats + feats
        bit = self.bits.ravel().take(rows * n_feats + feats)
        return self.M.ravel().take(at) * np.array(self.slopes)[bit]


def pooled_outputs(
    M: _KinkMaps,
    windows: np.ndarray,
    root: np.ndarray,
    code: np.ndarray,
    settled: tuple[np.ndarray, np.ndarray],
    linear: np.ndarray,
    bias: np.ndarray,
) -> np.ndarray:
    """The network's output maps (R, cols, outputs) on the cells of a max pool after a ReLU
    when only affine layers follow it, ``linear`` (windows, outputs) their linear part and
    ``bias`` (outputs,) their output on zero (added to column 0).

    The cells ``root`` (into ``M``'s regions, the ReLU's parts) won the windows ``code`` (R,
    windows); the parts' parents settled the windows ``settled = (code, done)`` (each (parts,
    windows), as the ReLU's parts read them: every unit of a done window is active on the
    whole parent or dead on it). So each parent's pooled map on its done windows is the same
    for all its cells: it goes through ``linear`` once per parent (the open windows zero),
    and each cell adds its open windows (about 1 in 100 on the MNIST CNN's second pool), in
    window order. The same numbers as each cell's whole pooled map through the layers, up to
    the order of the sums."""
    parent = M.root[root]  # each cell's parent, a row of M.M
    parents, first, of = np.unique(parent, return_index=True, return_inverse=True)
    part = root[first]  # a part of each parent: its settled rows are the parent's
    done = settled[1][part]  # (parents, windows)
    won = windows[np.arange(len(windows)), settled[0][part]]  # (parents, windows)
    # a done window's winner is active on the whole parent (slope 1), or all are dead (0)
    live = done & M.bits[part[:, None], won].astype(bool)
    cols, feats = M.shape[1:]
    at = (parents[:, None, None] * cols + np.arange(cols)[:, None]) * feats + won[:, None]
    base = np.where(live[:, None], M.M.ravel().take(at), 0.0)  # (parents, cols, windows)
    out = (base.reshape(-1, base.shape[2]) @ linear).reshape(len(parents), cols, -1)[of]
    out[:, 0] += bias
    # each cell's open windows: its parent's, in window order
    rp, wp = np.nonzero(~done)
    per_parent = np.bincount(rp, minlength=len(parents))
    n = per_parent[of]
    if n.sum():
        rr = np.repeat(np.arange(len(root)), n)
        starts = np.cumsum(n) - n  # each cell's first pair
        ww = wp[(np.cumsum(per_parent) - per_parent)[of][rr] + np.arange(len(rr)) - starts[rr]]
        values = M[root[rr][:, None], np.arange(cols)[None, :], windows[ww, code[rr, ww]][:, None]]
        terms = values[:, :, None] * linear[ww][:, None, :]  # (pairs, cols, outputs)
        has = n > 0
        out[has] += np.add.reduceat(terms, starts[has], axis=0)
    return out
