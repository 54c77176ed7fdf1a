"""Slices: the exact regions of a network on a line or plane through its input space.

A :class:`Slice` is an affine map ``x = origin + coords @ directions`` from a 1-D or 2-D
domain into input space: the segment between two inputs, the plane through three, or a plane
through one input along two given (or random) directions. On a slice every pre-activation is
an affine function of the one or two slice coordinates, so the slice is composed into the
network's first layer and the existing 1-D/2-D enumeration runs on the slice's domain (idea
from SplineCam, Humayun et al., CVPR 2023; the implementation is ours). A 784-input MNIST
MLP becomes a 2-input network: every region of the plane is found, exactly as on a box.

>>> import numpy as np
>>> from tinylens.engine import AffineNet
>>> net = AffineNet.from_lists([([[1, 0, 0], [0, 1, 0]], [0, 0], "relu"),  # x3 is ignored
...                             ([[1, 0], [0, 1]], [0.1, 0], "identity")])
>>> plane = Slice.through([-1, -1, 5], [1, -1, 5], [-1, 1, 5])  # x = a + s (b - a) + t (c - a)
>>> regions = linear_regions(net, slice=plane)
>>> regions.count, regions.pattern_strings, regions.predicted_class.tolist()
(3, ['00', '01', '10'], [0, 1, 0])
>>> boundary = decision_boundary(regions)  # relu(x2) = 0.1: x2 = 0.1, i.e. t = 0.55
>>> boundary.segments.round(6).tolist(), boundary.classes.tolist()
([[[0.45, 0.55], [0.0, 0.55]]], [[0, 1]])
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError, ShapeError, WeightsFileError
from tinylens.geometry._affine import NetLike, as_affine_net
from tinylens.geometry._exact_sides import exact_point
from tinylens.geometry._polygon_arrays import _next_index
from tinylens.geometry._polygons import clip_halfplane, pack, unpack
from tinylens.geometry.regions import _checked_regions, linear_regions

__all__ = ["DecisionBoundary", "Slice", "decision_boundary", "linear_regions_on"]


def _vector(x: Any, name: str) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64).reshape(-1)
    if not v.size or not np.isfinite(v).all():
        raise ConfigError(f"{name} must be a non-empty vector of finite numbers")
    return v


@dataclass(frozen=True, eq=False)
class Slice:
    """An affine map from slice coordinates into input space, with its domain.

    Attributes
    ----------
    origin : array of shape (n_inputs,)
    directions : array of shape (k, n_inputs), k = 1 or 2
        ``x = origin + coords @ directions``.
    domain : array of shape (m, 2) (a convex polygon, counter-clockwise) or (2,) (an interval)
        In slice coordinates.
    anchors : array of shape (p, k)
        The slice coordinates of the inputs it was built from (corners of the triangle, ends
        of the segment, or the centre of a plane).
    """

    origin: np.ndarray
    directions: np.ndarray
    domain: np.ndarray
    anchors: np.ndarray

    def __post_init__(self) -> None:
        k, n = self.directions.shape
        if k not in (1, 2) or self.origin.shape != (n,):
            raise ShapeError(f"a slice needs 1 or 2 directions of length {len(self.origin)}")
        if np.linalg.matrix_rank(self.directions) < k:
            raise ConfigError(
                "the slice's directions are parallel (or zero): the inputs it passes through "
                "must not be equal or collinear"
            )

    @property
    def dim(self) -> int:
        return int(self.directions.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.origin.shape[0])

    @property
    def box(self) -> np.ndarray:
        """The domain's bounding box in slice coordinates, shape (k, 2)."""
        if self.dim == 1:
            return self.domain.reshape(1, 2)
        return np.stack([self.domain.min(axis=0), self.domain.max(axis=0)], axis=1)

    def to_input(self, coords: Any) -> np.ndarray:
        """Input-space points of slice coordinates ``coords`` (shape (n, k)), shape (n, d)."""
        C = np.asarray(coords, dtype=np.float64).reshape(-1, self.dim)
        return self.origin + C @ self.directions

    @classmethod
    def segment(cls, a: Any, b: Any) -> Slice:
        """The segment from input ``a`` (coordinate 0) to input ``b`` (coordinate 1)."""
        a, b = _vector(a, "the segment's start"), _vector(b, "the segment's end")
        _same_length(a, b)
        return cls(a, (b - a)[None], np.array([0.0, 1.0]), np.array([[0.0], [1.0]]))

    @classmethod
    def through(cls, a: Any, b: Any, c: Any, *, margin: float = 0.0) -> Slice:
        """The plane through inputs ``a``, ``b``, ``c`` (at (0,0), (1,0), (0,1)); the domain is
        their triangle, grown by ``margin`` (a fraction of its size) on every side."""
        a, b, c = (_vector(v, f"input {i + 1}") for i, v in enumerate((a, b, c)))
        _same_length(a, b, c)
        corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        centre = corners.mean(axis=0)
        domain = centre + (1 + margin) * (corners - centre)
        return cls(a, np.stack([b - a, c - a]), domain, corners)

    @classmethod
    def plane(
        cls,
        origin: Any,
        directions: Any = None,
        *,
        radius: float = 1.0,
        rng: np.random.Generator | int | None = None,
    ) -> Slice:
        """The square ``[-radius, radius]^2`` around ``origin`` along two ``directions``
        (shape (2, n_inputs)); random orthonormal ones drawn from ``rng`` when not given."""
        o = _vector(origin, "the plane's origin")
        if directions is None:
            if rng is None:
                raise ConfigError("random directions need rng (a seed or numpy Generator)")
            gen = np.random.default_rng(rng)
            q, _ = np.linalg.qr(gen.standard_normal((len(o), 2)))
            D = q.T
        else:
            D = np.asarray(directions, dtype=np.float64)
            if D.shape != (2, len(o)):
                raise ShapeError(f"directions have shape {D.shape}; expected (2, {len(o)})")
        if not radius > 0:
            raise ConfigError(f"radius must be positive, got {radius}")
        r = float(radius)
        square = np.array([[-r, -r], [r, -r], [r, r], [-r, r]])
        return cls(o, D, square, np.zeros((1, 2)))

    def compose(self, net: NetLike) -> AffineNet:
        """``net`` read on slice coordinates: its first layer times the slice's map."""
        affine = as_affine_net(net).to_float()
        if affine.n_inputs != self.n_inputs:
            raise ShapeError(
                f"the slice lives in {self.n_inputs} inputs but the network has "
                f"{affine.n_inputs}; build it from inputs the network takes"
            )
        first, *rest = affine.layers
        moved = AffineLayer(
            first.weight @ self.directions.T,
            first.bias + first.weight @ self.origin,
            first.activation,
        )
        return AffineNet((moved, *rest), ("s", "t")[: self.dim])

    def __repr__(self) -> str:
        return f"Slice(dim={self.dim}, n_inputs={self.n_inputs}, domain={len(self.domain)} corners)"


