"""2-D inputs: split the box's polygon by every unit's line, layer by layer, vectorised.

Within one layer every unit's pre-activation is affine on each region left by the earlier
layers (it depends only on their pattern), so the layer's lines can be applied one unit at a
time to *all* current polygons at once. After the layer, each polygon's pattern for that layer
is known and the next layer's maps are composed from it.

Everything here works in the unit box ``[-1, 1]^2`` (the caller rescales the network's first
layer), so the band below means the same on every box.

Exactness: every vertex is the crossing of two lines (the domain's edges or earlier units'
lines, float triples fixed once computed), and which side of a unit's line a vertex is on is
decided exactly (:mod:`tinylens.geometry._exact_sides`): in float where the value is clearly
away from zero, in exact rationals where it is within :data:`SIDE_RTOL_2D`. So the regions are
the exact arrangement of the float lines each region's map gives, however thin: a sliver is
never merged away, and a line through a vertex splits nothing there.

A polygon is an array of vertices in counter-clockwise order. The arrays are padded: ``V`` of
shape (n_polygons, capacity, 2) with ``nv`` valid vertices per row; the padding slots repeat
the polygon's first vertex, so minima and maxima over a row need no mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinylens.geometry._affine import PiecewiseStack, apply_linear
from tinylens.geometry._exact_sides import crossing_points, signs_at, signs_at_pairs
from tinylens.geometry._polygon_arrays import (  # re-exported: conv_slice, slices
    SIDE_RTOL_2D,
    _area_and_centroid,
    _compact,
    _drop_repeated_vertices,
    _next_index,
    _pad,
    clip_halfplane,
    pack,
    unpack,
)

__all__ = [
    "SIDE_RTOL_2D",
    "PolygonSplit",
    "clip_halfplane",
    "clip_halfplane_exact",
    "pack",
    "split_polygons",
    "unpack",
    "vertex_values",
]


@dataclass(frozen=True)
class PolygonSplit:
    """Polygons (unit-box coordinates) with their activation patterns.

    ``vertices[i]`` : array of shape (k_i, 2), counter-clockwise; ``patterns`` : uint8 array of
    shape (n, n_units); ``counts_per_layer[l]`` : polygons after kinked layer ``l``;
    ``areas`` : (n,); ``centroids`` : (n, 2).
    """

    vertices: list[np.ndarray]
    patterns: np.ndarray
    counts_per_layer: tuple[int, ...]
    areas: np.ndarray
    centroids: np.ndarray


BOX_LINES = np.array([[0.0, 1.0, 1.0], [-1.0, 0.0, 1.0], [0.0, -1.0, 1.0], [1.0, 0.0, 1.0]])
"""The unit box's edges as lines ``(a1, a2, a0)``, edge ``k`` from corner ``k`` to ``k + 1``
(corners (-1,-1), (1,-1), (1,1), (-1,1)), each ``>= 0`` inside: every corner is exactly the
crossing of its two edges."""


def split_polygons(
    stack: PiecewiseStack, domain: tuple[np.ndarray, np.ndarray] | None = None
) -> PolygonSplit:
    """Every linear region of ``stack`` (two inputs) on the unit box ``[-1, 1]^2``, or on
    ``domain = (vertices, lines)`` inside it: a convex polygon, counter-clockwise, vertices
    (k, 2) and edge lines (k, 3) (edge ``i`` from vertex ``i`` to ``i + 1``, each vertex
    exactly the crossing of its two edges' lines)."""
    corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    V0, E0 = (corners, BOX_LINES) if domain is None else domain
    # E[r, k]: the id (a row of ``lines``) of the line edge k of polygon r lies on
    lines = _LineTable(E0)
    V, E = V0[None].astype(np.float64), np.arange(len(V0), dtype=np.int32)[None]
    nv = np.array([len(V0)])
    bits = np.zeros((1, 0), dtype=np.uint8)
    M = np.eye(2)[None]  # this layer's input as a map of u: x_l = M u + m, per polygon
    m = np.zeros((1, 2))
    counts: list[int] = []
    for index, layer in enumerate(stack.layers):
        G = apply_linear(layer.weight, M)
        H = m @ layer.weight.T + layer.bias
        root = np.arange(len(V))
        layer_bits = np.ones((len(V), layer.out_features), dtype=np.uint8)
        if layer.activation != "identity":  # identity units never switch and never split
            for j in range(layer.out_features):
                V, nv, E, root, layer_bits = _split_by_unit(
                    V, nv, E, lines, root, layer_bits, G, H, j
                )
        s = stack.slopes(index, layer_bits)
        M, m = s[:, :, None] * G[root], s * H[root]
        bits = np.concatenate([bits[root], layer_bits], axis=1)
        counts.append(len(V))
    V, nv = _drop_repeated_vertices(V, nv)
    area, centroid = _area_and_centroid(V, nv)
    vertices = [V[i, : nv[i]] for i in range(len(V))]
    return PolygonSplit(vertices, bits, tuple(counts), area, centroid)


class _LineTable:
    """The lines ``(a1, a2, a0)`` polygon edges lie on, one per row; an edge holds its row
    number. Grows by doubling, so adding a unit's lines never copies the whole table.

    A line may be an exact difference of two float lines (a max pool's ``P_a - P_b``, added
    with ``minus``): ``rows`` then holds the rounded difference (for crossing points and
    float values) and ``main``, ``sub`` the two lines (for exact signs,
    :func:`~tinylens.geometry._exact_sides.signs_at_pairs`). ``sub`` is None until the first
    such line, and zero for plain lines."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = np.array(rows, dtype=np.float64).reshape(-1, 3)
        self.n = len(self.rows)
        self.main: np.ndarray | None = None
        self.sub: np.ndarray | None = None

    def add(
        self, g: np.ndarray, h: np.ndarray, minus: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Append lines ``(g, h)`` ((m, 2) and (m,)), or ``(g, h) - minus`` exactly; their ids
        (m,), int32."""
        need = self.n + len(h)
        if need > len(self.rows):
            size = max(need, 2 * len(self.rows))
            self.rows = self._grown(self.rows, size)
            if self.sub is not None:
                self.main, self.sub = self._grown(self.main, size), self._grown(self.sub, size)
        if minus is not None and self.sub is None:
            self.main, self.sub = self.rows.copy(), np.zeros_like(self.rows)
        at = slice(self.n, need)
        if self.sub is not None:
            self.main[at, :2], self.main[at, 2] = g, h  # type: ignore[index]
            self.sub[at] = 0.0
            if minus is not None:
                self.sub[at, :2], self.sub[at, 2] = minus
                g, h = g - minus[0], h - minus[1]  # rounded once: the float line
        self.rows[at, :2], self.rows[at, 2] = g, h
        ids = np.arange(self.n, need, dtype=np.int32)
        self.n = need
        return ids

    def copy(self) -> _LineTable:
        """A table with the same lines that grows on its own."""
        out = _LineTable(self.rows[: self.n])
        if self.sub is not None:
            out.main, out.sub = self.main[: self.n].copy(), self.sub[: self.n].copy()  # type: ignore[index]
        return out

    def _grown(self, rows: np.ndarray, size: int) -> np.ndarray:
        grown = np.zeros((size, 3))
        grown[: self.n] = rows[: self.n]
        return grown


def _split_by_unit(
    V: np.ndarray,
    nv: np.ndarray,
    E: np.ndarray,
    lines: _LineTable,
    root: np.ndarray,
    layer_bits: np.ndarray,
    G: np.ndarray,
    H: np.ndarray,
    j: int,
) -> tuple[np.ndarray, ...]:
    """Cut every polygon by unit ``j``'s line; the side ``z > 0`` keeps the row, ``z < 0`` is
    appended (its line added to ``lines``). Returns the new ``V, nv, E, root, layer_bits``."""
    g, h = G[root, j], H[root, j]  # (R, 2), (R,)
    z, z_max, z_min = _settled_values(V, nv, E, lines.rows, g, h)
    split = (z_max > 0) & (z_min < 0)
    layer_bits[:, j] = z_max > 0  # unsplit: one sign throughout (all zero counts as z <= 0)
    if not split.any():
        return V, nv, E, root, layer_bits
    idx = np.flatnonzero(split)
    ids = lines.add(g[idx], h[idx])  # the unit's line in each polygon it splits
    (pos, n_pos, e_pos), (neg, n_neg, e_neg) = _cut_exact(
        V[idx], nv[idx], E[idx], np.sign(z[idx]).astype(np.int8), ids, lines.rows
    )
    width = max(V.shape[1], pos.shape[1], neg.shape[1])
    V, E = _pad(V, width), _pad(E, width)
    V[idx], E[idx] = _pad(pos, width), _pad(e_pos, width)
    nv = nv.copy()
    nv[idx] = n_pos
    layer_bits[idx, j] = 1
    new_bits = layer_bits[idx].copy()
    new_bits[:, j] = 0
    return (
        np.concatenate([V, _pad(neg, width)]),
        np.concatenate([nv, n_neg]),
        np.concatenate([E, _pad(e_neg, width)]),
        np.concatenate([root, root[idx]]),
        np.concatenate([layer_bits, new_bits]),
    )


def vertex_values(
    V: np.ndarray, nv: np.ndarray, E: np.ndarray, lines: np.ndarray, g: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """``z = g . v + h`` at every vertex (R, cap), with the exact sign: where ``|z|`` is within
    the band of :data:`SIDE_RTOL_2D` it is replaced by the exact sign (-1.0, 0.0 or 1.0) of
    the line ``(g, h)`` at the crossing of the vertex's two edge lines (``lines[E[r, k - 1]]``
    and ``lines[E[r, k]]``), from ``signs_at``. A unit constant on a polygon (``g = 0``) is
    exactly ``h`` already. Padding slots repeat vertex 0's value."""
    return _settled_values(V, nv, E, lines, g, h)[0]


def _settled_values(
    V: np.ndarray, nv: np.ndarray, E: np.ndarray, lines: np.ndarray, g: np.ndarray, h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`vertex_values` and its row maxima and minima (padding repeats vertex 0, so
    they need no mask)."""
    z = V[:, :, 0] * g[:, 0:1] + V[:, :, 1] * g[:, 1:2] + h[:, None]
    band = SIDE_RTOL_2D * (np.abs(g).sum(axis=1) + np.abs(h))
    close = np.abs(z) <= band[:, None]
    if close.any():
        rows, ks = np.nonzero(close)
        live = (g[rows] != 0).any(axis=1)  # g = 0: z is exactly h already
        rows, ks = rows[live], ks[live]
        k = np.where(ks < nv[rows], ks, 0)  # a padding slot is vertex 0
        prev = np.where(k == 0, nv[rows] - 1, k - 1)
        L = np.concatenate([g[rows], h[rows, None]], axis=1)
        z[rows, ks] = signs_at(lines[E[rows, prev]], lines[E[rows, k]], L)
    return z, z.max(axis=1), z.min(axis=1)


def settle_close(
    zz: np.ndarray,
    band: np.ndarray,
    nv: np.ndarray,
    E: np.ndarray,
    lines: _LineTable,
    L: np.ndarray,
    L2: np.ndarray | None = None,
) -> np.ndarray:
    """Values ``zz`` (n, cap, m) of ``m`` lines ``L`` (n, m, 3) (or ``L - L2``, exactly) at
    the vertices of polygons ``(nv, E)``, with every value within ``band`` (broadcastable to
    ``zz``) replaced by its exact sign (-1.0, 0.0 or 1.0) at the crossing of the vertex's two
    edge lines in ``lines``, as :func:`vertex_values` does for one line per polygon. ``zz`` is
    changed in place and returned."""
    close = np.abs(zz) <= band
    if close.any():
        rows, ks, us = np.nonzero(close)
        # g = 0: z is exactly h already; g = g2 (identical slopes, as two dead pieces have):
        # the sign of h - h2, which a float difference has exactly
        g2 = 0 if L2 is None else L2[rows, us, :2]
        live = (L[rows, us, :2] != g2).any(axis=1)
        if L2 is not None and not live.all():
            r, k, u = rows[~live], ks[~live], us[~live]
            zz[r, k, u] = np.sign(L[r, u, 2] - L2[r, u, 2])
        rows, ks, us = rows[live], ks[live], us[live]
        k = np.where(ks < nv[rows], ks, 0)  # a padding slot is vertex 0
        prev = np.where(k == 0, nv[rows] - 1, k - 1)
        a, b = E[rows, prev], E[rows, k]
        if L2 is None and lines.sub is None:
            zz[rows, ks, us] = signs_at(lines.rows[a], lines.rows[b], L[rows, us])
        else:
            main, sub = (
                (lines.rows, np.zeros_like(lines.rows))
                if lines.sub is None
                else (
                    lines.main,
                    lines.sub,
                )
            )
            ell2 = np.zeros((len(rows), 3)) if L2 is None else L2[rows, us]
            zz[rows, ks, us] = signs_at_pairs(  # type: ignore[index]
                main[a], main[b], L[rows, us], sub[a], sub[b], ell2
            )
    return zz


def clip_halfplane_exact(
    V: np.ndarray,
    nv: np.ndarray,
    E: np.ndarray,
    lines: _LineTable,
    g: np.ndarray,
    h: np.ndarray,
    *,
    keep_zero: bool = False,
    minus: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`clip_halfplane` with exact sides: every vertex's side of the line ``(g, h)``
    (or of ``(g, h) - minus``, exactly) decided from the vertex's two edge lines within the
    band of :data:`SIDE_RTOL_2D`, the cut made by :func:`_cut_exact` (its line added to
    ``lines``). Returns ``V, nv, E, alive``; a row that is not alive is unchanged."""
    L = np.concatenate([g, h[:, None]], axis=1)[:, None]  # (n, 1, 3)
    L2 = None if minus is None else np.concatenate([minus[0], minus[1][:, None]], axis=1)[:, None]
    size = np.abs(L).sum(axis=2)[:, 0] + (0 if L2 is None else np.abs(L2).sum(axis=2)[:, 0])
    d = L[:, 0] if L2 is None else L[:, 0] - L2[:, 0]  # the float line
    z = V[:, :, 0] * d[:, 0:1] + V[:, :, 1] * d[:, 1:2] + d[:, 2:3]
    z = settle_close(z[:, :, None], SIDE_RTOL_2D * size[:, None, None], nv, E, lines, L, L2)
    z = z[:, :, 0]
    z_max, z_min = z.max(axis=1), z.min(axis=1)
    alive = (z_max > 0) | ((z_min >= 0) & keep_zero)
    cut = alive & (z_min < 0)
    if not cut.any():
        return V, nv, E, alive
    idx = np.flatnonzero(cut)
    ids = lines.add(g[idx], h[idx], None if minus is None else (minus[0][idx], minus[1][idx]))
    (pos, n_pos, e_pos), _ = _cut_exact(
        V[idx], nv[idx], E[idx], np.sign(z[idx]).astype(np.int8), ids, lines.rows, both=False
    )
    width = max(V.shape[1], pos.shape[1])
    V, E = _pad(V, width).copy(), _pad(E, width).copy()  # never write into the caller's
    V[idx], E[idx] = _pad(pos, width), _pad(e_pos, width)
    nv = nv.copy()
    nv[idx] = n_pos
    return V, nv, E, alive


def _cut_exact(
    V: np.ndarray,
    nv: np.ndarray,
    E: np.ndarray,
    s: np.ndarray,
    ids: np.ndarray,
    lines: np.ndarray,
    *,
    both: bool = True,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...] | None]:
    """Split convex polygons by the lines ``lines[ids]`` given the exact sides ``s`` (int8)
    of their vertices, which take both signs: ``((V, nv, E) of z >= 0, (V, nv, E) of z <= 0)``.

    As :func:`~tinylens.geometry._polygon_arrays._cut` (snapping), but each crossing is the
    crossing of the edge's line with the unit's
    (:func:`~tinylens.geometry._exact_sides.crossing_points`), and each new polygon carries its
    edges' line ids: a kept vertex leaves along its old edge, except a vertex on the line whose
    next vertex is on the other side (it leaves along the line); a crossing leaves along the
    line when the boundary goes on to the other side, else along its edge. With ``both``
    False only the side ``z >= 0`` is made (the second is None).
    """
    n, cap = s.shape
    valid, nxt = _next_index(nv, cap)
    s_next = s[np.arange(n)[:, None], nxt]
    cross = valid & (s * s_next < 0)
    P = V.copy()
    rows, ks = np.nonzero(cross)
    P[rows, ks] = crossing_points(lines[E[rows, ks]], lines[ids[rows]])
    cand = np.stack([V, P], axis=2).reshape(n, 2 * cap, 2)
    unit = ids[:, None]

    def side(sign: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        onward = s_next * sign  # > 0: the boundary after this point stays on this side
        leave_v = np.where((s == 0) & (onward < 0), unit, E)
        leave_c = np.where(onward > 0, E, unit)
        edges = np.stack([leave_v, leave_c], axis=2).reshape(n, 2 * cap)
        keep = np.stack([valid & (s * sign >= 0), cross], axis=2).reshape(n, 2 * cap)
        (out, out_edges), count = _compact(keep, cand, edges)
        return out, count, out_edges

    return side(1), side(-1) if both else None
