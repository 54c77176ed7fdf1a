"""Max-pool windows and kink units on many polygons at once: bulk bounds, then exact reads.

:mod:`tinylens.geometry.conv_slice` asks, for every polygon and every pooling window, which
piece wins on the whole polygon (ties to the first, as ``torch.max``), and for every kink
unit, whether its line crosses the polygon. Reading every feature at every vertex costs
``vertices x features`` per polygon; here a feature's interval over the polygon's bounding
box (:func:`_bounds`, one pass over the features) settles the clear ones (by a margin of
:data:`~tinylens.geometry._polygons.SIDE_RTOL_2D` times their terms' size), and only the rest
are read vertex by vertex, the close calls settled exactly from each vertex's two edge lines
when the caller passes them (``exact``), else snapped.
The answers equal the per-vertex comparisons (a test checks, with dead, equal and touching
pieces planted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from tinylens.geometry._kink_maps import _KinkMaps
from tinylens.geometry._polygons import SIDE_RTOL_2D, settle_close

__all__: list[str] = []


ROW_BLOCK = 32
"""Polygons whose features :func:`_bounds`, :func:`_settled_after_relu` and
:func:`_first_winners` read at once, so that their temporaries (``ROW_BLOCK x features``
floats each) stay in the processor's cache (our choice: on the MNIST CNN's second conv,
3,136 features, bounding 32 polygons at a time took 29 us a polygon against 55 us for a
chunk of 256 at once, in a script of ours). The answers are polygon by polygon, so the same
for any block."""


def _row_blocks(n: int) -> Iterator[slice]:
    """Slices of :data:`ROW_BLOCK` rows covering ``n`` rows, in order."""
    return (slice(lo, lo + ROW_BLOCK) for lo in range(0, n, ROW_BLOCK))


def _bounds(V: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval bounds of every feature over each polygon's bounding box, and the size of
    its terms (the snapping scale): ``(low, high, size)``, each (R, F). One pass over the
    features per polygon instead of one per vertex."""
    lo_v, hi_v = V.min(axis=1), V.max(axis=1)  # padding repeats vertex 0: no mask needed
    centre, half = (lo_v + hi_v) / 2, (hi_v - lo_v) / 2
    out = np.empty((3, len(M), M.shape[2]))
    for rows in _row_blocks(len(M)):
        m, c, h = M[rows], centre[rows], half[rows]
        mid = m[:, 0] + c[:, :1] * m[:, 1] + c[:, 1:] * m[:, 2]
        a1, a2 = np.abs(m[:, 1]), np.abs(m[:, 2])
        spread = h[:, :1] * a1 + h[:, 1:] * a2
        np.subtract(mid, spread, out=out[0, rows])
        np.add(mid, spread, out=out[1, rows])
        size = np.abs(m[:, 0], out=out[2, rows])
        size += a1
        size += a2  # (|m0| + |m1|) + |m2|, as a sum over the three columns
    return out[0], out[1], out[2]


