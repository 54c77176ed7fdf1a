"""Weight initialisation from an explicit ``numpy.random.Generator``.

Values are drawn in float64 and then cast, so a float32 and a float64 network built from the
same seed hold the same weights up to rounding.

============  ======================================  ===========
name          weight distribution                      bias
============  ======================================  ===========
``he``        N(0, 2 / fan_in)   (Kaiming normal)      0
``he_uniform``U(+-sqrt(6 / fan_in))                    0
``xavier``    U(+-sqrt(6 / (fan_in + fan_out)))        0
``xavier_normal`` N(0, 2 / (fan_in + fan_out))         0
``torch``     U(+-1/sqrt(fan_in))  (nn.Linear default) U(+-1/sqrt(fan_in))
============  ======================================  ===========

``auto`` picks ``he`` for the ReLU family and ``xavier`` otherwise.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np

from tinylens.errors import ConfigError, UnknownNameError

__all__ = ["INITS", "as_rng", "init_affine", "resolve_init"]

INITS = ("auto", "he", "he_uniform", "xavier", "xavier_normal", "torch")
_RELU_FAMILY = {"relu", "leaky_relu", "gelu", "softplus"}


def resolve_init(init: str, activation: str) -> str:
    """Turn ``"auto"`` into a concrete scheme for a layer followed by ``activation``."""
    if init not in INITS:
        raise UnknownNameError("initialisation", init, INITS)
    if init != "auto":
        return init
    return "he" if activation in _RELU_FAMILY else "xavier"


def init_affine(
    rng: np.random.Generator, fan_in: int, fan_out: int, scheme: str
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(weight [fan_out, fan_in], bias [fan_out])`` in float64 for a concrete scheme."""
    shape = (fan_out, fan_in)
    bias = np.zeros(fan_out)
    if scheme == "he":
        weight = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    elif scheme == "he_uniform":
        bound = math.sqrt(6.0 / fan_in)
        weight = rng.uniform(-bound, bound, size=shape)
    elif scheme == "xavier":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        weight = rng.uniform(-bound, bound, size=shape)
    elif scheme == "xavier_normal":
        weight = rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    elif scheme == "torch":
        bound = 1.0 / math.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, size=shape)
        bias = rng.uniform(-bound, bound, size=fan_out)
    else:
        raise UnknownNameError("initialisation", scheme, INITS[1:])
    return weight, bias


Seed: TypeAlias = np.random.Generator | int | None
"""What every ``rng`` / ``seed`` parameter takes: a Generator (used as is), an int seed (>= 0) or
None (fresh entropy). :func:`as_rng` turns it into a Generator."""


def as_rng(rng: Seed) -> np.random.Generator:
    """A ``Generator`` from a Generator (returned as is), an int seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ConfigError(f"a seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(rng)
    raise ConfigError(
        f"rng must be a numpy Generator, an int seed or None, not {type(rng).__name__}"
    )