def _same_length(*vs: np.ndarray) -> None:
    if len({len(v) for v in vs}) != 1:
        raise ShapeError(f"inputs have different lengths {[len(v) for v in vs]}")


def linear_regions_on(net: NetLike, slc: Slice, *, method: str = "auto") -> Any:
    """Every linear region of ``net`` on the slice's domain (a :class:`RegionSet` in slice
    coordinates, with ``.slice`` set). Used by ``linear_regions(net, slice=...)``.

    A network the dense affine view cannot hold (a max pool; conv layers, which it would
    make into dense matrices) is enumerated layer by layer on the plane instead
    (:func:`~tinylens.geometry.image_regions.image_slice_regions`): an
    :class:`~tinylens.geometry.image_regions.ImageRegionSet`."""
    from tinylens.geometry.region_set import RegionSet

    if is_image_net(net):
        from tinylens.geometry.image_regions import image_slice_regions

        if method not in ("auto", "polygons"):
            raise ConfigError(
                f"method {method!r} does not apply to conv / max-pool networks; use 'auto'"
            )
        return image_slice_regions(net, slc)
    sub = slc.compose(net)
    clipped = slc.dim == 2 and not _is_box(slc.domain, slc.box)
    if clipped and method in ("auto", "polygons"):
        # enumerate on the domain itself, its edges exact lines: nothing is clipped afterwards
        regions = _checked_regions(sub, slc.box, method, unit_domain(slc.domain, slc.box))
        regions.slice = slc
        return regions
    regions = linear_regions(sub, slc.box, method=method)
    if clipped:  # the arrangement's regions of the box, clipped to the domain
        V, nv = pack(regions.vertices)  # type: ignore[arg-type]
        keep = np.ones(len(V), dtype=bool)
        P = slc.domain
        for p, q in zip(P, np.roll(P, -1, axis=0), strict=True):
            d = q - p  # inside a counter-clockwise polygon: left of every edge
            g = np.broadcast_to([-d[1], d[0]], (len(V), 2))
            h = np.full(len(V), d[1] * p[0] - d[0] * p[1])
            V, nv, alive = clip_halfplane(V, nv, g, h)
            keep &= alive
        vertices, areas, centroids = unpack(V[keep], nv[keep])
        patterns = regions.patterns[keep]
        offsets = regions._stack.offsets
        counts = tuple(len({row.tobytes() for row in patterns[:, :end]}) for end in offsets[1:])
        regions = RegionSet(
            net=regions.net,
            stack=regions._stack,
            box=regions.box,
            method=regions.method,
            patterns=patterns,
            interior_points=centroids,
            counts_per_layer=counts,
            vertices=vertices,
            volumes=areas,
        )
    regions.slice = slc
    return regions


