"""The geometry studies' results: the slice study's regions, classes and boundary, showable in a
notebook, and the box study's regions (``tinylens regions --box``)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.studies.geometry.config import RegionsStudyConfig, SliceStudyConfig

__all__ = ["RegionsResult", "SliceResult"]


@dataclass
class SliceResult:
    """Every linear region of a network on a slice.

    Attributes
    ----------
    config : SliceStudyConfig
    regions : RegionSet
        In slice coordinates (``regions.slice`` is the :class:`~tinylens.geometry.Slice`).
    boundary : DecisionBoundary or None
        None for a one-output network.
    seconds : float
        Enumeration and boundary, measured.
    images : list of arrays (h, w), or None
        The inputs the slice passes through, as images.
    labels : list of int, or None
        Their true labels.
    """

    config: SliceStudyConfig
    regions: Any
    boundary: Any
    seconds: float
    images: list[np.ndarray] | None = None
    labels: list[int] | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        r = self.regions
        classes = np.bincount(r.predicted_class, minlength=r.n_outputs)
        return {
            "count": r.count,
            "dim": r.slice.dim,
            "units": len(r.units),
            "counts_per_layer": list(r.counts_per_layer),
            "method": r.method,
            "seconds": self.seconds,
            "regions_per_second": r.count / self.seconds if self.seconds > 0 else None,
            "boundary_segments": 0 if self.boundary is None else len(self.boundary.segments),
            "regions_by_class": classes.tolist(),
            **self._crossings(),
        }

    def _crossings(self) -> dict[str, Any]:
        """On a segment: ``boundary_points``, ``[t, left class, right class]`` left to right."""
        if self.boundary is None or self.regions.n_inputs != 1:
            return {}
        points = self.regions.boundary_points(self.boundary)
        return {"boundary_points": [list(p) for p in points]}

    def to_dict(self) -> dict[str, Any]:
        """The regions (``RegionSet.to_dict``), the boundary and the slice's anchors."""
        out = self.regions.to_dict()
        out["slice"] = {
            "through": list(self.config.through),
            "plane": self.config.plane,
            "data": self.config.data,
            "anchors": self.regions.slice.anchors.tolist(),
            "domain": self.regions.slice.domain.tolist(),
            "labels": self.labels,
        }
        out["predicted_class"] = self.regions.predicted_class.tolist()
        out["decision_boundary"] = None if self.boundary is None else self.boundary.to_dict()
        return out

    def to_pandas(self) -> Any:
        """One row per region: pattern (a digest set: ``code_digest``), predicted class, area
        (or length)."""
        from tinylens._optional import require_pandas

        pd = require_pandas()
        r = self.regions
        if getattr(r, "code_format", "full") == "digest":  # patterns not kept: their digests
            codes = {"code_digest": [row.tobytes().hex() for row in r.codes]}
        else:
            codes = {"pattern": r.pattern_strings}
        return pd.DataFrame(
            {
                **codes,
                "predicted_class": r.predicted_class,
                "area" if r.n_inputs == 2 else "length": r.volumes(),
            }
        )

    def plot(self, ax: Any = None) -> Any:
        """The regions coloured by class with the boundary and the anchor images (2-D), or
        the logits along the segment (1-D). Returns the matplotlib Figure."""
        r = self.regions
        if r.n_inputs == 2:
            from tinylens.viz.geometry import plot_slice_regions

            return plot_slice_regions(
                r.vertices,
                r.predicted_class,
                r.box,
                segments=None if self.boundary is None else self.boundary.segments,
                anchors=r.slice.anchors,
                images=self.images,
                title=f"{r.count} linear regions on the plane",
                ax=ax,
            )
        from tinylens.viz.geometry import plot_pieces_1d

        lo, hi = r.box[0]
        x = np.unique(np.concatenate([np.linspace(lo, hi, 400), r.intervals.ravel()]))
        return plot_pieces_1d(
            x, r.evaluate(x[:, None]), r.intervals[1:, 0], title=f"{r.count} pieces", ax=ax
        )

    def __repr__(self) -> str:
        kind = "plane" if self.regions.n_inputs == 2 else "segment"
        b = "" if self.boundary is None else f", boundary_segments={len(self.boundary.segments)}"
        return (
            f"SliceResult({kind} through {self._where()}, regions={self.regions.count}{b}, "
            f"seconds={self.seconds:.3g})"
        )

    def _where(self) -> str:
        c = self.config
        picks = ",".join(map(str, c.through)) if c.through else f"{c.plane} (random directions)"
        return f"{c.data} {picks}"

    def _repr_html_(self) -> str:
        m = self.metrics
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in m.items()
        )
        return f"<div><b>SliceResult</b>: {html.escape(self._where())}<table>{rows}</table></div>"


@dataclass
class RegionsResult:
    """Every linear region of a network in a box, and the seconds the enumeration took."""

    config: RegionsStudyConfig
    regions: Any  # RegionSet
    seconds: float

    @property
    def metrics(self) -> dict[str, Any]:
        r = self.regions
        return {
            "count": r.count,
            "n_inputs": r.n_inputs,
            "units": len(r.units),
            "counts_per_layer": list(r.counts_per_layer),
            "method": r.method,
            "seconds": self.seconds,
            "regions_per_second": r.count / self.seconds if self.seconds > 0 else None,
        }

    def save(self, run: Any) -> None:
        """Write ``regions.json`` (the ``--json`` schema), a picture (1-D, 2-D) and a report
        section (:func:`~tinylens.studies.geometry.write.write_box`)."""
        from tinylens.studies.geometry.write import write_box

        write_box(self, run)
