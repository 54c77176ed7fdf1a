"""Scaling: multiply chosen neurons (or channels) by a factor.

>>> import numpy as np
>>> edit = scaling("layers.1", [0, 2], 3.0)
>>> edit(np.ones((2, 4)))
array([[3., 1., 3., 1.],
       [3., 1., 3., 1.]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinylens.interventions.edits import Edit, as_units

__all__ = ["scaling"]


def scaling(
    name: str,
    units: int | Sequence[int] | None,
    factor: float | np.ndarray,
    *,
    axis: int | None = None,
) -> Edit:
    """Multiply the chosen units by ``factor`` (a number, or one per unit). 0 is zero ablation,
    1 changes nothing, 2 doubles the units' effect downstream. ``axis`` names the unit axis of
    an activation that is neither (batch, unit) nor (batch, channel, h, w)."""
    return Edit(
        name,
        as_units(units),
        scale=factor,
        label=f"scale {factor:g}" if np.isscalar(factor) else "scale",
        axis=axis,
    )
