"""Exact side tests for the 1-D and 2-D enumeration: which side of a line a vertex is on.

On a plane every vertex of a region is the crossing of two lines (the domain's edges or earlier
units' lines), each a float triple ``(a1, a2, a0)`` meaning ``a1 u1 + a2 u2 + a0 = 0``. A unit's
line ``L`` is positive, zero or negative at the crossing of lines ``A`` and ``B``::

    sign(L at A ^ B) = sign(det[A; B; L]) * sign(a1 b2 - a2 b1)

because ``A x B = (a1 b2 - a2 b1) * (u1, u2, 1)`` at the crossing. On a line a point is one
line's root ``u = -a0 / a1`` and the sign of ``l1 u + l0`` there is
``sign(l0 a1 - l1 a0) * sign(a1)``. Both are decided exactly from the floats: first the
determinant in float64 with a rigorous bound on its rounding (:data:`DET_RTOL` times the sum of
the absolute values of its products: Higham's gamma_n, with room to spare), and where the float
value is inside that bound, exactly: each float is an integer times a power of two
(``np.frexp``), so a determinant's rows become Python integers over one power of two per row,
vectorised over the close calls in object arrays (:func:`_exact_signs`). No tolerance decides
anything here.

>>> import numpy as np
>>> A, B = np.array([[0.0, 1.0, 0.0]]), np.array([[1.0, 0.0, -1.0]])  # u2 = 0 and u1 = 1
>>> lines = np.stack([A, B], axis=1)[:, None]  # one vertex, (1, 1, 2, 3)
>>> sides = exact_sides(lines, np.array([[-2.0**-60, 1.0, 2.0**-60]]), np.zeros((1, 1)), 1.0)
>>> int(sides[0, 0])  # -2^-60 * 1 + 1 * 0 + 2^-60 = 0 exactly: the line passes through (1, 0)
0
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

__all__ = [
    "DET_RTOL",
    "TINY",
    "VERTEX_ATOL",
    "crossing_points",
    "exact_point",
    "exact_sides",
    "meet_points",
    "meet_sides",
    "root_sides",
    "signs_at",
    "signs_at_pairs",
]

DET_RTOL = 2.0**-50
"""A float determinant of products of float64 inputs is within ``DET_RTOL`` times the sum of
the absolute values of its products of the exact one (a 3x3 determinant by cofactors rounds at
most five times on a path: gamma_5 = 5u / (1 - 5u) with u = 2^-53, below 2^-50 = 8u). Where
the float value is larger than that bound its sign is the exact sign."""


TINY = 2.0**-900
"""Values this small may hold underflowed products (whose rounding is not relative): such
cases go to exact rationals. Far below any product of a network's weights and coordinates."""


