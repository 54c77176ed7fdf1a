"""The cuts of the CNN plane enumeration (:mod:`~tinylens.geometry.conv_slice`): a kink
cuts each polygon by the lines of the units that cross it, a max pool splits it into the cells
where each piece of a window wins; close calls are settled exactly from each vertex's lines
(:mod:`~tinylens.geometry._exact_sides`). Split from ``conv_slice`` to keep each module
readable; ``conv_slice`` drives the layers and keeps the regions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinylens.errors import ConfigError
from tinylens.geometry._polygons import (
    SIDE_RTOL_2D,
    _cut_exact,
    _LineTable,
    _pad,
    clip_halfplane_exact,
    settle_close,
)
from tinylens.geometry._windows import _bounds, _first_winners, _winners

__all__ = ["_check_size", "_kink", "_max"]


def _check_size(n: int, cap: int) -> None:
    if n > cap:
        raise ConfigError(
            f"this slice has more than {cap:,} linear regions (the enumeration's memory "
            "limit, max_regions); use a smaller domain (--margin -0.5 shrinks a --through "
            "triangle to half its size), keep 16-byte digests (codes='digest', --codes "
            "digest: about four times as many regions), or raise max_regions"
        )


def _compact(cand: np.ndarray) -> np.ndarray:
    """Move each row's remaining candidates (>= 0) to its front, in order; trim -1 columns."""
    order = np.argsort(cand < 0, axis=1, kind="stable")
    cand = np.take_along_axis(cand, order, axis=1)
    keep = (cand >= 0).any(axis=0)
    return cand[:, : int(keep.sum())] if keep.any() else cand[:, :0]


