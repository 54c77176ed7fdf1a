"""Write the geometry studies: a slice study or a box study (regions.json, metrics, the picture,
the hover map and the section), and the partition over training's section with its slider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinylens.geometry import as_affine_net, decision_boundary
from tinylens.geometry.region_views import anchors_inside
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.geometry.result import SliceResult

__all__ = [
    "MAX_HOVER_REGIONS",
    "MAX_SLIDER_REGIONS",
    "plane_frames_spec",
    "regions_map_spec",
    "slice_map_spec",
    "write",
    "write_box",
    "write_over_training",
]


def write(result: SliceResult, run: RunDir) -> None:
    """``config.yaml``, ``metrics.json``, ``regions.json`` (the ``--json`` schema),
    ``regions.png`` and, up to MAX_HOVER_REGIONS regions, the hover map; one report section."""
    r = result.regions
    run.write_yaml("config.yaml", result.config.to_dict())
    run.write_json("metrics.json", result.metrics)
    run.write_json("regions.json", result.to_dict())
    run.save_figure("regions.png", result.plot(), dpi=150)
    figures = [
        Figure(
            "regions.png",
            "Every linear region on the slice, coloured by the class the network predicts there"
            + (
                "; black: the exact decision boundary; the inputs the plane passes through sit "
                "at its corners."
                if r.n_inputs == 2
                else "; the logits along the segment, kinks dotted."
            ),
        )
    ]
    if r.n_inputs == 2 and r.count <= MAX_HOVER_REGIONS:
        run.write_json("regions_map.json", slice_map_spec(r, result.boundary))
        figures.insert(
            0,
            Figure(
                "regions_map.json",
                f"{r.count} linear regions on the plane, coloured by predicted class"
                + ("; black lines: the decision boundary" if result.boundary is not None else "")
                + ". Hover one for its activation pattern and class.",
                kind="widget",
                widget="regions-map",
            ),
        )
    m = result.metrics
    name = Path(result.config.weights).name
    rows = [[k, n] for k, n in enumerate(m["regions_by_class"]) if n]
    labels = "" if result.labels is None else f" (true labels {result.labels})"
    run.add_section(
        Section(
            id="slice-regions",
            title=f"Linear regions of {name} on a slice",
            summary=(
                f"The slice through {result._where()}{labels} meets {r.count} linear regions "
                f"(exact, {r.method}, {result.seconds:.3g} s); layer by layer "
                f"{', '.join(map(str, r.counts_per_layer))}. " + _boundary_sentence(result)
            ),
            metrics={k: v for k, v in m.items() if not isinstance(v, list)},
            figures=figures,
            tables=[Table("regions by predicted class", ["class", "regions"], rows)],
            config=result.config.to_dict(),
        ),
        title=f"tinylens regions: {name}",
    )


def _boundary_sentence(result: SliceResult) -> str:
    """The section's sentence on the decision boundary: segments (plane) or points (segment)."""
    m = result.metrics
    if result.boundary is None:
        return ""
    if "boundary_points" not in m:
        return f"The decision boundary is {m['boundary_segments']} straight segments."
    every = m["boundary_points"]
    points = "; ".join(f"t = {t:.4g}: {a} to {b}" for t, a, b in every[:20])
    more = "; ..." if len(every) > 20 else ""
    return f"The top class changes at {len(every)} points along the segment ({points}{more})."


def slice_map_spec(regions: Any, boundary: Any = None) -> dict[str, Any]:
    """The ``regions-map`` widget's data, each region coloured by its predicted class, with the
    decision boundary's segments as ``lines`` when given and the slice's anchors as dots."""
    classes = regions.predicted_class
    items = [
        {
            "vertices": np.round(region.vertices, 5).tolist(),
            "tip": f"region {region.index}\n{_tip_code(region)}\nclass {int(classes[i])}",
            "color": int(classes[i]),
        }
        for i, region in enumerate(regions)
    ]
    spec = {**_canvas(regions), "regions": items}
    if boundary is not None:
        spec["lines"] = np.round(boundary.segments, 5).tolist()
    return spec


