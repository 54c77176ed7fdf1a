"""Ablation presets: zero, mean (from a reference set) and resample ablation.

Each returns an :class:`~tinylens.interventions.edits.Edit`: a hook, active only where it is
used (``run_with_hooks``, ``intervene``); none changes a model.

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([3, 4, 2], rng=0)
>>> x = np.random.default_rng(0).normal(size=(50, 3))
>>> edit = mean_ablation("layers.1", [1], model=net, reference=x)
>>> _, cache = net.run_with_cache(x)
>>> bool(np.allclose(edit(cache["layers.1"])[:, 1], cache["layers.1"][:, 1].mean()))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError
from tinylens.interventions._reference import reference_activations
from tinylens.interventions.edits import Edit, as_units, unit_axis
from tinylens.typing import ModelLike, Seed

__all__ = ["mean_ablation", "resample_ablation", "zero_ablation"]


def zero_ablation(
    name: str, units: int | Sequence[int] | None = None, *, axis: int | None = None
) -> Edit:
    """Set the chosen units (neurons, or channels of an image activation) to zero.

    ``axis`` names the unit axis of any other activation (``-1``: the features of ``(batch,
    position, feature)``); see :func:`~tinylens.interventions.edits.unit_axis`.
    """
    return Edit(name, as_units(units), scale=0.0, label="zero", axis=axis)


def mean_ablation(
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    mean: np.ndarray | None = None,
    model: ModelLike = None,
    reference: Any = None,
    axis: int | None = None,
) -> Edit:
    """Replace the chosen units by their mean activation over a reference set.

    Parameters
    ----------
    name : str
    units : int or sequence of int, optional
    mean : array of the unit shape, optional
        Precomputed means (``neuron_stats(...)[name].mean_``); else computed from
        ``reference`` (a Dataset or array of inputs) run through ``model``. Image activations are
        averaged per position, so an ablated channel keeps its mean map.
    axis : int, optional
        The unit axis (as in :func:`zero_ablation`); the others keep their per-position means.
    """
    if mean is None:
        if model is None or reference is None:
            raise ConfigError("mean_ablation needs mean=... or both model=... and reference=...")
        mean = reference_activations(model, reference, name).mean(axis=0)
    mean = np.asarray(mean, dtype=np.float64)
    sel = as_units(units)
    # the mean has the unit shape: its unit axis is the activation's minus the batch axis
    mean = np.moveaxis(mean, unit_axis(axis, mean.ndim + 1, name) - 1, 0)
    value = mean if sel is None else mean[list(sel)]
    return Edit(name, sel, scale=0.0, value=value, label="mean", axis=axis)


def resample_ablation(
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    model: ModelLike,
    reference: Any,
    rng: Seed,
    axis: int | None = None,
) -> Edit:
    """Replace the chosen units of each sample by their values on a random reference input.

    Every batch draws fresh reference rows from ``rng`` (a seed or Generator), so repeated
    runs with the same seed give the same numbers. ``axis`` as in :func:`zero_ablation`.
    """
    acts = reference_activations(model, reference, name)
    acts = np.moveaxis(acts, unit_axis(axis, acts.ndim, name), 1)
    sel = as_units(units)
    pool = acts if sel is None else acts[:, list(sel)]
    gen = as_rng(rng)

    def draw(n: int) -> np.ndarray:
        return pool[gen.integers(0, len(pool), size=n)]

    return Edit(name, sel, scale=0.0, value=draw, label="resample", axis=axis)
