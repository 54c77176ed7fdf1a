"""Max-pool windows and kink units on many polygons at once: bulk bounds, then exact reads.

:mod:`tinylens.geometry.conv_slice` asks, for every polygon and every pooling window, which
piece wins on the whole polygon (ties to the first, as ``torch.max``), and for every kink
unit, whether its line crosses the polygon. Reading every feature at every vertex costs
``vertices x features`` per polygon; here a feature's interval over the polygon's bounding
box (:func:`_bounds`, one pass over the features) settles most of them, and only the rest are
read vertex by vertex with the snapping of :data:`~tinylens.geometry._polygons.SIDE_RTOL_2D`.
The answers equal the per-vertex comparisons (a test checks, with dead, equal and touching
pieces planted).
"""

from __future__ import annotations

import numpy as np

from tinylens.geometry._polygons import SIDE_RTOL_2D

__all__: list[str] = []


def _bounds(V: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval bounds of every feature over each polygon's bounding box, and the size of
    its terms (the snapping scale): ``(low, high, size)``, each (R, F). One pass over the
    features per polygon instead of one per vertex."""
    lo_v, hi_v = V.min(axis=1), V.max(axis=1)  # padding repeats vertex 0: no mask needed
    centre, half = (lo_v + hi_v) / 2, (hi_v - lo_v) / 2
    mid = M[:, 0] + centre[:, :1] * M[:, 1] + centre[:, 1:] * M[:, 2]
    spread = half[:, :1] * np.abs(M[:, 1]) + half[:, 1:] * np.abs(M[:, 2])
    size = np.abs(M).sum(axis=1)
    return mid - spread, mid + spread, size


def _first_winners(
    V: np.ndarray, M: np.ndarray, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_winners` for every window of every polygon (maps ``M`` (R, 3, F)), the easy
    windows settled in bulk: a window whose pieces are all zero (dead units after a ReLU) is
    won by the first, and a piece whose lower bound on the polygon's bounding box exceeds
    every other piece's upper bound by the snapping tolerance wins. Only the rest go through
    :func:`_winners` vertex by vertex; the answers are the same."""
    R, n_w, k = len(V), *windows.shape
    low, high, size = _bounds(V, M)
    low, high, size = low[:, windows], high[:, windows], size[:, windows]  # (R, n_w, k)
    best = low.argmax(axis=2)
    low_best = np.take_along_axis(low, best[:, :, None], axis=2)
    eps = SIDE_RTOL_2D * (np.take_along_axis(size, best[:, :, None], axis=2) + size)
    clear = (low_best - high > eps) | (np.arange(k) == best[:, :, None])
    clear = clear.all(axis=2)
    dead = (size == 0).all(axis=2)
    code = np.where(clear, best, 0).astype(np.uint8)
    undecided = np.zeros((R, n_w), dtype=bool)
    rh, wh = np.nonzero(~clear & ~dead)
    if len(rh):
        code[rh, wh], undecided[rh, wh] = _winners(
            V[rh], M[rh[:, None, None], _R3, windows[wh][:, None]]
        )
    return code, undecided


_R3 = np.arange(3)[:, None]


def _winners(V: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one window's pieces ``P`` (n, 3, k) on each polygon ``V`` (n, cap, 2): the piece
    that wins on the whole polygon (first of equals), (n,) uint8, and where no single piece
    does, (n,) bool.

    A piece that beats every other by more than the snapping tolerance at every vertex wins
    outright (one comparison per piece); only the rest are compared pair by pair."""
    k = P.shape[2]
    z = P[:, None, 0] + V[:, :, :1] * P[:, None, 1] + V[:, :, 1:] * P[:, None, 2]  # (n, cap, k)
    size = np.abs(P).sum(axis=1)  # (n, k)
    best = z.sum(axis=1).argmax(axis=1)
    z_best = np.take_along_axis(z, best[:, None, None], axis=2)
    eps = SIDE_RTOL_2D * (np.take_along_axis(size, best[:, None], axis=1) + size)
    clear = (z_best - z > eps[:, None, :]) | (np.arange(k) == best[:, None])[:, None, :]
    clear = clear.all(axis=(1, 2))
    code = np.where(clear, best, 0).astype(np.uint8)
    found = clear.copy()
    rest = np.flatnonzero(~clear)
    if len(rest):
        code[rest], found[rest] = _winners_pairwise(z[rest], size[rest])
    return code, ~found


def _winners_pairwise(z: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_winners` on values ``z`` (n, cap, k) with term sizes (n, k), every pair
    compared with the snapping of :data:`SIDE_RTOL_2D`: ``(code, found)``, each (n,)."""
    n, _, k = z.shape
    code = np.zeros(n, dtype=np.uint8)
    found = np.zeros(n, dtype=bool)
    for a in range(k):
        beats_all = ~found
        for b in range(k):
            if b == a:
                continue
            d = z[..., a] - z[..., b]
            eps = SIDE_RTOL_2D * (size[:, a] + size[:, b])
            d = np.where(np.abs(d) <= eps[:, None], 0.0, d)
            ok = d.min(axis=1) >= 0
            if b < a:
                ok &= d.max(axis=1) > 0
            beats_all &= ok
        code[beats_all] = a
        found |= beats_all
    return code, found
