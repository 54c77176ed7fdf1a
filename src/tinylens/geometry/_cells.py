"""n-D boxes: the incremental hyperplane arrangement, with its linear programs batched.

The same enumeration as :mod:`tinylens.geometry._arrangement` (kept as the reference): units
are added one at a time, layer by layer; on a region a unit's pre-activation is affine,
``z = g . u + h``, and its hyperplane either splits the region into two pieces with an
interior or leaves it whole. A piece is a region iff its largest ball has radius above
:data:`~tinylens.geometry._arrangement.RESOLUTION` (unit-box coordinates), the same
definition, so both find the same patterns. What changes is how each decision is reached:

1. the unit box bound ``h +- |g|_1`` (the hyperplane misses the box), for all regions at once;
2. the region's known ball, for all regions at once: a hyperplane passing well inside it
   splits the region and each side inherits a ball (no LP);
3. every remaining (region, unit) pair of the round goes into one batched simplex
   (:func:`~tinylens.geometry._chebyshev.largest_balls`) whose answers are certified bounds on
   the largest radius: a lower bound from the centre's own slacks, an upper bound from the
   dual multipliers. A bound clear of ``RESOLUTION`` decides; no float tolerance is trusted;
4. the few pairs whose bounds straddle ``RESOLUTION`` are settled in exact rationals
   (:func:`~tinylens.geometry._exact_lp.chebyshev_ball`), as the reference does.

Rows live in one padded array (padding repeats the first box row, which changes no LP), so a
round's problems are gathered by indexing instead of one Python call per region.
"""

from __future__ import annotations

import numpy as np

from tinylens.geometry._affine import PiecewiseStack, apply_linear
from tinylens.geometry._arrangement import INTERIOR_TOL, RESOLUTION, ArrangementSplit
from tinylens.geometry._chebyshev import largest_balls
from tinylens.geometry._exact_lp import chebyshev_ball

__all__ = ["split_cells"]


