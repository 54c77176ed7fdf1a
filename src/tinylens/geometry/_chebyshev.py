"""The largest ball inside many small polytopes at once, with certified bounds.

The n-D enumeration (:mod:`tinylens.geometry._cells`) asks thousands of tiny questions of the
form "does this piece of a region hold a ball of radius above ``RESOLUTION``?". One call of a
general LP solver costs about a millisecond, almost all of it overhead, for a problem of
seven variables. Here every question of a round is solved together by one dense revised
simplex, vectorised in NumPy over the batch.

The solver is only trusted through certificates that are checked afterwards, so a rounding
slip inside the simplex can cost an undecided answer but never a wrong one:

* a **lower bound** on the radius: the returned centre ``u`` itself, whose smallest slack
  ``min(b - A u)`` over the unit-norm rows is the radius of a ball inside the polytope;
* an **upper bound**: the dual multipliers ``y >= 0`` of the final basis. For any ``u`` in the
  unit box and ``t`` with ``A u + t <= b``, ``t * sum(y) <= b . y + |A^T y|_1`` (weak duality,
  with the residual of ``A^T y = 0`` bounded on the box), whatever ``y`` is.

The problem, per polytope ``{u : A u <= b}`` (the first ``2 d`` rows are the unit box):
``max t`` s.t. ``A u + t <= b``. The simplex runs on its dual, ``min b . y`` s.t.
``A^T y = 0``, ``sum(y) = 1``, ``y >= 0``, which has a feasible basis to start from (the box
rows ``+e_1``, ``-e_1``, ``+e_2``, ..., ``+e_d``), so no phase 1 is needed; Bland's rule makes
cycling impossible on the many degenerate problems an arrangement produces.

>>> import numpy as np
>>> eye = np.eye(2)
>>> A = np.vstack([eye, -eye, [[1.0, 0.0]]])[None]  # the unit square cut at u1 <= 0.5
>>> b = np.array([[1.0, 1.0, 1.0, 1.0, 0.5]])
>>> centre, lower, upper = largest_balls(A, b)
>>> round(float(lower[0]), 9), round(float(upper[0]), 9)
(0.75, 0.75)
"""

from __future__ import annotations

import numpy as np

__all__ = ["CERT_MARGIN", "largest_balls"]

CERT_MARGIN = 1e-12
"""Subtracted from every lower bound and added to every upper bound: the float64 rounding of
computing a slack or a dual bound from O(1) terms (a few dozen of them) is below 1e-14, so the
bounds stay rigorous with two orders of magnitude to spare."""

_REDUCED_COST_TOL = 1e-12  # a column enters only if it lowers the objective by more than this
_PIVOT_TOL = 1e-11  # smallest pivot element accepted in the ratio test


