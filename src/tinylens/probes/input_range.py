"""Inputs checked against the range a model was trained on.

Several figures of our source were computed by feeding 0..255 pixels to a network trained on
pixels in [0, 1]: every activation was 255 times too large and the maps meant nothing, with no
error anywhere. tinylens records the training input range (in the weights file's ``info`` and
in study results) and :func:`check_input_range` compares new inputs with it, warning loudly
(:class:`InputRangeWarning`) with the fix:

>>> import warnings
>>> import numpy as np
>>> trained = InputRange(0.0, 1.0)
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     ok = check_input_range(np.array([[0.0, 255.0]]), trained)
>>> ok, str(caught[0].message)
(False, 'input range mismatch: inputs span 0..255 but the model was trained on 0..1: divide by 255')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError

__all__ = [
    "InputRange",
    "InputRangeWarning",
    "check_input_range",
    "input_range_from_info",
    "input_range_of",
    "input_range_problem",
    "observed_range",
]

TOLERANCE = 0.05
"""Slack, as a fraction of the training range's width, before inputs count as out of range."""


class InputRangeWarning(UserWarning):
    """Inputs lie outside the range the model was trained on (a scale mistake, usually)."""


@dataclass(frozen=True)
class InputRange:
    """The range of a model's training inputs.

    Attributes
    ----------
    low, high : float
    normalization : (mean, std), optional
        When the inputs were ``(pixels - mean) / std`` of pixels in [0, 1].
    """

    low: float
    high: float
    normalization: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(
                f"an input range needs finite low < high, got {self.low}, {self.high}"
            )

    def to_dict(self) -> dict[str, Any]:
        norm = None
        if self.normalization is not None:
            norm = {"mean": self.normalization[0], "std": self.normalization[1]}
        return {"low": self.low, "high": self.high, "normalization": norm}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InputRange:
        norm = d.get("normalization")
        pair = None if not norm else (float(norm["mean"]), float(norm["std"]))
        return cls(float(d["low"]), float(d["high"]), pair)

    def __str__(self) -> str:
        return f"{_num(self.low)}..{_num(self.high)}"


def _num(v: float) -> str:
    return f"{v:.4g}"


def observed_range(X: Any) -> tuple[float, float]:
    """``(min, max)`` of the finite entries of ``X``."""
    a = np.asarray(getattr(X, "X", X), dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        raise ConfigError("no finite inputs to check")
    return float(a.min()), float(a.max())


def input_range_of(data: Any) -> InputRange:
    """The training input range of a Dataset (its declared ``input_range``, else the observed
    one) with its normalization (``info["normalization"]``, scalar mean and std only)."""
    declared = getattr(data, "input_range", None)
    low, high = declared if declared is not None else observed_range(data)
    info = getattr(data, "info", {}) or {}
    norm = info.get("normalization")
    pair = None
    if norm is not None and np.ndim(norm.get("mean")) == 0 and np.ndim(norm.get("std")) == 0:
        pair = (float(norm["mean"]), float(norm["std"]))
    return InputRange(float(low), float(high), pair)


def input_range_from_info(info: Mapping[str, Any] | None) -> InputRange | None:
    """The range recorded under ``"input_range"`` in a weights file's ``info`` (or None)."""
    if not info or not isinstance(info.get("input_range"), Mapping):
        return None
    try:
        return InputRange.from_dict(info["input_range"])
    except (KeyError, TypeError, ValueError, ConfigError):
        return None


def _fix(lo: float, hi: float, trained: InputRange, tol: float) -> str:
    """What to do about inputs spanning lo..hi."""
    norm = trained.normalization
    eight_bit = hi > 1.0 + tol and hi <= 255.5 and lo >= -tol
    if norm is not None:
        m, s = norm
        if eight_bit:
            return f"divide by 255, then normalize as in training: (x / 255 - {m:g}) / {s:g}"
        if lo >= -tol and hi <= 1.0 + tol:
            return f"normalize them as in training: (x - {m:g}) / {s:g}"
        return "rescale them to the training range"
    if trained.high <= 1.0 + tol and trained.low >= -tol:  # trained on pixels in [0, 1]
        if eight_bit:
            return (
                "divide by 255" if hi > 16.5 else "divide by their full scale (16 for 0..16 counts)"
            )
        if lo < -tol and hi <= 4.0:
            return "they look normalized; undo it (x * std + mean) to get pixels in 0..1"
    if trained.high >= 100 and hi <= 1.0 + tol:
        return "multiply by 255"
    return "rescale them to the training range"


def input_range_problem(
    X: Any,
    trained: InputRange | Mapping[str, Any] | tuple[float, float],
    *,
    what: str = "inputs",
    tolerance: float = TOLERANCE,
) -> str | None:
    """What is wrong with the range of ``X`` for a model trained on ``trained`` (None: nothing).

    Parameters as in :func:`check_input_range`, which warns with this message.
    """
    if isinstance(trained, InputRange):
        rng = trained
    elif isinstance(trained, Mapping):
        rng = InputRange.from_dict(trained)
    else:
        rng = InputRange(float(trained[0]), float(trained[1]))
    lo, hi = observed_range(X)
    tol = tolerance * (rng.high - rng.low)
    outside = lo < rng.low - tol or hi > rng.high + tol
    shrunk = rng.high >= 100 and hi <= 1.0 + tolerance  # 0..1 inputs, 0..255 model
    # Raw pixels fed to a model trained on normalized ones lie inside its (wider) range, but
    # never reach its negative background value: the recorded normalization gives them away.
    unnormalized = (
        rng.normalization is not None
        and lo >= -tolerance
        and hi <= 1.0 + tolerance
        and (rng.low < -tolerance or rng.high > 1.0 + tolerance)
    )
    if not (outside or shrunk or unnormalized):
        return None
    return (
        f"input range mismatch: {what} span {_num(lo)}..{_num(hi)} but the model was trained "
        f"on {rng}: {_fix(lo, hi, rng, tolerance)}"
    )


def check_input_range(
    X: Any,
    trained: InputRange | Mapping[str, Any] | tuple[float, float],
    *,
    what: str = "inputs",
    tolerance: float = TOLERANCE,
) -> bool:
    """Warn (:class:`InputRangeWarning`) when ``X`` leaves the training range; True when fine.

    Parameters
    ----------
    X : array (or a Dataset: its ``X``)
    trained : InputRange, its dict, or (low, high)
    what : str
        How the message names the inputs.
    tolerance : float
        Allowed overshoot as a fraction of the training range's width.

    Two mistakes that stay inside the range are flagged too: 0..1 inputs fed to a model trained
    on 0..255, and raw 0..1 pixels fed to a model trained on normalized ones (when the range
    records its normalization).
    """
    problem = input_range_problem(X, trained, what=what, tolerance=tolerance)
    if problem is None:
        return True
    warnings.warn(problem, InputRangeWarning, stacklevel=2)
    return False
