"""The exact side tests' integer path (:func:`tinylens.geometry._exact_sides._exact_signs`)
against plain ``Fraction`` arithmetic, on the cases that reach it: exact zeros (lines through a
vertex, as pool pieces tying on a slice's edge and at its corners do), values a hair off zero,
subnormals and huge exponent spreads, repeated rows and forced hash collisions. And the pool's
pairwise order read once per pair."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from tinylens.geometry import _exact_sides
from tinylens.geometry._exact_sides import _distinct_rows, _exact_signs, exact_point
from tinylens.geometry._polygons import SIDE_RTOL_2D
from tinylens.geometry._windows import _winners_pairwise


def _fraction_signs(A, B, L, A2=None, B2=None, L2=None):
    """The sign of ``L - L2`` at the crossing of ``A - A2`` and ``B - B2``, in Fractions."""
    zero = np.zeros_like(A)
    out = []
    for i in range(len(A)):
        a, b, ell = (
            [F(float(x)) - F(float(y)) for x, y in zip(X[i], Y[i], strict=True)]
            for X, Y in ((A, zero if A2 is None else A2), (B, zero if B2 is None else B2),
                         (L, zero if L2 is None else L2))
        )  # fmt: skip
        d = a[0] * b[1] - a[1] * b[0]
        x, y = (a[1] * b[2] - a[2] * b[1]) / d, (a[2] * b[0] - a[0] * b[2]) / d
        z = ell[0] * x + ell[1] * y + ell[2]
        out.append((z > 0) - (z < 0))
    return out


def _hard_cases(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Lines with a spread of exponents (2^-1060 subnormals to 2^300), zeros and -0.0, unit
    lines through their vertex exactly (a corner ``(0, 1)``: rows ``(g1, g2, -g2)``), a hair
    off it, and as exact differences of two lines; every fourth row repeats an earlier one."""
    rng = np.random.default_rng(seed)
    scale = np.exp2(rng.integers(-300, 300, size=(n, 1))).astype(float)
    A, B = rng.normal(size=(n, 3)) * scale, rng.normal(size=(n, 3))
    A[::9, 0] = 0.0
    A[1::9, 2] = -0.0
    A[2::9] *= 2.0**-1060 / np.abs(A[2::9]).max(axis=1, keepdims=True)  # subnormal rows
    g = rng.normal(size=(n, 2)) * np.exp2(rng.integers(-40, 40, size=(n, 1)))
    off = rng.choice([0.0, 2.0**-70, -(2.0**-70)], size=n) * np.abs(g[:, 1])
    L = np.column_stack([g, -g[:, 1] + off])  # through (0, 1) or a hair beside it
    # make (0, 1) a vertex: A and B through it too, on odd rows
    A[1::2, 2], B[1::2, 2] = -A[1::2, 1], -B[1::2, 1]
    A2 = np.where(rng.random((n, 1)) < 0.5, 0.0, rng.normal(size=(n, 3)))
    L2 = np.where(rng.random((n, 1)) < 0.5, 0.0, L * (1 + 2.0**-52))
    for X in (A, B, L, A2, L2):
        X[3::4] = X[: len(X[3::4])]
    ok = [a[0] * b[1] - a[1] * b[0] != 0 for a, b in zip(_frs(A - 0), _frs(B), strict=True)]
    keep = np.flatnonzero(ok)
    return A[keep], B[keep], L[keep], A2[keep], L2[keep]


def _frs(X):
    return [[F(float(v)) for v in row] for row in X]


def test_exact_signs_equal_fractions_on_hard_cases():
    A, B, L, A2, L2 = _hard_cases(400, 0)
    want = _fraction_signs(A, B, L)
    assert _exact_signs(A, B, L).tolist() == want
    assert {-1, 0, 1} <= set(want)  # exact zeros and both signs are all exercised
    zero = np.zeros_like(A)
    got = _exact_signs(A, B, L, A2, zero, L2)
    assert got.tolist() == _fraction_signs(A, B, L, A2, zero, L2)


def test_forced_hash_collisions_change_nothing(monkeypatch):
    """With every row hashing alike, rows are still told apart by their bits."""
    A, B, L, A2, L2 = _hard_cases(200, 1)
    zero = np.zeros_like(A)
    want = _exact_signs(A, B, L, A2, zero, L2)
    monkeypatch.setattr(_exact_sides, "_row_hash", lambda bits: np.zeros(len(bits), np.uint64))
    assert _exact_signs(A, B, L, A2, zero, L2).tolist() == want.tolist()


def test_distinct_rows_reconstruct_every_row_bit_for_bit():
    rng = np.random.default_rng(2)
    key = rng.choice([0.0, -0.0, 1.0, 2.0**-1074, np.pi], size=(300, 4))
    todo, back = _distinct_rows(key)
    assert (key[todo][back].view(np.uint64) == key.view(np.uint64)).all()
    kinds = {row.tobytes() for row in key}
    assert len(todo) == len(kinds)  # no hash collision among so few: one row of each kind


def test_parallel_vertex_lines_are_refused():
    A = np.array([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="parallel"):
        _exact_signs(A, 2 * A, np.array([[1.0, 0.0, 0.0]]))


def test_a_pool_pair_is_settled_once_and_the_order_is_unchanged():
    """``_winners_pairwise`` settles each unordered pair once and negates it for the other
    order: the codes equal those of settling every ordered pair."""
    rng = np.random.default_rng(3)
    n, cap, k = 60, 5, 4
    z = rng.normal(size=(n, cap, k))
    z[:, :, 2] = z[:, :, 1]  # ties: pieces 1 and 2 equal everywhere
    z[::3, :, 3] = z[::3, :, 0] + 1e-18  # near-ties inside the band
    size = np.abs(rng.normal(size=(n, k))) + 1.0
    calls = []

    def settle(d, eps, a, b):  # an exact-looking settle: sign of the rounded difference
        calls.append((a, b))
        close = np.abs(d) <= eps[:, None]
        return np.where(close, np.sign(z[..., a] - z[..., b]), d)

    code, found = _winners_pairwise(z, size, settle)
    assert sorted(calls) == [(a, b) for a in range(k) for b in range(a + 1, k)]

    def both_orders():  # the same rule, every ordered pair settled on its own
        c, f = np.zeros(n, dtype=np.uint8), np.zeros(n, dtype=bool)
        for a in range(k):
            beats = ~f
            for b in range(k):
                if b != a:
                    d = z[..., a] - z[..., b]
                    eps = SIDE_RTOL_2D * (size[:, a] + size[:, b])
                    d = settle(d, eps, a, b)
                    ok = d.min(axis=1) >= 0
                    beats &= ok & (d.max(axis=1) > 0) if b < a else ok
            c[beats], f = a, f | beats
        return c, f

    want_code, want_found = both_orders()
    assert (code == want_code).all() and (found == want_found).all()
    assert found.any() and not found.all()


def test_exact_point_sanity_for_the_corner_vertices():
    """The hard cases' odd rows do cross at (0, 1), exactly."""
    A, B, *_ = _hard_cases(40, 4)
    on = (A[:, 2] == -A[:, 1]) & (B[:, 2] == -B[:, 1])
    P = exact_point(A[on], B[on])
    assert on.sum() >= 5 and (P == [0.0, 1.0]).all()