def _first_winners(
    V: np.ndarray,
    M: np.ndarray,
    windows: np.ndarray,
    settled: tuple[np.ndarray, np.ndarray] | None = None,
    exact: tuple | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_winners` for every window of every polygon (maps ``M`` (R, 3, F)), the easy
    windows settled in bulk: a window whose pieces are all zero (dead units after a ReLU) is
    won by the first, and a piece whose lower bound on the polygon's bounding box exceeds
    every other piece's upper bound by the snapping tolerance wins. Only the rest go through
    :func:`_winners` vertex by vertex; the answers are the same.

    ``settled``, from :func:`_settled_after_relu` on the polygons' parents: ``(code, done)``,
    each (R, n_windows); the windows marked done take that code and are not read again.
    ``exact``: ``(nv, E, lines)`` of the polygons, for :func:`_winners`' exact close calls."""
    R, n_w = len(V), len(windows)
    lo_v, hi_v = V.min(axis=1), V.max(axis=1)
    centre, half = (lo_v + hi_v) / 2, (hi_v - lo_v) / 2
    if settled is None or (~settled[1]).mean() > PAIRS_UP_TO:
        box_c, box_h = centre.T[:, :, None, None], half.T[:, :, None, None]  # (2, R, 1, 1)
        best, clear, dead = (np.empty((R, n_w), dtype=t) for t in (np.intp, bool, bool))
        relu = isinstance(M, _KinkMaps) and M.slopes == (0.0, 1.0)  # see _box_winners
        for rows in _row_blocks(R):
            if relu:
                root = M.root[rows]
                one = bool((root == root[0]).all())  # all of one parent: broadcast, no copies
                pieces = M.M[root[:1] if one else root][:, :, windows.T]
                active = M.bits[rows][:, windows.T].astype(bool)
                box = _box_winners(pieces, box_c[:, rows], box_h[:, rows], active)
            else:
                box = _box_winners(M[rows][:, :, windows.T], box_c[:, rows], box_h[:, rows])
            best[rows], clear[rows], dead[rows] = box
        code = np.where(clear, best, 0).astype(np.uint8)
        rh, wh = np.nonzero(~clear & ~dead)
    else:  # only the windows the parents left open, one (polygon, window) pair at a time
        code = settled[0].copy()
        rr, ww = np.nonzero(~settled[1])
        # the pairs along the last axis, where NumPy's loops are long: (1, 3, k, n)
        P = M[rr[None, None, :], _R3[:, :, None], windows[ww].T[None]][None]
        box_c, box_h = centre[rr].T[:, None, None], half[rr].T[:, None, None]  # (2, 1, 1, n)
        best, clear, dead = (a[0] for a in _box_winners(P, box_c, box_h))
        code[rr, ww] = np.where(clear, best, 0)
        rh, wh = rr[~clear & ~dead], ww[~clear & ~dead]
    undecided = np.zeros((R, n_w), dtype=bool)
    if len(rh):
        code[rh, wh], undecided[rh, wh] = _winners(
            V[rh], M[rh[:, None, None], _R3, windows[wh][:, None]], _rows(exact, rh)
        )
    return code, undecided


def _box_winners(
    P: np.ndarray, centre: np.ndarray, half: np.ndarray, active: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The box decision for pieces ``P`` (n, 3, k, m) (m windows of k pieces on each of n
    polygons, whose bounding boxes have ``centre`` and ``half`` widths, each (2, ...) with
    ``centre[0]`` broadcasting against ``P[:, 1]``: (2, n, 1, 1), or (2, 1, 1, m) for one
    polygon per window): the piece with the highest lower bound (first of equals), whether
    it clears every other piece's upper bound by the snapping tolerance, and whether all
    pieces are zero; each (n, m).

    The bounds are :func:`_bounds`' arithmetic term for term, so the decisions are bit for bit
    those of bounding every feature first and gathering the windows afterwards.

    ``active`` (n, k, m), for pieces after a ReLU given as their pre-activations ``P``
    (n or 1 rows): where False the piece is zero. A ReLU's piece is its pre-activation times
    1.0 (the same number) or times 0.0 (a zero, whose bounds and size are zero), so this
    equals the box decision on the pieces themselves."""
    k = P.shape[2]
    A = np.abs(P)
    size = A[:, 0] + A[:, 1]
    size += A[:, 2]  # (|m0| + |m1|) + |m2|, as the sum over the columns in _bounds
    mid = centre[0] * P[:, 1]
    mid += P[:, 0]
    mid += centre[1] * P[:, 2]
    spread = half[0] * A[:, 1]
    spread += half[1] * A[:, 2]
    low, high = mid - spread, mid + spread  # (n, k, m)
    if active is not None:
        low, high = np.where(active, low, 0.0), np.where(active, high, 0.0)
        size = np.where(active, size, 0.0)
    best, low_best, size_best = _highest_low(low, size)
    clear = np.ones(best.shape, dtype=bool)
    dead = np.ones(best.shape, dtype=bool)
    for j in range(k):
        eps = SIDE_RTOL_2D * (size_best + size[:, j])
        clear &= (low_best - high[:, j] > eps) | (best == j)
        dead &= size[:, j] == 0
    return best, clear, dead


def _highest_low(low: np.ndarray, slack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The piece with the highest lower bound in each window, first of equals: for bounds
    ``low`` (n, k, m) and a per-piece ``slack`` (n, k, m) (a size or a margin), ``(best,
    low[best], slack[best])``, each (n, m)."""
    n, k, m = low.shape
    best = np.zeros((n, m), dtype=np.intp)
    low_best, slack_best = low[:, 0].copy(), slack[:, 0].copy()
    for j in range(1, k):
        up = low[:, j] > low_best
        best[up] = j
        np.copyto(low_best, low[:, j], where=up)
        np.copyto(slack_best, slack[:, j], where=up)
    return best, low_best, slack_best


CERTIFY_RTOL = 1e-6
"""How far (relative to the size of its terms, coordinates included) a piece must win on a
parent polygon's bounding box before :func:`_settled_after_relu` hands the answer to the
polygon's parts. Our choice: 10^4 times the snapping tolerance and 10^9 times float rounding,
so the part's own box test could only have said the same."""


def _settled_after_relu(
    V: np.ndarray,
    M: np.ndarray,
    windows: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The max-pool windows after a ReLU whose answer is the same on every part of each
    polygon ``V`` (R, cap, 2), read on its pre-activation maps ``M`` (R, 3, F): ``(code,
    done)``, each (R, n_windows). ``bounds``: :func:`_bounds` of ``V, M`` if already known.

    A unit whose bound on the polygon's bounding box is above ``CERTIFY_RTOL`` times its term
    size (times ``1 + max |coordinate|``) is active on every part (its piece there is its map,
    unchanged); one below minus that, or zero throughout, is dead on every part (its piece is
    exactly zero). A window of such units is done when all are dead (code 0, as
    :func:`_first_winners` has it) or when one active piece's lower bound beats every other
    piece's upper bound by the sum of their margins: a part's box lies inside its parent's, so
    the part's own box test (tolerance ``SIDE_RTOL_2D``, far smaller) finds the same winner,
    clear."""
    low, high, size = _bounds(V, M) if bounds is None else bounds
    # the margin: CERTIFY_RTOL times the terms' size, the coordinates' size included (an
    # upper bound of |m0| + |s| |m1| + |t| |m2| on the box)
    scale = CERTIFY_RTOL * (1.0 + np.abs(V).max(axis=(1, 2)))
    R, n_w = len(V), len(windows)
    code, done = np.empty((R, n_w), dtype=np.uint8), np.empty((R, n_w), dtype=bool)
    for rows in _row_blocks(R):
        code[rows], done[rows] = _settled_block(
            low[rows], high[rows], size[rows] * scale[rows, None], windows
        )
    return code, done


def _settled_block(
    low: np.ndarray, high: np.ndarray, margin: np.ndarray, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_settled_after_relu` on a block of polygons, given their bounds and margins."""
    on = low > margin  # active on every part (never for a zero unit: 0 > 0 fails)
    sure = high <= -margin  # dead on every part: below zero, or zero throughout
    sure |= on
    wt = windows.T  # piece-major: (k, n_w), each piece's slice contiguous
    low, high = np.where(on, low, 0.0)[:, wt], np.where(on, high, 0.0)[:, wt]  # after the ReLU
    margin = np.where(on, margin, 0.0)[:, wt]
    R, k, n_w = low.shape
    best, low_best, margin_best = _highest_low(low, margin)
    clear = np.ones((R, n_w), dtype=bool)
    for j in range(k):
        clear &= (low_best - high[:, j] > margin_best + margin[:, j]) | (best == j)
    on, sure = on[:, wt], sure[:, wt]
    dead = ~on.any(axis=1)
    done = sure.all(axis=1) & (clear | dead)
    return np.where(dead, 0, best).astype(np.uint8), done


PAIRS_UP_TO = 0.5
"""Above this fraction of windows left open by the parents, :func:`_first_winners` reads all
windows as whole arrays (contiguous, a few passes) rather than (polygon, window) pairs (a
gather each): the same decisions either way. Our choice, from timing both on the MNIST CNN."""

_R3 = np.arange(3)[:, None]


def _rows(exact: tuple | None, rows: np.ndarray) -> tuple | None:
    """``exact`` (nv, E, lines) for some of its polygons."""
    return None if exact is None else (exact[0][rows], exact[1][rows], exact[2])


def _winners(
    V: np.ndarray, P: np.ndarray, exact: tuple | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For one window's pieces ``P`` (n, 3, k) on each polygon ``V`` (n, cap, 2): the piece
    that wins on the whole polygon (first of equals), (n,) uint8, and where no single piece
    does, (n,) bool.

    A piece that beats every other by more than the snapping tolerance at every vertex wins
    outright (one comparison per piece); only the rest are compared pair by pair, the close
    calls snapped to zero, or, given ``exact = (nv, E, lines)`` (vertex counts, edge line ids
    and the ``_LineTable``, as :func:`~tinylens.geometry._polygons.split_polygons` keeps them),
    settled by the exact side of the line ``P_a - P_b`` at the vertex's two edge lines."""
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
        settle = None
        if exact is not None:
            nv, E, lines = _rows(exact, rest)
            Pr = P[rest]

            def settle(d: np.ndarray, eps: np.ndarray, a: int, b: int) -> np.ndarray:
                # the line P_a - P_b, exactly: the pieces' order at a vertex is a true order;
                # identical pieces (dead ones) are equal everywhere: d = 0 already
                open_ = (np.abs(d) <= eps[:, None]).any(axis=1)
                open_ &= (Pr[:, :, a] != Pr[:, :, b]).any(axis=1)
                at = np.flatnonzero(open_)
                if len(at):
                    La, Lb = Pr[at, None][:, :, [1, 2, 0], a], Pr[at, None][:, :, [1, 2, 0], b]
                    band = eps[at, None, None]
                    rows = (nv[at], E[at])
                    d[at] = settle_close(d[at, :, None], band, *rows, lines, La, Lb)[..., 0]
                return d

        code[rest], found[rest] = _winners_pairwise(z[rest], size[rest], settle)
    return code, ~found


def _winners_pairwise(
    z: np.ndarray, size: np.ndarray, settle: Callable | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_winners` on values ``z`` (n, cap, k) with term sizes (n, k), every pair
    compared with the snapping of :data:`SIDE_RTOL_2D`: ``(code, found)``, each (n,).
    ``settle(d, eps, a, b)``, if given, replaces the snapping: ``z_a - z_b`` with the values
    within ``eps`` (n,) settled exactly. Each pair is read once: ``z_b - z_a`` is exactly the
    negation of ``z_a - z_b`` in float, and so are the settled signs."""
    n, _, k = z.shape
    code = np.zeros(n, dtype=np.uint8)
    found = np.zeros(n, dtype=bool)
    done: dict[tuple[int, int], np.ndarray] = {}
    for a in range(k):
        beats_all = ~found
        for b in range(k):
            if b == a:
                continue
            if (b, a) in done:  # z_b - z_a, settled, is exactly the negation
                d = -done.pop((b, a))
            else:
                d = z[..., a] - z[..., b]
                eps = SIDE_RTOL_2D * (size[:, a] + size[:, b])
                if settle is None:
                    d = np.where(np.abs(d) <= eps[:, None], 0.0, d)
                else:
                    d = settle(d, eps, a, b)
                done[a, b] = d
            ok = d.min(axis=1) >= 0
            if b < a:
                ok &= d.max(axis=1) > 0
            beats_all &= ok
        code[beats_all] = a
        found |= beats_all
    return code, found
