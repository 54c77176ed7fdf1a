"""The regions of an image classifier (convolutions, max pools) on a plane or segment through
its inputs.

:func:`image_slice_regions` is what ``linear_regions(net, slice=...)`` runs for a network the
dense affine view cannot hold (a max pool, or a conv net the dense matrices would make slow):
it reads the network with :func:`~tinylens.geometry.conv_layers.image_layers` and enumerates
with :func:`~tinylens.geometry.conv_slice.split_image_slice` on a plane (polygons) or
:func:`~tinylens.geometry.conv_segment.split_image_segment` on a segment (intervals). The
result, :class:`ImageRegionSet`, shares its base with :class:`~tinylens.geometry.RegionSet`
(:class:`~tinylens.geometry.region_base.BaseRegionSet`: ``count``, ``W``, ``c``,
``predicted_class``, ``region_of``, ``evaluate``, ``decision_boundary``, ``to_dict``,
``to_pandas``, ``plot``, the notebook card), so the slice study and its report take either.

A region's *pattern* has one character per kink unit (``0``/``1``, as for an MLP) and one per
max-pool window (the index of the winning piece in the window, row-major, ``0`` .. ``k-1``),
layer by layer.

>>> import numpy as np, torch
>>> from torch import nn
>>> from tinylens.geometry import Slice, linear_regions
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
...                     nn.Flatten(), nn.Linear(8, 3)).double()
>>> plane = Slice.plane(np.zeros(16), radius=3.0, rng=0)
>>> regions = linear_regions(cnn, slice=plane)
>>> regions.count, len(regions.pattern_strings[0]), round(float(regions.volumes().sum()), 9)
(323, 40, 36.0)
>>> segment = Slice.segment(*np.random.default_rng(1).normal(size=(2, 16)) * 3)  # 0 .. 1
>>> pieces = linear_regions(cnn, slice=segment)  # intervals of the segment's coordinate
>>> pieces.count, pieces.counts_per_layer, round(float(pieces.volumes().sum()), 12)
(24, (18, 24), 1.0)
>>> pieces.region_of([0.5])
ImageRegion(16, 40-character pattern, class=0, length=0.136)
>>> boundary = pieces.decision_boundary()  # where the top class changes along the segment
>>> boundary.segments.ravel().round(4).tolist(), boundary.classes.tolist()
([0.0078, 0.3554], [[0, 2], [0, 2]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.errors import ShapeError
from tinylens.geometry.conv_layers import Step, image_layers, infer_image_shape
from tinylens.geometry.conv_segment import split_image_segment
from tinylens.geometry.conv_slice import forward_codes, split_image_slice
from tinylens.geometry.region_base import BaseRegion, BaseRegionSet
from tinylens.geometry.region_set import pattern_strings

__all__ = ["ImageRegion", "ImageRegionSet", "image_slice_regions"]


def image_slice_regions(
    net: Any, slc: Any, *, input_shape: tuple[int, ...] | None = None
) -> ImageRegionSet:
    """Every linear region of ``net`` on the slice ``slc`` (a plane or a segment), exactly.

    Parameters
    ----------
    net : engine Sequential (e.g. ``small_cnn``), weights-file path or torch ``nn.Sequential``
    slc : Slice
        Two directions (a plane; its domain is split as given, triangle or square) or one (a
        segment: intervals of its coordinate, ``[0, 1]`` between two inputs).
    input_shape : tuple of int, optional
        What the first layer takes; by default ``(n_inputs,)``, or ``(c, s, s)`` when the
        first layer is a Conv2d with ``c`` channels.
    """
    shape = input_shape or infer_image_shape(net, slc.n_inputs)
    if int(np.prod(shape)) != slc.n_inputs:
        raise ShapeError(
            f"the slice lives in {slc.n_inputs} inputs but the network takes {shape}; build it "
            "from inputs the network takes"
        )
    steps = image_layers(net, shape)
    if slc.dim == 1:
        lo, hi = (float(v) for v in slc.domain)
        return ImageRegionSet(
            steps, slc, split_image_segment(steps, slc.origin, slc.directions[0], lo, hi)
        )
    return ImageRegionSet(
        steps, slc, split_image_slice(steps, slc.origin, slc.directions, slc.domain)
    )


class ImageRegion(BaseRegion):
    """One region of an :class:`ImageRegionSet` (a light view: index, pattern, polygon or
    interval, affine map); its pattern has one character per kink unit and pooling window."""

    __slots__ = ()

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        del hrep  # polygons (intervals) are the representation on a plane (segment)
        return super().to_dict(hrep=False)

    def _pattern_repr(self) -> str:
        return f"{len(self.pattern)}-character pattern"


class ImageRegionSet(BaseRegionSet):
    """Every region of an image classifier on a slice, in slice coordinates: ``(s, t)`` on a
    plane, ``t`` on a segment.

    Attributes
    ----------
    count : int
    patterns : array of shape (count, n_codes), uint8
        Kink bits and max-pool winners, layer by layer (see the module docstring).
    W, c : arrays of shape (count, n_outputs, k) and (count, n_outputs), k = 2 or 1
        The network's output on region i is ``W[i] @ coords + c[i]``.
    vertices : list of arrays of shape (k_i, 2) (plane) or (2, 1) (segment: the ends)
    intervals : array of shape (count, 2) (segment, left to right) or None
    interior_points : array of shape (count, k)
        Centroids (midpoints on a segment).
    counts_per_layer : tuple of int
        Regions after each kink and max-pool layer (named in :attr:`layer_names`).
    box : array of shape (k, 2)
        The slice domain's bounding box.
    slice : Slice
    units : tuple of (str, int)
        ``(layer name, index)`` of every pattern character.
    """

    region_type = ImageRegion
    method = "image-slice"
    output_activation = "identity"

    def __init__(self, steps: list[Step], slc: Any, split: Any) -> None:
        self._steps = steps
        self.slice = slc
        self.box = slc.box
        if slc.dim == 1:  # left to right, as a RegionSet on one input
            order = np.argsort(split.ends[:, 0], kind="stable")
            self.intervals = split.ends[order]
            self.vertices = [e.reshape(2, 1) for e in self.intervals]
            self._volumes = self.intervals[:, 1] - self.intervals[:, 0]
            self.interior_points = self.intervals.mean(axis=1, keepdims=True)
        else:
            order = np.lexsort(split.codes.T[::-1]) if len(split.codes) else np.arange(0)
            self.vertices = [split.vertices[i] for i in order]
            self._volumes = split.areas[order]
            self.interior_points = split.centroids[order]
        self.patterns = split.codes[order]
        self.W, self.c = split.W[order], split.c[order]
        self.counts_per_layer = split.counts_per_layer
        self.layer_names = split.layer_names
        self.units = tuple(
            (s.name, j) for s in steps if s.kind != "affine" for j in range(s.out_size)
        )
        self._strings: list[str] | None = None
        self._index: dict[bytes, int] = {row.tobytes(): i for i, row in enumerate(self.patterns)}

    @property
    def pattern_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = pattern_strings(self.patterns)
        return self._strings

    def volumes(self) -> np.ndarray:
        """The area (plane) or length (segment) of every region, shape (count,)."""
        return self._volumes

    def codes_at(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Patterns and network outputs at slice points ``X`` (n, k), by a forward pass."""
        P = np.asarray(X, dtype=np.float64).reshape(-1, self.n_inputs)
        return forward_codes(self._steps, self.slice.to_input(P))

    def locate(self, X: Any) -> np.ndarray:
        """The region of each slice point (n, k); -1 outside the domain. On a plane by the
        point's forward pattern (-1 too exactly on a boundary, where the pattern names no
        region); on a segment by its coordinate (a breakpoint belongs to the interval on its
        right, the last end to the last interval)."""
        if self.intervals is not None:
            t = self._points(X)[:, 0]
            lo, hi = self.intervals[0, 0], self.intervals[-1, 1]
            idx = np.searchsorted(self.intervals[:, 0], t, side="right") - 1
            idx = np.minimum(idx, self.count - 1)
            return np.where((t >= lo) & (t <= hi), idx, -1).astype(np.int64)
        codes, _ = self.codes_at(X)
        return np.array([self._index.get(row.tobytes(), -1) for row in codes], dtype=np.int64)

    def _not_found(self, x: np.ndarray) -> str:
        return (
            f"no region has the pattern of point {x.tolist()}: it lies outside the slice's "
            "domain or exactly on a boundary"
        )
