"""1-D inputs: split an interval at every unit's root, layer by layer, exactly.

The same vectorised code runs on float64 arrays and on ``fractions.Fraction`` object arrays;
with exact weights every breakpoint is an exact rational and no tolerance is used at all.
With float weights every end of an interval is the root of one line ``a1 x + a0`` (the domain's
ends, or an earlier unit's pre-activation on that piece), carried with it, and a unit's sign at
an end is decided exactly from the two lines where the float value is too close to call
(:func:`~tinylens.geometry._exact_sides.root_sides`): the intervals are the exact breakpoints
of the float maps, however close, and the reported ends are those roots rounded once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinylens.geometry._affine import BRANCH_SLOPES, PiecewiseStack, exact_slopes
from tinylens.geometry._exact_sides import root_sides

__all__ = ["SIDE_RTOL_1D", "IntervalSplit", "split_interval"]

SIDE_RTOL_1D = 1e-12
"""Float only: the band of close calls. A pre-activation whose magnitude at an end is at most
``SIDE_RTOL_1D`` times the size of its terms (``|g| * max(|lo|, |hi|) + |h|``) has its sign
there decided exactly from the end's own line (:func:`split_interval`); outside the band the
float sign is certain (an end is its root rounded once, ~1e-16 relative, and the evaluation
rounds a few ulps). So a unit whose root is 1e-15 from an end splits off an interval that
short, and one whose root *is* the end (exactly) splits nothing. The CNN segment
(:mod:`~tinylens.geometry.conv_segment`) uses the same band the same way."""


@dataclass(frozen=True)
class IntervalSplit:
    """Intervals ``[ends[i, 0], ends[i, 1]]`` sorted left to right, each with its pattern and
    its affine output map ``slope[i] * x + intercept[i]``.

    ``ends`` : array of shape (n, 2); ``patterns`` : uint8 array of shape (n, n_units);
    ``slope``, ``intercept`` : arrays of shape (n, n_outputs). Object arrays of Fractions when
    the computation was exact. ``counts_per_layer[l]``: pieces after kinked layer l.
    """

    ends: np.ndarray
    patterns: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    counts_per_layer: tuple[int, ...]
    exact: bool


def split_interval(stack: PiecewiseStack, lo: object, hi: object) -> IntervalSplit:
    """Every piece of ``stack`` on ``[lo, hi]`` (one input), with patterns and affine maps."""
    exact = stack.readout.weight.dtype == object
    dtype = object if exact else np.float64
    ends = np.array([[lo, hi]], dtype=dtype)
    # Running map of the current layer's input as a function of x: x_l = M x + m, per piece.
    M = np.ones((1, 1), dtype=dtype)
    m = np.zeros((1, 1), dtype=dtype)
    if exact:
        M, m = M * 1, m * 0  # object arrays of Python ints: exact, and Fraction-compatible
    # float: the line (a1, a0) whose root each end is: (1, -lo) and (1, -hi) to start
    roots = None if exact else np.array([[[1.0, -float(lo)], [1.0, -float(hi)]]])
    bits = np.zeros((1, 0), dtype=np.uint8)
    counts: list[int] = []
    for layer in stack.layers:
        g = M @ layer.weight.T  # (R, width): slope of each unit's pre-activation
        h = m @ layer.weight.T + layer.bias
        root = np.arange(len(ends))  # which layer-start piece each current piece came from
        layer_bits = np.zeros((len(ends), layer.out_features), dtype=np.uint8)
        # identity units never switch (bit 1) and never split anything
        kinked = layer.activation != "identity"
        if not kinked:
            layer_bits[:] = 1
        for j in range(layer.out_features if kinked else 0):
            gj, hj = g[root, j], h[root, j]
            z_lo = gj * ends[:, 0] + hj
            z_hi = gj * ends[:, 1] + hj
            if exact:
                pos_lo, neg_lo, pos_hi, neg_hi = z_lo > 0, z_lo < 0, z_hi > 0, z_hi < 0
            else:
                reach = np.maximum(np.abs(ends[:, 0]), np.abs(ends[:, 1]))
                eps = SIDE_RTOL_1D * (np.abs(gj) * reach + np.abs(hj))
                s_lo = _sides(z_lo, eps, roots[:, 0], gj, hj)  # type: ignore[index]
                s_hi = _sides(z_hi, eps, roots[:, 1], gj, hj)  # type: ignore[index]
                pos_lo, neg_lo, pos_hi, neg_hi = s_lo > 0, s_lo < 0, s_hi > 0, s_hi < 0
            split = (pos_lo & neg_hi) | (neg_lo & pos_hi)
            # Unsplit pieces: the unit keeps one sign (or is zero) on the piece; zero on the
            # whole piece is the z <= 0 branch, like relu(0) = 0.
            layer_bits[:, j] = np.asarray(pos_lo | pos_hi, dtype=np.uint8)
            if not split.any():
                continue
            idx = np.flatnonzero(split)
            t = -hj[idx] / gj[idx]  # exact for Fractions; gj != 0 wherever the sign changes
            if not exact:
                t = t + 0.0  # -0.0 (from -0 / g) prints as a breakpoint at -0.0; make it 0.0
            right = ends[idx].copy()
            right[:, 0] = t
            ends[idx, 1] = t
            new_bits = layer_bits[idx].copy()
            layer_bits[idx, j] = np.asarray(pos_lo[idx], dtype=np.uint8)
            new_bits[:, j] = np.asarray(pos_hi[idx], dtype=np.uint8)
            ends = np.concatenate([ends, right])
            if roots is not None:
                line = np.stack([gj[idx], hj[idx]], axis=1)
                right_roots = roots[idx].copy()
                right_roots[:, 0] = line
                roots[idx, 1] = line
                roots = np.concatenate([roots, right_roots])
            layer_bits = np.concatenate([layer_bits, new_bits])
            root = np.concatenate([root, root[idx]])
        low, high = BRANCH_SLOPES[layer.activation]
        s = np.where(layer_bits.astype(bool), high, low)
        if exact:
            s = exact_slopes(s)
        M, m = s * g[root], s * h[root]
        bits = np.concatenate([bits[root], layer_bits], axis=1)
        counts.append(len(ends))
    slope = M @ stack.readout.weight.T
    intercept = m @ stack.readout.weight.T + stack.readout.bias
    order = np.lexsort((ends[:, 1], ends[:, 0]))  # (an interval shorter than an ulp: [a, a])
    return IntervalSplit(
        ends[order], bits[order], slope[order], intercept[order], tuple(counts), exact
    )


def _sides(
    z: np.ndarray, eps: np.ndarray, roots: np.ndarray, g: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """The exact sign of ``g x + h`` at each end (float value ``z``; the end is the root of
    the line ``roots[i]``): the float sign outside the band ``eps``, exact inside it. A unit
    constant on the piece (``g = 0``) is exactly ``h``."""
    s = np.sign(z).astype(np.int8)
    close = np.flatnonzero((np.abs(z) <= eps) & (g != 0))
    if len(close):
        s[close] = root_sides(roots[close], np.stack([g[close], h[close]], axis=1))
    return s
