"""Write a slice study: regions.json, metrics, the picture, the hover map and the section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.geometry.result import SliceResult
from tinylens.studies.regions import MAX_HOVER_REGIONS

__all__ = ["slice_map_spec", "write"]


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
        run.write_json("regions_map.json", slice_map_spec(r))
        figures.insert(
            0,
            Figure(
                "regions_map.json",
                f"{r.count} linear regions on the plane, coloured by predicted class. Hover one "
                "for its activation pattern and class.",
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
                f"{', '.join(map(str, r.counts_per_layer))}. "
                + (
                    f"The decision boundary is {m['boundary_segments']} straight segments."
                    if result.boundary is not None
                    else ""
                )
            ),
            metrics={k: v for k, v in m.items() if not isinstance(v, list)},
            figures=figures,
            tables=[Table("regions by predicted class", ["class", "regions"], rows)],
            config=result.config.to_dict(),
        ),
        title=f"tinylens regions: {name}",
    )


def slice_map_spec(regions: Any) -> dict[str, Any]:
    """The ``regions-map`` widget's data, each region coloured by its predicted class."""
    (x0, x1), (y0, y1) = regions.box.tolist()
    classes = regions.predicted_class
    items = [
        {
            "vertices": np.round(region.vertices, 5).tolist(),
            "tip": f"region {region.index}\npattern {_short(region.pattern)}\n"
            f"class {int(classes[i])}",
            "color": int(classes[i]),
        }
        for i, region in enumerate(regions)
    ]
    return {"box": [x0, x1, y0, y1], "xlabel": "s", "ylabel": "t", "regions": items}


PATTERN_CHARS = 64
"""Hover tips show at most this many pattern characters (a CNN's pattern has one per unit and
pooling window, ~12,000 for the MNIST CNN): the start, then the total length."""


def _short(pattern: str) -> str:
    if len(pattern) <= PATTERN_CHARS:
        return pattern
    return f"{pattern[:PATTERN_CHARS]}... ({len(pattern)} characters)"
