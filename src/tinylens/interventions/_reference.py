"""Activations of a reference set at one hook point (what mean and resample ablation need)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.hooks import evaluating
from tinylens.typing import ModelLike


def reference_activations(
    model: ModelLike, reference: Any, name: str, batch_size: int = 4096
) -> Any:
    """Activations at ``name`` for every row of ``reference`` (a Dataset or an array), in
    evaluation mode, as NumPy of shape (n_reference, *unit_shape)."""
    X = reference.X if hasattr(reference, "X") else np.asarray(reference)
    if len(X) == 0:
        from tinylens.errors import DataError

        raise DataError("the reference set is empty")
    with evaluating(model) as h:
        parts = [
            np.array(h.forward_to(X[i : i + batch_size], name))
            for i in range(0, len(X), batch_size)
        ]
    return np.concatenate(parts)