def _lists(rows: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """Each row's items (pairs sorted by row) at the front of its row of an (n, m) array,
    padded with -1, as :func:`_compact` leaves them."""
    counts = np.bincount(rows, minlength=n)
    out = np.full((n, int(counts.max(initial=0))), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out[rows, np.arange(len(rows)) - starts[rows]] = items
    return out


def _grow(V: np.ndarray, width: int) -> np.ndarray:
    return V if V.shape[1] >= width else _pad(V, width)


def _kink(
    V: np.ndarray,
    nv: np.ndarray,
    E: np.ndarray,
    lines: _LineTable,
    M: np.ndarray,
    cap: int,
    box: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    tick: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut by every unit's line ``z = 0``; bit 1 where ``z > 0`` (``relu(0) = 0``).

    Each polygon keeps the list of units whose lines still cross it; a round cuts every
    polygon by the first unit on its list, and the two halves keep only the units that still
    cross them, so a unit is only ever tested against the polygons it may cut. ``box``:
    :func:`~tinylens.geometry._windows._bounds` of ``V, M`` if the caller has it.

    Exact: the box settles only the units clear of zero by the band ``SIDE_RTOL_2D`` times
    their terms' size (or zero throughout); every other unit is read at the vertices, its
    close calls settled from the vertex's two edge lines (``E`` into ``lines``,
    :func:`~tinylens.geometry._polygons.settle_close`), and a cut adds the unit's line to
    ``lines`` (:func:`~tinylens.geometry._polygons._cut_exact`). ``tick``, if given, is
    called once a round (progress). Returns ``V, nv, E, root, bits``."""
    G = M[:, 1:]  # (R, 2, F)
    H = M[:, 0]  # (R, F)
    # the bounding box's interval settles the clear units; the rest are read at the vertices
    low, high, size = _bounds(V, M) if box is None else box  # size: the terms of g . v + h
    eps = SIDE_RTOL_2D * size
    bits = (low > eps).astype(np.uint8)
    rr, uu = np.nonzero((low <= eps) & (high >= -eps) & (size > 0))
    root = np.arange(len(V))

    def side_values(rows: np.ndarray, units: np.ndarray) -> np.ndarray:
        """z of units (n, m) at the vertices of polygons rows (n,), close calls settled
        exactly: (n, cap, m)."""
        r = root[rows][:, None]
        g = G[r, :, units].transpose(0, 2, 1)  # (n, 2, m)
        h = H[r, units]
        zz = h[:, None, :] + V[rows] @ g
        L = np.concatenate([g.transpose(0, 2, 1), h[:, :, None]], axis=2)  # (n, m, 3)
        band = SIDE_RTOL_2D * size[r, units][:, None, :]
        return settle_close(zz, band, nv[rows], E[rows], lines, L)

    zz = side_values(rr, uu[:, None])[:, :, 0]
    bits[rr, uu] = zz.max(axis=1) > 0
    crossing = (zz.max(axis=1) > 0) & (zz.min(axis=1) < 0)
    cand = _lists(rr[crossing], uu[crossing], len(V))

    while cand.shape[1]:
        if tick is not None:
            tick()
        rows = np.flatnonzero(cand[:, 0] >= 0)
        j = cand[rows, 0]
        zz = side_values(rows, j[:, None])[:, :, 0]
        cand[rows, 0] = -1
        cut = (zz.max(axis=1) > 0) & (zz.min(axis=1) < 0)
        bits[rows, j] = zz.max(axis=1) > 0
        rows, j, zz = rows[cut], j[cut], zz[cut]
        if len(rows):
            r = root[rows]
            ids = lines.add(G[r, :, j], H[r, j])
            (pos, n_pos, e_pos), (neg, n_neg, e_neg) = _cut_exact(  # type: ignore[misc]
                V[rows], nv[rows], E[rows], np.sign(zz).astype(np.int8), ids, lines.rows
            )
            width = max(V.shape[1], pos.shape[1], neg.shape[1])
            V, E = _grow(V, width).copy(), _grow(E, width).copy()
            V[rows], E[rows] = _grow(pos, width), _grow(e_pos, width)
            nv = nv.copy()
            nv[rows] = n_pos
            bits[rows, j] = 1
            new_bits = bits[rows].copy()
            new_bits[np.arange(len(rows)), j] = 0
            _check_size(len(V) + len(rows), cap)
            V = np.concatenate([V, _grow(neg, width)])
            E = np.concatenate([E, _grow(e_neg, width)])
            nv = np.concatenate([nv, n_neg])
            bits = np.concatenate([bits, new_bits])
            cand = np.concatenate([cand, cand[rows]])
            root = np.concatenate([root, root[rows]])
            # the halves keep only the units that still cross them
            halves = np.concatenate([rows, np.arange(len(V) - len(rows), len(V))])
            rest = cand[halves]
            ok = rest >= 0
            zz = side_values(halves, np.where(ok, rest, 0))
            still = ok & (zz.max(axis=1) > 0) & (zz.min(axis=1) < 0)
            done = ok & ~still
            hr, hc = np.nonzero(done)
            bits[halves[hr], rest[hr, hc]] = zz.max(axis=1)[hr, hc] > 0
            cand[halves] = np.where(still, rest, -1)
        cand = _compact(cand)
    return V, nv, E, root, bits


def _max(
    V: np.ndarray,
    nv: np.ndarray,
    E: np.ndarray,
    lines: _LineTable,
    M: np.ndarray,
    windows: np.ndarray,
    cap: int,
    settled: tuple[np.ndarray, np.ndarray] | None = None,
    tick: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split by the cells of every pooling window's winner; code = the winning piece.

    As for kinks, each polygon keeps the windows whose winner still changes inside it, and a
    round splits every polygon by the first of them. ``settled``: the windows the polygons'
    parents settled (:func:`~tinylens.geometry._windows._settled_after_relu`), not read again.

    Exact: the bulk decisions settle only windows won by a clear margin; the rest compare
    pieces at the vertices with the close calls settled from the vertices' edge lines, and
    the cells are clipped by the lines ``z_a - z_b = 0`` (each added to ``lines``) with exact
    sides (:func:`~tinylens.geometry._polygons.clip_halfplane_exact`). ``tick``, if given,
    is called once a round (progress). Returns ``V, nv, E, root, code``."""
    k = windows.shape[1]
    code, undecided = _first_winners(V, M, windows, settled, (nv, E, lines))
    cand = _compact(np.where(undecided, np.arange(len(windows))[None, :], -1))
    root = np.arange(len(V))

    def pieces(rows: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The pieces of windows w (n, m) for polygons rows: (n, 3, m, k)."""
        idx = windows[w]  # (n, m, k)
        r = root[rows][:, None, None, None]
        return M[r, np.arange(3)[None, :, None, None], idx[:, None]]

    while cand.shape[1]:
        if tick is not None:
            tick()
        rows = np.flatnonzero(cand[:, 0] >= 0)
        w = cand[rows, 0]
        P = pieces(rows, w[:, None])[:, :, 0]  # (n, 3, k)
        win, split = _winners(V[rows], P, (nv[rows], E[rows], lines))
        cand[rows, 0] = -1
        code[rows, w] = win
        rows, w, P = rows[split], w[split], P[split]
        if not len(rows):
            cand = _compact(cand)
            continue
        # every piece's cell of every split polygon at once (cell a of polygon i is row
        # a * n + i): the t-th round of clips cuts each cell by its t-th other piece b, in one
        # call for the pieces after a (z_a >= z_b) and one for those before (z_a > z_b)
        n = len(rows)
        a_of, src = np.repeat(np.arange(k), n), np.tile(np.arange(n), k)
        cV, cnv, cE = V[rows][src], nv[rows][src], E[rows][src]
        alive = np.ones(k * n, dtype=bool)
        for t in range(k - 1):
            b_of = t + (t >= a_of)
            pa, pb = P[src, :, a_of], P[src, :, b_of]  # (k n, 3): the line pa - pb, exactly
            for after in (True, False):
                sel = np.flatnonzero((b_of > a_of) == after)
                sel = sel[alive[sel]]  # a dead cell is cut no further
                Vs, nvs, Es, ok = clip_halfplane_exact(
                    cV[sel],
                    cnv[sel],
                    cE[sel],
                    lines,
                    pa[sel, 1:],
                    pa[sel, 0],
                    keep_zero=after,
                    minus=(pb[sel, 1:], pb[sel, 0]),
                )
                cV, cE = _grow(cV, Vs.shape[1]), _grow(cE, Vs.shape[1])
                cV[sel], cE[sel], cnv[sel] = _grow(Vs, cV.shape[1]), _grow(Es, cV.shape[1]), nvs
                alive[sel] &= ok
        width = max(V.shape[1], cV.shape[1])
        cV, cE, cnv = _grow(cV[alive], width), _grow(cE[alive], width), cnv[alive]
        cfrom, ccode = src[alive], a_of[alive].astype(np.uint8)
        order = np.argsort(cfrom, kind="stable")
        cV, cE, cnv, cfrom, ccode = cV[order], cE[order], cnv[order], cfrom[order], ccode[order]
        if not np.array_equal(np.unique(cfrom), np.arange(len(rows))):
            raise AssertionError("a max-pool window left a polygon without a winning cell")
        first = np.ones(len(cfrom), dtype=bool)
        first[1:] = cfrom[1:] != cfrom[:-1]
        V, E = _grow(V, width).copy(), _grow(E, width).copy()
        nv = nv.copy()
        V[rows], E[rows] = cV[first], cE[first]
        nv[rows] = cnv[first]
        code[rows, w] = ccode[first]
        extra = np.flatnonzero(~first)
        parent = rows[cfrom[extra]]
        add = code[parent].copy()
        add[np.arange(len(extra)), w[cfrom[extra]]] = ccode[extra]
        _check_size(len(V) + len(extra), cap)
        V = np.concatenate([V, cV[extra]])
        E = np.concatenate([E, cE[extra]])
        nv = np.concatenate([nv, cnv[extra]])
        code = np.concatenate([code, add])
        cand = np.concatenate([cand, cand[parent]])
        root = np.concatenate([root, root[parent]])
        # the cells keep only the windows whose winner still changes inside them
        cells = np.concatenate([rows, np.arange(len(V) - len(extra), len(V))])
        cand = _compact(cand)
        rest = cand[cells]
        hr, hc = np.nonzero(rest >= 0)
        if len(hr):
            at, w_at = cells[hr], rest[hr, hc]
            P_at = pieces(at, w_at[:, None])[:, :, 0]
            win, split = _winners(V[at], P_at, (nv[at], E[at], lines))
            code[at[~split], w_at[~split]] = win[~split]
            rest[hr[~split], hc[~split]] = -1
            cand[cells] = rest
        cand = _compact(cand)
    return V, nv, E, root, code
