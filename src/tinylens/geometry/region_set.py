"""The result of :func:`~tinylens.geometry.linear_regions`: a :class:`RegionSet` of
:class:`Region` views (patterns, inequalities, affine maps, geometry, point location, JSON)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.errors import ConfigError
from tinylens.geometry._affine import (
    PiecewiseStack,
    forward_patterns,
    pattern_maps,
    piecewise_stack,
)
from tinylens.geometry.region_base import BaseRegion, BaseRegionSet

__all__ = ["CONTAINS_RTOL", "Region", "RegionSet", "pattern_strings"]

CONTAINS_RTOL = 1e-9
""":meth:`Region.contains` accepts a point whose inequality ``a . x <= b`` is violated by at
most ``CONTAINS_RTOL`` times the size of the terms summed into that unit's pre-activation over
the box (``|W| (|x_l| bound) + |bias|``; the box's largest coordinate for a box row): points on
a shared boundary belong to both neighbours, rounding in a vertex computed as the crossing of
two lines never throws it out of its own region, and a unit that cancels to (almost) zero on a
region (``relu(a) - relu(a)``) does not make its tiny row impossible to satisfy."""


# -- regions -------------------------------------------------------------------------------------
class Region(BaseRegion):
    """One linear region: a convex polytope on which the network is the affine map ``W x + c``.

    A light view into its :class:`RegionSet`; obtain it by indexing, iterating or
    :meth:`RegionSet.region_of`.

    Attributes
    ----------
    index : int
        Position in the set (left to right in 1-D, sorted by pattern otherwise).
    pattern : str
        One ``0``/``1`` per unit of :attr:`RegionSet.units` (hidden units layer by layer):
        ``1`` where the unit's pre-activation is positive.
    pattern_array : array of shape (n_units,), uint8
    A, b : arrays of shape (n_rows, n_inputs) and (n_rows,)
        The region is ``{x : A x <= b}``: one row per kinked unit (its side, in this region's
        own affine coordinates) and then the box's ``2 d`` rows. Rows may be redundant.
    W, c : arrays of shape (n_outputs, n_inputs) and (n_outputs,)
        The network's output inside the region is ``W x + c`` (the output layer's
        pre-activation when its activation is not piecewise linear, e.g. sigmoid).
    interior_point : array of shape (n_inputs,)
        A point strictly inside (centroid in 1-D and 2-D, a Chebyshev-ball centre otherwise).
    vertices : array of shape (k, 2) (2-D, counter-clockwise) or (2, 1) (1-D ends), or None
    area : float or None
        2-D only.
    volume : float
        Length, area, or (n-D, computed on first use with Qhull) volume.
    """

    __slots__ = ()
    _set: RegionSet

    @property
    def A(self) -> np.ndarray:
        return self._set.hrep()[0][self.index]

    @property
    def b(self) -> np.ndarray:
        return self._set.hrep()[1][self.index]

    def contains(self, x: Any, rtol: float = CONTAINS_RTOL) -> bool | np.ndarray:
        """Whether ``x`` (shape (d,) or (n, d)) satisfies ``A x <= b`` up to ``rtol``."""
        X = self._set._points(x)
        A, b = self.A, self.b
        slack = X @ A.T - b
        allow = rtol * self._set._row_scale[self.index]
        inside = (slack <= allow).all(axis=1)
        return bool(inside[0]) if np.ndim(x) == 1 else inside

    def __call__(self, x: Any) -> np.ndarray:
        """``W x + c`` for ``x`` of shape (d,) or (n, d)."""
        X = self._set._points(x)
        out = X @ self.W.T + self.c
        return out[0] if np.ndim(x) == 1 else out

    def exact_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, c)`` in exact Fractions (exact-rational networks only; see
        :meth:`RegionSet.exact_maps`)."""
        W, c = self._set.exact_maps()
        return W[self.index], c[self.index]

    def formula(self, digits: int = 4, *, exact: bool | None = None) -> list[str]:
        """The affine map as text, one string per output, e.g. ``["0.5*x1 - x2 + 0.1"]``
        (input names from the network, ``x1, x2, ...`` by default). With exact weights (the
        default when the network has them) coefficients are written as fractions:
        ``["3/2*x1 - x2 + 1/3"]``."""
        names = self._set.net.names
        use_exact = self._set.is_exact if exact is None else exact
        W, c = self.exact_affine() if use_exact else (self.W, self.c)

        def number(v: Any) -> str:
            return str(abs(v)) if use_exact else f"{abs(v):.{digits}g}"

        lines = []
        for w_row, c0 in zip(W, c, strict=True):
            terms = [
                (w, n if abs(w) == 1 else f"{number(w)}*{n}")
                for w, n in zip(w_row, names, strict=True)
            ]
            terms = [t for t in terms if t[0] != 0]
            if c0 != 0 or not terms:
                terms.append((c0, number(c0)))
            text = ("-" if terms[0][0] < 0 else "") + terms[0][1]
            for w, body in terms[1:]:
                text += f" {'-' if w < 0 else '+'} {body}"
            lines.append(text)
        return lines


