"""1-D inputs: split an interval at every unit's root, layer by layer, exactly.

The same vectorised code runs on float64 arrays and on ``fractions.Fraction`` object arrays;
with exact weights every breakpoint is an exact rational and no tolerance is used at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinylens.geometry._affine import BRANCH_SLOPES, PiecewiseStack, exact_slopes

__all__ = ["SIDE_RTOL_1D", "IntervalSplit", "split_interval"]

SIDE_RTOL_1D = 1e-12
"""Float only: a pre-activation whose magnitude at an endpoint is below ``SIDE_RTOL_1D`` times
the size of the terms that make it up (``|g| * max(|lo|, |hi|) + |h|``) counts as zero there. A
unit whose root lies within that distance of an endpoint then does not split the interval, so
rounding can never create a sliver interval of length ~1e-16. 1e-12 is ~5000 ulps, well above
the rounding of a few composed layers and far below any real feature of a small network."""


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
                eps: object = 0
            else:
                reach = np.maximum(np.abs(ends[:, 0]), np.abs(ends[:, 1]))
                eps = SIDE_RTOL_1D * (np.abs(gj) * reach + np.abs(hj))
            pos_lo, neg_lo = z_lo > eps, z_lo < -eps
            pos_hi, neg_hi = z_hi > eps, z_hi < -eps
            split = (pos_lo & neg_hi) | (neg_lo & pos_hi)
            # Unsplit pieces: the unit keeps one sign; read it where |z| is largest. A unit that
            # is zero (within eps) on the whole piece is on the z <= 0 branch, like relu(0) = 0.
            far = np.where(np.abs(z_hi) >= np.abs(z_lo), z_hi, z_lo)
            layer_bits[:, j] = np.asarray(far > eps, dtype=np.uint8)
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
    order = np.argsort(ends[:, 0], kind="stable")
    return IntervalSplit(
        ends[order], bits[order], slope[order], intercept[order], tuple(counts), exact
    )
