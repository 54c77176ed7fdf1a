"""Checks for the arguments of the dataset generators (one ``ConfigError`` line each)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinylens.errors import ConfigError

__all__ = ["check_count", "check_nonnegative", "check_range", "seed_of"]


def check_count(name: str, value: object, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (bools are refused: ``n=True`` is a typo, not 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer >= {minimum}, not {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, not {value}")
    return int(value)


def check_nonnegative(name: str, value: object) -> float:
    """``value`` as a finite float >= 0 (noise levels)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number >= 0, not {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ConfigError(f"{name} must be a finite number >= 0, not {value}")
    return number


def check_range(name: str, low: object, high: object) -> tuple[float, float]:
    """``(low, high)`` as finite floats with ``low < high``."""
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ConfigError(f"{name} needs finite numbers, got ({low!r}, {high!r})")
    if not low < high:  # type: ignore[operator]
        raise ConfigError(f"{name} needs low < high, got ({low}, {high})")
    return float(low), float(high)  # type: ignore[arg-type]


def seed_of(rng: object) -> int | None:
    """The int seed to record in ``Dataset.info`` (None for a Generator or fresh entropy)."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    return None
