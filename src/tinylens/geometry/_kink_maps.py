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