def _canvas(regions: Any) -> dict[str, Any]:
    """The axes of a regions widget: the slice's box, ``s``/``t`` and its anchors."""
    (x0, x1), (y0, y1) = regions.box.tolist()
    spec: dict[str, Any] = {"box": [x0, x1, y0, y1], "xlabel": "s", "ylabel": "t"}
    if regions.slice is not None:
        spec["anchors"] = regions.slice.anchors[anchors_inside(regions)].tolist()
    return spec


MAX_SLIDER_REGIONS = 10_000
"""The slider's frames together hold at most this many polygons (about 500 bytes each in the
page, hover tip included; our choice: at most a 5 MB page, which a browser redraws at once). A
run with more shows evenly spaced epochs (first and last always), and its caption says so."""


def slider_picks(counts: list[int], cap: int = MAX_SLIDER_REGIONS) -> list[int]:
    """The snapshots the slider shows: all when their regions fit in ``cap``, else the most
    evenly spaced ones that fit (first and last kept); [] when even those two do not.

    >>> slider_picks([5, 5, 5, 5], cap=20), slider_picks([5, 5, 5, 5], cap=12)
    ([0, 1, 2, 3], [0, 3])
    """
    n = len(counts)
    for k in range(n, 1 if n > 1 else 0, -1):
        picks = sorted(set(np.linspace(0, n - 1, k).round().astype(int).tolist()))
        if sum(counts[i] for i in picks) <= cap:
            return picks
    return []


def plane_frames_spec(result: Any, picks: list[int]) -> dict[str, Any]:
    """The ``regions-frames`` widget's data: the fixed plane's regions (coloured by predicted
    class, hover for pattern and class) and exact decision boundary at the ``picks`` snapshots,
    each labelled with its epoch, region count and boundary segments."""
    frames = []
    for i in picks:
        r = result.plane_regions[i]
        boundary = decision_boundary(r) if r.n_outputs > 1 else None
        spec = slice_map_spec(r, boundary)
        info = f"{r.count} regions"
        if boundary is not None:
            info += f", {len(boundary.segments)} boundary segments"
        frame = {"label": f"epoch {result.epochs[i]}", "info": info, "regions": spec["regions"]}
        frame["lines"] = spec.get("lines", [])
        frames.append(frame)
    return {**_canvas(result.plane_regions[picks[-1]]), "frames": frames}


def _plane_words(result: Any) -> str:
    """How the section names the fixed plane: through three test images, or (a conv net) the
    triangle between them shrunk about its centroid, whose corners lie outside it."""
    side = float(np.ptp(result.plane.domain[:, 0]))  # 1 for the whole triangle
    if abs(side - 1) < 1e-12:
        return "the plane through three test images (black dots)"
    return f"the triangle between three test images shrunk to {side:.3g} of its size"


def _slider_note(result: Any) -> str:
    """The summary's sentence when the slider cannot show the plane (too many regions)."""
    counts = [r.count for r in result.plane_regions]
    if len(slider_picks(counts, MAX_SLIDER_REGIONS)) >= 2:
        return ""
    last = (
        f"; the hover map shows epoch {result.epochs[-1]}"
        if counts[-1] <= MAX_HOVER_REGIONS
        else f" and the last epoch alone has more than the hover map's {MAX_HOVER_REGIONS:,}"
    )
    return (
        f" The epoch slider is not shown: even its first and last frames hold "
        f"{counts[0] + counts[-1]:,} regions, more than its {MAX_SLIDER_REGIONS:,}{last}."
    )


def _plane_slider(result: Any, run: RunDir, prefix: str = "") -> list[Figure]:
    """The plane at every snapshot under a slider (when the frames fit MAX_SLIDER_REGIONS), else
    the hover map of the last epoch (when that fits MAX_HOVER_REGIONS)."""
    picks = slider_picks([r.count for r in result.plane_regions], MAX_SLIDER_REGIONS)
    if len(picks) < 2:
        return _last_plane_map(result, run, prefix)
    run.write_json(f"{prefix}plane_over_training_frames.json", plane_frames_spec(result, picks))
    some = (
        ""
        if len(picks) == len(result.epochs)
        else f" ({len(picks)} of the {len(result.epochs)} snapshots, evenly spaced: together "
        f"they fit the slider's {MAX_SLIDER_REGIONS:,} regions)"
    )
    return [
        Figure(
            f"{prefix}plane_over_training_frames.json",
            f"{_plane_words(result)[0].upper()}{_plane_words(result)[1:]} at each epoch"
            f"{some}: every linear region coloured by the class the network predicts there, the "
            "exact decision boundary in black. Move the slider (or press play) to watch the "
            "partition change over training; hover a region for its activation pattern and "
            "class.",
            kind="widget",
            widget="regions-frames",
        )
    ]


