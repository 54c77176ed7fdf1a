"""Every linear region of an image classifier (convolutions, max pools) on a segment, exactly.

On a segment ``x = origin + t d`` every feature of every layer is, interval by interval, an
affine function of ``t``: two numbers per feature (its value at ``t = 0`` and its slope). This
module carries that map, an array of shape ``(intervals, 2, features)``, through the network's
:class:`~tinylens.geometry.conv_layers.Step` list, as :mod:`~tinylens.geometry.conv_slice`
does with three columns on a plane, but without any polygon machinery: on a line a kink and a
max pool only bring breakpoints.

* an affine step runs the layer itself on the two columns (the bias on the first only);
* a kink (ReLU, LeakyReLU) breaks an interval at the root ``t = -h / g`` of every unit whose
  pre-activation changes sign strictly inside it; the bit is 1 where ``z > 0``;
* a max pool breaks an interval where the window's winner changes: at the crossing of two of
  the window's pieces where both are the window's maximum; the code is the winning piece
  (first of equals, as ``torch.max``).

Every decision is exact given the float maps: each end of an interval carries the two lines
that meet there (a unit's line and zero, or two pooled pieces; ``_end``), and a sign within
:data:`SIDE_RTOL_1D` of zero there (is the unit positive? is piece c above piece a?) is
settled from those lines in exact rationals (:func:`~tinylens.geometry._exact_sides.meet_sides`),
as is the winner of a piece whose top two pieces are that close at its middle. Breakpoints are
sorted by float value, those closer than their error bounds ordered and deduplicated by their
exact values; adjacent pieces that end with the same code (a breakpoint where nothing changes,
e.g. two pieces crossing below the max) are merged.
Intervals are processed depth first in chunks of :data:`CHUNK`, so memory stays bounded for
the MNIST CNN (``2 x 6272`` floats per interval after its first conv).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.geometry._exact_sides import meet_points, meet_sides
from tinylens.geometry._intervals import SIDE_RTOL_1D
from tinylens.geometry.conv_layers import Step
from tinylens.geometry.conv_slice import _affine, _check_size, _thunk, region_cap

__all__ = ["CHUNK", "SegmentSplit", "split_image_segment"]

CHUNK = 128
"""Intervals pushed through a layer together (the result does not depend on it; a test
checks): ``CHUNK * 2 * features`` floats, 13 MB for the MNIST CNN's widest layer."""


@dataclass(frozen=True)
class SegmentSplit:
    """The intervals of a segment, left to right, in the segment's coordinate ``t``.

    ``ends`` (n, 2); ``codes`` (n, n_codes) uint8, one per kink unit (0/1) and one per pooling
    window (the winning piece), layer by layer; ``W`` (n, outputs, 1) and ``c`` (n, outputs):
    the network's output on interval i is ``W[i] @ (t,) + c[i]``; ``counts_per_layer``:
    intervals after each kink and max step.
    """

    ends: np.ndarray
    codes: np.ndarray
    W: np.ndarray
    c: np.ndarray
    counts_per_layer: tuple[int, ...]
    layer_names: tuple[str, ...]


def split_image_segment(
    steps: list[Step],
    origin: np.ndarray,
    direction: np.ndarray,
    lo: float = 0.0,
    hi: float = 1.0,
    *,
    chunk: int = CHUNK,
) -> SegmentSplit:
    """Every interval of the network ``steps`` on ``[lo, hi]`` of ``origin + t direction``.

    Parameters
    ----------
    steps : list of Step
        From :func:`~tinylens.geometry.conv_layers.image_layers`.
    origin, direction : arrays of shape (n_inputs,)
    """
    M: np.ndarray = np.stack([origin, direction]).astype(np.float64)[None]  # (1, 2, n_inputs)
    nonlinear = [i for i, s in enumerate(steps) if s.kind != "affine"]
    counts = dict.fromkeys(nonlinear, 0)
    cap = region_cap(steps)  # the slices' rule: full codes, MEMORY_BUDGET
    done: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # (next step, intervals, where their ends are exactly (see _end), codes so far, their maps
    # or a thunk computing them)
    zero = np.zeros((2, 2))
    start = _end(np.array([[1.0, -float(lo)], [1.0, -float(hi)]]), zero, np.zeros(2))[None]
    todo: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, object]] = [
        (0, np.array([[float(lo), float(hi)]]), start, np.zeros((1, 0), dtype=np.uint8), M)
    ]
    while todo:
        level, ends, lines, codes, maps = todo.pop()
        M = maps() if callable(maps) else maps  # type: ignore[assignment]
        while level < len(steps) and steps[level].kind == "affine":
            M = _affine(steps[level], M)
            level += 1
        if level == len(steps):
            done.append((ends, codes, M))
            continue
        step = steps[level]
        if step.kind == "kink":
            ends, lines, root, new = _kink(ends, lines, M)
        else:
            ends, lines, root, new = _max(ends, lines, M, step.windows)  # type: ignore[arg-type]
        codes = np.concatenate([codes[root], new], axis=1)
        counts[level] += len(ends)
        _check_size(counts[level], cap)
        for start in reversed(range(0, len(ends), chunk)):  # depth first, left to right
            part = slice(start, start + chunk)
            todo.append(
                (
                    level + 1,
                    ends[part],
                    lines[part],
                    codes[part],
                    _thunk(step, M, root[part], new[part]),
                )
            )
    ends = np.concatenate([d[0] for d in done])
    codes = np.concatenate([d[1] for d in done])
    M = np.concatenate([d[2] for d in done])
    order = np.argsort(ends[:, 0], kind="stable")
    return SegmentSplit(
        ends[order],
        codes[order],
        M[order, 1][:, :, None],
        M[order, 0],
        tuple(counts[i] for i in nonlinear),
        tuple(steps[i].name for i in nonlinear),
    )


