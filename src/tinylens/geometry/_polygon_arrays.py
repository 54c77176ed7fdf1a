"""Convex polygons as padded arrays, the shared machinery of the 2-D enumerations: ``pack``
and ``unpack`` (vertices, counts, areas, centroids), the snapping cut and clip (``_cut``,
``clip_halfplane``), padding, and the band of close calls :data:`SIDE_RTOL_2D`. The exact
settlement of close calls builds on these in :mod:`tinylens.geometry._polygons`."""

from __future__ import annotations

import numpy as np

__all__ = ["SIDE_RTOL_2D", "VERTEX_MERGE_TOL", "clip_halfplane", "pack", "unpack"]

SIDE_RTOL_2D = 1e-10
"""The band of close calls. In :func:`split_polygons` a unit's value ``z = g . u + h`` at a
vertex whose magnitude is at most ``SIDE_RTOL_2D * (|g1| + |g2| + |h|)`` (the size of its terms
on the unit box) has its sign decided exactly from the vertex's two lines (outside the band
the float sign is certain: vertices are within
:data:`~tinylens.geometry._exact_sides.VERTEX_ATOL`, far below the band, of their exact
points). So no rule is needed for the degenerate cases: a line through a vertex is exactly
zero there, a line along an edge splits nothing, a unit constant on a polygon takes the sign
of ``h``, and one zero on the whole polygon the ``z <= 0`` branch, like ``relu(0) = 0``.

:func:`_cut` and :func:`clip_halfplane` (the decision boundary) still *snap* (the CNN plane
uses :func:`settle_close`, :func:`_cut_exact` and :func:`clip_halfplane_exact` instead):
there a value inside the band counts as zero (the vertex is *on* the line), which handles
every degenerate case as follows:

* a line through a vertex (e.g. several kinks through one point, as in hand-built circuits):
  the vertex belongs to both sides and no sliver of width ~1e-16 is cut off;
* a line along an edge, or parallel to the polygon and touching it: no split;
* a unit constant on the polygon (zero row ``g = 0``, or a dead upstream): its sign is read
  from ``h``; a unit that is zero on the whole polygon takes the ``z <= 0`` branch, like
  ``relu(0) = 0``.

Rounding in ``g`` and ``h`` after a few composed layers is ~1e-15 relative; 1e-10 is far above
it and far below any feature a small network resolves on the unit box."""


VERTEX_MERGE_TOL = 1e-12
"""Consecutive polygon vertices closer than this (unit-box coordinates) are one vertex: a line
through a vertex adds a copy of it to both sides, which would only clutter ``vertices``."""


