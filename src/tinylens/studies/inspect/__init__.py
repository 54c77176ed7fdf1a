"""What ``tinylens inspect`` reports: a network's hook points, their activation shapes, and,
given data, streaming statistics at each (dead units, fraction active, value ranges).

>>> import tinylens as tl, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
>>> _ = tl.save(tl.MLP([64, 8, 10], rng=0), path)
>>> result = inspect_model(str(path), data="digits")
>>> [(p.name, p.kind, p.shape) for p in result.points]
[('layers.0', 'linear', (8,)), ('layers.1', 'relu', (8,)), ('layers.2', 'linear', (10,))]
>>> result.points[1].stats.units
8
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.probes import StatsRow, neuron_stats

__all__ = ["HookPointInfo", "InspectResult", "inspect_model"]


@dataclass
class HookPointInfo:
    """One hook point: its module kind, activation shape per sample, and statistics."""

    name: str
    kind: str
    shape: tuple[int, ...] | None
    parameters: int
    stats: StatsRow | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape) if self.shape is not None else None,
            "parameters": self.parameters,
        }
        if self.stats is not None:
            st = self.stats
            out["stats"] = {
                "units": st.units,
                "dead": st.dead,
                "frac_active": round(st.frac_active, 6),
                "mean": round(st.mean, 6),
                "std": round(st.std, 6),
                "max": round(st.max, 6),
            }
        return out


@dataclass
class InspectResult:
    path: str
    n_parameters: int
    points: list[HookPointInfo]
    data_source: str | None = None
    n_samples: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.path,
            "parameters": self.n_parameters,
            "data": self.data_source,
            "samples": self.n_samples,
            "hook_points": [p.to_dict() for p in self.points],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """A table for the terminal."""
        head = f"{self.path}: {len(self.points)} hook points, {self.n_parameters} parameters"
        if self.data_source:
            head += f"; statistics over {self.n_samples} samples of {self.data_source}"
        rows = [head]
        stats = self.data_source is not None
        header = f"  {'hook point':<12} {'module':<10} {'shape':<14} {'params':>7}"
        if stats:
            header += f" {'units':>6} {'dead':>5} {'active':>7} {'mean':>8} {'std':>8} {'max':>8}"
        rows.append(header)
        for p in self.points:
            shape = "x".join(map(str, p.shape)) if p.shape is not None else "?"
            line = f"  {p.name:<12} {p.kind:<10} {shape:<14} {p.parameters:>7}"
            if p.stats is not None:
                s = p.stats
                line += (
                    f" {s.units:>6} {s.dead:>5} {s.frac_active:>7.3f} {s.mean:>8.3f} "
                    f"{s.std:>8.3f} {s.max:>8.3f}"
                )
            rows.append(line)
        if stats:
            rows.append(
                "  (image hook points: per channel; active = mean fraction of samples > 0; "
                "dead = never > 0)"
            )
        rows += [f"note: {n}" for n in self.notes]
        return rows


def inspect_model(
    path: str,
    data: str | None = None,
    *,
    data_params: dict[str, Any] | None = None,
    data_dir: str | None = None,
    seed: int = 0,
    batch_size: int = 2048,
    quiet: bool = True,
) -> InspectResult:
    """Read a weights file and describe its hook points (with statistics over ``data``)."""
    from tinylens.io import load

    net = load(path)
    net.eval()
    dataset, source, notes = None, None, []
    if data is not None:
        from tinylens.studies.ablate import check_trained_range, evaluation_data

        dataset, source, notes = evaluation_data(data, data_params or {}, seed, data_dir)
        notes += check_trained_range(path, dataset.X, source)
    sample = None
    if dataset is not None:
        sample = dataset.X[:1]
    elif net.in_features is not None:
        sample = np.zeros((1, net.in_features), dtype=net.dtype)
    shapes: dict[str, tuple[int, ...]] = {}
    if sample is not None:
        _, cache = net.run_with_cache(sample)
        shapes = {k: tuple(v.shape[1:]) for k, v in cache.items()}
    else:
        notes.append("the network takes images of unknown size; pass --data to see shapes")
    rows: dict[str, StatsRow] = {}
    if dataset is not None:
        stats = neuron_stats(net, dataset, batch_size=batch_size, per_channel=True, quiet=quiet)
        rows = {r.name: r for r in stats.summary()}
    points = [
        HookPointInfo(
            name=m.name,
            kind=m.kind,
            shape=shapes.get(m.name),
            parameters=int(sum(p.data.size for p in m.parameters())),
            stats=rows.get(m.name),
        )
        for m in net.layers
    ]
    return InspectResult(
        path=path,
        n_parameters=net.n_parameters(),
        points=points,
        data_source=source,
        n_samples=dataset.n if dataset is not None else 0,
        notes=notes,
    )
