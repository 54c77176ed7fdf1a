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

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import conv_slice, region_views
from tinylens.geometry._codes import CODE_FORMATS, CodeLayout, digest
from tinylens.geometry._memory import permute_rows
from tinylens.geometry.conv_layers import Step, image_layers, infer_image_shape
from tinylens.geometry.conv_segment import split_image_segment
from tinylens.geometry.conv_slice import forward_codes, split_image_slice
from tinylens.geometry.region_base import BaseRegion, BaseRegionSet
from tinylens.geometry.region_set import pattern_strings

__all__ = ["CODES", "JSON_PATTERN_BYTES", "ImageRegion", "ImageRegionSet", "image_slice_regions"]


CODES = ("auto", *CODE_FORMATS)
"""How an :class:`ImageRegionSet` keeps its regions' codes: ``full`` (one byte per kink unit
and pooling window: 11,760 bytes a region for the MNIST CNN, about 205,000 regions in
:data:`~tinylens.geometry.conv_slice.MEMORY_BUDGET`), ``packed`` (bits: 1,764 bytes, about
1.1 million; every pattern unpacked on demand), ``digest`` (16 bytes, about 4.8 million:
counts, ``locate`` and ``region_of`` still work, patterns cannot be read back) or ``auto``
(the default: enumerate packed, then full when full codes fit the budget)."""

JSON_PATTERN_BYTES = 500_000_000
"""A set's JSON lists every region's pattern up to this many pattern characters in all (our
choice: about 42,000 MNIST-CNN regions); past it, each region has its 32-character
``code_digest`` instead, so a million-region plane writes hundreds of megabytes, not 12 GB."""

UNPACK_CHUNK = 4096
"""Packed codes are unpacked this many regions at a time (11.8 MB for the MNIST CNN)."""


