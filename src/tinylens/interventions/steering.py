"""Steering: add a direction to the activation at a hook point.

>>> import numpy as np
>>> edit = steering("layers.1", np.array([1.0, 0.0, -1.0]), alpha=2.0)
>>> edit(np.zeros((1, 3)))
array([[ 2.,  0., -2.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.errors import DataError
from tinylens.interventions._reference import reference_activations
from tinylens.interventions.edits import Edit, as_units
from tinylens.typing import ModelLike

__all__ = ["mean_difference", "steering"]


def steering(
    name: str,
    direction: np.ndarray,
    alpha: float = 1.0,
    units: int | Sequence[int] | None = None,
    *,
    axis: int | None = None,
) -> Edit:
    """Add ``alpha * direction`` to the activation at ``name``.

    ``direction`` has the unit shape (all units) or one entry per unit of ``units``; for image
    activations a vector of one entry per channel is added at every position, and so is one
    entry per feature of a ``(batch, position, feature)`` activation with ``axis=-1``.
    """
    vec = alpha * np.asarray(direction, dtype=np.float64)
    return Edit(name, as_units(units), value=vec, label=f"steer {alpha:g}", axis=axis)


def mean_difference(model: ModelLike, source: Any, target: Any, name: str) -> np.ndarray:
    """The mean activation at ``name`` on ``target`` inputs minus that on ``source`` inputs:
    a direction that steers the one towards the other (e.g. class 3 towards class 8)."""
    a = reference_activations(model, source, name)
    b = reference_activations(model, target, name)
    if len(a) == 0 or len(b) == 0:
        raise DataError("mean_difference needs at least one source and one target input")
    return b.mean(axis=0) - a.mean(axis=0)
