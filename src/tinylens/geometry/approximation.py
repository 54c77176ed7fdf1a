"""How well can ``width`` ReLU neurons approximate a 1-D function? Capacity without training.

Three references for a ``1 -> width -> 1`` ReLU network, none of them trained:

- :func:`interpolation_net`: the piecewise-linear interpolant of ``f`` at ``width + 1`` evenly
  spaced knots, written exactly as a ReLU network (one neuron per piece: the first carries the
  first slope, each next one the change of slope at its kink);
- :func:`least_squares_net`: the kinks placed evenly (the same knots), the output layer solved
  by linear least squares on data: the best network with those kinks;
- :func:`interpolation_rate`: the textbook rate for a smooth ``f``. Linear interpolation on a
  piece of length ``h`` leaves ``e(x) ~ f''(x)/2 (x - a)(x - b)``, whose mean square over the
  piece is ``f''^2 h^4 / 120``; with ``h = (hi - lo) / width`` the RMSE over the range is
  ``(hi - lo)^2 sqrt(mean f''^2 / 120) / width^2``: halving the pieces quarters the error.

>>> import numpy as np
>>> net = interpolation_net(np.abs, -1.0, 1.0, 2)  # knots -1, 0, 1: |x| exactly
>>> net(np.array([[-0.5], [0.25], [1.0]]))[:, 0].tolist()
[0.5, 0.25, 1.0]
>>> round(interpolation_rate(np.sin, 0.0, 2 * np.pi, 8), 4)
0.0398
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinylens.engine import AffineNet
from tinylens.errors import ConfigError, ShapeError

__all__ = [
    "even_kinks",
    "interpolation_net",
    "interpolation_rate",
    "least_squares_net",
    "relu_features",
    "rmse_against",
]

RATE_POINTS = 20001
"""Grid points for ``mean f''^2`` (second differences) in :func:`interpolation_rate`."""


def even_kinks(lo: float, hi: float, width: int) -> np.ndarray:
    """``width`` kinks ``lo, lo + h, ..., hi - h`` with ``h = (hi - lo) / width``: the left ends
    of ``width`` equal pieces (the first neuron, kinked at ``lo``, is a line over the range)."""
    if width < 1:
        raise ConfigError(f"width must be a positive integer, got {width}")
    if not hi > lo:
        raise ConfigError(f"the range must have lo < hi, got ({lo}, {hi})")
    return lo + (hi - lo) * np.arange(width) / width


def relu_features(x: np.ndarray, kinks: np.ndarray) -> np.ndarray:
    """``[relu(x - k_1), ..., relu(x - k_w), 1]``: shape (n, width + 1), float64."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return np.column_stack(
        [np.maximum(x[:, None] - np.asarray(kinks)[None, :], 0.0), np.ones_like(x)]
    )


def _net(kinks: np.ndarray, w_out: np.ndarray, b_out: float) -> AffineNet:
    """The network ``sum_j w_out[j] relu(x - kinks[j]) + b_out`` (slopes 1, biases -kink)."""
    width = len(kinks)
    return AffineNet.from_lists(
        [
            (np.ones((width, 1)), -np.asarray(kinks, dtype=np.float64), "relu"),
            (np.asarray(w_out, dtype=np.float64).reshape(1, width), [float(b_out)], "identity"),
        ]
    )


def interpolation_net(
    fn: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, width: int
) -> AffineNet:
    """The piecewise-linear interpolant of ``fn`` at the knots ``lo, lo + h, ..., hi``, as a
    ``1 -> width -> 1`` ReLU network that equals it on ``[lo, hi]``."""
    kinks = even_kinks(lo, hi, width)
    knots = np.append(kinks, hi)
    values = np.asarray(fn(knots), dtype=np.float64).reshape(-1)
    slopes = np.diff(values) / np.diff(knots)
    w_out = np.diff(slopes, prepend=0.0)  # the first slope, then each change of slope
    return _net(kinks, w_out, values[0])


def least_squares_net(x: np.ndarray, y: np.ndarray, width: int) -> AffineNet:
    """The best ``1 -> width -> 1`` ReLU network (in mean squared error on ``(x, y)``) whose
    kinks sit at :func:`even_kinks` over the range of ``x``: the output layer solved by linear
    least squares (``numpy.linalg.lstsq``, minimum-norm when features coincide)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(x) != len(y) or not len(x):
        raise ShapeError(f"x has {len(x)} points and y {len(y)}; give the same number (> 0)")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ConfigError("x and y must be finite (NaN or infinite values found)")
    kinks = even_kinks(float(x.min()), float(x.max()), width)
    coef, *_ = np.linalg.lstsq(relu_features(x, kinks), y, rcond=None)
    return _net(kinks, coef[:-1], coef[-1])


def interpolation_rate(
    fn: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, width: int
) -> float:
    """``(hi - lo)^2 sqrt(mean f''^2 / 120) / width^2``: the RMSE of piecewise-linear
    interpolation with ``width`` even pieces, for a smooth ``fn`` and many pieces (``f''`` by
    second differences on :data:`RATE_POINTS` points)."""
    x = np.linspace(lo, hi, RATE_POINTS)
    step = x[1] - x[0]
    f2 = np.diff(np.asarray(fn(x), dtype=np.float64), 2) / step**2
    return float((hi - lo) ** 2 * np.sqrt(np.mean(f2**2) / 120.0) / width**2)


def rmse_against(
    predict: Callable[[np.ndarray], np.ndarray],
    fn: Callable[[np.ndarray], np.ndarray],
    lo: float,
    hi: float,
    points: int = 1000,
) -> float:
    """RMSE of ``predict`` (inputs of shape (n, 1)) against ``fn`` on ``points`` even points of
    ``[lo, hi]``."""
    x = np.linspace(lo, hi, points).reshape(-1, 1)
    y = np.asarray(fn(x), dtype=np.float64).reshape(-1)
    pred = np.asarray(predict(x), dtype=np.float64).reshape(-1)
    return float(np.sqrt(np.mean((pred - y) ** 2)))
