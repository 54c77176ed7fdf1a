"""Exact linear regions of piecewise-linear networks (ReLU, leaky ReLU, identity), any depth.

A ReLU network is affine on each set of inputs sharing an *activation pattern* (which side of
its kink every hidden unit is on). Such a set is a convex polytope, so the input box is tiled
by finitely many regions, one per pattern that actually occurs. This module finds all of them,
exactly in the combinatorial sense (no region is missed because it is small, none is invented),
and gives each one its pattern, its inequalities and the affine map the network computes on it.

* :func:`linear_regions` (any number of inputs) returns a :class:`RegionSet` of
  :class:`Region` objects. One input: intervals; two inputs: polygons, found by cutting each
  region's polygon by each unit's line in that region's own affine coordinates, layer by
  layer, vectorised; three or more: an incremental hyperplane arrangement whose emptiness
  checks are linear programs solved by HiGHS (``scipy.optimize.linprog``).
* :func:`pieces_1d` gives the pieces and breakpoints of a one-input network on an interval,
  as exact ``fractions.Fraction`` values when the weights are exact (``AffineNet.is_exact``).

Any network the geometry can read works: an engine ``Sequential``, an
:class:`~tinylens.engine.AffineNet` (trained, loaded or hand-built), a weights-file path, or a
torch module. See :mod:`tinylens.geometry._affine` for which units carry pattern bits (hidden
units layer by layer; output units too when the output activation is relu or leaky_relu).

>>> import numpy as np
>>> from tinylens.engine import AffineNet
>>> absolute = AffineNet.from_lists(  # |x1| + x2 = relu(x1) + relu(-x1) + x2
...     [([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 0, 0], "relu"),
...      ([[1, 1, 1, -1]], [0], "identity")])
>>> regions = linear_regions(absolute, [(-1, 1), (-1, 1)])
>>> regions.count
4
>>> region = regions.region_of([0.5, -0.25])
>>> region.pattern, region.W.tolist(), region.c.tolist(), region.area
('1001', [[1.0, 1.0]], [0.0], 1.0)
>>> region.vertices.tolist()
[[0.0, -1.0], [1.0, -1.0], [1.0, 0.0], [0.0, 0.0]]
>>> pieces_1d(AffineNet.from_lists([([[1], [-1]], [0, 0], "relu"),
...                                  ([[1, 1]], [0], "identity")]), -1, 1).breakpoints
(0.0,)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError, UnknownNameError
from tinylens.geometry._affine import (
    NetLike,
    PiecewiseStack,
    as_affine_net,
    forward_patterns,
    pattern_maps,
    piecewise_stack,
)
from tinylens.geometry._arrangement import INTERIOR_TOL, RESOLUTION, split_arrangement
from tinylens.geometry._intervals import SIDE_RTOL_1D, split_interval
from tinylens.geometry._polygons import SIDE_RTOL_2D, split_polygons

__all__ = [
    "CONTAINS_RTOL",
    "INTERIOR_TOL",
    "MERGE_RTOL",
    "METHODS",
    "RESOLUTION",
    "SIDE_RTOL_1D",
    "SIDE_RTOL_2D",
    "Piece",
    "PiecewiseLinear1D",
    "Region",
    "RegionSet",
    "as_box",
    "check_piecewise_linear",
    "linear_regions",
    "pieces_1d",
]

METHODS = ("auto", "intervals", "polygons", "arrangement")
"""``auto`` picks intervals for one input, polygons for two, the arrangement otherwise; the
arrangement also runs on one or two inputs (the tests use it as an independent oracle)."""

CONTAINS_RTOL = 1e-9
""":meth:`Region.contains` accepts a point whose inequality ``a . x <= b`` is violated by at
most ``CONTAINS_RTOL`` times the size of the terms summed into that unit's pre-activation over
the box (``|W| (|x_l| bound) + |bias|``; the box's largest coordinate for a box row): points on
a shared boundary belong to both neighbours, rounding in a vertex computed as the crossing of
two lines never throws it out of its own region, and a unit that cancels to (almost) zero on a
region (``relu(a) - relu(a)``) does not make its tiny row impossible to satisfy."""

MERGE_RTOL = 1e-9
"""Float only: :func:`pieces_1d` merges neighbouring pieces whose slopes agree to ``MERGE_RTOL``
relative (the network is continuous, so equal slopes mean the same affine piece). A pattern
change that leaves the slope unchanged (a unit whose outgoing weights are zero, or two kinks
cancelling) is a kink of the pattern but not a breakpoint of the function."""


# -- boxes ---------------------------------------------------------------------------------------
def as_box(box: Any, n_inputs: int | None = None) -> np.ndarray:
    """A box as an array of shape (d, 2) of ``[lo, hi]`` rows.

    Accepts ``[(lo, hi), ...]``, a flat ``[lo, hi, lo, hi, ...]`` or an array of shape (d, 2).

    Raises
    ------
    ShapeError
        An odd number of bounds, or ``d`` differs from ``n_inputs``.
    ConfigError
        A bound that is not a finite number, or ``lo >= hi``.
    """
    try:
        arr = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"box must be numbers like [(-1, 1), (-1, 1)], not {box!r}") from None
    flat = arr.reshape(-1)
    if arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 2) or flat.size % 2 or not flat.size:
        raise ShapeError(
            f"box has {flat.size} bounds; give LO,HI for each input, e.g. -1,1,-1,1 for two"
        )
    arr = flat.reshape(-1, 2)
    if not np.isfinite(arr).all():
        raise ConfigError(f"box bounds must be finite numbers, got {flat.tolist()}")
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if len(bad):
        i = int(bad[0])
        raise ConfigError(
            f"box interval {i + 1} is [{arr[i, 0]:g}, {arr[i, 1]:g}]; each needs LO < HI"
        )
    if n_inputs is not None and len(arr) != n_inputs:
        example = ",".join(["-1,1"] * n_inputs)
        raise ShapeError(
            f"box has {len(arr)} interval{'s' * (len(arr) != 1)} but the network has "
            f"{n_inputs} input{'s' * (n_inputs != 1)}; give LO,HI for each, e.g. {example}"
        )
    return arr


def check_piecewise_linear(net: NetLike) -> Any:
    """The network's :class:`~tinylens.engine.AffineNet` view, after checking that its
    regions can be enumerated (hidden activations relu, leaky_relu or identity).

    Raises
    ------
    ConfigError
        A hidden activation that is not piecewise linear; WeightsFileError for a bad file.
    """
    return piecewise_stack(net).source


# -- regions -------------------------------------------------------------------------------------
class Region:
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

    __slots__ = ("_set", "index")

    def __init__(self, region_set: RegionSet, index: int) -> None:
        self._set, self.index = region_set, index

    @property
    def pattern(self) -> str:
        return self._set.pattern_strings[self.index]

    @property
    def pattern_array(self) -> np.ndarray:
        return self._set.patterns[self.index]

    @property
    def A(self) -> np.ndarray:
        return self._set.hrep()[0][self.index]

    @property
    def b(self) -> np.ndarray:
        return self._set.hrep()[1][self.index]

    @property
    def W(self) -> np.ndarray:
        return self._set.W[self.index]

    @property
    def c(self) -> np.ndarray:
        return self._set.c[self.index]

    @property
    def interior_point(self) -> np.ndarray:
        return self._set.interior_points[self.index]

    @property
    def vertices(self) -> np.ndarray | None:
        if self._set.vertices is None:
            return None
        return self._set.vertices[self.index]

    @property
    def area(self) -> float | None:
        return float(self._set.volumes()[self.index]) if self._set.n_inputs == 2 else None

    @property
    def volume(self) -> float:
        return float(self._set.volumes()[self.index])

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

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        """JSON-ready: ``pattern``, ``affine`` ``{"W", "c"}``, and ``vertices`` + ``area`` (2-D),
        ``interval`` + ``length`` (1-D), or ``inequalities`` ``{"A", "b"}`` + ``interior_point``
        (n-D, and on request with ``hrep=True``)."""
        d = self._set.n_inputs
        out: dict[str, Any] = {
            "pattern": self.pattern,
            "affine": {"W": self.W.tolist(), "c": self.c.tolist()},
        }
        if d == 2:
            out["vertices"] = self.vertices.tolist()  # type: ignore[union-attr]
            out["area"] = self.volume
        elif d == 1:
            out["interval"] = self._set.intervals[self.index].tolist()  # type: ignore[index]
            out["length"] = self.volume
        if hrep if hrep is not None else d > 2:
            out["inequalities"] = {"A": self.A.tolist(), "b": self.b.tolist()}
            out["interior_point"] = self.interior_point.tolist()
        return out

    def __repr__(self) -> str:
        return f"Region({self.index}, pattern={self.pattern!r})"


class RegionSet:
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
    """

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
        # A canonical order that does not depend on the algorithm: left to right in 1-D, by
        # pattern otherwise.
        strings = _pattern_strings(patterns)
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

    # -- the collection --------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.pattern_strings)

    @property
    def n_inputs(self) -> int:
        return int(self.box.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.W.shape[1])

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Region]:
        return (Region(self, i) for i in range(self.count))

    def __getitem__(self, i: int) -> Region:
        if not -self.count <= i < self.count:
            raise IndexError(f"region {i} out of range; there are {self.count}")
        return Region(self, i % self.count)

    def __repr__(self) -> str:
        return (
            f"RegionSet(count={self.count}, n_inputs={self.n_inputs}, method={self.method!r}, "
            f"counts_per_layer={list(self.counts_per_layer)})"
        )

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
        centre = (self.interior_points[i] - self.box.mean(axis=1)) / self._half
        hs = HalfspaceIntersection(np.hstack([A, -b[:, None]]), centre)
        return float(ConvexHull(hs.intersections).volume * np.prod(self._half))

    @property
    def _half(self) -> np.ndarray:
        return (self.box[:, 1] - self.box[:, 0]) / 2

    # -- points ----------------------------------------------------------------------------------
    def _points(self, x: Any) -> np.ndarray:
        X = np.asarray(x, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ShapeError(
                f"points have shape {np.shape(x)}; expected ({self.n_inputs},) or "
                f"(n, {self.n_inputs})"
            )
        return X

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
        keys = _pattern_strings(pats)
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

    def region_of(self, x: Any) -> Region:
        """The region holding the point ``x`` (shape (n_inputs,)).

        Raises
        ------
        ConfigError
            ``x`` lies outside the box.
        """
        X = self._points(x)
        if len(X) != 1:
            raise ShapeError(f"region_of takes one point; use locate for {len(X)} points")
        i = int(self.locate(X)[0])
        if i < 0:
            raise ConfigError(
                f"point {X[0].tolist()} lies outside the box {self.box.tolist()}; "
                "enumerate the regions of a larger box"
            )
        return Region(self, i)

    def evaluate(self, X: Any) -> np.ndarray:
        """The network's output rebuilt from the regions' affine maps, shape (n, n_outputs).

        Equal to the network (up to rounding) inside the box; NaN outside it.
        """
        X = self._points(X)
        idx = self.locate(X)
        out = np.full((len(X), self.n_outputs), np.nan)
        ok = idx >= 0
        out[ok] = np.einsum("nod,nd->no", self.W[idx[ok]], X[ok]) + self.c[idx[ok]]
        return out

    # -- export ----------------------------------------------------------------------------------
    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        """The JSON schema of ``tinylens regions --json``.

        ``{"count", "n_inputs", "n_outputs", "box", "units", "output_activation",
        "counts_per_layer", "regions": [Region.to_dict(), ...]}``
        """
        return {
            "count": self.count,
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "box": self.box.tolist(),
            "units": [list(u) for u in self.units],
            "output_activation": self.output_activation,
            "counts_per_layer": list(self.counts_per_layer),
            "regions": [r.to_dict(hrep=hrep) for r in self],
        }

    def to_json(self, *, hrep: bool | None = None, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(hrep=hrep), indent=indent)


def linear_regions(net: NetLike, box: Any, *, method: str = "auto") -> RegionSet:
    """Every linear region of ``net`` inside ``box``, exactly.

    Parameters
    ----------
    net : AffineNet, engine Sequential, weights-file path or torch module
        Hidden activations relu, leaky_relu or identity; any depth and widths, any outputs.
    box : [(lo, hi), ...], flat [lo, hi, ...] or array of shape (n_inputs, 2)
    method : {"auto", "intervals", "polygons", "arrangement"}
        See :data:`METHODS`.

    Returns
    -------
    RegionSet

    Raises
    ------
    ConfigError
        A non-piecewise-linear hidden activation, a box with ``lo >= hi``, a method that does
        not fit the input dimension.
    ShapeError
        A box whose number of intervals differs from the network's inputs.

    Notes
    -----
    Exact in the combinatorial sense, at a stated resolution: every region that contains a
    ball of radius ``1e-9`` times the box's half-width is found by every method, and each is
    reported once; pieces thinner than about ``1e-10`` of the half-width (the slivers that
    rounding leaves where a line grazes a vertex, or lines that coincide to 1e-10) are merged
    into a neighbour. So two parallel lines 1e-8 apart in ``[-1, 1]^2`` make three regions by
    every method, and the methods agree on every test net (``tests/test_geometry_thin.py``
    checks a table of near-degenerate nets against a brute-force exact oracle). The
    arrangement settles its grey zone in exact rationals (:data:`RESOLUTION`); polygons use
    :data:`SIDE_RTOL_2D`, intervals :data:`SIDE_RTOL_1D`. Cost: 2-D
    enumeration runs at tens of thousands of regions per second; n-D costs about one small LP
    (~1 ms) per (region, unit) pair the cheap tests cannot decide, i.e. about 100-200 regions
    per second, so keep n-D nets small (6-8-8-1: 566 regions in 3 s).
    """
    if method not in METHODS:
        raise UnknownNameError("region method", method, METHODS)
    affine = as_affine_net(net)
    stack = piecewise_stack(affine)
    box = as_box(box, stack.n_inputs)
    d = stack.n_inputs
    if method == "auto":
        method = {1: "intervals", 2: "polygons"}.get(d, "arrangement")
    if (method == "intervals" and d != 1) or (method == "polygons" and d != 2):
        raise ConfigError(
            f"method {method!r} needs {1 if method == 'intervals' else 2} input(s); the network "
            f"has {d}; use 'arrangement' or 'auto'"
        )
    shift = box.mean(axis=1)
    half = (box[:, 1] - box[:, 0]) / 2
    common = {
        "net": stack.source,
        "stack": stack,
        "box": box,
        "method": method,
        "exact_net": affine if affine.is_exact else None,
    }
    if method == "intervals":
        split = split_interval(stack, float(box[0, 0]), float(box[0, 1]))
        ends = split.ends.astype(np.float64)
        return RegionSet(
            **common,
            patterns=split.patterns,
            interior_points=ends.mean(axis=1, keepdims=True),
            counts_per_layer=split.counts_per_layer,
            vertices=[e.reshape(2, 1) for e in ends],
            intervals=ends,
            volumes=ends[:, 1] - ends[:, 0],
        )
    unit = stack.with_input_affine(half, shift)
    if method == "polygons":
        poly = split_polygons(unit)
        verts = [v * half + shift for v in poly.vertices]
        areas = poly.areas * np.prod(half)
        centroids = poly.centroids * half + shift
        return RegionSet(
            **common,
            patterns=poly.patterns,
            interior_points=centroids,
            counts_per_layer=poly.counts_per_layer,
            vertices=verts,
            volumes=areas,
        )
    arr = split_arrangement(unit)
    extra: dict[str, Any] = {}
    if d == 2:  # polygons from the inequalities, so 2-D regions look the same either way
        polys = [_polygon_of(A, b, c) for A, b, c in zip(arr.A, arr.b, arr.centers, strict=True)]
        verts = [v * half + shift for v in polys]
        extra = {"vertices": verts, "volumes": np.array([_shoelace(v) for v in verts])}
    if d == 1:
        lo = np.array([_interval_of(A, b) for A, b in zip(arr.A, arr.b, strict=True)])
        ends = lo * half[0] + shift[0]
        extra = {"vertices": [e.reshape(2, 1) for e in ends], "intervals": ends}
        extra["volumes"] = ends[:, 1] - ends[:, 0]
    return RegionSet(
        **common,
        patterns=arr.patterns,
        interior_points=arr.centers * half + shift,
        counts_per_layer=arr.counts_per_layer,
        unit_rows=(arr.A, arr.b),
        n_lp=arr.n_lp,
        **extra,
    )


def _pattern_strings(patterns: np.ndarray) -> list[str]:
    """Rows of 0/1 bits as strings ``"0110"`` (vectorised: one byte per bit, then decode)."""
    n, width = patterns.shape
    if width == 0:
        return [""] * n
    chars = np.ascontiguousarray(patterns.astype(np.uint8) + ord("0"))
    return [b.decode() for b in chars.view(f"S{width}").ravel()]


def _polygon_of(A: np.ndarray, b: np.ndarray, center: np.ndarray) -> np.ndarray:
    """The vertices of ``{u : A u <= b}`` (2-D, ``center`` strictly inside), counter-clockwise."""
    from scipy.spatial import HalfspaceIntersection

    pts = HalfspaceIntersection(np.hstack([A, -b[:, None]]), center).intersections
    mid = pts.mean(axis=0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - mid[1], pts[:, 0] - mid[0]))]
    step = np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1)
    return pts[step > 1e-12] if (step > 1e-12).sum() >= 3 else pts


def _shoelace(V: np.ndarray) -> float:
    x, y = V[:, 0], V[:, 1]
    return float(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _interval_of(A: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``{u : A u <= b}`` for one variable (unit-norm rows are +1 or -1)."""
    a = A[:, 0]
    return float(np.max(-b[a < 0])), float(np.min(b[a > 0]))


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
    strings = _pattern_strings(split.patterns)
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