def _end(A: np.ndarray, B: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Interval ends as rows ``(a1, a0, b1, b0, err)``: the end is exactly where the lines
    ``a1 t + a0`` and ``b1 t + b0`` meet (``B = 0`` for a unit's root), and its float value
    is within ``err`` of that point. Shape (..., 5)."""
    return np.concatenate([A, B, np.asarray(err)[..., None]], axis=-1)


def _pieces(
    ends: np.ndarray, lines: np.ndarray, rows: np.ndarray, cuts: np.ndarray, cut_ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Break interval ``rows[i]`` at ``cuts[i]`` (exactly at ``cut_ends[i]``, see ``_end``; any
    order, repeats allowed): the pieces (m, 2), left to right within each interval, their
    exact ends (m, 2, 5), and the interval each came from (m,).

    Float values closer than their error bounds are ordered, and exact repeats dropped, in
    rationals; a cut whose float value rounds outside its interval is moved onto its end."""
    n = len(ends)
    cuts = np.clip(cuts, ends[rows, 0], ends[rows, 1])
    r = np.concatenate([np.arange(n), rows, np.arange(n)])
    t = np.concatenate([ends[:, 0], cuts, ends[:, 1]])
    L = np.concatenate([lines[:, 0], cut_ends, lines[:, 1]])
    order = np.lexsort((t, r))
    r, t, L = r[order], t[order], L[order]
    close = (r[1:] == r[:-1]) & (t[1:] - t[:-1] <= L[1:, 4] + L[:-1, 4])
    keep = np.ones(len(t), dtype=bool)
    if close.any():
        for first, last in _runs(close):  # a few, settled exactly
            run = slice(first, last + 1)
            exact = meet_points(L[run, 0:2], L[run, 2:4])
            by_value = sorted(range(len(exact)), key=exact.__getitem__)
            L[run] = L[run][by_value]
            t[run] = np.maximum.accumulate(t[run][by_value])
            for k in range(1, len(by_value)):
                keep[first + k] = exact[by_value[k]] != exact[by_value[k - 1]]
    r, t, L = r[keep], t[keep], L[keep]
    inner = r[1:] == r[:-1]
    pieces = np.stack([t[:-1][inner], t[1:][inner]], axis=1)
    return pieces, np.stack([L[:-1][inner], L[1:][inner]], axis=1), r[:-1][inner]


def _runs(same: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` of each run of entries equal to their predecessor (``same[i]``: entry
    ``i + 1`` equals entry ``i``)."""
    edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _merge(
    ends: np.ndarray, lines: np.ndarray, root: np.ndarray, code: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge neighbouring pieces of one interval that have the same code."""
    same = np.zeros(len(ends), dtype=bool)
    same[1:] = (root[1:] == root[:-1]) & (code[1:] == code[:-1]).all(axis=1)
    start = np.flatnonzero(~same)
    stop = np.append(start[1:], len(ends)) - 1
    merged = np.stack([ends[start, 0], ends[stop, 1]], axis=1)
    return merged, np.stack([lines[start, 0], lines[stop, 1]], axis=1), root[start], code[start]


def _each_piece(root: np.ndarray, n_parents: int, parents: np.ndarray) -> tuple[np.ndarray, ...]:
    """For every entry ``parents[i]`` (a parent interval), the pieces it was broken into:
    ``(piece index, i)`` pairs. ``root`` (the pieces' parents) is sorted, as _pieces gives it."""
    start = np.searchsorted(root, np.arange(n_parents))
    n = np.bincount(root, minlength=n_parents)[parents]
    first = np.repeat(np.cumsum(n) - n, n)
    which = np.repeat(np.arange(len(parents)), n)
    return np.repeat(start[parents], n) + np.arange(int(n.sum())) - first, which


def _kink(
    ends: np.ndarray, lines: np.ndarray, M: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Break at every unit's root inside an interval; bit 1 where ``z > 0``."""
    h, g = M[:, 0], M[:, 1]  # (R, F)
    reach = np.abs(ends).max(axis=1, keepdims=True)
    eps = SIDE_RTOL_1D * (np.abs(g) * reach + np.abs(h))
    sa = _sides(h + g * ends[:, :1], eps, lines[:, 0, None], g, h)
    sb = _sides(h + g * ends[:, 1:], eps, lines[:, 1, None], g, h)
    rows, units = np.nonzero(sa * sb < 0)
    cuts = -h[rows, units] / g[rows, units] + 0.0  # + 0.0: no -0.0 breakpoint
    A = np.stack([g[rows, units], h[rows, units]], axis=1)
    cut_ends = _end(A, np.zeros_like(A), 2.0**-52 * np.abs(cuts))  # one rounding
    pieces, piece_lines, root = _pieces(ends, lines, rows, cuts, cut_ends)
    # a unit that does not split an interval keeps one sign on it, or is zero (relu(0) = 0)
    bits = ((sa > 0) | (sb > 0)).astype(np.uint8)[root]
    # a unit that splits it: its sign on each piece, at the piece's left end unless it is the
    # unit's root there (then at the right end)
    p, i = _each_piece(root, len(ends), rows)
    r, u = rows[i], units[i]
    gu, hu, e = g[r, u], h[r, u], eps[r, u]
    s_lo = _sides(hu + gu * pieces[p, 0], e, piece_lines[p, 0], gu, hu)
    s_hi = _sides(hu + gu * pieces[p, 1], e, piece_lines[p, 1], gu, hu)
    bits[p, u] = np.where(s_lo != 0, s_lo, s_hi) > 0
    return _merge(pieces, piece_lines, root, bits)


def _sides(
    z: np.ndarray,
    eps: np.ndarray,
    at: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    gm: Any = 0.0,
    hm: Any = 0.0,
) -> np.ndarray:
    """The exact sign (int8, shape of ``z``) of ``(g - gm) t + (h - hm)`` at the ends ``at``
    (``(..., 5)`` rows of ``_end``, broadcast against ``z``), whose float value there is
    ``z``: the float sign outside the band ``eps`` (grown by the slope times the end's own
    error), exact inside it; a difference constant on the piece is exactly ``h - hm``."""
    s = np.sign(z).astype(np.int8)
    err = at[..., 4]
    slope = np.abs(g - gm) if np.ndim(gm) else np.abs(g)
    close = np.abs(z) <= (eps + slope * err if err.any() else eps)
    if close.any():
        idx = np.nonzero(close)
        gmc = np.broadcast_to(gm, z.shape)[idx]
        live = g[idx] != gmc  # equal slopes: the difference is constant, z is exact
        idx = tuple(i[live] for i in idx)
        if len(idx[0]):
            ends = np.broadcast_to(at, (*z.shape, 5))[idx]
            L = np.stack([g[idx], h[idx]], axis=1)
            M = np.stack([gmc[live], np.broadcast_to(hm, z.shape)[idx]], axis=1)
            s[idx] = meet_sides(ends[:, 0:2], ends[:, 2:4], L, M)
    return s


def _max(
    ends: np.ndarray, lines: np.ndarray, M: np.ndarray, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Break where a window's winner changes; code = the winning piece (first of equals)."""
    P = M[:, :, windows]  # (R, 2, n_windows, k)
    h, g = P[:, 0], P[:, 1]
    size = np.abs(h) + np.abs(g) * np.abs(ends).max(axis=1)[:, None, None]
    k = windows.shape[1]
    rows_all, w_all, cuts_all, ends_all = [], [], [], []
    for a in range(k):
        for b in range(a + 1, k):
            ha, hb, ga, gb = h[..., a], h[..., b], g[..., a], g[..., b]  # (R, n_windows)
            dh, dg = ha - hb, ga - gb
            eps = SIDE_RTOL_1D * (size[..., a] + size[..., b])
            sa = _sides(dh + dg * ends[:, :1], eps, lines[:, 0, None], ga, ha, gb, hb)
            sb = _sides(dh + dg * ends[:, 1:], eps, lines[:, 1, None], ga, ha, gb, hb)
            rows, w = np.nonzero(sa * sb < 0)
            t = -dh[rows, w] / dg[rows, w] + 0.0
            A = np.stack([ga[rows, w], ha[rows, w]], axis=1)
            B = np.stack([gb[rows, w], hb[rows, w]], axis=1)
            # the float crossing of the rounded differences: within err of the exact one
            spread = (
                np.abs(A[:, 1]) + np.abs(B[:, 1]) + np.abs(t) * (np.abs(A[:, 0]) + np.abs(B[:, 0]))
            )
            err = 2.0**-51 * spread / np.abs(dg[rows, w]) + 2.0**-52 * np.abs(t)
            # a crossing below the window's max changes nothing: keep it only at the top,
            # where no other piece c is above a (and b) exactly
            z = h[rows, w] + g[rows, w] * t[:, None]  # (n, k)
            diff = z - z[:, a : a + 1]
            gc = g[rows, w]
            band = SIDE_RTOL_1D * (size[rows, w] + size[rows, w, a : a + 1])
            band += np.abs(gc - gc[:, a : a + 1]) * err[:, None]
            above = diff > band
            # (a piece on a's or b's very line ties with them there: not above)
            ha_, hb_ = h[rows, w][:, [a]], h[rows, w][:, [b]]
            same = ((gc == gc[:, [a]]) & (h[rows, w] == ha_)) | (
                (gc == gc[:, [b]]) & (h[rows, w] == hb_)
            )
            unsure = (np.abs(diff) <= band) & ~same
            above &= ~same
            n_, c_ = np.nonzero(unsure)
            if len(n_):
                L = np.stack([gc[n_, c_], h[rows, w][n_, c_]], axis=1)
                above[n_, c_] = meet_sides(A[n_], B[n_], L, A[n_]) > 0
            on_top = ~above.any(axis=1)
            rows_all.append(rows[on_top])
            w_all.append(w[on_top])
            cuts_all.append(t[on_top])
            ends_all.append(_end(A, B, err)[on_top])
    rows, ws = np.concatenate(rows_all), np.concatenate(w_all)
    cut_ends = np.concatenate(ends_all).reshape(-1, 5)
    pieces, piece_lines, root = _pieces(ends, lines, rows, np.concatenate(cuts_all), cut_ends)

    def winners(r: np.ndarray, w: Any, span: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The first piece of the window's max in the middle of ``span`` (m, 2) whose exact
        ends are ``at`` (m, 2, 5): in float where one piece is clearly on top, else exactly
        (the winner is constant inside a piece: every change at the top is a breakpoint)."""
        t = span.mean(axis=1)
        shape = (len(r), -1) if isinstance(w, slice) else (len(r),)
        tt = t.reshape(-1, *([1] * (len(shape) - 1)), 1)
        z = h[r, w] + g[r, w] * tt  # (m, [windows,] k)
        top = z.max(axis=-1, keepdims=True)
        slack = (at[:, 0, 4] + at[:, 1, 4]).reshape(tt.shape) + 2.0**-52 * np.abs(tt)
        tol = SIDE_RTOL_1D * size[r, w] + np.abs(g[r, w]) * slack
        near = z >= top - 2 * tol.max(axis=-1, keepdims=True)
        best = near.argmax(axis=-1)
        # unsure only when a near piece is not on the first near piece's very line (equal
        # pieces, e.g. dead units' zeros, tie everywhere: the first wins, as torch.max)
        multi = np.nonzero(near.sum(axis=-1) > 1)
        gw, hw = g[r, w][multi], h[r, w][multi]  # (n, k)
        first = best[multi][:, None]
        gf, hf = np.take_along_axis(gw, first, axis=1), np.take_along_axis(hw, first, axis=1)
        unsure = (near[multi] & ((gw != gf) | (hw != hf))).any(axis=1)
        for idx in zip(*(m[unsure] for m in multi), strict=True):
            m = idx[0]
            lo, hi = meet_points(at[m, :, 0:2], at[m, :, 2:4])
            mid = (lo + hi) / 2
            hs, gs = h[r[m]], g[r[m]]
            if not isinstance(w, slice):
                hs, gs = hs[w[m]], gs[w[m]]
            else:
                hs, gs = hs[idx[1]], gs[idx[1]]
            vals = [
                Fraction(float(gv)) * mid + Fraction(float(hv))
                for gv, hv in zip(gs, hs, strict=True)
            ]
            best[idx] = vals.index(max(vals))
        return best

    # a window with no crossing at its top keeps one winner on the interval: read it at the
    # middle; a window with one: its winner on each piece, at the piece's middle
    every = np.arange(len(ends))
    winner = winners(every, slice(None), ends, lines).astype(np.uint8)
    winner = winner[root]
    pairs = np.unique(rows * len(windows) + ws)
    p, i = _each_piece(root, len(ends), pairs // len(windows))
    r, w = root[p], (pairs % len(windows))[i]
    winner[p, w] = winners(r, w, pieces[p], piece_lines[p])
    return _merge(pieces, piece_lines, root, winner)
