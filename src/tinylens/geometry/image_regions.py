"""The regions of an image classifier (convolutions, max pools) on a plane through its inputs.

:func:`image_slice_regions` is what ``linear_regions(net, slice=plane)`` runs for a network the
dense affine view cannot hold (a max pool, or a conv net the dense matrices would make slow):
it reads the network with :func:`~tinylens.geometry.conv_layers.image_layers` and enumerates
with :func:`~tinylens.geometry.conv_slice.split_image_slice`. The result,
:class:`ImageRegionSet`, answers the same questions as a
:class:`~tinylens.geometry.RegionSet` on a slice (``count``, ``W``, ``c``, ``vertices``,
``predicted_class``, ``locate``, ``region_of``, ``to_dict``), so
:func:`~tinylens.geometry.decision_boundary`, the slice study and its report take either.

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
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry.conv_layers import Step, image_layers, infer_image_shape
from tinylens.geometry.conv_slice import forward_codes, split_image_slice
from tinylens.geometry.region_set import pattern_strings

__all__ = ["ImageRegion", "ImageRegionSet", "image_slice_regions"]


def image_slice_regions(
    net: Any, slc: Any, *, input_shape: tuple[int, ...] | None = None
) -> ImageRegionSet:
    """Every linear region of ``net`` on the 2-D slice ``slc``, exactly.

    Parameters
    ----------
    net : engine Sequential (e.g. ``small_cnn``), weights-file path or torch ``nn.Sequential``
    slc : Slice
        Two directions (a plane); its domain is split as given (triangle or square).
    input_shape : tuple of int, optional
        What the first layer takes; by default ``(n_inputs,)``, or ``(c, s, s)`` when the
        first layer is a Conv2d with ``c`` channels.
    """
    if slc.dim != 2:
        raise ConfigError(
            "image classifiers are enumerated on planes (--through I,J,K or --plane I); a "
            "segment of a conv net is not supported yet"
        )
    shape = input_shape or infer_image_shape(net, slc.n_inputs)
    if int(np.prod(shape)) != slc.n_inputs:
        raise ShapeError(
            f"the slice lives in {slc.n_inputs} inputs but the network takes {shape}; build it "
            "from inputs the network takes"
        )
    steps = image_layers(net, shape)
    split = split_image_slice(steps, slc.origin, slc.directions, slc.domain)
    return ImageRegionSet(steps, slc, split)


class ImageRegion:
    """One region of an :class:`ImageRegionSet` (a light view: index, pattern, polygon, map)."""

    __slots__ = ("_set", "index")

    def __init__(self, region_set: ImageRegionSet, index: int) -> None:
        self._set, self.index = region_set, index

    @property
    def pattern(self) -> str:
        return self._set.pattern_strings[self.index]

    @property
    def vertices(self) -> np.ndarray:
        return self._set.vertices[self.index]

    @property
    def W(self) -> np.ndarray:
        return self._set.W[self.index]

    @property
    def c(self) -> np.ndarray:
        return self._set.c[self.index]

    @property
    def area(self) -> float:
        return float(self._set.volumes()[self.index])

    volume = area

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        del hrep  # polygons are the representation on a plane
        return {
            "pattern": self.pattern,
            "affine": {"W": self.W.tolist(), "c": self.c.tolist()},
            "vertices": self.vertices.tolist(),
            "area": self.area,
        }

    def __repr__(self) -> str:
        return f"ImageRegion({self.index}, {len(self.pattern)}-character pattern)"


class ImageRegionSet:
    """Every region of an image classifier on a plane, in slice coordinates ``(s, t)``.

    Attributes
    ----------
    count : int
    patterns : array of shape (count, n_codes), uint8
        Kink bits and max-pool winners, layer by layer (see the module docstring).
    W, c : arrays of shape (count, n_outputs, 2) and (count, n_outputs)
        The network's output on region i is ``W[i] @ (s, t) + c[i]``.
    vertices : list of arrays of shape (k_i, 2)
    interior_points : array of shape (count, 2)
        Centroids.
    counts_per_layer : tuple of int
        Regions after each kink and max-pool layer (named in :attr:`layer_names`).
    box : array of shape (2, 2)
        The slice domain's bounding box.
    slice : Slice
    units : tuple of (str, int)
        ``(layer name, index)`` of every pattern character.
    """

    method = "image-slice"
    output_activation = "identity"
    intervals = None

    def __init__(self, steps: list[Step], slc: Any, split: Any) -> None:
        self._steps = steps
        self.slice = slc
        self.box = slc.box
        order = np.lexsort(split.codes.T[::-1]) if len(split.codes) else np.arange(0)
        self.patterns = split.codes[order]
        self.W, self.c = split.W[order], split.c[order]
        self.vertices = [split.vertices[i] for i in order]
        self._volumes = split.areas[order]
        self.interior_points = split.centroids[order]
        self.counts_per_layer = split.counts_per_layer
        self.layer_names = split.layer_names
        self.units = tuple(
            (s.name, j) for s in steps if s.kind != "affine" for j in range(s.out_size)
        )
        self._strings: list[str] | None = None
        self._index: dict[bytes, int] = {row.tobytes(): i for i, row in enumerate(self.patterns)}

    @property
    def count(self) -> int:
        return len(self.patterns)

    @property
    def n_inputs(self) -> int:
        return 2

    @property
    def n_outputs(self) -> int:
        return int(self.W.shape[1])

    @property
    def pattern_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = pattern_strings(self.patterns)
        return self._strings

    def volumes(self) -> np.ndarray:
        """The area of every region, shape (count,)."""
        return self._volumes

    @property
    def predicted_class(self) -> np.ndarray:
        """The top output at each region's centroid, shape (count,), int."""
        out = np.einsum("nod,nd->no", self.W, self.interior_points) + self.c
        return (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[ImageRegion]:
        return (ImageRegion(self, i) for i in range(self.count))

    def __getitem__(self, i: int) -> ImageRegion:
        if not -self.count <= i < self.count:
            raise IndexError(f"region {i} out of range; there are {self.count}")
        return ImageRegion(self, i % self.count)

    def codes_at(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Patterns and network outputs at slice points ``X`` (n, 2), by a forward pass."""
        P = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        return forward_codes(self._steps, self.slice.to_input(P))

    def locate(self, X: Any) -> np.ndarray:
        """The region of each slice point (n, 2) by its forward pattern; -1 when the pattern
        names no region (a point outside the domain, or exactly on a boundary)."""
        codes, _ = self.codes_at(X)
        return np.array([self._index.get(row.tobytes(), -1) for row in codes], dtype=np.int64)

    def region_of(self, x: Any) -> ImageRegion:
        """The region holding slice point ``x`` (shape (2,))."""
        i = int(self.locate(np.asarray(x, dtype=np.float64).reshape(1, 2))[0])
        if i < 0:
            raise ConfigError(
                f"no region has the pattern of point {np.ravel(x).tolist()}: it lies outside "
                "the slice's domain or exactly on a boundary"
            )
        return ImageRegion(self, i)

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        """The JSON schema of ``tinylens regions --json`` on a slice."""
        return {
            "count": self.count,
            "n_inputs": 2,
            "n_outputs": self.n_outputs,
            "box": self.box.tolist(),
            "units": [list(u) for u in self.units],
            "output_activation": self.output_activation,
            "counts_per_layer": list(self.counts_per_layer),
            "regions": [r.to_dict(hrep=hrep) for r in self],
        }

    def to_json(self, *, hrep: bool | None = None, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(hrep=hrep), indent=indent, allow_nan=False)

    def __repr__(self) -> str:
        return (
            f"ImageRegionSet(count={self.count}, method='image-slice', "
            f"counts_per_layer={list(self.counts_per_layer)})"
        )
