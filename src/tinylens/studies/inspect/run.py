"""Run ``tinylens inspect``: read a network's hook points and their activation shapes, and,
given data, streaming statistics at each (dead units, fraction active, value ranges). Writes
no files.

>>> import tinylens as tl, tempfile, pathlib
>>> from tinylens.studies.inspect import InspectConfig, run
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
>>> _ = tl.save(tl.MLP([64, 8, 10], rng=0), path)
>>> result = run(InspectConfig(model=str(path), data="digits"), progress=False)
>>> [(p.name, p.kind, p.shape) for p in result.points]
[('layers.0', 'linear', (8,)), ('layers.1', 'relu', (8,)), ('layers.2', 'linear', (10,))]
>>> result.points[1].stats.units
8
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.data import Dataset
from tinylens.engine import Sequential
from tinylens.probes import StatsRow, neuron_stats
from tinylens.studies.data import check_trained_range, evaluation_data, load_model
from tinylens.studies.inspect.config import InspectConfig
from tinylens.studies.inspect.result import HookPointInfo, InspectResult

__all__ = ["run"]


def run(
    config: InspectConfig,
    *,
    model: Sequential | None = None,
    data: Dataset | None = None,
    progress: bool = True,
) -> InspectResult:
    """Describe the network's hook points (with statistics over the data, if any).

    Parameters
    ----------
    config : InspectConfig
    model : engine Sequential, optional
        Default: loaded from ``config.model``.
    data : Dataset, optional
        Default: :func:`tinylens.studies.data.evaluation_data` of ``config.data``, if set.
    progress : bool
        A progress bar over the batches of the statistics.
    """
    net = load_model(config.model, model)
    net.eval()
    source: str | None = None
    notes: list[str] = []
    if data is not None:
        source = data.name
    elif config.data is not None:
        data, source, notes = evaluation_data(
            config.data, config.data_params, config.seed, config.data_dir
        )
        if config.model:
            notes += check_trained_range(config.model, data.X, source)
    sample: Any = None
    if data is not None:
        sample = data.X[:1]
    elif net.in_features is not None:
        sample = np.zeros((1, net.in_features), dtype=net.dtype)
    shapes: dict[str, tuple[int, ...]] = {}
    if sample is not None:
        _, cache = net.run_with_cache(sample)
        shapes = {k: tuple(v.shape[1:]) for k, v in cache.items()}
    else:
        notes.append("the network takes images of unknown size; pass --data to see shapes")
    rows: dict[str, StatsRow] = {}
    if data is not None:
        stats = neuron_stats(
            net, data, batch_size=config.batch_size, per_channel=True, quiet=not progress
        )
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
        path=config.model,
        n_parameters=net.n_parameters(),
        points=points,
        data_source=source,
        n_samples=data.n if data is not None else 0,
        notes=notes,
    )
