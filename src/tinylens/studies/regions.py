"""The study behind ``tinylens regions``: every linear region of a saved network in a box.

>>> import tempfile, pathlib, tinylens as tl
>>> from tinylens.studies.regions import RegionsStudyConfig, run_regions
>>> path = pathlib.Path(tempfile.mkdtemp()) / "net.safetensors"
>>> _ = tl.save(tl.MLP([2, 4, 1], rng=0, init="torch"), path)
>>> result = run_regions(RegionsStudyConfig(str(path), (-1.0, 1.0, -1.0, 1.0)))
>>> result.regions.count == len(result.regions.to_dict()["regions"])
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.errors import UnknownNameError
from tinylens.geometry import RegionSet, as_affine_net, as_box, linear_regions
from tinylens.geometry.regions import METHODS, check_piecewise_linear
from tinylens.io import Figure, RunDir, Section, Table

__all__ = ["RegionsResult", "RegionsStudyConfig", "run_regions"]


@dataclass(frozen=True)
class RegionsStudyConfig:
    """A weights file, a box (flat ``lo, hi, lo, hi, ...``) and the enumeration method."""

    weights: str
    box: tuple[float, ...]
    method: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UnknownNameError("region method", self.method, METHODS)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "box": list(self.box), "method": self.method}

    def check(self) -> tuple[Any, np.ndarray]:
        """Load the network and check the box against it: ``(AffineNet, box array)``.

        Raises WeightsFileError, ShapeError or ConfigError (a bad box, a hidden activation
        that is not piecewise linear) with one line.
        """
        net = check_piecewise_linear(self.weights)
        return net, as_box(self.box, net.n_inputs)


@dataclass
class RegionsResult:
    config: RegionsStudyConfig
    regions: RegionSet
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

    def save(self, run: RunDir) -> None:
        """Write ``regions.json`` (the ``--json`` schema), a picture (1-D, 2-D) and a report."""
        r = self.regions
        run.write_yaml("config.yaml", self.config.to_dict())
        run.write_json("metrics.json", self.metrics)
        run.write_text("regions.json", r.to_json())
        figures = []
        name = Path(self.config.weights).name
        if r.n_inputs == 2:
            from tinylens.viz.geometry import plot_regions_2d

            run.save_figure(
                "regions.png",
                plot_regions_2d(
                    r.vertices,  # type: ignore[arg-type]
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
            x = np.unique(np.concatenate([np.linspace(lo, hi, 400), r.intervals.ravel()]))  # type: ignore[union-attr]
            run.save_figure(
                "regions.png",
                plot_pieces_1d(
                    x,
                    r.evaluate(x[:, None]),
                    r.intervals[1:, 0],  # type: ignore[index]
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
                f"method {r.method!r}, {self.seconds:.3g} s). Counting layer by layer, the "
                f"sub-networks have {', '.join(map(str, r.counts_per_layer))} regions. Every "
                "region's pattern, affine map and geometry are in regions.json."
            ),
            metrics={k: v for k, v in self.metrics.items() if not isinstance(v, list)},
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
            config=self.config.to_dict(),
        )
        run.add_section(section, title=f"tinylens regions: {name}")


def run_regions(config: RegionsStudyConfig) -> RegionsResult:
    """Load the network, check the box against it, and enumerate its regions."""
    net, box = config.check()
    t0 = time.perf_counter()
    regions = linear_regions(net, box, method=config.method)
    return RegionsResult(config, regions, time.perf_counter() - t0)


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
