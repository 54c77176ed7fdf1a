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
  checks are small linear programs, solved a round at a time by one vectorised simplex with
  certified bounds (:mod:`tinylens.geometry._cells`), exact rationals where those straddle the
  resolution.
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

from typing import Any

import numpy as np

from tinylens.errors import ConfigError, UnknownNameError
from tinylens.geometry._affine import NetLike, as_affine_net, piecewise_stack
from tinylens.geometry._arrangement import INTERIOR_TOL, RESOLUTION, split_arrangement
from tinylens.geometry._cells import split_cells
from tinylens.geometry._intervals import SIDE_RTOL_1D, split_interval
from tinylens.geometry._polygons import SIDE_RTOL_2D, split_polygons
from tinylens.geometry.boxes import as_box, check_box_scale, check_magnitudes, too_large
from tinylens.geometry.pieces import MERGE_RTOL, Piece, PiecewiseLinear1D, pieces_1d
from tinylens.geometry.region_set import CONTAINS_RTOL, Region, RegionSet

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


def check_piecewise_linear(net: NetLike) -> Any:
    """The network's :class:`~tinylens.engine.AffineNet` view, after checking that its
    regions can be enumerated (hidden activations relu, leaky_relu or identity).

    Raises
    ------
    ConfigError
        A hidden activation that is not piecewise linear; WeightsFileError for a bad file.
    """
    return piecewise_stack(net).source


def linear_regions(
    net: NetLike, box: Any = None, *, method: str = "auto", slice: Any = None
) -> RegionSet:
    """Every linear region of ``net`` inside ``box`` (or on a slice), exactly.

    Parameters
    ----------
    net : AffineNet, engine Sequential, weights-file path or torch module
        Hidden activations relu, leaky_relu or identity; any depth and widths, any outputs.
    box : [(lo, hi), ...], flat [lo, hi, ...] or array of shape (n_inputs, 2)
    slice : Slice, optional
        Instead of a box: a line or plane through input space
        (:class:`~tinylens.geometry.slices.Slice`); the regions are then in slice
        coordinates, with the network's affine map restricted to the slice, and clipped to the
        slice's domain.
    method : {"auto", "intervals", "polygons", "arrangement"}
        See :data:`METHODS`.

    Returns
    -------
    RegionSet

    Raises
    ------
    ConfigError
        A non-piecewise-linear hidden activation, a box with ``lo >= hi``, a method that does
        not fit the input dimension, NaN or infinite weights, a box too large for the stated
        resolution (:func:`~tinylens.geometry.boxes.check_box_scale`: a larger box must never
        show fewer regions), affine maps that overflow float64.
    ShapeError
        A box whose number of intervals differs from the network's inputs.

    Notes
    -----
    Exact in the combinatorial sense: every region that contains a ball of radius ``1e-9``
    times the box's half-width is found by every method, and each is reported once. In 1-D
    and 2-D (intervals, polygons, slices) there is no resolution at all: the regions are the
    exact arrangement of the float lines each region's map gives (close calls inside
    :data:`SIDE_RTOL_1D` / :data:`SIDE_RTOL_2D` settled in exact rationals), so a sliver of
    any width is kept. The arrangement (n-D) merges pieces whose largest ball is below
    :data:`RESOLUTION` (1e-10 of the half-width), deciding that in exact rationals. So two
    parallel lines 1e-8 apart in ``[-1, 1]^2`` make three regions by every method
    (``tests/test_geometry_thin.py`` and ``tests/test_geometry_slivers.py`` check
    near-degenerate nets against brute-force exact oracles). Cost: 2-D
    enumeration runs at tens of thousands of regions per second; n-D solves one small LP per
    (region, unit) pair the cheap tests cannot decide, all of a round in one batched simplex:
    a 6-12-12-1 net's 16,438 regions take about 2 CPU seconds, where one HiGHS call per LP
    took minutes (``benchmarks/exact_regions.py``); n-D nets should still stay small.
    """
    if (box is None) == (slice is None):
        raise ConfigError("give either a box or a slice (not both)")
    if slice is not None:
        from tinylens.geometry.slices import linear_regions_on

        return linear_regions_on(net, slice, method=method)
    return _checked_regions(net, box, method)


def _checked_regions(
    net: NetLike, box: Any, method: str, domain: tuple[np.ndarray, np.ndarray] | None = None
) -> RegionSet:
    """:func:`linear_regions` on a box, or on a convex ``domain`` inside it (polygons only:
    ``(vertices, lines)`` in the unit box's coordinates, see ``split_polygons``)."""
    result = _linear_regions(net, box, method=method, domain=domain)
    first = result._stack.layers[0] if result._stack.layers else None
    limit = None if first is None else check_box_scale(first.weight, first.bias, result.box)
    if limit is not None:
        # Beyond the trusted size: a larger box must never show fewer regions than the
        # trusted box inside it (same centre); if it does, regions merged, so refuse.
        centre, half = result.box.mean(axis=1), (result.box[:, 1] - result.box[:, 0]) / 2
        inner = np.minimum(half, limit)
        trusted = _linear_regions(
            net, np.stack([centre - inner, centre + inner], axis=1), method=method
        )
        full = result if domain is None else _linear_regions(net, box, method=method)
        if trusted.count > full.count:
            raise too_large(
                float(half.max()),
                limit,
                f"it shows {full.count} regions where the box of half-width {limit:.3g} "
                f"inside it shows {trusted.count}",
            )
    for name, values in (("slopes", result.W), ("offsets", result.c)):
        if not np.isfinite(values).all():
            raise ConfigError(
                f"the regions' affine {name} overflow float64 (weights too large for this "
                "box); rescale the network's weights or use a smaller box"
            )
    return result


ARRANGEMENTS = {"batched": split_cells, "reference": split_arrangement}
"""The two implementations of the arrangement method: ``batched`` (the default: the LPs of a
round solved together, with certified bounds) and ``reference`` (one HiGHS LP per decision),
kept as the oracle the tests and ``benchmarks/exact_regions.py`` compare against."""


def _linear_regions(
    net: NetLike,
    box: Any,
    *,
    method: str = "auto",
    arrangement: str = "batched",
    domain: tuple[np.ndarray, np.ndarray] | None = None,
) -> RegionSet:
    if method not in METHODS:
        raise UnknownNameError("region method", method, METHODS)
    affine = as_affine_net(net)
    stack = piecewise_stack(affine)
    box = as_box(box, stack.n_inputs)
    check_magnitudes(stack.layers, stack.readout, box)
    if stack.layers:  # refuses a box far too large before any work
        check_box_scale(stack.layers[0].weight, stack.layers[0].bias, box)
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
        poly = split_polygons(unit, domain)
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
    arr = ARRANGEMENTS[arrangement](unit)
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
