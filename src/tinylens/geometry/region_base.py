"""What every set of linear regions shares, whoever enumerated it: the base of
:class:`~tinylens.geometry.RegionSet` (MLPs, any box or slice) and
:class:`~tinylens.geometry.ImageRegionSet` (conv nets on a slice).

A subclass sets ``patterns`` (count, n_codes), ``W`` (count, n_outputs, n_inputs), ``c``,
``interior_points``, ``vertices`` (2-D) or ``intervals`` (1-D), ``box``, ``units``, ``method``,
``counts_per_layer`` and ``output_activation``, and defines :meth:`~BaseRegionSet.locate`,
:meth:`~BaseRegionSet.volumes` and ``pattern_strings``; the collection (``len``, iteration,
indexing), the predicted class, ``region_of``, ``evaluate``, the decision boundary and every
way out of the object (JSON, pandas, the figure, the notebook card, the repr) live here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import region_views

__all__ = ["BaseRegion", "BaseRegionSet"]


class BaseRegion:
    """One region of a region set: a light view (the set and an index)."""

    __slots__ = ("_set", "index")

    def __init__(self, region_set: Any, index: int) -> None:
        self._set, self.index = region_set, index

    @property
    def pattern(self) -> str:
        return self._set.pattern_strings[self.index]

    @property
    def pattern_array(self) -> np.ndarray:
        return self._set.patterns[self.index]

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

    @property
    def predicted_class(self) -> int:
        """The top output at the interior point (one output: 1 where it is positive)."""
        return int(self._set.predicted_class[self.index])

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        """JSON-ready: ``pattern``, ``affine`` ``{"W", "c"}``, and ``vertices`` + ``area`` (2-D),
        ``interval`` + ``length`` (1-D), or ``inequalities`` ``{"A", "b"}`` + ``interior_point``
        (n-D, and on request with ``hrep=True``)."""
        return region_views.region_dict(self, hrep=hrep)

    def _pattern_repr(self) -> str:
        return f"pattern={self.pattern!r}"

    def __repr__(self) -> str:
        d = self._set.n_inputs
        size = f", {'length' if d == 1 else 'area'}={self.volume:.4g}" if d <= 2 else ""
        return (
            f"{type(self).__name__}({self.index}, {self._pattern_repr()}, "
            f"class={self.predicted_class}{size})"
        )


class BaseRegionSet:
    """The shared surface of :class:`~tinylens.geometry.RegionSet` and
    :class:`~tinylens.geometry.ImageRegionSet` (see the module docstring)."""

    region_type: type[BaseRegion] = BaseRegion
    slice: Any = None  # the Slice when the regions are of a slice (slice coordinates)
    n_lp = 0
    intervals: np.ndarray | None = None
    vertices: list[np.ndarray] | None = None
    patterns: np.ndarray
    W: np.ndarray
    c: np.ndarray
    interior_points: np.ndarray
    box: np.ndarray
    method: str
    counts_per_layer: tuple[int, ...]

    # -- the collection --------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.patterns)

    @property
    def n_inputs(self) -> int:
        return int(self.box.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.W.shape[1])

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        return (self.region_type(self, i) for i in range(self.count))

    def __getitem__(self, i: int) -> Any:
        if not -self.count <= i < self.count:
            raise IndexError(f"region {i} out of range; there are {self.count}")
        return self.region_type(self, i % self.count)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(count={self.count}, n_inputs={self.n_inputs}, "
            f"method={self.method!r}, counts_per_layer={list(self.counts_per_layer)})"
        )

    @property
    def predicted_class(self) -> np.ndarray:
        """The top output at each region's interior point, shape (count,), int (with one
        output: 1 where it is positive). A region the decision boundary crosses holds more
        than one class: see :meth:`decision_boundary`."""
        out = np.einsum("nod,nd->no", self.W, self.interior_points) + self.c
        if out.shape[1] == 1:
            return (out[:, 0] > 0).astype(np.int64)
        return out.argmax(axis=1)

    def volumes(self) -> np.ndarray:
        raise NotImplementedError

    def locate(self, X: Any) -> np.ndarray:
        raise NotImplementedError

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

    def _not_found(self, x: np.ndarray) -> str:
        """The error when no region holds ``x``."""
        return (
            f"point {x.tolist()} lies outside the box {self.box.tolist()}; "
            "enumerate the regions of a larger box"
        )

    def region_of(self, x: Any) -> Any:
        """The region holding the point ``x`` (shape (n_inputs,); slice coordinates on a slice).

        Raises
        ------
        ConfigError
            ``x`` lies outside the box (or, on a conv net's slice, exactly on a boundary).
        """
        X = self._points(x)
        if len(X) != 1:
            raise ShapeError(f"region_of takes one point; use locate for {len(X)} points")
        i = int(self.locate(X)[0])
        if i < 0:
            raise ConfigError(self._not_found(X[0]))
        return self.region_type(self, i)

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

    def decision_boundary(self) -> Any:
        """The exact decision boundary (1-D or 2-D, two or more outputs): see
        :func:`~tinylens.geometry.decision_boundary`. Computed once per set (the notebook
        card, :meth:`plot` and :meth:`boundary_points` share it: 6.4 s on a million-region
        CNN plane, most of it packing the polygons and finding the regions one class wins
        throughout)."""
        cached = self.__dict__.get("_decision_boundary")
        if cached is None:
            from tinylens.geometry.slices import decision_boundary

            cached = self.__dict__["_decision_boundary"] = decision_boundary(self)
        return cached

    def boundary_points(self, boundary: Any = None) -> list[tuple[float, int, int]]:
        """On a segment (1-D, several outputs): ``(t, left, right)`` for every point where the
        top class changes, left to right, ``left`` the class just before ``t`` and ``right`` the
        class just after (the boundary's own ``classes`` are sorted, smaller first).

        The two classes tie at ``t`` inside one region, where the logits are affine: the one
        whose logit grows faster along the segment wins to the right. ``boundary``: the
        :meth:`decision_boundary`, if already computed.
        """
        if self.n_inputs != 1:
            raise ConfigError("boundary_points is for segments (1-D); use decision_boundary")
        b = self.decision_boundary() if boundary is None else boundary
        out = []
        for (t,), (a, c), r in zip(b.segments[:, 0], b.classes, b.regions, strict=True):
            left, right = (a, c) if self.W[r, a, 0] < self.W[r, c, 0] else (c, a)
            out.append((float(t), int(left), int(right)))
        return sorted(out)

    # -- export and display (tinylens.geometry.region_views) -------------------------------------
    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        """The JSON schema of ``tinylens regions --json``.

        ``{"count", "n_inputs", "n_outputs", "box", "units", "output_activation",
        "counts_per_layer", "regions": [Region.to_dict(), ...]}``
        """
        return region_views.to_dict(self, hrep=hrep)

    def to_json(self, *, hrep: bool | None = None, indent: int | None = None) -> str:
        # allow_nan=False: NaN and Infinity are not JSON; linear_regions refuses the networks
        # and boxes that would produce them, so this only guards against a future bug.
        return json.dumps(self.to_dict(hrep=hrep), indent=indent, allow_nan=False)

    def to_pandas(self, *, volumes: bool | None = None) -> Any:
        """One row per region: ``pattern``, ``predicted_class``, ``length`` / ``area`` /
        ``volume`` (n-D: once computed, or with ``volumes=True``) and the interior point, one
        column per input. Needs pandas (``pip install pandas``)."""
        return region_views.to_pandas(self, volumes=volumes)

    def plot(self, ax: Any = None) -> Any:
        """A matplotlib Figure: 2-D regions coloured by predicted class, the 1-D function with
        its kinks, or (n-D) a histogram of the regions' volumes by class."""
        return region_views.plot(self, ax)

    def _repr_html_(self) -> str:
        return region_views.card(self)
