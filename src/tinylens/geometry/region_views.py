"""How a :class:`~tinylens.geometry.RegionSet` leaves the object: JSON, a pandas table, an HTML
card for notebooks and a figure (built on :mod:`tinylens.viz`).

>>> from tinylens.engine import AffineNet
>>> from tinylens.geometry import linear_regions
>>> net = AffineNet.from_lists([([[1, 0], [0, 1]], [0, 0], "relu"), ([[1, -1]], [0], "identity")])
>>> regions = linear_regions(net, [(-1, 1), (-1, 1)])
>>> table(regions)["pattern"], table(regions)["area"].tolist()
(['00', '01', '10', '11'], [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

__all__ = [
    "MAX_ROWS",
    "anchors_inside",
    "card",
    "plot",
    "region_dict",
    "table",
    "to_dict",
    "to_pandas",
]

MAX_ROWS = 10
"""The HTML card shows this many regions, then says how many more there are."""

CARD_TABLE_ROWS = 20_000
"""Above this many regions the card builds its table from the first :data:`MAX_ROWS` only
(our choice: every pattern string of a million-region CNN plane would take gigabytes)."""


def to_dict(regions: Any, *, hrep: bool | None = None) -> dict[str, Any]:
    """The JSON schema of ``tinylens regions --json`` (see :meth:`RegionSet.to_dict`)."""
    return {
        "count": regions.count,
        "n_inputs": regions.n_inputs,
        "n_outputs": regions.n_outputs,
        "box": regions.box.tolist(),
        "units": [list(u) for u in regions.units],
        "output_activation": regions.output_activation,
        "counts_per_layer": list(regions.counts_per_layer),
        "regions": [r.to_dict(hrep=hrep) for r in regions],
    }


def region_dict(region: Any, *, hrep: bool | None = None, pattern: bool = True) -> dict[str, Any]:
    """One region as JSON (see :meth:`Region.to_dict`); without its pattern when ``pattern``
    is False (a set that keeps only digests of its patterns)."""
    d = region._set.n_inputs
    out: dict[str, Any] = {"pattern": region.pattern} if pattern else {}
    out["affine"] = {"W": region.W.tolist(), "c": region.c.tolist()}
    if d == 2:
        out["vertices"] = region.vertices.tolist()
        out["area"] = region.volume
    elif d == 1:
        out["interval"] = region._set.intervals[region.index].tolist()
        out["length"] = region.volume
    if hrep if hrep is not None else d > 2:
        out["inequalities"] = {"A": region.A.tolist(), "b": region.b.tolist()}
        out["interior_point"] = region.interior_point.tolist()
    return out


def _size_name(d: int) -> str:
    return {1: "length", 2: "area"}.get(d, "volume")


def _coordinates(regions: Any) -> list[str]:
    """The names of the regions' coordinates: the inputs', or ``s``, ``t`` on a slice."""
    return list(regions.net.names) if regions.slice is None else ["s", "t"][: regions.n_inputs]


def table(regions: Any, *, volumes: bool | None = None, rows: int | None = None) -> dict[str, Any]:
    """One column per field, one entry per region: ``pattern`` (0/1 string; a digest set:
    ``code_digest``), ``predicted_class``, the size (``length``, ``area`` or ``volume``) and
    the interior point (one column per input, named after the inputs). ``rows``: only the
    first this many regions.

    ``volumes``: n-D volumes need one Qhull call per region, so by default they are included
    only once computed (:meth:`RegionSet.volumes`); True computes them, False leaves them out.
    """
    d = regions.n_inputs
    n = regions.count if rows is None else min(rows, regions.count)
    if getattr(regions, "code_format", "full") == "digest":  # patterns not kept: digests
        out: dict[str, Any] = {"code_digest": [row.tobytes().hex() for row in regions.codes[:n]]}
    elif n == regions.count:
        out = {"pattern": list(regions.pattern_strings)}
    else:
        out = {"pattern": [regions[i].pattern for i in range(n)]}
    out["predicted_class"] = regions.predicted_class[:n]
    known = d <= 2 or regions._volumes is not None
    if volumes or (volumes is None and known):
        out[_size_name(d)] = regions.volumes()[:n]
    for k, name in enumerate(_coordinates(regions)):
        out[name] = regions.interior_points[:n, k]
    return out


def to_pandas(regions: Any, *, volumes: bool | None = None) -> Any:
    """:func:`table` as a ``pandas.DataFrame`` (pandas is optional: without it, one line
    naming the install)."""
    from tinylens.viz.display import to_pandas as frame

    return frame(table(regions, volumes=volumes))


def plot(regions: Any, ax: Any = None) -> Any:
    """The regions as a matplotlib Figure.

    * 2-D: the polygons coloured by predicted class (slice coordinates for a slice);
    * 1-D: the network along the interval with its kinks;
    * n-D: a histogram of the regions' volumes (log scale, one Qhull call per region on first
      use), stacked by predicted class: how the box's volume is shared out, typically many
      tiny regions and a few large ones.
    """
    d = regions.n_inputs
    names = _coordinates(regions)
    title = f"{regions.count} linear regions"
    if d == 2:
        from tinylens.viz.geometry import plot_slice_regions

        segments = anchors = None
        if regions.slice is not None:  # a plane through inputs: its boundary and anchors too
            if regions.n_outputs > 1:
                segments = regions.decision_boundary().segments
            anchors = regions.slice.anchors  # those outside the box are not drawn
        fig = plot_slice_regions(
            regions.vertices,
            regions.predicted_class,
            regions.box,
            segments=segments,
            anchors=anchors,
            title=title,
            ax=ax,
        )
        fig_ax = ax if ax is not None else fig.axes[0]
        fig_ax.set(xlabel=names[0], ylabel=names[1])
        return fig
    if d == 1:
        from tinylens.viz.geometry import plot_pieces_1d

        lo, hi = regions.box[0]
        x = np.unique(np.concatenate([np.linspace(lo, hi, 400), regions.intervals.ravel()]))
        return plot_pieces_1d(
            x, regions.evaluate(x[:, None]), regions.intervals[1:, 0], title=title, ax=ax
        )
    from tinylens.viz.figure import new_axes

    fig, ax = new_axes(ax, 6.0, 3.8)
    sizes = np.log10(regions.volumes())
    classes = regions.predicted_class
    bins = np.linspace(sizes.min(), sizes.max() + 1e-9, 30)
    labels = sorted(set(classes.tolist()))
    ax.hist(
        [sizes[classes == k] for k in labels],
        bins=bins,
        stacked=True,
        label=[f"class {k}" for k in labels],
    )
    ax.set(
        xlabel="log10 region volume",
        ylabel="regions",
        title=f"{title} in {d}-D (box volume {np.prod(np.ptp(regions.box, axis=1)):.3g})",
    )
    ax.legend(fontsize=8)
    return fig


def anchors_inside(regions: Any) -> np.ndarray:
    """Which of the slice's anchors (the inputs it passes through) lie in its box, shape
    (anchors,) bool: a triangle shrunk about its centroid leaves its corners outside."""
    anchors = regions.slice.anchors
    return np.all((anchors >= regions.box[:, 0]) & (anchors <= regions.box[:, 1]), axis=1)


def card(regions: Any) -> str:
    """The HTML a notebook shows: key numbers, the first :data:`MAX_ROWS` regions and, in 1-D
    and 2-D, the figure of :func:`plot` as an inline PNG."""
    from tinylens.viz.display import html_card

    numbers = {
        "regions": regions.count,
        "inputs": regions.n_inputs,
        "outputs": regions.n_outputs,
        "method": regions.method,
        "regions per layer": ", ".join(map(str, regions.counts_per_layer)),
        "box": ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in regions.box),
    }
    if regions.n_lp:
        numbers["linear programs"] = regions.n_lp
    figure = plot(regions) if regions.n_inputs <= 2 else None
    rows = None
    if regions.count > CARD_TABLE_ROWS:  # a million patterns of 11,760 characters: no
        rows = MAX_ROWS
        numbers["table"] = f"the first {MAX_ROWS} of {regions.count:,} regions"
    return html_card(
        type(regions).__name__, numbers, table(regions, rows=rows), figure, max_rows=MAX_ROWS
    )


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return html.escape(str(value))