def _cofactors(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A x B`` row by row in float (n, 3): ``(m1, m2, D)`` with ``D = a1 b2 - a2 b1``, and
    the size of each (the sum of its two products' absolute values), for error bounds."""
    p = A[:, [1, 2, 0]] * B[:, [2, 0, 1]]
    q = A[:, [2, 0, 1]] * B[:, [1, 2, 0]]
    return p - q, np.abs(p) + np.abs(q)


def _fr(x: np.ndarray) -> list[Fraction]:
    return [Fraction(float(v)) for v in x]


def _integer_rows(X: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
    """Rows of floats (n, c), or their exact differences ``X - X2``, as Python integers
    (object array (n, c)) each row scaled by one power of two: row ``i`` is
    ``2^-e_i * (X[i] - X2[i])`` exactly, ``e_i`` the lowest exponent in the row. Scaling a row
    of a determinant by a positive number keeps its sign, so signs can be read on these.

    Every finite float is ``M * 2^(E - 53)`` with ``M`` an integer below ``2^53``
    (``np.frexp``; subnormals included), so the conversion is vectorised and exact."""
    parts = [X] if X2 is None else [X, X2]
    mant, expo = [], []
    for P in parts:
        m, e = np.frexp(P)
        mant.append((m * 2.0**53).astype(np.int64))  # exact: |m| < 1 has 53 bits
        expo.append(np.where(m != 0, e, np.iinfo(np.int32).max).astype(np.int64))
    low = np.minimum.reduce([e.min(axis=1) for e in expo])[:, None]
    terms = [
        np.left_shift(m.astype(object), np.where(m != 0, e - low, 0).astype(object))
        for m, e in zip(mant, expo, strict=True)
    ]  # shifts >= 0 (zeros need none)
    return terms[0] if X2 is None else terms[0] - terms[1]


def _exact_signs(
    A: np.ndarray,
    B: np.ndarray,
    L: np.ndarray,
    A2: np.ndarray | None = None,
    B2: np.ndarray | None = None,
    L2: np.ndarray | None = None,
) -> np.ndarray:
    """The exact sign of line ``L - L2`` at the crossing of lines ``A - A2`` and ``B - B2``
    (rows ``(x1, x2, x0)``, (n, 3) each; a missing ``X2`` is zero): the sign of
    ``det[a; b; ell]`` times that of its third cofactor, in Python integers, vectorised over
    the rows (object arrays: about a microsecond a row, where ``Fraction`` took ~80). Equal
    rows are computed once. Returns int8 (n,)."""
    cols = [A, B, L] + [X for X in (A2, B2, L2) if X is not None]
    key = np.concatenate(cols, axis=1)
    todo, back = _distinct_rows(key)
    key = key[todo]
    k = len(cols) // 3  # 1: plain lines; 2: differences
    a, b, ell = (
        _integer_rows(key[:, 3 * i : 3 * i + 3], None if k == 1 else key[:, 9 + 3 * i : 12 + 3 * i])
        for i in range(3)
    )
    m1 = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    m2 = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    d = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    if (d == 0).any():
        raise ValueError("a vertex's two lines are parallel: not a vertex")
    value = ell[:, 0] * m1 + ell[:, 1] * m2 + ell[:, 2] * d
    sign = (value > 0).astype(np.int8) - (value < 0).astype(np.int8)
    sign *= np.where(d > 0, 1, -1).astype(np.int8)
    return sign[back]


def _distinct_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``key`` (n, c) (any dtype), bit for bit: ``(todo, back)`` with ``key[todo]``
    one row of each kind and ``key[todo][back] == key``. Rows are grouped by a 64-bit hash of
    their bits (a 1-D sort, far cheaper than ``np.unique(axis=0)``) and checked against their
    group's first row; a row that differs (a hash collision) is its own kind."""
    bits = _row_words(key)
    _, todo, back = np.unique(_row_hash(bits), return_index=True, return_inverse=True)
    back = back.ravel()
    clash = np.flatnonzero((bits[todo[back]] != bits).any(axis=1))
    if len(clash):
        back[clash] = len(todo) + np.arange(len(clash))
        todo = np.concatenate([todo, clash])
    return todo, back


def _row_words(key: np.ndarray) -> np.ndarray:
    """The bits of each row of ``key`` (n, c) as 64-bit words (n, w), zero-padded to whole
    words: equal rows, and only they, have equal words."""
    raw = np.ascontiguousarray(key).view(np.uint8).reshape(len(key), -1)
    if raw.shape[1] % 8:
        raw = np.concatenate([raw, np.zeros((len(raw), 8 - raw.shape[1] % 8), np.uint8)], axis=1)
    return np.ascontiguousarray(raw).view(np.uint64)


def signs_at(A: np.ndarray, B: np.ndarray, L: np.ndarray) -> np.ndarray:
    """The exact sign of line ``L[i]`` at the crossing of lines ``A[i]`` and ``B[i]``.

    ``A``, ``B``, ``L`` : float arrays of shape (n, 3), rows ``(a1, a2, a0)``; ``A[i]`` and
    ``B[i]`` must cross in one point (``a1 b2 != a2 b1`` exactly). Returns int8 (n,) in
    {-1, 0, 1}.
    """
    m, size = _cofactors(A, B)  # the cofactors of det[A; B; L]'s third row
    det = (L * m).sum(axis=1)
    sure = np.abs(det) > DET_RTOL * (np.abs(L) * size).sum(axis=1) + TINY
    sure &= np.abs(m[:, 2]) > DET_RTOL * size[:, 2] + TINY
    out = np.where(sure, np.sign(det) * np.sign(m[:, 2]), 0).astype(np.int8)
    # a line through its own vertex (L is A or B, or its negation: a unit's line read again
    # where it cut, a pool piece against a dead one on its unit's kink) is exactly zero there
    own = np.zeros(len(L), dtype=bool)
    for X in (A, B):
        own |= (L == X).all(axis=1) | (L == -X).all(axis=1)
    rest = np.flatnonzero(~sure & ~own)  # the near-degenerate cases: exact integers
    if len(rest):
        out[rest] = _exact_signs(A[rest], B[rest], L[rest])
    return out


def signs_at_pairs(
    A: np.ndarray, B: np.ndarray, L: np.ndarray, A2: np.ndarray, B2: np.ndarray, L2: np.ndarray
) -> np.ndarray:
    """:func:`signs_at` for lines given as exact differences: the sign of ``L - L2`` at the
    crossing of ``A - A2`` and ``B - B2`` (each (n, 3) float; the differences are not
    rounded). A max pool's boundary between pieces ``a`` and ``b`` is ``P_a - P_b``: compared
    exactly, the pieces' order at a vertex is a true order (rounded differences of three
    nearly equal pieces can make a cycle, and a polygon then has no winner).

    In float the rows are rounded once (relative ``2^-53`` each), which the bound, twice
    :data:`DET_RTOL` times the products of the rows' sizes ``|X| + |X2|``, covers; the rest in
    exact integers (:func:`_exact_signs`)."""
    Ar, Br, Lr = A - A2, B - B2, L - L2
    m, _ = _cofactors(Ar, Br)
    _, size = _cofactors(np.abs(A) + np.abs(A2), np.abs(B) + np.abs(B2))
    det = (Lr * m).sum(axis=1)
    sure = np.abs(det) > 2 * DET_RTOL * ((np.abs(L) + np.abs(L2)) * size).sum(axis=1) + TINY
    sure &= np.abs(m[:, 2]) > 2 * DET_RTOL * size[:, 2] + TINY
    out = np.where(sure, np.sign(det) * np.sign(m[:, 2]), 0).astype(np.int8)
    own = np.zeros(len(L), dtype=bool)  # a line at its own vertex: exactly zero
    for X, X2 in ((A, A2), (B, B2)):
        own |= ((L == X) & (L2 == X2)).all(axis=1) | ((L == X2) & (L2 == X)).all(axis=1)
        own |= ((L == -X) & (L2 == -X2)).all(axis=1) | ((L == -X2) & (L2 == -X)).all(axis=1)
    rest = np.flatnonzero(~sure & ~own)
    if len(rest):
        out[rest] = _exact_signs(A[rest], B[rest], L[rest], A2[rest], B2[rest], L2[rest])
    return out


def exact_sides(
    vertex_lines: np.ndarray, unit_lines: np.ndarray, z: np.ndarray, band: np.ndarray | float
) -> np.ndarray:
    """The exact side of each unit's line at each vertex, settling only the close calls.

    Parameters
    ----------
    vertex_lines : array of shape (n, k, 2, 3)
        The two lines ``(a1, a2, a0)`` that cross at vertex ``k`` of polygon ``n`` (rows
        ``A``, ``B`` with ``a1 b2 != a2 b1``).
    unit_lines : array of shape (n, 3)
        Polygon ``n``'s unit line ``(g1, g2, h)``: ``z = g1 u1 + g2 u2 + h``.
    z : array of shape (n, k)
        The unit's value at each vertex in float (from the vertex's float coordinates).
    band : float or array broadcastable to (n, k)
        Where ``|z| > band`` the float sign is trusted: the caller's bound on the error of
        ``z`` (the vertex's rounding times ``|g|``, plus the evaluation's).

    Returns
    -------
    int8 array of shape (n, k) in {-1, 0, 1}: the sign of ``z`` at the exact crossing point,
    0 exactly when the unit's line passes through it.
    """
    band = np.broadcast_to(band, z.shape)
    out = np.sign(z).astype(np.int8)
    close = np.abs(z) <= band
    if close.any():
        rows, ks = np.nonzero(close)
        pairs = vertex_lines[rows, ks]
        out[rows, ks] = signs_at(pairs[:, 0], pairs[:, 1], unit_lines[rows])
    return out


def exact_point(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The crossing of lines ``A[i]`` and ``B[i]`` (shape (n, 3) each) as float64 (n, 2),
    each coordinate the exact rational rounded once (Cramer's rule in ``Fraction``)."""
    out = np.empty((len(A), 2))
    for i in range(len(A)):
        a, b = _fr(A[i]), _fr(B[i])
        d = a[0] * b[1] - a[1] * b[0]
        out[i, 0] = float((a[1] * b[2] - a[2] * b[1]) / d)
        out[i, 1] = float((a[2] * b[0] - a[0] * b[2]) / d)
    return out


def root_sides(roots: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The exact sign of ``l1 u + l0`` at the root ``u = -a0 / a1`` of ``a1 u + a0`` (1-D).

    ``roots``, ``lines`` : float arrays of shape (n, 2), rows ``(a1, a0)`` and ``(l1, l0)``
    (``a1 != 0``). Returns int8 (n,) in {-1, 0, 1}.
    """
    p, q = lines[:, 1] * roots[:, 0], lines[:, 0] * roots[:, 1]
    det = p - q  # = a1 * (l1 u + l0) at the root
    sure = np.abs(det) > DET_RTOL * (np.abs(p) + np.abs(q)) + TINY
    out = np.where(sure, np.sign(det) * np.sign(roots[:, 0]), 0).astype(np.int8)
    rest = np.flatnonzero(~sure)
    if len(rest):
        out[rest] = _exact_meet_signs(roots[rest], lines[rest])
    return out


VERTEX_ATOL = 2.0**-40
"""Every vertex's float coordinates are within ``VERTEX_ATOL`` (~9e-13, unit-box coordinates)
of the exact crossing of its two lines: :func:`crossing_points` rounds Cramer's rule in float
where its error bound allows and in exact rationals elsewhere. The side tests then trust a
float value ``z = g . u + h`` at a vertex when ``|z|`` exceeds ``|g| * VERTEX_ATOL`` plus its
own rounding; :data:`~tinylens.geometry._polygons.SIDE_RTOL_2D` is far above both."""


def crossing_points(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The crossing of lines ``A[i]`` and ``B[i]`` (shape (n, 3)) inside the unit box, as float64
    (n, 2) within :data:`VERTEX_ATOL` of the exact point (which must lie in ``[-1, 1]^2``).

    Cramer's rule in float: with numerator and denominator each within ``DET_RTOL`` times their
    products' size, ``|x_float - x| <= DET_RTOL (size_N + size_D) / |D_float|`` (for
    ``|x| <= 1``) plus the division's rounding. Near-parallel lines, where that bound is above
    ``VERTEX_ATOL``, are crossed in exact rationals instead.
    """
    m, size = _cofactors(A, B)
    d = np.abs(m[:, 2])
    d = np.where(d > 0, d, np.inf)  # parallel in float: exact below
    P = m[:, :2] / np.copysign(d, m[:, 2])[:, None]
    err = DET_RTOL * (size[:, :2].max(axis=1) + size[:, 2]) / d + 2.0**-51
    bad = ~(err <= VERTEX_ATOL) | np.isinf(d) | (d <= TINY)
    if bad.any():
        P[bad] = exact_point(A[bad], B[bad])
    return P


def meet_sides(A: np.ndarray, B: np.ndarray, L: np.ndarray, M: np.ndarray) -> np.ndarray:
    """The exact sign of ``L(t) - M(t)`` at the ``t`` where lines ``A`` and ``B`` meet (1-D).

    Rows ``(slope, value at 0)``, shape (n, 2) each; ``A[i]`` and ``B[i]`` have different
    slopes. With ``B = M = 0`` this is :func:`root_sides`. ``(L - M)(t) * (a1 - b1)`` is a sum
    of eight products of the inputs, bounded in float by ``2 * DET_RTOL`` (eight roundings on a
    path) and settled in exact integers where that is not enough. Returns int8 (n,).
    """
    terms = np.stack(
        [
            L[:, 0] * B[:, 1],
            -L[:, 0] * A[:, 1],
            -M[:, 0] * B[:, 1],
            M[:, 0] * A[:, 1],
            L[:, 1] * A[:, 0],
            -L[:, 1] * B[:, 0],
            -M[:, 1] * A[:, 0],
            M[:, 1] * B[:, 0],
        ],
        axis=1,
    )
    value = terms.sum(axis=1)
    d = A[:, 0] - B[:, 0]  # (a float difference has the exact difference's sign)
    sure = np.abs(value) > 2 * DET_RTOL * np.abs(terms).sum(axis=1) + TINY
    out = np.where(sure, np.sign(value) * np.sign(d), 0).astype(np.int8)
    # no rationals needed where L - M = +-(A - B) term by term (a unit at its own root), or
    # where every product is zero because a factor is (not an underflow): exactly zero there
    own = ((L == A) & (M == B)).all(axis=1) | ((L == B) & (M == A)).all(axis=1)
    tiny = np.zeros(len(A), dtype=bool)
    for X in (A, B, L, M):
        tiny |= ((X != 0) & (np.abs(X) < 2.0**-500)).any(axis=1)
    own |= ~tiny & ~np.abs(terms).any(axis=1)
    rest = np.flatnonzero(~sure & ~own)
    if len(rest):
        out[rest] = _exact_meet_signs(A[rest], L[rest], B[rest], M[rest])
    return out


def _exact_meet_signs(
    A: np.ndarray, L: np.ndarray, B: np.ndarray | None = None, M: np.ndarray | None = None
) -> np.ndarray:
    """The exact sign of ``(L - M)(t)`` where lines ``A`` and ``B`` meet (rows ``(slope,
    value at 0)``; a missing ``B``, ``M`` is zero: ``L`` at ``A``'s root), in Python integers
    (:func:`_integer_rows`), vectorised: ``(L - M)(t) * (a1 - b1) = (l0 - m0)(a1 - b1) -
    (l1 - m1)(a0 - b0)``, times the sign of ``a1 - b1``. Returns int8 (n,)."""
    ell, ab = _integer_rows(L, M), _integer_rows(A, B)
    value = ell[:, 1] * ab[:, 0] - ell[:, 0] * ab[:, 1]
    sign = (value > 0).astype(np.int8) - (value < 0).astype(np.int8)
    return sign * np.where(ab[:, 0] > 0, 1, -1).astype(np.int8)


def meet_points(A: np.ndarray, B: np.ndarray) -> list[Fraction]:
    """The exact ``t`` where lines ``A[i]`` and ``B[i]`` (rows (slope, value)) meet."""
    out = []
    for i in range(len(A)):
        (a1, a0), (b1, b0) = _fr(A[i]), _fr(B[i])
        out.append((b0 - a0) / (a1 - b1))
    return out


def _row_hash(bits: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of ``bits`` (n, c) uint64: each word's high half folded onto
    its low half (a float's bits sit high: ``-0.0`` is the top bit alone), times a fixed odd
    key per column, summed (wrapping), then mixed (xorshift). Its users check rows bit for
    bit, so a collision costs time, never a result."""
    h = (bits ^ (bits >> np.uint64(32))) @ _hash_keys(bits.shape[1])
    h ^= h >> np.uint64(29)
    return h


@functools.cache
def _hash_keys(c: int) -> np.ndarray:
    """``c`` odd 64-bit multipliers, the same on every run (a fixed seed)."""
    top = np.iinfo(np.uint64).max
    keys = np.random.default_rng(20261203).integers(0, top, c, dtype=np.uint64, endpoint=True)
    return keys | np.uint64(1)
