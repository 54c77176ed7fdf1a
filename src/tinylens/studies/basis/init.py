"""Kinks started inside the data: the basis study's initialisation.

A neuron ``relu(w x + b)`` of a one-input network switches at its kink ``-b / w``. PyTorch's
default initialisation draws ``w`` and ``b`` from ``U(-1, 1)`` (one input), so the kinks start
within about one unit of 0, at the left edge of the sine's [0, 2 pi]: a neuron with ``w < 0``
and ``b < 0`` (a quarter of them, on average) never fires on the data, gets no gradient and
stays dead, and training kills more (the default run lost 8 of its 15). :func:`place_kinks`
keeps each neuron's slope and output weight and moves its kink to a point drawn uniformly inside
the data's range (``b = -w k``): every neuron with a nonzero slope fires on part of the data.

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> net = place_kinks(MLP([1, 4, 1], rng=0, init="torch"), 0.0, 6.0, rng=1)
>>> w, b = net.layers[0].weight.data[:, 0], net.layers[0].bias.data
>>> bool(np.all((0 <= -b / w) & (-b / w <= 6)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.engine import BatchedMLP, Sequential
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError

__all__ = ["place_kinks"]


def place_kinks(net: Any, lo: float, hi: float, *, rng: Any = None) -> Any:
    """A copy of ``net`` (a one-input engine ``Sequential`` or ``BatchedMLP``) whose first
    layer's kinks are drawn uniformly from ``[lo, hi]``; slopes and every other weight kept."""
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"the kinks' range must be finite with lo < hi, got ({lo}, {hi})")
    gen = as_rng(rng)
    out = net.copy()
    if isinstance(out, BatchedMLP):
        if out.biases is None or out.in_features != 1:
            raise ConfigError("place_kinks needs one input and biases")
        w, b = out.weights[0].data[:, :, 0], out.biases[0].data
    elif isinstance(out, Sequential):
        first = out.layers[0]
        if getattr(first, "bias", None) is None or first.weight.data.shape[1] != 1:
            raise ConfigError("place_kinks needs one input and biases")
        w, b = first.weight.data[:, 0], first.bias.data
    else:
        raise ConfigError(f"place_kinks takes an engine Sequential or BatchedMLP, not {net!r}")
    kinks = gen.uniform(lo, hi, size=w.shape)
    b[...] = (-w.astype(np.float64) * kinks).astype(b.dtype)
    return out