def _next_index(nv: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(cap)[None, :]
    return k < nv[:, None], np.where(k + 1 < nv[:, None], k + 1, 0)


def _drop_repeated_vertices(V: np.ndarray, nv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid, nxt = _next_index(nv, V.shape[1])
    step = np.linalg.norm(np.take_along_axis(V, nxt[:, :, None], axis=1) - V, axis=2)
    keep = valid & (step > VERTEX_MERGE_TOL)
    count = keep.sum(axis=1)
    ok = count >= 3  # (always true for a region with interior; never shrink below a triangle)
    keep[~ok], count[~ok] = valid[~ok], nv[~ok]
    order = np.argsort(~keep, axis=1, kind="stable")
    return np.take_along_axis(V, order[:, :, None], axis=1), count


def _area_and_centroid(V: np.ndarray, nv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shoelace area and area-weighted centroid of every polygon (strictly inside a convex one).

    Taken about each polygon's first vertex, so a sliver far from the origin keeps its tiny
    area instead of losing it to the cancellation of large cross products; a polygon too thin
    for a float area (zero) gets the mean of its vertices as its centroid."""
    valid, nxt = _next_index(nv, V.shape[1])
    D = V - V[:, :1]
    W = np.take_along_axis(D, nxt[:, :, None], axis=1)
    cross = np.where(valid, D[:, :, 0] * W[:, :, 1] - W[:, :, 0] * D[:, :, 1], 0.0)
    area = cross.sum(axis=1) / 2
    safe = np.where(area > 0, area, 1.0)
    centroid = np.einsum("rk,rkd->rd", cross, D + W) / (6 * safe[:, None])
    mean = np.where(valid[:, :, None], D, 0.0).sum(axis=1) / nv[:, None]
    centroid = np.where((area > 0)[:, None], centroid, mean) + V[:, 0]
    return area, centroid


def _compact(keep: np.ndarray, *arrays: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The kept slots of each (n, slots) or (n, slots, d) array, in order, padded by
    repeating the first kept slot (see ``_split_by_unit``)."""
    count = keep.sum(axis=1)
    order = np.argsort(~keep, axis=1, kind="stable")[:, : count.max()]
    pad = np.arange(order.shape[1])[None, :] >= count[:, None]
    order = np.where(pad, order[:, :1], order)
    rows = np.arange(len(keep))[:, None]
    return [a[rows, order] for a in arrays], count  # (plain indexing: cheaper than take_along)


def _cut(
    V: np.ndarray, nv: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split convex polygons whose (snapped) vertex values ``z`` take both signs.

    Walking the boundary, each vertex goes to the side(s) of its sign (both when ``z = 0``) and
    each edge whose ends have strictly opposite signs contributes its crossing point to both
    sides. Candidates sit in slots ``2i`` (vertex i) and ``2i + 1`` (crossing on edge i), so a
    stable compaction keeps the boundary order: both halves stay counter-clockwise.
    """
    n, cap = z.shape
    valid, nxt = _next_index(nv, cap)
    z_next = np.take_along_axis(z, nxt, axis=1)
    V_next = np.take_along_axis(V, nxt[:, :, None], axis=1)
    cross = valid & (np.sign(z) * np.sign(z_next) < 0)  # (z * z_next can overflow)
    t = np.where(cross, z, 0.0) / np.where(cross, z - z_next, 1.0)
    P = V + t[:, :, None] * (V_next - V)
    cand = np.stack([V, P], axis=2).reshape(n, 2 * cap, 2)

    def side(keep_vertex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.stack([valid & keep_vertex, cross], axis=2).reshape(n, 2 * cap)
        (out,), count = _compact(keep, cand)
        return out, count

    pos, n_pos = side(z >= 0)
    neg, n_neg = side(z <= 0)
    return pos, n_pos, neg, n_neg


def _pad(V: np.ndarray, width: int) -> np.ndarray:
    """Widen to ``width`` vertex slots; new slots repeat vertex 0 (see ``_split_by_unit``)."""
    if V.shape[1] == width:
        return V
    out = np.repeat(V[:, :1], width, axis=1)
    out[:, : V.shape[1]] = V
    return out


def clip_halfplane(
    V: np.ndarray, nv: np.ndarray, g: np.ndarray, h: np.ndarray, *, keep_zero: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the part of every polygon where ``g . v + h >= 0`` (one line per polygon).

    ``V`` (n, cap, 2) padded as in :func:`split_polygons`, ``nv`` (n,), ``g`` (n, 2) and
    ``h`` (n,). Returns ``V, nv, alive``: ``alive[i]`` is False when nothing of polygon ``i``
    with an interior is left (its row is then unchanged and must be dropped). The same
    snapping as the splits (:data:`SIDE_RTOL_2D`), so a clip along an edge removes nothing.
    With ``keep_zero`` a polygon on which ``g . v + h`` is zero throughout is kept whole (a
    tie that the caller settles in this side's favour).
    """
    z = V[:, :, 0] * g[:, 0:1] + V[:, :, 1] * g[:, 1:2] + h[:, None]
    eps = SIDE_RTOL_2D * (np.abs(g).sum(axis=1) + np.abs(h))
    z[np.abs(z) <= eps[:, None]] = 0.0
    z_max, z_min = z.max(axis=1), z.min(axis=1)
    alive = (z_max > 0) | ((z_min >= 0) & keep_zero)
    cut = alive & (z_min < 0)
    if not cut.any():
        return V, nv, alive
    idx = np.flatnonzero(cut)
    pos, n_pos, _, _ = _cut(V[idx], nv[idx], z[idx])
    width = max(V.shape[1], pos.shape[1])
    V = _pad(V, width) if V.shape[1] != width else V.copy()  # never write into the caller's
    V[idx] = _pad(pos, width)
    nv = nv.copy()
    nv[idx] = n_pos
    return V, nv, alive


def pack(polygons: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A list of (k_i, 2) vertex arrays as the padded ``V, nv`` the vectorised code uses."""
    nv = np.array([len(p) for p in polygons], dtype=np.int64)
    V = np.zeros((len(polygons), max(nv.max(initial=3), 3), 2))
    for i, p in enumerate(polygons):
        V[i] = p[0]
        V[i, : len(p)] = p
    return V, nv


def unpack(V: np.ndarray, nv: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``(vertices list, areas, centroids)`` of padded polygons (repeated vertices dropped)."""
    V, nv = _drop_repeated_vertices(V, nv)
    area, centroid = _area_and_centroid(V, nv)
    return [V[i, : nv[i]] for i in range(len(V))], area, centroid