def unit_domain(domain: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A convex polygonal domain (m, 2) in the unit coordinates of its bounding ``box``
    (``u = (x - centre) / half``), as ``(vertices (m, 2), edge lines (m, 3))`` for
    :func:`~tinylens.geometry._polygons.split_polygons`.

    A corner on the box's edge maps to exactly -1 or 1, so a triangle through three box
    corners (``Slice.through``, any margin) has edges on exact float lines through its exact
    corners. When a line through two corners is not exactly representable (a general
    polygon), the edges are the float lines through the mapped corners and the corners are
    moved onto their crossings (rounded once): the domain is then that polygon, within
    rounding (~1e-16 of the box) of the one given.
    """
    lo, hi = box[:, 0], box[:, 1]
    U = (domain - box.mean(axis=1)) / ((hi - lo) / 2)
    U = np.where(domain == lo, -1.0, np.where(domain == hi, 1.0, U))
    P, Q = U, np.roll(U, -1, axis=0)
    # the left of edge p -> q is positive: cross(q - p, u - p) = g . u + h
    E = np.stack([P[:, 1] - Q[:, 1], Q[:, 0] - P[:, 0], Q[:, 1] * P[:, 0] - P[:, 1] * Q[:, 0]], 1)
    on = all(
        Fraction(e[0]) * Fraction(x[0]) + Fraction(e[1]) * Fraction(x[1]) + Fraction(e[2]) == 0
        for e, p, q in zip(E.tolist(), P.tolist(), Q.tolist(), strict=True)
        for x in (p, q)
    )
    if not on:
        U = exact_point(np.roll(E, 1, axis=0), E)
    return U, E


def is_image_net(net: NetLike) -> bool:
    """True for a network with a layer the dense affine view cannot read (Conv2d, MaxPool2d,
    BatchNorm...): those are read layer by layer by the image-slice enumeration."""
    try:
        as_affine_net(net)
    except (ConfigError, WeightsFileError):  # a bad file is reported again by the image path
        return True
    return False


def _is_box(domain: np.ndarray, box: np.ndarray) -> bool:
    return len(domain) == 4 and bool(
        np.isin(domain[:, 0], box[0]).all() and np.isin(domain[:, 1], box[1]).all()
    )


BOUNDARY_RTOL = 1e-9
"""An edge of a class's cell is on the decision boundary when, at its midpoint, the top two
logits agree to ``BOUNDARY_RTOL`` times the size of the terms that make them up (the edge then
lies on the line where they tie; every other edge is on the region's own boundary)."""


@dataclass(frozen=True)
class DecisionBoundary:
    """Where the top class changes on a slice.

    Attributes
    ----------
    segments : array of shape (n, 2, 2) (2-D: segment ends) or (n, 1, 1) (1-D: points)
        In slice coordinates.
    classes : array of shape (n, 2), int
        The two classes on either side (smaller first).
    regions : array of shape (n,), int
        The region each segment lies in (the boundary is straight inside a region).
    """

    segments: np.ndarray
    classes: np.ndarray
    regions: np.ndarray

    @property
    def length(self) -> float:
        """Total length of the boundary (2-D)."""
        return float(np.linalg.norm(self.segments[:, 1] - self.segments[:, 0], axis=1).sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "segments": self.segments.tolist(),
            "classes": self.classes.tolist(),
            "regions": self.regions.tolist(),
        }

    def __repr__(self) -> str:
        return f"DecisionBoundary({len(self.segments)} segments)"


def decision_boundary(regions: Any) -> DecisionBoundary:
    """The exact decision boundary of a 1-D or 2-D :class:`RegionSet` (several outputs).

    Inside a region the logits are affine, so the class ``k`` cell is the region clipped by
    ``l_k >= l_j`` for every other class ``j``; its edges where ``l_k`` ties with the runner-up
    are the boundary. The network is continuous, so the top class never changes across a
    region's own edges except where the logits tie there too.
    """
    K = regions.n_outputs
    if K < 2:
        raise ConfigError("a decision boundary needs two or more outputs (classes)")
    W, c = regions.W, regions.c
    if regions.n_inputs == 1:
        return _boundary_1d(regions, W[:, :, 0], c)
    if regions.n_inputs != 2:
        raise ConfigError("decision boundaries are drawn on 1-D or 2-D slices and boxes")
    V0, nv0 = pack(regions.vertices)
    # only regions where the top class may change: the others hold no segment, and each row
    # below is clipped on its own, so leaving them out changes nothing for the rest
    busy = np.flatnonzero(~_one_class(V0, W, c))
    V0, nv0 = V0[busy], nv0[busy]
    segs, classes, where = [], [], []
    for k in range(K):
        # class k's cell in every region: clipped by l_k >= l_j for each other class j in
        # turn, carrying only the regions whose cell is still alive (each row is clipped on
        # its own, so dropping the dead ones changes nothing for the others)
        rows, P, nv = busy, V0, nv0
        for j in range(K):
            if j != k and len(rows):
                g, h = W[rows, k] - W[rows, j], c[rows, k] - c[rows, j]
                P, nv, alive = clip_halfplane(P, nv, g, h)
                rows, P, nv = rows[alive], P[alive], nv[alive]
        if not len(rows):
            continue
        valid, nxt = _next_index(nv, P.shape[1])  # P (n, cap, 2): padding repeats vertex 0
        Q = P[np.arange(len(rows))[:, None], nxt]
        mid = (P + Q) / 2
        Wr, cr = W[rows][:, None], c[rows][:, None]  # (n, 1, K, 2), (n, 1, K)
        logits = mid[..., None, 0] * Wr[..., 0] + mid[..., None, 1] * Wr[..., 1] + cr
        size = np.abs(mid[..., None, 0]) * np.abs(Wr[..., 0])
        size += np.abs(mid[..., None, 1]) * np.abs(Wr[..., 1])
        size += np.abs(cr)
        others = np.delete(logits, k, axis=2)
        j_idx = others.argmax(axis=2)
        j_cls = np.where(j_idx >= k, j_idx + 1, j_idx)
        gap = logits[..., k] - others.max(axis=2)
        tie = np.abs(gap) <= BOUNDARY_RTOL * size.max(axis=2)
        tie &= valid & (np.linalg.norm(Q - P, axis=2) > 0)
        r_at, e_at = np.nonzero(tie & (j_cls > k))  # each segment once, from its lower class
        segs.append(np.stack([P[r_at, e_at], Q[r_at, e_at]], axis=1))
        classes.append(np.column_stack([np.full(len(r_at), k), j_cls[r_at, e_at]]))
        where.append(rows[r_at])
    if segs:  # in class order, then region, then edge (as the region-by-region loop had it)
        segs, classes, where = np.concatenate(segs), np.concatenate(classes), np.concatenate(where)
    return DecisionBoundary(
        np.array(segs, dtype=np.float64).reshape(-1, 2, 2),
        np.array(classes, dtype=np.int64).reshape(-1, 2),
        np.array(where, dtype=np.int64),
    )


def _one_class(V: np.ndarray, W: np.ndarray, c: np.ndarray, chunk: int = 32_768) -> np.ndarray:
    """Which polygons (padded ``V``; logits ``W @ v + c`` of region i) one class wins
    everywhere, clearly: the same top class at every vertex, ahead of the runner-up by more
    than ``2 * BOUNDARY_RTOL`` times the largest size of the terms at any of its vertices.

    The lead of the top class over the rest is concave (a minimum of affine functions) and
    the size of the terms convex, so the lead at any point of the polygon, an edge's midpoint
    included, exceeds ``BOUNDARY_RTOL`` times the size there with room for rounding: that
    class's cell is the whole polygon (every clip keeps all its vertices), every other
    class's cell is empty, and :func:`decision_boundary` finds no segment there. The
    polygons' padding repeats vertex 0, so it changes nothing. Chunks of ``chunk`` polygons
    keep the (polygons, vertices, classes) arrays small."""
    out = np.empty(len(V), dtype=bool)
    for lo in range(0, len(V), chunk):
        P, Wr, cr = V[lo : lo + chunk, :, None], W[lo : lo + chunk, None], c[lo : lo + chunk, None]
        logits = P[..., 0] * Wr[..., 0] + P[..., 1] * Wr[..., 1] + cr  # (n, cap, K)
        size = np.abs(P[..., 0]) * np.abs(Wr[..., 0]) + np.abs(P[..., 1]) * np.abs(Wr[..., 1])
        size = (size + np.abs(cr)).max(axis=(1, 2))
        top = logits.argmax(axis=2)
        two = np.partition(logits, -2, axis=2)[..., -2:]  # runner-up, then top
        lead = (two[..., 1] - two[..., 0]).min(axis=1)
        out[lo : lo + chunk] = (top == top[:, :1]).all(axis=1) & (lead > 2 * BOUNDARY_RTOL * size)
    return out


def _boundary_1d(regions: Any, W: np.ndarray, c: np.ndarray) -> DecisionBoundary:
    points, classes, where = [], [], []
    for r, (lo, hi) in enumerate(regions.intervals):
        x = float(lo)
        while True:
            vals = W[r] * x + c[r]
            size = np.abs(W[r]) * abs(x) + np.abs(c[r])
            tied = vals >= vals.max() - BOUNDARY_RTOL * size.max()
            k = int(np.argmax(np.where(tied, W[r], -np.inf)))  # the class winning to the right
            faster = W[r] > W[r, k]
            if not faster.any():
                break
            t = np.full(len(W[r]), np.inf)
            t[faster] = (c[r, k] - c[r, faster]) / (W[r, faster] - W[r, k])
            t[t <= x] = np.inf
            j = int(np.argmin(t))
            if not t[j] < hi:
                break
            x = float(t[j])
            points.append([[x]])
            classes.append(sorted((k, j)))
            where.append(r)
    # class changes at region edges cannot happen (continuity) except at ties counted above
    return DecisionBoundary(
        np.array(points, dtype=np.float64).reshape(-1, 1, 1),
        np.array(classes, dtype=np.int64).reshape(-1, 2),
        np.array(where, dtype=np.int64),
    )
