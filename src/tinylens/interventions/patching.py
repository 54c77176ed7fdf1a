"""Activation patching: copy activations of a *clean* run into a *corrupted* one.

The question it answers: which units carry the information that distinguishes the clean input
from the corrupted one? Patch a unit's clean value into the corrupted run; if the output moves
back towards the clean output, that unit carries it. :func:`patching_sweep` in
:mod:`tinylens.interventions.unit_sweeps` patches every unit at once.

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([3, 4, 2], rng=0)
>>> clean, corrupted = np.ones((5, 3)), np.zeros((5, 3))
>>> out = patch_activation(net, corrupted, clean, "layers.1")  # every unit patched
>>> bool(np.allclose(out, net.forward(clean)))
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinylens.hooks import hooked
from tinylens.interventions.edits import Edit, as_units, unit_axis
from tinylens.typing import ModelLike

__all__ = ["patch_activation", "patching"]


def patching(
    name: str, clean: Any, units: int | Sequence[int] | None = None, *, axis: int | None = None
) -> Edit:
    """Replace the chosen units by their values in a clean run.

    ``clean`` is the clean activations at ``name`` (shape (n, *unit_shape), the same n inputs
    as the corrupted batch) or an ActivationCache holding them. ``axis`` names the unit axis
    of an activation that is neither (batch, unit) nor (batch, channel, h, w).
    """
    if isinstance(clean, Mapping):
        clean = clean[name]
    clean = np.asarray(clean)
    clean = np.moveaxis(clean, unit_axis(axis, clean.ndim, name), 1)
    sel = as_units(units)
    value = clean if sel is None else clean[:, list(sel)]
    return Edit(name, sel, scale=0.0, value=value, label="patch", axis=axis)


def patch_activation(
    model: ModelLike,
    corrupted_x: Any,
    clean_x: Any,
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    axis: int | None = None,
) -> Any:
    """The output on ``corrupted_x`` with the chosen units at ``name`` taken from ``clean_x``."""
    h = hooked(model)
    _, cache = h.run_with_cache(clean_x, names=[name])
    return h.run_with_hooks(corrupted_x, [patching(name, cache, units, axis=axis).hook])