def image_slice_regions(
    net: Any,
    slc: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    codes: str = "auto",
    max_regions: int | None = None,
    quiet: bool = False,
    workers: int | None = None,
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
    codes : {"auto", "full", "packed", "digest"}
        How the regions' codes are kept (:data:`CODES`); the regions are the same whatever
        the format.
    max_regions : int, optional
        Stop with a clear error past this many regions in one layer (plane); by default
        what the memory budget holds in the chosen format.
    quiet : bool
        No progress; otherwise a plane that takes more than a few seconds shows it (the share
        of its area done, :func:`~tinylens.geometry.conv_slice.split_image_slice`).
    workers : int, optional
        Threads sharing a large plane's work (by default the cores, up to 4:
        :data:`~tinylens.geometry.conv_slice.WORKERS`); the regions are the same for any count.
    """
    if codes not in CODES:
        raise ConfigError(f"unknown codes format {codes!r}; expected one of {', '.join(CODES)}")
    shape = input_shape or infer_image_shape(net, slc.n_inputs)
    if int(np.prod(shape)) != slc.n_inputs:
        raise ShapeError(
            f"the slice lives in {slc.n_inputs} inputs but the network takes {shape}; build it "
            "from inputs the network takes"
        )
    steps = image_layers(net, shape)
    if slc.dim == 1:  # intervals are few: enumerated with full codes, then kept as asked
        lo, hi = (float(v) for v in slc.domain)
        split = split_image_segment(steps, slc.origin, slc.directions[0], lo, hi)
        return ImageRegionSet(steps, slc, split, codes="full" if codes == "auto" else codes)
    fmt = "packed" if codes == "auto" else codes
    plane = (steps, slc.origin, slc.directions, slc.domain)
    split = split_image_slice(
        *plane, codes=fmt, max_regions=max_regions, quiet=quiet, workers=workers
    )
    if codes == "auto":
        fits = len(split.codes) <= conv_slice.region_cap(steps, "full", max_regions)
        codes = "full" if fits else "packed"
    return ImageRegionSet(steps, slc, split, codes=codes, own=True)


def _row_order(rows: np.ndarray) -> np.ndarray:
    """The order of byte rows (n, m) by their bytes, first byte first (stable)."""
    if not rows.shape[1]:
        return np.arange(len(rows))
    return np.argsort(np.ascontiguousarray(rows).view(f"V{rows.shape[1]}").ravel(), kind="stable")


class ImageRegion(BaseRegion):
    """One region of an :class:`ImageRegionSet` (a light view: index, pattern, polygon or
    interval, affine map); its pattern has one character per kink unit and pooling window."""

    __slots__ = ()

    @property
    def pattern(self) -> str:
        return self._set.pattern_of(self.index)

    @property
    def pattern_array(self) -> np.ndarray:
        return self._set.pattern_arrays([self.index])[0]

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        del hrep  # polygons (intervals) are the representation on a plane (segment)
        if self._set.json_patterns:
            return super().to_dict(hrep=False)
        out = region_views.region_dict(self, hrep=False, pattern=False)
        return {"code_digest": self._set.digest_of(self.index), **out}

    def _pattern_repr(self) -> str:
        if self._set.code_format == "digest":
            return f"code digest {self._set.codes[self.index].tobytes().hex()[:12]}..."
        return f"{len(self.pattern)}-character pattern"


class ImageRegionSet(BaseRegionSet):
    """Every region of an image classifier on a slice, in slice coordinates: ``(s, t)`` on a
    plane, ``t`` on a segment.

    Attributes
    ----------
    count : int
    patterns : array of shape (count, n_codes), uint8
        Kink bits and max-pool winners, layer by layer (see the module docstring); unpacked
        on demand for a packed set (read a few with :meth:`pattern_arrays` when the whole
        would not fit the memory budget), not available for a digest set.
    codes : array of shape (count, bytes), uint8
        The codes as kept: ``patterns`` itself, packed bits, or 16-byte digests.
    code_format : {"full", "packed", "digest"}
    layout : CodeLayout
        Unpacks packed codes (:mod:`tinylens.geometry._codes`).
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

    def __init__(
        self, steps: list[Step], slc: Any, split: Any, *, codes: str = "full", own: bool = False
    ) -> None:
        """``own``: the set may reorder ``split.codes`` in place (:func:`image_slice_regions`
        hands over a split nobody else holds), so a million packed codes are not copied."""
        self._steps = steps
        self.slice = slc
        self.box = slc.box
        self.layout = getattr(split, "layout", None) or CodeLayout.of(steps)
        stored = getattr(split, "code_format", "full")
        kept = split.codes
        if slc.dim == 1:  # left to right, as a RegionSet on one input
            order = np.argsort(split.ends[:, 0], kind="stable")
            self.intervals = split.ends[order]
            self.vertices = [e.reshape(2, 1) for e in self.intervals]
            self._volumes = self.intervals[:, 1] - self.intervals[:, 0]
            self.interior_points = self.intervals.mean(axis=1, keepdims=True)
        else:  # by pattern, whatever the format the codes are kept in (digests: by digest)
            order = self._pattern_order(kept, stored)
            self.vertices = [split.vertices[i] for i in order]
            self._volumes = split.areas[order]
            self.interior_points = split.centroids[order]
        if own:  # in pattern order without a second copy of the codes (1.8 GB on a million)
            permute_rows(kept, order)
        else:
            kept = kept[order]
        self.codes, self.code_format = self._convert(kept, stored, codes)
        self.W, self.c = split.W[order], split.c[order]
        self.counts_per_layer = split.counts_per_layer
        self.layer_names = split.layer_names
        self.units = tuple(
            (s.name, j) for s in steps if s.kind != "affine" for j in range(s.out_size)
        )
        self._strings: list[str] | None = None
        self._index_map: dict[bytes, int] | None = None

    def _pattern_order(self, codes: np.ndarray, fmt: str) -> np.ndarray:
        """The order of the regions by pattern (entry by entry, as ``np.lexsort`` of the full
        codes, which is slower on 11,760 columns), or by digest for a digest set. Packed
        codes sort as the patterns do (:mod:`tinylens.geometry._codes`): they are their own
        key; full ones are packed for it, a chunk at a time."""
        if fmt != "full":
            return _row_order(codes)
        key = np.empty((len(codes), -(-self.layout.n_bits // 8)), dtype=np.uint8)
        for i in range(0, len(codes), UNPACK_CHUNK):
            key[i : i + UNPACK_CHUNK] = self.layout.pack(codes[i : i + UNPACK_CHUNK])
        return _row_order(key)

    def _convert(self, codes: np.ndarray, stored: str, wanted: str) -> tuple[np.ndarray, str]:
        """The codes in the format asked for (full codes can become any, packed ones full or a
        digest, a digest nothing else)."""
        if wanted == stored:
            return codes, stored
        if stored == "full":
            return self.layout.encode(codes, wanted), wanted
        if stored == "packed" and wanted == "digest":
            return digest(codes), "digest"
        if stored == "packed" and wanted == "full":
            return self._unpack(np.arange(len(codes)), codes), "full"
        raise ConfigError(f"codes kept as {stored} cannot be turned into {wanted}")

    def _unpack(self, idx: np.ndarray, packed: np.ndarray | None = None) -> np.ndarray:
        packed = self.codes if packed is None else packed
        out = np.empty((len(idx), self.layout.n_codes), dtype=np.uint8)  # one copy alive
        for i in range(0, len(idx), UNPACK_CHUNK):
            out[i : i + UNPACK_CHUNK] = self.layout.unpack(packed[idx[i : i + UNPACK_CHUNK]])
        return out

    @property
    def count(self) -> int:
        return len(self.codes)

    @property
    def json_patterns(self) -> bool:
        """Whether :meth:`to_dict` (the JSON of ``tinylens regions``) holds each region's
        pattern: not for a digest set, nor when the patterns alone would pass
        :data:`JSON_PATTERN_BYTES` (then each region has its ``code_digest``)."""
        if self.code_format == "digest":
            return False
        return self.count * self.layout.n_codes <= JSON_PATTERN_BYTES

    def digest_of(self, i: int) -> str:
        """Region ``i``'s code digest (BLAKE2b of its packed code) as hex: what a digest set
        keeps, and what ``locate`` matches."""
        if self.code_format == "digest":
            return self.codes[i].tobytes().hex()
        packed = self.codes[i : i + 1]
        if self.code_format == "full":
            packed = self.layout.pack(packed)
        return digest(packed)[0].tobytes().hex()

    def to_dict(self, *, hrep: bool | None = None) -> dict[str, Any]:
        out = super().to_dict(hrep=hrep)
        if not self.json_patterns:
            out["patterns"] = (
                "not listed: each region has its code_digest (BLAKE2b of its packed code); "
                + (
                    "this set keeps only digests"
                    if self.code_format == "digest"
                    else f"{self.count:,} patterns of {self.layout.n_codes:,} characters would "
                    f"pass JSON_PATTERN_BYTES; read them in Python (region.pattern)"
                )
            )
        return out

    def _need_patterns(self, what: str) -> None:
        if self.code_format == "digest":
            raise ConfigError(
                f"{what} needs the regions' patterns, and this set keeps only 16-byte digests "
                "of them; enumerate with codes='packed' (or --codes packed)"
            )

    def pattern_arrays(self, indices: Any) -> np.ndarray:
        """The codes of regions ``indices`` as full patterns (len(indices), n_codes) uint8,
        unpacked on demand for a packed set."""
        self._need_patterns("pattern_arrays")
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return self.codes[idx] if self.code_format == "full" else self._unpack(idx)

    def pattern_of(self, i: int) -> str:
        """Region ``i``'s pattern string."""
        if self.code_format == "full":
            return self.pattern_strings[i]
        return pattern_strings(self.pattern_arrays([i]))[0]

    @property
    def patterns(self) -> np.ndarray:  # type: ignore[override]
        """Every region's pattern (count, n_codes) uint8: the full codes (unpacked for a packed
        set when they fit the memory budget; else one clear error)."""
        if self.code_format == "full":
            return self.codes
        self._need_patterns("patterns")
        cap = conv_slice.region_cap(self._steps, "full")
        if self.count > cap:
            raise ConfigError(
                f"the full patterns of these {self.count:,} regions would take "
                f"{self.count * self.layout.n_codes / 1e9:.1f} GB; read them a few at a time "
                "with pattern_arrays(indices) or region.pattern"
            )
        return self._unpack(np.arange(self.count))

    @property
    def pattern_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = pattern_strings(self.patterns)
        return self._strings

    def _key(self, full: np.ndarray) -> np.ndarray:
        """Full codes (n, n_codes) as the keys of :attr:`_index`: rows as stored for full and
        digest sets, a digest of the packed row for a packed set (16 bytes a region)."""
        if self.code_format == "full":
            return full
        return digest(self.layout.pack(full))

    @property
    def _index(self) -> dict[bytes, int]:
        if self._index_map is None:
            keys = self.codes if self.code_format != "packed" else digest(self.codes)
            self._index_map = {row.tobytes(): i for i, row in enumerate(keys)}
        return self._index_map

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
        keys = self._key(codes)
        return np.array([self._index.get(row.tobytes(), -1) for row in keys], dtype=np.int64)

    def _not_found(self, x: np.ndarray) -> str:
        return (
            f"no region has the pattern of point {x.tolist()}: it lies outside the slice's "
            "domain or exactly on a boundary"
        )