class RegionSet(BaseRegionSet):
    """Every linear region of a network on a box (see :func:`linear_regions`).

    Iterating gives :class:`Region` objects, left to right in 1-D and sorted by pattern
    otherwise; ``regions[i]`` is the i-th.

    Attributes
    ----------
    net : AffineNet
        The network analysed (float64).
    box : array of shape (n_inputs, 2)
    method : str
        ``intervals``, ``polygons`` or ``arrangement``.
    units : tuple of (int, int)
        ``(affine layer, unit)`` of each pattern character.
    patterns : array of shape (count, n_units), uint8
    pattern_strings : list of str
    W : array of shape (count, n_outputs, n_inputs)
    c : array of shape (count, n_outputs)
    interior_points : array of shape (count, n_inputs)
    vertices : list of arrays of shape (k_i, 2) (2-D), of shape (2, 1) (1-D), or None (n-D)
    intervals : array of shape (count, 2) (1-D) or None
    counts_per_layer : tuple of int
        Regions of the sub-network up to each kinked layer (the last is :attr:`count`).
    output_activation : str
        What the network applies after ``W x + c`` (``identity`` for a linear output).
    n_lp : int
        Linear programs solved (arrangement only).

    The collection, ``predicted_class``, ``region_of``, ``evaluate``, ``decision_boundary``
    and the exports (``to_dict``, ``to_json``, ``to_pandas``, ``plot``, the notebook card) are
    shared with :class:`~tinylens.geometry.ImageRegionSet`
    (:class:`~tinylens.geometry.region_base.BaseRegionSet`).
    """

    region_type = Region

    def __init__(
        self,
        *,
        net: Any,
        stack: PiecewiseStack,
        box: np.ndarray,
        method: str,
        patterns: np.ndarray,
        interior_points: np.ndarray,
        counts_per_layer: tuple[int, ...],
        vertices: list[np.ndarray] | None = None,
        intervals: np.ndarray | None = None,
        volumes: np.ndarray | None = None,
        unit_rows: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
        n_lp: int = 0,
        exact_net: Any = None,
    ) -> None:
        self.net = net
        self._exact_net = exact_net
        self._exact_maps: tuple[np.ndarray, np.ndarray] | None = None
        self._stack = stack
        self.box = box
        self.method = method
        self.units = stack.units
        self.output_activation = stack.readout_activation
        self.counts_per_layer = counts_per_layer
        self.n_lp = n_lp
        self.slice = None  # the Slice when the regions are of a slice (slice coordinates)
        # A canonical order that does not depend on the algorithm: left to right in 1-D, by
        # pattern otherwise.
        strings = pattern_strings(patterns)
        if intervals is not None:
            order = np.argsort(intervals[:, 0], kind="stable").tolist()
        else:
            order = sorted(range(len(strings)), key=strings.__getitem__)
        self.patterns = patterns[order] if len(order) else patterns
        self.pattern_strings = [strings[i] for i in order]
        self.interior_points = interior_points[order]
        self.vertices = [vertices[i] for i in order] if vertices is not None else None
        self.intervals = intervals[order] if intervals is not None else None
        self._volumes = volumes[order] if volumes is not None else None
        self._unit_rows = (
            ([unit_rows[0][i] for i in order], [unit_rows[1][i] for i in order])
            if unit_rows is not None
            else None
        )
        _, (self.W, self.c) = pattern_maps(stack, self.patterns)
        self._index = {s: i for i, s in enumerate(self.pattern_strings)}
        self._reach = np.abs(box).max(axis=1)
        self._hrep: tuple[np.ndarray, np.ndarray] | None = None
        self._row_scale = np.zeros((0, 0))  # set with the H-representation

    def by_pattern(self, pattern: str) -> Region:
        """The region with activation pattern ``pattern`` (a 0/1 string)."""
        if pattern not in self._index:
            raise ConfigError(
                f"no region has pattern {pattern!r} ({len(pattern)} characters; this network "
                f"has {len(self.units)} units and {self.count} regions in the box)"
            )
        return Region(self, self._index[pattern])

    # -- geometry --------------------------------------------------------------------------------
    def hrep(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` of shapes (count, n_rows, n_inputs) and (count, n_rows): region i is
        ``{x : A[i] x <= b[i]}``. Rows: each kinked unit's side, then the box."""
        if self._hrep is None:
            pre, _ = pattern_maps(self._stack, self.patterns, reach=self._reach)
            rows_A, rows_b, scales = [], [], []
            offsets = self._stack.offsets
            for i, (G, H, S) in enumerate(pre):
                if self._stack.layers[i].activation == "identity":
                    continue  # never switches: no constraint
                bits = self.patterns[:, offsets[i] : offsets[i + 1]].astype(bool)
                sign = np.where(bits, -1.0, 1.0)  # on (z >= 0): -g.x <= h; off: g.x <= -h
                rows_A.append(sign[:, :, None] * G)
                rows_b.append(sign * -H)
                scales.append(S)
            d = self.n_inputs
            eye = np.eye(d)
            box_A = np.broadcast_to(np.vstack([eye, -eye]), (self.count, 2 * d, d))
            box_b = np.broadcast_to(
                np.concatenate([self.box[:, 1], -self.box[:, 0]]), (self.count, 2 * d)
            )
            box_scale = np.broadcast_to(np.concatenate([self._reach, self._reach]), box_b.shape)
            self._hrep = (
                np.concatenate([*rows_A, box_A], axis=1),
                np.concatenate([*rows_b, box_b], axis=1),
            )
            # What rounding in each row is relative to: the size of the terms that make up the
            # unit's pre-activation (see CONTAINS_RTOL); a unit that cancels to zero on a region
            # has a tiny row but not a tiny scale.
            self._row_scale = np.concatenate([*scales, box_scale], axis=1)
        return self._hrep

    @property
    def is_exact(self) -> bool:
        """True when the network had exact-rational weights (see :meth:`exact_maps`)."""
        return self._exact_net is not None

    def exact_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, c)`` as ``fractions.Fraction`` object arrays, shapes (count, n_outputs,
        n_inputs) and (count, n_outputs): the exact affine map of every region, for networks
        with exact-rational weights (a compiled circuit). The regions themselves are found in
        float; each region's map follows exactly from its pattern.

        Raises
        ------
        ConfigError
            The weights are floats.
        """
        if self._exact_net is None:
            raise ConfigError(
                "exact maps need exact-rational weights (AffineNet with Fraction arrays); "
                "this network has float weights; use W and c"
            )
        if self._exact_maps is None:
            stack = piecewise_stack(self._exact_net, exact=True)
            _, self._exact_maps = pattern_maps(stack, self.patterns)
        return self._exact_maps

    def volumes(self) -> np.ndarray:
        """Length / area / volume of every region, shape (count,).

        In three or more dimensions this runs Qhull (``scipy.spatial``) once per region.
        """
        if self._volumes is None:
            self._volumes = np.array([self._qhull_volume(i) for i in range(self.count)])
        return self._volumes

    def _qhull_volume(self, i: int) -> float:
        from scipy.spatial import ConvexHull, HalfspaceIntersection

        assert self._unit_rows is not None
        A, b = self._unit_rows[0][i], self._unit_rows[1][i]
        half = (self.box[:, 1] - self.box[:, 0]) / 2
        centre = (self.interior_points[i] - self.box.mean(axis=1)) / half
        hs = HalfspaceIntersection(np.hstack([A, -b[:, None]]), centre)
        return float(ConvexHull(hs.intersections).volume * np.prod(half))

    def locate(self, X: Any) -> np.ndarray:
        """The index of the region holding each point; -1 for points outside the box.

        Parameters
        ----------
        X : array of shape (n, n_inputs) (or (n_inputs,))

        Returns
        -------
        array of shape (n,), int

        A point's region is found by its activation pattern; a point on a boundary whose
        pattern (``relu(0) = 0`` on both sides) names no region is given the region that
        contains it within :data:`CONTAINS_RTOL`.
        """
        X = self._points(X)
        out = np.full(len(X), -1, dtype=np.int64)
        lo, hi = self.box[:, 0], self.box[:, 1]
        inside = ((lo <= X) & (hi >= X)).all(axis=1)
        if not inside.any():
            return out
        pats = forward_patterns(self._stack, X[inside])
        keys = pattern_strings(pats)
        found = np.array([self._index.get(k, -1) for k in keys], dtype=np.int64)
        where = np.flatnonzero(inside)
        for k in np.flatnonzero(found < 0):
            found[k] = self._nearest(X[where[k]])
        out[where] = found
        return out

    def _nearest(self, x: np.ndarray) -> int:
        """The region whose inequalities ``x`` violates least (relative to the term sizes)."""
        A, b = self.hrep()
        violation = (A @ x - b) / np.maximum(self._row_scale, np.finfo(float).tiny)
        return int(np.argmin(violation.max(axis=1)))


def pattern_strings(patterns: np.ndarray) -> list[str]:
    """Rows of 0/1 bits as strings ``"0110"`` (vectorised: one byte per bit, then decode)."""
    n, width = patterns.shape
    if width == 0:
        return [""] * n
    chars = np.ascontiguousarray(patterns.astype(np.uint8) + ord("0"))
    return [b.decode() for b in chars.view(f"S{width}").ravel()]