class _Rows:
    """Every region's rows ``A[i, :n[i]] u <= b[i, :n[i]]`` in padded arrays."""

    def __init__(self, d: int) -> None:
        eye = np.eye(d)
        self.A = np.vstack([eye, -eye])[None].copy()
        self.b = np.ones((1, 2 * d))
        self.n = np.array([2 * d])
        self.c = np.zeros((1, d))
        self.r = np.ones(1)
        self.n_lp = 0
        self.n_exact = 0

    def grow(self) -> None:
        """Room for one more row in every region (padding: copies of row 0)."""
        self.A = np.concatenate([self.A, self.A[:, :1]], axis=1)
        self.b = np.concatenate([self.b, self.b[:, :1]], axis=1)

    def radii(
        self, regions: np.ndarray, rows: np.ndarray, rhs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The largest ball in each ``regions[k]`` intersected with ``rows[k] . u <= rhs[k]``:
        centres (k, d) and radii (k,), radius 0 where the piece is not a region."""
        d = self.A.shape[2]
        if not len(regions):
            return np.zeros((0, d)), np.zeros(0)
        self.n_lp += len(regions)
        width = int(self.n[regions].max()) + 1
        if width > self.A.shape[1]:
            self.grow()
        # rows past each region's own are padding (copies of row 0): every problem is complete
        A = self.A[regions, :width].copy()
        b = self.b[regions, :width].copy()
        slot = self.n[regions]
        k = np.arange(len(regions))
        A[k, slot], b[k, slot] = rows, rhs
        centre, lower, upper = largest_balls(A, b, below=RESOLUTION / 2)
        radius = np.where(lower > RESOLUTION, lower, 0.0)
        for q in np.flatnonzero((lower <= RESOLUTION) & (upper > RESOLUTION)):
            # certified bounds straddle the resolution: decide exactly, as the reference does
            self.n_exact += 1
            ball, t = chebyshev_ball(A[q, : slot[q] + 1], b[q, : slot[q] + 1])
            centre[q], radius[q] = ball, float(t) if t > RESOLUTION else 0.0
        return centre, radius

    def add_row(self, regions: np.ndarray, rows: np.ndarray, rhs: np.ndarray) -> None:
        if not len(regions):
            return
        if int(self.n[regions].max()) >= self.A.shape[1]:
            self.grow()
        self.A[regions, self.n[regions]] = rows
        self.b[regions, self.n[regions]] = rhs
        self.n[regions] += 1

    def copy_regions(self, parents: np.ndarray) -> np.ndarray:
        """Append copies of ``parents`` (rows only); returns the new indices."""
        start = len(self.n)
        self.A = np.concatenate([self.A, self.A[parents]])
        self.b = np.concatenate([self.b, self.b[parents]])
        self.n = np.concatenate([self.n, self.n[parents]])
        return np.arange(start, start + len(parents))


def _planes(c: np.ndarray, g: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, ...]:
    """For balls centred at ``c`` (n, d) and hyperplanes ``g . u + h = 0`` (``g`` nonzero):
    the side holding each centre (1: ``z > 0``), the centre's distance to the plane, and the
    unit-norm rows ``row . u <= rhs`` that keep the centre's (near) side, and the unit normals."""
    norm = np.linalg.norm(g, axis=1)
    n_hat, offset = g / norm[:, None], h / norm
    delta = np.einsum("rd,rd->r", c, n_hat) + offset
    side = (delta >= 0).astype(np.uint8)
    sign = np.where(side == 1, 1.0, -1.0)
    # z > 0 is -n.u <= offset; z < 0 is n.u <= -offset
    return side, np.abs(delta), -sign[:, None] * n_hat, sign * offset, n_hat


def _blocked(cells: _Rows, G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which units of the layer provably never cut region i (its far side has no ball above
    the resolution, so no piece of it can), and the side they keep there: boolean and uint8
    arrays of shape (regions, width). One batched LP round for the whole layer, instead of
    one per piece each unit would otherwise be tested against."""
    n, k, d = G.shape
    blocked = np.zeros((n, k), dtype=bool)
    kept = np.zeros((n, k), dtype=np.uint8)
    g, h = G.reshape(-1, d), H.reshape(-1)
    reach = np.abs(g).sum(axis=1)
    pair = np.flatnonzero((h + reach > 0) & (h - reach < 0) & (np.linalg.norm(g, axis=1) > 0))
    i = pair // k
    side, dist, near_row, near_rhs, _ = _planes(cells.c[i], g[pair], h[pair])
    q = np.flatnonzero(cells.r[i] - dist <= 2 * INTERIOR_TOL)  # the ball does not settle it
    _, far_r = cells.radii(i[q], -near_row[q], -near_rhs[q])
    empty = pair[q[far_r <= 0]]
    blocked.reshape(-1)[empty] = True
    kept.reshape(-1)[empty] = side[q[far_r <= 0]]
    return blocked, kept


def split_cells(stack: PiecewiseStack) -> ArrangementSplit:
    """Every linear region of ``stack`` on the unit box ``[-1, 1]^d``, for any ``d``."""
    d = stack.n_inputs
    cells = _Rows(d)
    bits = np.zeros((1, 0), dtype=np.uint8)
    M = np.eye(d)[None]  # this layer's input as a map of u, per region: x_l = M u + m
    m = np.zeros((1, d))
    counts: list[int] = []
    tol = INTERIOR_TOL
    for index, layer in enumerate(stack.layers):
        G = apply_linear(layer.weight, M)
        H = m @ layer.weight.T + layer.bias
        root = np.arange(len(cells.n))
        layer_bits = np.ones((len(root), layer.out_features), dtype=np.uint8)
        kinked = layer.activation != "identity"
        if kinked:
            blocked, kept = _blocked(cells, G, H)
        for j in range(layer.out_features if kinked else 0):
            g, h = G[root, j], H[root, j]
            reach = np.abs(g).sum(axis=1)  # max of |g . u| on the unit box
            layer_bits[:, j] = h + reach > 0  # 1. the side of a hyperplane that misses the box
            fixed = blocked[root, j]
            layer_bits[fixed, j] = kept[root[fixed], j]
            live = np.flatnonzero(
                (h + reach > 0) & (h - reach < 0) & (np.linalg.norm(g, axis=1) > 0) & ~fixed
            )
            if not len(live):
                continue
            side, dist, near_row, near_rhs, n_hat = _planes(cells.c[live], g[live], h[live])
            sign = np.where(side == 1, 1.0, -1.0)
            r = cells.r[live]
            far_row, far_rhs = -near_row, -near_rhs
            # 2. a hyperplane well inside the ball: both sides hold a ball on the normal
            cut = r - dist > 2 * tol
            far_c = cells.c[live] - (sign * (r + dist) / 2)[:, None] * n_hat
            near_c = cells.c[live] + (sign * (r - dist) / 2)[:, None] * n_hat
            far_r, near_r = (r - dist) / 2, (r + dist) / 2
            # 3. the rest: one batched LP for the far side ...
            q = np.flatnonzero(~cut)
            far_c[q], far_r[q] = cells.radii(live[q], far_row[q], far_rhs[q])
            # ... and the near side keeps the ball it holds, or needs an LP too
            small = np.minimum(r, dist)
            near_c[q], near_r[q] = cells.c[live[q]], np.where(small[q] > tol, small[q], 0.0)
            q = q[(far_r[q] > 0) & (small[q] <= tol)]
            near_c[q], near_r[q] = cells.radii(live[q], near_row[q], near_rhs[q])
            # empty far side: the unit keeps the centre's side; empty near side: the other
            layer_bits[live, j] = np.where((far_r > 0) & (near_r <= 0), 1 - side, side)
            split = (far_r > 0) & (near_r > 0)
            parents = live[split]
            children = cells.copy_regions(parents)
            cells.add_row(parents, near_row[split], near_rhs[split])
            cells.add_row(children, far_row[split], far_rhs[split])
            cells.c[parents], cells.r[parents] = near_c[split], near_r[split]
            cells.c = np.vstack([cells.c, far_c[split]])
            cells.r = np.concatenate([cells.r, far_r[split]])
            add_bits = layer_bits[parents].copy()
            add_bits[:, j] = 1 - side[split]
            layer_bits = np.concatenate([layer_bits, add_bits])
            root = np.concatenate([root, root[parents]])
        s = stack.slopes(index, layer_bits)
        M, m = s[:, :, None] * G[root], s * H[root]
        bits = np.concatenate([bits[root], layer_bits], axis=1)
        counts.append(len(cells.n))
    A = [cells.A[i, : cells.n[i]] for i in range(len(cells.n))]
    b = [cells.b[i, : cells.n[i]] for i in range(len(cells.n))]
    return ArrangementSplit(A, b, cells.c, cells.r, bits, tuple(counts), cells.n_lp)
