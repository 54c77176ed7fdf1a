"""Exact rational linear programming for the near-degenerate decisions of the geometry.

A float LP (HiGHS, feasibility tolerance 1e-9) cannot tell a piece of width 1e-9 from a
rounding artefact. When its answer falls in that grey zone, the arrangement asks this module
instead: the float64 rows are read as the exact binary rationals they are
(``fractions.Fraction(float)`` is exact) and the largest ball is found by a dense simplex in
``Fraction`` arithmetic with Bland's rule (which cannot cycle). No tolerance is used here.

The problems are small (a region's own rows: the box and the hyperplanes that cut it, in at
most a few dimensions), so a textbook tableau is fast enough: a few milliseconds each.

>>> import numpy as np
>>> A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
>>> centre, radius = chebyshev_ball(A, np.array([1e-8, 1e-8, 1.0, 1.0]))
>>> radius == Fraction(1e-8)
True
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["chebyshev_ball", "maximise"]


def maximise(c: list[Fraction], A: list[list[Fraction]], b: list[Fraction]):
    """``max c.x`` subject to ``A x <= b``, ``x >= 0``, exactly.

    Returns ``(value, x)``; ``(None, None)`` when infeasible. The problems solved here are
    bounded by construction (a box); an unbounded one raises ``ValueError``.
    """
    m, n = len(A), len(c)
    # Phase 1 in one tableau: slack s_i for each row, and one artificial a_i for each row with
    # b_i < 0 (row negated so its right-hand side is >= 0). Columns: x (n), s (m), a (k).
    neg = [i for i in range(m) if b[i] < 0]
    k = len(neg)
    width = n + m + k
    T: list[list[Fraction]] = []
    basis: list[int] = []
    for i in range(m):
        sign = -1 if b[i] < 0 else 1
        row = [sign * A[i][j] for j in range(n)] + [Fraction(0)] * (m + k) + [sign * b[i]]
        row[n + i] = Fraction(sign)
        if sign < 0:
            a_col = n + m + neg.index(i)
            row[a_col] = Fraction(1)
            basis.append(a_col)
        else:
            basis.append(n + i)
        T.append(row)
    if k:
        # minimise the sum of artificials = maximise -sum(a)
        obj = [Fraction(0)] * (width + 1)
        for i in neg:
            for j in range(width + 1):
                obj[j] += T[i][j]
        for j in range(n + m, width):
            obj[j] = Fraction(0)
        _run(T, basis, obj, width)
        if obj[width] != 0:  # the artificials cannot all reach zero
            return None, None
        for i, bv in enumerate(basis):  # drive remaining (zero) artificials out of the basis
            if bv >= n + m:
                for j in range(n + m):
                    if T[i][j] != 0:
                        _pivot(T, basis, None, i, j)
                        break
    # Phase 2: reduced costs of c with the artificials barred.
    obj = [Fraction(0)] * (width + 1)
    for j in range(n):
        obj[j] = Fraction(c[j])
    for i, bv in enumerate(basis):
        if bv < width and obj[bv] != 0:
            f = obj[bv]
            obj = [o - f * t for o, t in zip(obj, T[i], strict=True)]
    _run(T, basis, obj, n + m)
    x = [Fraction(0)] * n
    for i, bv in enumerate(basis):
        if bv < n:
            x[bv] = T[i][width]
    return -obj[width], x


def _run(T: list[list[Fraction]], basis: list[int], obj: list[Fraction], allowed: int) -> None:
    """Pivot until no entering column among the first ``allowed`` improves ``obj``
    (Bland's rule: the lowest improving column, the lowest-index basic variable on ties)."""
    last = len(obj) - 1
    while True:
        enter = next((j for j in range(allowed) if obj[j] > 0), None)
        if enter is None:
            return
        best: tuple[Fraction, int, int] | None = None
        for i, row in enumerate(T):
            if row[enter] > 0:
                ratio = row[last] / row[enter]
                key = (ratio, basis[i], i)
                if best is None or key[:2] < best[:2]:
                    best = key
        if best is None:
            raise ValueError("unbounded linear program")
        _pivot(T, basis, obj, best[2], enter)


def _pivot(
    T: list[list[Fraction]], basis: list[int], obj: list[Fraction] | None, r: int, col: int
) -> None:
    p = T[r][col]
    T[r] = [v / p for v in T[r]]
    pr = T[r]
    for i, row in enumerate(T):
        if i != r and row[col] != 0:
            f = row[col]
            T[i] = [a - f * b for a, b in zip(row, pr, strict=True)]
    if obj is not None and obj[col] != 0:
        f = obj[col]
        obj[:] = [a - f * b for a, b in zip(obj, pr, strict=True)]
    basis[r] = col


def chebyshev_ball(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Fraction]:
    """The largest ``t`` with a point ``u`` in ``[-1, 1]^d`` such that ``A u + t <= b`` (rows),
    in exact rationals of the float64 inputs. With unit-norm rows, ``t`` is the radius of the
    largest ball inside ``{u : A u <= b}`` (to the rows' own rounding, ~1e-16 relative).

    Returns ``(centre as float64, t as Fraction)``; ``t = 0`` (and the zero vector) when the
    set is empty or has no interior.
    """
    d = A.shape[1]
    F = [[Fraction(float(v)) for v in row] for row in A]
    # u = v - 1 with 0 <= v <= 2, and the radius t >= 0: A v + t <= b + A 1.
    rows = [[*r, Fraction(1)] for r in F]
    rhs = [Fraction(float(bi)) + sum(r) for bi, r in zip(b, F, strict=True)]
    for j in range(d):
        unit = [Fraction(0)] * (d + 1)
        unit[j] = Fraction(1)
        rows.append(unit)
        rhs.append(Fraction(2))
    cap = [Fraction(0)] * d + [Fraction(1)]  # t <= 1: the unit box has radius 1
    rows.append(cap)
    rhs.append(Fraction(1))
    value, x = maximise([Fraction(0)] * d + [Fraction(1)], rows, rhs)
    if value is None or value <= 0:
        return np.zeros(d), Fraction(0)
    centre = np.array([float(v - 1) for v in x[:d]])
    return centre, value