def _last_plane_map(result: Any, run: RunDir, prefix: str = "") -> list[Figure]:
    """The hover map of the plane at the last epoch (when small enough), as a widget."""
    r = result.plane_regions[-1]
    if r.count > MAX_HOVER_REGIONS:
        return []
    run.write_json(f"{prefix}plane_over_training_map.json", slice_map_spec(r))
    return [
        Figure(
            f"{prefix}plane_over_training_map.json",
            f"The plane at epoch {result.epochs[-1]}: {r.count} regions coloured by predicted "
            "class; hover one for its activation pattern and class.",
            kind="widget",
            widget="regions-map",
        )
    ]


PATTERN_CHARS = 64
"""Hover tips show at most this many pattern characters (a CNN's pattern has one per unit and
pooling window, ~12,000 for the MNIST CNN): the start, then the total length."""


def _tip_code(region: Any) -> str:
    """A hover tip's code line: the pattern (shortened), or the digest a digest set keeps."""
    if getattr(region._set, "code_format", "full") == "digest":
        return f"code digest {region._set.codes[region.index].tobytes().hex()}"
    return f"pattern {_short(region.pattern)}"


def _short(pattern: str) -> str:
    if len(pattern) <= PATTERN_CHARS:
        return pattern
    return f"{pattern[:PATTERN_CHARS]}... ({len(pattern)} characters)"


def write_over_training(
    result: Any, run: RunDir, *, model: str, title: str, prefix: str = ""
) -> None:
    """``local_complexity.csv`` (:meth:`OverTrainingResult.table`), the two figures and one
    report section, for the partition over training of ``model``; every file name and the
    section's id start with ``prefix`` (two models in one run directory: ``"cnn_"``)."""
    table = result.table()
    run.write_csv(
        f"{prefix}local_complexity.csv", list(zip(*table.values(), strict=True)), list(table)
    )
    run.save_figure(f"{prefix}local_complexity.png", result.plot(), dpi=150)
    run.save_figure(f"{prefix}plane_over_training.png", result.plot_planes(), dpi=120)
    last = result.epochs[-1]
    means = {n: result.mean(n)[-1, -1] for n in ("train", "test", "far")}
    plane = result.plane_counts
    run.add_section(
        Section(
            id=f"{prefix.replace('_', '-')}local-complexity",
            title=f"The partition over training ({model})",
            summary=(
                f"Linear regions of {model} meeting a 2-D square of half-width "
                f"{result.radius:g} around {len(result.points['train'])} training, test and far "
                f"points (far: uniform in the training sample's bounding box), at each of "
                f"{len(result.epochs)} snapshots, exact. At epoch {last} the whole network "
                f"averages {means['train']:.1f} regions per square near training points, "
                f"{means['test']:.1f} near test points and {means['far']:.1f} far from the "
                f"data; {_plane_words(result).removesuffix(' (black dots)')} has "
                f"{int(plane[0, -1])} regions at epoch {result.epochs[0]} and "
                f"{int(plane[-1, -1])} at epoch {last}.{_slider_note(result)}"
            ),
            metrics={
                "snapshots": len(result.epochs),
                "points per set": len(result.points["train"]),
                "radius": result.radius,
                **{
                    f"mean regions, {n}, epoch {last}": round(float(v), 3) for n, v in means.items()
                },
            },
            figures=[
                *_plane_slider(result, run, prefix),
                Figure(
                    f"{prefix}local_complexity.png",
                    "Mean regions per square over epochs: colour is the layer (the network up "
                    "to it), line style the point set (solid train, dashed test, dotted far).",
                ),
                Figure(
                    f"{prefix}plane_over_training.png",
                    f"Every linear region of {_plane_words(result)} "
                    "at a few epochs, coloured by the class the network predicts there.",
                ),
            ],
            tables=[
                Table(
                    "plane regions per layer",
                    ["epoch", *(f"layer {k + 1}" for k in range(result.n_layers))],
                    [[e, *map(int, row)] for e, row in zip(result.epochs, plane, strict=True)],
                )
            ],
        ),
        title=title,
    )


