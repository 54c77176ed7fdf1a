"""Exact pieces and breakpoints of one-input networks (:func:`pieces_1d`).

>>> from tinylens.engine import AffineNet
>>> pieces_1d(AffineNet.from_lists([([[1], [-1]], [0, 0], "relu"),
...                                  ([[1, 1]], [0], "identity")]), -1, 1).breakpoints
(0.0,)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry._affine import NetLike, as_affine_net, piecewise_stack
from tinylens.geometry._intervals import split_interval
from tinylens.geometry.boxes import as_box
from tinylens.geometry.region_set import pattern_strings

__all__ = ["MERGE_RTOL", "Piece", "PiecewiseLinear1D", "pieces_1d"]

MERGE_RTOL = 1e-9
"""Float only: :func:`pieces_1d` merges neighbouring pieces whose slopes agree to ``MERGE_RTOL``
relative (the network is continuous, so equal slopes mean the same affine piece). A pattern
change that leaves the slope unchanged (a unit whose outgoing weights are zero, or two kinks
cancelling) is a kink of the pattern but not a breakpoint of the function."""


# -- 1-D pieces ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One affine piece ``slope * x + intercept`` on ``[lo, hi]`` of a one-input network.

    ``slope`` and ``intercept`` : arrays of shape (n_outputs,) (Fraction objects when exact);
    ``patterns`` : the activation patterns (0/1 strings) the piece spans, left to right.
    """

    lo: float | Fraction
    hi: float | Fraction
    slope: np.ndarray
    intercept: np.ndarray
    patterns: tuple[str, ...]

    def __call__(self, x: Any) -> Any:
        return self.slope * x + self.intercept


@dataclass(frozen=True)
class PiecewiseLinear1D:
    """A one-input network on an interval as maximal affine pieces.

    Attributes
    ----------
    pieces : tuple of Piece
        Left to right; neighbours have different slopes.
    breakpoints : tuple
        Interior points where the function's slope changes (``pieces[i].hi``).
    kinks : tuple
        Interior points where the activation pattern changes (a superset of breakpoints).
    exact : bool
        True when every number is a ``fractions.Fraction`` (exact-rational weights).
    """

    pieces: tuple[Piece, ...]
    breakpoints: tuple[Any, ...]
    kinks: tuple[Any, ...]
    exact: bool

    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate at points ``x`` (scalar or 1-D array) inside the interval."""
        xs = np.atleast_1d(np.asarray(x, dtype=object if self.exact else np.float64))
        los = [p.lo for p in self.pieces]
        idx = np.clip(np.searchsorted(np.array(los[1:], dtype=xs.dtype), xs, "right"), 0, None)
        return np.array([self.pieces[i](v) for i, v in zip(idx, xs, strict=True)])


def pieces_1d(net: NetLike, lo: Any, hi: Any, *, exact: bool | None = None) -> PiecewiseLinear1D:
    """The affine pieces and breakpoints of a one-input network on ``[lo, hi]``.

    Parameters
    ----------
    net : AffineNet, Sequential, path or torch module with one input
    lo, hi : numbers (int, float or Fraction)
    exact : bool, optional
        Compute in exact rationals. Defaults to ``AffineNet.is_exact``; with float weights it
        is exact arithmetic on the floats' binary values. (A leaky ReLU's slope is then the
        exact decimal 1/100.)

    >>> from fractions import Fraction
    >>> from tinylens.engine import AffineNet
    >>> F = Fraction
    >>> hat = AffineNet.from_lists(  # a hat: kinks at 1/3, 1/2 and 2/3, exactly
    ...     [(np.array([[F(3)], [F(3)], [F(3)]], dtype=object),
    ...       np.array([F(-1), F(-3, 2), F(-2)], dtype=object), "relu"),
    ...      (np.array([[F(1), F(-2), F(1)]], dtype=object), np.array([F(0)], dtype=object),
    ...       "identity")])
    >>> fn = pieces_1d(hat, 0, 1)
    >>> fn.breakpoints
    (Fraction(1, 3), Fraction(1, 2), Fraction(2, 3))
    >>> [p.slope[0] for p in fn.pieces]
    [Fraction(0, 1), Fraction(3, 1), Fraction(-3, 1), Fraction(0, 1)]
    """
    affine = as_affine_net(net)
    use_exact = affine.is_exact if exact is None else bool(exact)
    if use_exact and not affine.is_exact:
        affine = _to_fractions(affine)
    stack = piecewise_stack(affine, exact=use_exact)
    if stack.n_inputs != 1:
        raise ShapeError(
            f"pieces_1d needs a network with one input; this one has {stack.n_inputs} "
            "(use linear_regions for more)"
        )
    if use_exact:
        lo_v, hi_v = Fraction(lo), Fraction(hi)
        if not lo_v < hi_v:
            raise ConfigError(f"interval [{lo}, {hi}] needs lo < hi")
    else:
        box = as_box([lo, hi], 1)
        lo_v, hi_v = float(box[0, 0]), float(box[0, 1])
    split = split_interval(stack, lo_v, hi_v)
    strings = pattern_strings(split.patterns)
    raw = [
        (split.ends[i, 0], split.ends[i, 1], split.slope[i], split.intercept[i], strings[i])
        for i in range(len(strings))
    ]
    kinks = tuple(r[0] for r in raw[1:])
    merged: list[list[Any]] = []
    for a, b_, slope, intercept, pat in raw:
        if merged and _same(merged[-1][2], slope, use_exact):
            merged[-1][1] = b_
            merged[-1][4] = (*merged[-1][4], pat)
        else:
            merged.append([a, b_, slope, intercept, (pat,)])
    pieces = tuple(Piece(*m) for m in merged)
    breakpoints = tuple(p.lo for p in pieces[1:])
    if not use_exact:
        kinks = tuple(float(k) for k in kinks)
        breakpoints = tuple(float(k) for k in breakpoints)
    return PiecewiseLinear1D(pieces, breakpoints, kinks, use_exact)


def _same(s1: np.ndarray, s2: np.ndarray, exact: bool) -> bool:
    if exact:
        return bool(all(a == b for a, b in zip(s1, s2, strict=True)))
    scale = np.maximum(np.abs(s1), np.abs(s2)).max(initial=0.0)
    return bool(np.abs(s1 - s2).max(initial=0.0) <= MERGE_RTOL * max(scale, 1.0))


def _to_fractions(affine: Any) -> Any:
    from tinylens.engine import AffineLayer, AffineNet

    def frac(a: np.ndarray) -> np.ndarray:
        return np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(a)

    return AffineNet(
        tuple(AffineLayer(frac(L.weight), frac(L.bias), L.activation) for L in affine.layers),
        affine.input_names,
    )
