"""Every linear region of an image classifier (convolutions, max pools) on a segment, exactly.

On a segment ``x = origin + t d`` every feature of every layer is, interval by interval, an
affine function of ``t``: two numbers per feature (its value at ``t = 0`` and its slope). This
module carries that map, an array of shape ``(intervals, 2, features)``, through the network's
:class:`~tinylens.geometry.conv_layers.Step` list, as :mod:`~tinylens.geometry.conv_slice`
does with three columns on a plane, but without any polygon machinery: on a line a kink and a
max pool only bring breakpoints.

* an affine step runs the layer itself on the two columns (the bias on the first only);
* a kink (ReLU, LeakyReLU) breaks an interval at the root ``t = -h / g`` of every unit whose
  pre-activation changes sign strictly inside it, decided exactly as the MLP's 1-D enumeration
  does: every end of an interval carries the line ``(slope, value at 0)`` it is the root of,
  and a value within :data:`SIDE_RTOL_1D` of zero at an end has its sign settled from the two
  lines in exact rationals (:func:`~tinylens.geometry._exact_sides.root_sides`); the bit is 1
  where ``z > 0``;
* a max pool breaks an interval where the window's winner changes: at the crossing of two of
  the window's pieces where both are the window's maximum; the code is the winning piece
  (first of equals, as ``torch.max``). Which pieces are at the top is still decided with the
  tolerance :data:`SIDE_RTOL_1D`, not exactly.

The breakpoints of a step are sorted exactly (float roots in order, equal floats ordered, and
deduplicated, by their exact rational roots); adjacent pieces that end with the same code (a
breakpoint where nothing changes, e.g. two pieces crossing below the max) are merged.
Intervals are processed depth first in chunks of :data:`CHUNK`, so memory stays bounded for
the MNIST CNN (``2 x 6272`` floats per interval after its first conv).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.geometry._exact_sides import root_sides
from tinylens.geometry._intervals import SIDE_RTOL_1D
from tinylens.geometry.conv_layers import Step
from tinylens.geometry.conv_slice import _check_size, _thunk, region_cap

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
    # (next step, intervals, the lines their ends are roots of, codes so far, their maps or a
    # thunk computing them)
    start = np.array([[[1.0, -float(lo)], [1.0, -float(hi)]]])  # t = lo and t = hi exactly
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


def _affine(step: Step, M: np.ndarray) -> np.ndarray:
    """Run the layer on both columns of every interval's map (the bias on the first)."""
    n = len(M)
    out = step.linear(M.reshape(n * 2, -1)).reshape(n, 2, -1)  # type: ignore[misc]
    out[:, 0] += step.bias
    return out


