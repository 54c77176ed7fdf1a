"""Any number of inputs: incremental hyperplane arrangement with LP interior checks (HiGHS).

Each region is a polytope ``{u : A u <= b}`` inside the unit box ``[-1, 1]^d`` (the caller
rescales the network's first layer) together with a ball ``(c, r)`` known to lie inside it.
Units are added one at a time, layer by layer; on a region, a unit's pre-activation is affine,
``z = g . u + h``, and its hyperplane either splits the region into two full-dimensional
pieces or leaves it whole. Deciding which is the only expensive step, so it is done in the
cheapest way that is still exact:

1. the unit box bound ``h +- |g|_1``: the hyperplane misses the whole box, no split;
2. the known ball: a hyperplane passing well inside it certainly splits the region, and each
   side inherits a ball that fits in it (no LP);
3. otherwise a linear program (``scipy.optimize.linprog(method="highs")``) finds the largest
   ball on the other side (its Chebyshev centre); a radius above :data:`INTERIOR_TOL` is a
   certain yes and an infeasible LP a certain no;
4. in the grey zone between (a float radius at most :data:`INTERIOR_TOL`) the same LP is solved
   again in exact rationals (:mod:`tinylens.geometry._exact_lp`): the side is a region iff its
   largest ball has radius above :data:`RESOLUTION`, decided without rounding.

Only rows of hyperplanes that actually split a region are added to it, so every region's LP
stays small (rows of units that do not cut a region are redundant for it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinylens.geometry._affine import PiecewiseStack, apply_linear
from tinylens.geometry._exact_lp import chebyshev_ball

__all__ = ["INTERIOR_TOL", "RESOLUTION", "ArrangementSplit", "split_arrangement"]

INTERIOR_TOL = 1e-7
"""A float LP radius above ``INTERIOR_TOL`` (unit box, half-width 1) is trusted: HiGHS runs with
feasibility tolerances of 1e-9, so such a piece certainly has an interior. At or below it the
decision is taken again in exact rationals (see :data:`RESOLUTION`)."""

RESOLUTION = 1e-10
"""A piece is a region iff the largest ball inside it has radius above ``RESOLUTION`` in
unit-box coordinates (``RESOLUTION`` times the box's half-width in input units), decided
exactly on the float64 rows when the float LP is not conclusive. Thinner pieces are merged into
their neighbour: the rows themselves carry rounding of ~1e-15 from composing the layers, so a
line grazing a vertex leaves a sliver of that size, which is an artefact, not a region. 1e-10 is
far above that rounding and below the 1e-9 every method promises to resolve."""

_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


@dataclass(frozen=True)
class ArrangementSplit:
    """Regions in unit-box coordinates.

    ``A[i] u <= b[i]`` (unit-norm rows: the box and the hyperplanes that cut region i);
    ``centers[i]``, ``radii[i]``: a ball inside region i; ``patterns``: uint8 array of shape
    (n, n_units); ``counts_per_layer[l]``: regions after kinked layer ``l``; ``n_lp``: linear
    programs solved.
    """

    A: list[np.ndarray]
    b: list[np.ndarray]
    centers: np.ndarray
    radii: np.ndarray
    patterns: np.ndarray
    counts_per_layer: tuple[int, ...]
    n_lp: int


class _Cells:
    """The growing list of regions (rows as Python lists: their counts differ per region)."""

    def __init__(self, d: int) -> None:
        eye = np.eye(d)
        self.A: list[np.ndarray] = [np.vstack([eye, -eye])]
        self.b: list[np.ndarray] = [np.ones(2 * d)]
        self.c = np.zeros((1, d))
        self.r = np.ones(1)
        self.n_lp = 0
        self.n_exact = 0

    def largest_ball(self, i: int, row: np.ndarray, rhs: float) -> tuple[np.ndarray, float]:
        """The largest ball in region ``i`` intersected with ``row . u <= rhs`` (unit row)."""
        from scipy.optimize import linprog

        self.n_lp += 1
        A = np.vstack([self.A[i], row])
        b = np.append(self.b[i], rhs)
        d = A.shape[1]
        cost = np.zeros(d + 1)
        cost[-1] = -1.0  # maximise the radius
        res = linprog(
            cost,
            A_ub=np.hstack([A, np.ones((len(A), 1))]),  # rows have unit norm: a.u + rho <= b
            b_ub=b,
            bounds=[(-1.0, 1.0)] * d + [(0.0, None)],
            method="highs",
            options=_HIGHS_OPTIONS,
        )
        if res.status == 2:  # infeasible even with HiGHS's tolerance: certainly empty
            return np.zeros(d), 0.0
        if res.status == 0 and res.x[-1] > INTERIOR_TOL:
            return res.x[:d], float(res.x[-1])
        # The grey zone (or a solver failure): decide exactly.
        self.n_exact += 1
        centre, radius = chebyshev_ball(A, b)
        if radius <= RESOLUTION:
            return np.zeros(d), 0.0
        return centre, float(radius)


def split_arrangement(stack: PiecewiseStack) -> ArrangementSplit:
    """Every linear region of ``stack`` on the unit box ``[-1, 1]^d``, for any ``d``."""
    d = stack.n_inputs
    cells = _Cells(d)
    bits = np.zeros((1, 0), dtype=np.uint8)
    M = np.eye(d)[None]  # this layer's input as a map of u, per region: x_l = M u + m
    m = np.zeros((1, d))
    counts: list[int] = []
    tol = INTERIOR_TOL
    for index, layer in enumerate(stack.layers):
        G = apply_linear(layer.weight, M)
        H = m @ layer.weight.T + layer.bias
        root = np.arange(len(cells.A))
        layer_bits = np.ones((len(root), layer.out_features), dtype=np.uint8)
        for j in range(layer.out_features if layer.activation != "identity" else 0):
            g, h = G[root, j], H[root, j]
            norm = np.linalg.norm(g, axis=1)
            reach = np.abs(g).sum(axis=1)  # max of |g . u| on the unit box
            # Step 1: the hyperplane misses the box (or the unit is constant: g = 0).
            z_low, z_high = h - reach, h + reach
            layer_bits[:, j] = z_high > 0
            # (If z_high > 0 >= z_low the unit may switch inside the box; decided below.)
            undecided = np.flatnonzero((z_high > 0) & (z_low < 0) & (norm > 0))
            if not len(undecided):
                continue
            unit_n = g[undecided] / norm[undecided, None]
            delta = np.einsum("rd,rd->r", cells.c[undecided], unit_n) + (
                h[undecided] / norm[undecided]
            )
            new_rows: list[tuple[int, int, np.ndarray, float, np.ndarray, float]] = []
            for k, i in enumerate(undecided):
                side = 1 if delta[k] >= 0 else 0  # the side holding the ball's centre
                r, dist = cells.r[i], abs(delta[k])
                n_hat = unit_n[k]
                # rows that keep each side: z > 0 is -n.u <= h/|g|; z < 0 is n.u <= -h/|g|
                offset = h[i] / norm[i]
                row = {1: (-n_hat, offset), 0: (n_hat, -offset)}
                sign = 1.0 if side == 1 else -1.0
                if r - dist > 2 * tol:
                    # Step 2: the plane cuts the ball at distance dist from its centre. Along
                    # the normal the ball spans [-r, r]; the far side holds [-r, -dist] and the
                    # near side [-dist, r], and each contains the ball on that segment.
                    c_far = cells.c[i] - sign * ((r + dist) / 2) * n_hat
                    c_near = cells.c[i] + sign * ((r - dist) / 2) * n_hat
                    far = (c_far, (r - dist) / 2)
                    near = (c_near, (r + dist) / 2)
                else:
                    # Step 3: the far side needs an LP.
                    far = cells.largest_ball(i, *row[1 - side])
                    near = (cells.c[i], min(r, dist)) if min(r, dist) > tol else None
                if far[1] <= 0:
                    layer_bits[i, j] = side
                    continue
                if near is None:
                    near = cells.largest_ball(i, *row[side])
                    if near[1] <= 0:
                        layer_bits[i, j] = 1 - side
                        continue
                layer_bits[i, j] = side
                new_rows.append((i, 1 - side, *row[1 - side], *far))
                cells.A[i] = np.vstack([cells.A[i], row[side][0]])
                cells.b[i] = np.append(cells.b[i], row[side][1])
                cells.c[i], cells.r[i] = near
            if new_rows:
                parents = np.array([t[0] for t in new_rows])
                add_bits = layer_bits[parents].copy()
                add_bits[:, j] = [t[1] for t in new_rows]
                for i, _, a_row, b_row, _, _ in new_rows:
                    cells.A.append(np.vstack([cells.A[i][:-1], a_row]))
                    cells.b.append(np.append(cells.b[i][:-1], b_row))
                cells.c = np.vstack([cells.c, [t[4] for t in new_rows]])
                cells.r = np.concatenate([cells.r, [t[5] for t in new_rows]])
                layer_bits = np.concatenate([layer_bits, add_bits])
                root = np.concatenate([root, root[parents]])
        s = stack.slopes(index, layer_bits)
        M, m = s[:, :, None] * G[root], s * H[root]
        bits = np.concatenate([bits[root], layer_bits], axis=1)
        counts.append(len(cells.A))
    return ArrangementSplit(cells.A, cells.b, cells.c, cells.r, bits, tuple(counts), cells.n_lp)
