"""2-D inputs: split the box's polygon by every unit's line, layer by layer, vectorised.

Within one layer every unit's pre-activation is affine on each region left by the earlier
layers (it depends only on their pattern), so the layer's lines can be applied one unit at a
time to *all* current polygons at once. After the layer, each polygon's pattern for that layer
is known and the next layer's maps are composed from it.

Everything here works in the unit box ``[-1, 1]^2`` (the caller rescales the network's first
layer), so the tolerance below means the same on every box.

A polygon is an array of vertices in counter-clockwise order. The arrays are padded: ``V`` of
shape (n_polygons, capacity, 2) with ``nv`` valid vertices per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinylens.geometry._affine import PiecewiseStack

__all__ = ["SIDE_RTOL_2D", "PolygonSplit", "split_polygons"]

SIDE_RTOL_2D = 1e-10
"""A unit's pre-activation at a vertex counts as zero (the vertex is *on* the unit's line) when
its magnitude is below ``SIDE_RTOL_2D * (|g1| + |g2| + |h|)``, the size of the terms that make
up ``z = g . u + h`` on the unit box. This one rule handles every degenerate case:

* a line through a vertex (e.g. several kinks through one point, as in hand-built circuits):
  the vertex belongs to both sides and no sliver of width ~1e-16 is cut off;
* a line along an edge, or parallel to the polygon and touching it: no split;
* a unit constant on the polygon (zero row ``g = 0``, or a dead upstream): its sign is read
  from ``h``; a unit that is zero on the whole polygon takes the ``z <= 0`` branch, like
  ``relu(0) = 0``.

Rounding in ``g`` and ``h`` after a few composed layers is ~1e-15 relative; 1e-10 is far above
it and far below any feature a small network resolves on the unit box."""


@dataclass(frozen=True)
class PolygonSplit:
    """Polygons (unit-box coordinates) with their activation patterns.

    ``vertices[i]`` : array of shape (k_i, 2), counter-clockwise; ``patterns`` : uint8 array of
    shape (n, n_units); ``counts_per_layer[l]`` : polygons after kinked layer ``l``.
    """

    vertices: list[np.ndarray]
    patterns: np.ndarray
    counts_per_layer: tuple[int, ...]


def split_polygons(stack: PiecewiseStack) -> PolygonSplit:
    """Every linear region of ``stack`` (two inputs) on the unit box ``[-1, 1]^2``."""
    V = np.array([[[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]])
    nv = np.array([4])
    bits = np.zeros((1, 0), dtype=np.uint8)
    M = np.eye(2)[None]  # this layer's input as a map of u: x_l = M u + m, per polygon
    m = np.zeros((1, 2))
    counts: list[int] = []
    for index, layer in enumerate(stack.layers):
        G = np.einsum("oi,rid->rod", layer.weight, M)
        H = m @ layer.weight.T + layer.bias
        root = np.arange(len(V))
        layer_bits = np.ones((len(V), layer.out_features), dtype=np.uint8)
        if layer.activation != "identity":  # identity units never switch and never split
            for j in range(layer.out_features):
                V, nv, root, layer_bits = _split_by_unit(V, nv, root, layer_bits, G, H, j)
        s = stack.slopes(index, layer_bits)
        M, m = s[:, :, None] * G[root], s * H[root]
        bits = np.concatenate([bits[root], layer_bits], axis=1)
        counts.append(len(V))
    vertices = [V[i, : nv[i]] for i in range(len(V))]
    return PolygonSplit(vertices, bits, tuple(counts))


def _split_by_unit(
    V: np.ndarray,
    nv: np.ndarray,
    root: np.ndarray,
    layer_bits: np.ndarray,
    G: np.ndarray,
    H: np.ndarray,
    j: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut every polygon by unit ``j``'s line; the side ``z > 0`` keeps the row, ``z < 0`` is
    appended. Returns the new ``V, nv, root, layer_bits``."""
    g, h = G[root, j], H[root, j]  # (R, 2), (R,)
    cap = V.shape[1]
    valid = np.arange(cap)[None, :] < nv[:, None]
    z = np.einsum("rkd,rd->rk", V, g) + h[:, None]
    eps = SIDE_RTOL_2D * (np.abs(g).sum(axis=1) + np.abs(h))
    z = np.where(np.abs(z) <= eps[:, None], 0.0, z)
    z_max = np.where(valid, z, -np.inf).max(axis=1)
    z_min = np.where(valid, z, np.inf).min(axis=1)
    split = (z_max > 0) & (z_min < 0)
    layer_bits[:, j] = z_max > 0  # unsplit: one sign throughout (all zero counts as z <= 0)
    if not split.any():
        return V, nv, root, layer_bits
    idx = np.flatnonzero(split)
    pos, n_pos, neg, n_neg = _cut(V[idx], nv[idx], z[idx])
    width = max(cap, pos.shape[1], neg.shape[1])
    V = _pad(V, width)
    V[idx] = _pad(pos, width)
    nv = nv.copy()
    nv[idx] = n_pos
    layer_bits[idx, j] = 1
    new_bits = layer_bits[idx].copy()
    new_bits[:, j] = 0
    return (
        np.concatenate([V, _pad(neg, width)]),
        np.concatenate([nv, n_neg]),
        np.concatenate([root, root[idx]]),
        np.concatenate([layer_bits, new_bits]),
    )


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
    k = np.arange(cap)[None, :]
    valid = k < nv[:, None]
    nxt = np.where(k + 1 < nv[:, None], k + 1, 0)
    z_next = np.take_along_axis(z, nxt, axis=1)
    V_next = np.take_along_axis(V, nxt[:, :, None], axis=1)
    cross = valid & (z * z_next < 0)
    t = np.where(cross, z, 0.0) / np.where(cross, z - z_next, 1.0)
    P = V + t[:, :, None] * (V_next - V)
    cand = np.stack([V, P], axis=2).reshape(n, 2 * cap, 2)

    def side(keep_vertex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.stack([valid & keep_vertex, cross], axis=2).reshape(n, 2 * cap)
        count = keep.sum(axis=1)
        order = np.argsort(~keep, axis=1, kind="stable")[:, : count.max()]
        return np.take_along_axis(cand, order[:, :, None], axis=1), count

    pos, n_pos = side(z >= 0)
    neg, n_neg = side(z <= 0)
    return pos, n_pos, neg, n_neg


def _pad(V: np.ndarray, width: int) -> np.ndarray:
    if V.shape[1] == width:
        return V
    out = np.zeros((V.shape[0], width, 2))
    out[:, : V.shape[1]] = V
    return out