def _pieces(
    ends: np.ndarray, lines: np.ndarray, rows: np.ndarray, cuts: np.ndarray, cut_lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Break interval ``rows[i]`` at ``cuts[i]``, the root of ``cut_lines[i]`` = (slope, value
    at 0) (any order, repeats allowed): the pieces (m, 2), left to right within each interval,
    the lines their ends are roots of (m, 2, 2), and the interval each came from (m,).

    Each float root is its exact root rounded once, so float order is exact order except
    between equal floats: those are ordered, and exact repeats dropped, in rationals."""
    n = len(ends)
    r = np.concatenate([np.arange(n), rows, np.arange(n)])
    t = np.concatenate([ends[:, 0], cuts, ends[:, 1]])
    L = np.concatenate([lines[:, 0], cut_lines, lines[:, 1]])
    order = np.lexsort((t, r))
    r, t, L = r[order], t[order], L[order]
    same = (r[1:] == r[:-1]) & (t[1:] == t[:-1])
    keep = np.ones(len(t), dtype=bool)
    if same.any():
        for first, last in _runs(same):  # equal floats: a few, settled exactly
            exact = [-Fraction(float(a0)) / Fraction(float(a1)) for a1, a0 in L[first : last + 1]]
            by_value = sorted(range(len(exact)), key=exact.__getitem__)
            L[first : last + 1] = L[first : last + 1][by_value]
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
    cut_lines = np.stack([g[rows, units], h[rows, units]], axis=1)
    pieces, piece_lines, root = _pieces(ends, lines, rows, cuts, cut_lines)
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
    z: np.ndarray, eps: np.ndarray, roots: np.ndarray, g: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """The exact sign (int8, shape of ``z``) of ``g t + h`` at points that are the roots of
    the lines ``roots`` (``(..., 2)``, broadcast against ``z``): the float sign of ``z``
    outside the band ``eps``, exact inside it; a unit constant on the piece (``g = 0``) is
    exactly ``h`` there."""
    s = np.sign(z).astype(np.int8)
    close = np.nonzero((np.abs(z) <= eps) & (g != 0))
    if len(close[0]):
        at = np.broadcast_to(roots, (*z.shape, 2))[close]
        s[close] = root_sides(at, np.stack([g[close], h[close]], axis=1))
    return s


def _max(
    ends: np.ndarray, lines: np.ndarray, M: np.ndarray, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Break where a window's winner changes; code = the winning piece (first of equals)."""
    P = M[:, :, windows]  # (R, 2, n_windows, k)
    h, g = P[:, 0], P[:, 1]
    size = np.abs(h) + np.abs(g) * np.abs(ends).max(axis=1)[:, None, None]
    k = windows.shape[1]
    rows_all, w_all, cuts_all, lines_all = [], [], [], []
    for a in range(k):
        for b in range(a + 1, k):
            dh, dg = h[..., a] - h[..., b], g[..., a] - g[..., b]  # (R, n_windows)
            eps = SIDE_RTOL_1D * (size[..., a] + size[..., b])
            da, db = dh + dg * ends[:, :1], dh + dg * ends[:, 1:]
            cross = ((da > eps) & (db < -eps)) | ((da < -eps) & (db > eps))
            rows, w = np.nonzero(cross)
            t = -dh[rows, w] / dg[rows, w] + 0.0
            # a crossing below the window's max changes nothing: keep it only at the top
            z = h[rows, w] + g[rows, w] * t[:, None]  # (n, k)
            top = z.max(axis=1) - SIDE_RTOL_1D * size[rows, w].max(axis=1)
            on_top = (z[:, a] >= top) & (z[:, b] >= top)
            rows_all.append(rows[on_top])
            w_all.append(w[on_top])
            cuts_all.append(t[on_top])
            lines_all.append(np.stack([dg[rows, w], dh[rows, w]], axis=1)[on_top])
    rows, ws = np.concatenate(rows_all), np.concatenate(w_all)
    cut_lines = np.concatenate(lines_all).reshape(-1, 2)
    pieces, piece_lines, root = _pieces(ends, lines, rows, np.concatenate(cuts_all), cut_lines)

    def winners(r: np.ndarray, w: Any, t: np.ndarray) -> np.ndarray:
        """The first piece within tolerance of the window's max at ``t``."""
        z = h[r, w] + g[r, w] * t
        tol = SIDE_RTOL_1D * size[r, w]
        return (z >= z.max(axis=-1, keepdims=True) - tol).argmax(axis=-1)

    # a window with no crossing at its top keeps one winner on the interval: read it at the
    # middle; a window with one: its winner on each piece, at the piece's middle
    every = np.arange(len(ends))
    winner = winners(every, slice(None), ends.mean(axis=1)[:, None, None]).astype(np.uint8)
    winner = winner[root]
    pairs = np.unique(rows * len(windows) + ws)
    p, i = _each_piece(root, len(ends), pairs // len(windows))
    r, w = root[p], (pairs % len(windows))[i]
    winner[p, w] = winners(r, w, pieces[p].mean(axis=1)[:, None])
    return _merge(pieces, piece_lines, root, winner)