def write_box(result: Any, run: RunDir) -> None:
    """A box study (:class:`~tinylens.studies.geometry.result.RegionsResult`): ``config.yaml``,
    ``metrics.json``, ``regions.json`` (the ``--json`` schema), a picture (1-D, 2-D), the hover
    map (2-D, up to MAX_HOVER_REGIONS regions) and one report section."""
    r = result.regions
    run.write_yaml("config.yaml", result.config.to_dict())
    run.write_json("metrics.json", result.metrics)
    run.write_text("regions.json", r.to_json())
    figures = []
    name = Path(result.config.weights).name
    if r.n_inputs == 2:
        from tinylens.viz.geometry import plot_regions_2d

        run.save_figure(
            "regions.png",
            plot_regions_2d(
                r.vertices,
                r.box,
                title=f"{name}: {r.count} linear regions",
            ),
            dpi=150,
        )
        figures.append(
            Figure(
                "regions.png",
                "Every linear region in the box, each in its own colour; the black edges "
                "are the network's kinks (where some unit switches).",
            )
        )
        if r.count <= MAX_HOVER_REGIONS:
            run.write_json("regions_map.json", regions_map_spec(r))
            figures.insert(
                0,
                Figure(
                    "regions_map.json",
                    f"{r.count} linear regions. Hover one to see its activation pattern "
                    "and the affine map the network computes there.",
                    kind="widget",
                    widget="regions-map",
                ),
            )
    elif r.n_inputs == 1:
        from tinylens.viz.geometry import plot_pieces_1d

        lo, hi = r.box[0]
        x = np.unique(np.concatenate([np.linspace(lo, hi, 400), r.intervals.ravel()]))
        run.save_figure(
            "regions.png",
            plot_pieces_1d(
                x,
                r.evaluate(x[:, None]),
                r.intervals[1:, 0],
                title=f"{name}: {r.count} linear pieces",
            ),
        )
        figures.append(Figure("regions.png", "The network with its kinks (dotted)."))
    rows = []
    for region in list(r)[:20]:
        row: list[Any] = [region.index, region.pattern, "; ".join(region.formula())]
        if r.n_inputs <= 2:
            row.append(region.volume)
        rows.append(row)
    columns = ["region", "pattern", "affine map"] + (
        ["area" if r.n_inputs == 2 else "length"] if r.n_inputs <= 2 else []
    )
    section = Section(
        id="regions",
        title=f"Linear regions of {name}",
        summary=(
            f"The {'-'.join(map(str, as_affine_net(r.net).sizes))} network is affine on "
            f"each of {r.count} regions of the box {r.box.tolist()} (exact enumeration, "
            f"method {r.method!r}, {result.seconds:.3g} s). Counting layer by layer, the "
            f"sub-networks have {', '.join(map(str, r.counts_per_layer))} regions. Every "
            "region's pattern, affine map and geometry are in regions.json."
        ),
        metrics={k: v for k, v in result.metrics.items() if not isinstance(v, list)},
        figures=figures,
        tables=[
            Table(
                "regions",
                columns,
                rows,
                note=f"the first {len(rows)} of {r.count}, by pattern"
                if r.count > len(rows)
                else "",
            )
        ],
        config=result.config.to_dict(),
    )
    run.add_section(section, title=f"tinylens regions: {name}")


MAX_HOVER_REGIONS = 5000
"""Above this many regions the report shows only the picture (the SVG would grow too large)."""


def regions_map_spec(regions: Any) -> dict[str, Any]:
    """The report's ``regions-map`` widget data for a 2-D :class:`RegionSet`."""
    (x0, x1), (y0, y1) = regions.box.tolist()
    names = as_affine_net(regions.net).names
    items = []
    for region in regions:
        tip = f"region {region.index}\npattern {region.pattern}\n" + "\n".join(
            region.formula(digits=4)
        )
        if region.area is not None:
            tip += f"\narea {region.area:.4g}"
        items.append({"vertices": np.round(region.vertices, 5).tolist(), "tip": tip})
    return {"box": [x0, x1, y0, y1], "xlabel": names[0], "ylabel": names[1], "regions": items}