def largest_balls(
    A: np.ndarray, b: np.ndarray, *, below: float | None = None, max_iter: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Certified bounds on the largest ball inside each polytope ``{u : A[k] u <= b[k]}``.

    Parameters
    ----------
    A : array of shape (n, m, d)
        Unit-norm rows; rows ``0 .. 2d-1`` of every problem are the unit box (``+e_i`` then
        ``-e_i``, right-hand side 1). Pad shorter problems by repeating a row.
    b : array of shape (n, m)
    below : float, optional
        Stop early on a problem once its radius is shown to be at most ``below``: every
        simplex step keeps a feasible dual, whose objective bounds the radius from above, so
        an empty piece is settled without running to the optimum (its ``lower`` is then not
        tight).

    Returns
    -------
    centre : array of shape (n, d)
        A point with every slack at least ``lower`` (inside the polytope when ``lower > 0``).
    lower, upper : arrays of shape (n,)
        ``lower <= t* <= upper`` for the largest radius ``t*`` (negative when the polytope is
        empty). Both are rigorous whatever the simplex did; they meet (to rounding) when it
        reached the optimum, and stay apart when it stopped at the iteration cap.
    """
    n, m, d = A.shape
    if n == 0:
        return np.zeros((0, d)), np.zeros(0), np.zeros(0)
    k = d + 1
    basis = np.broadcast_to(np.array([0, d, *range(1, d)]), (n, k)).copy()
    # The dual's column of row j is [a_j; 1]; the starting basis is the box rows above.
    B0 = np.vstack([A[0, basis[0]].T, np.ones(k)])
    Binv = np.broadcast_to(np.linalg.inv(B0), (n, k, k)).copy()
    y_B = Binv[:, :, -1].copy()  # B^-1 [0, ..., 0, 1]
    cap = max_iter if max_iter is not None else 20 * (m + k)
    bland_after = 2 * (m + k)  # Dantzig's rule first (fewer pivots), then Bland's (no cycles)
    # The working set: problems not yet optimal, compacted once a quarter of them finished.
    ids = np.arange(n)
    Aw, bw = A, b
    Bi, yb, bas = Binv, y_B, basis
    for it in range(cap):
        cost_B = np.take_along_axis(bw, bas, axis=1)
        pi = np.matmul(cost_B[:, None, :], Bi)[:, 0]  # simplex multipliers = primal (u, t)
        reduced = bw - np.matmul(Aw, pi[:, :d, None])[:, :, 0] - pi[:, d:]
        improving = reduced < -_REDUCED_COST_TOL
        run = improving.any(axis=1)
        if below is not None:  # settled: the dual objective (an upper bound) is low enough
            run &= (cost_B * yb).sum(axis=1) > below
        n_run = int(run.sum())
        if n_run < 0.75 * len(ids):  # store the finished ones and shrink the working set
            done = ~run
            Binv[ids[done]], y_B[ids[done]], basis[ids[done]] = Bi[done], yb[done], bas[done]
            ids, Aw, bw = ids[run], Aw[run], bw[run]
            Bi, yb, bas, improving, reduced = (
                Bi[run],
                yb[run],
                bas[run],
                improving[run],
                reduced[run],
            )
            run = run[run]
            if not n_run:
                break
        # Dantzig: the most improving column; Bland: the lowest improving one
        enter = reduced.argmin(axis=1) if it < bland_after else improving.argmax(axis=1)
        r = np.arange(len(ids))
        col = np.concatenate([Aw[r, enter], np.ones((len(ids), 1))], axis=1)
        w = np.matmul(Bi, col[:, :, None])[:, :, 0]
        ok = w > _PIVOT_TOL
        ratio = np.where(ok, np.maximum(yb, 0.0) / np.where(ok, w, 1.0), np.inf)
        best = ratio.min(axis=1)
        tie = ok & (ratio <= best[:, None] + 1e-15)
        leave = np.where(tie, bas, np.iinfo(np.int64).max).argmin(axis=1)  # Bland on ties
        # No positive pivot would mean an unbounded dual, impossible with a feasible primal;
        # rounding could still produce it: such a problem keeps its basis (bounds stay valid).
        step = run & np.isfinite(best)
        wp = np.where(step, w[r, leave], 1.0)
        pivot_row = Bi[r, leave] / wp[:, None]
        w = np.where(step[:, None], w, 0.0)
        Bi = Bi - w[:, :, None] * pivot_row[:, None, :]
        theta = np.where(step, yb[r, leave] / wp, 0.0)
        yb = yb - theta[:, None] * w
        Bi[r[step], leave[step]] = pivot_row[step]
        yb[r[step], leave[step]] = theta[step]
        bas[r[step], leave[step]] = enter[step]
    Binv[ids], y_B[ids], basis[ids] = Bi, yb, bas
    cost_B = np.take_along_axis(b, basis, axis=1)
    pi = np.einsum("nk,nkj->nj", cost_B, Binv)
    centre = np.clip(pi[:, :d], -1.0, 1.0)
    lower = (b - np.einsum("nmd,nd->nm", A, centre)).min(axis=1) - CERT_MARGIN
    y = np.zeros((n, m))
    np.put_along_axis(y, basis, np.maximum(y_B, 0.0), axis=1)
    total = y.sum(axis=1)
    residual = np.abs(np.einsum("nmd,nm->nd", A, y)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(total > 0, ((b * y).sum(axis=1) + residual) / total, np.inf)
    upper = upper + CERT_MARGIN
    return centre, lower, upper
