"""Small synthetic datasets: 1-D regression curves and 2-D classification toys.

Every generator takes a keyword ``rng`` (a numpy Generator, an int seed, or None for fresh
entropy) and returns the same :class:`~tinylens.data.dataset.Dataset` for the same seed. Values
are computed in float64 and rounded to float32 once, at the end.

>>> ds = spiral(300, classes=3, rng=0)
>>> ds.X.shape, ds.y.shape, ds.n_classes
((300, 2), (300,), 3)
>>> sine(50).y.shape
(50, 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from tinylens.data._params import (
    check_count,
    check_nonnegative,
    check_range,
    seed_of,
)
from tinylens.data.dataset import Dataset
from tinylens.data.functions import target_function
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, ShapeError, UnknownNameError
from tinylens.typing import Seed

__all__ = ["TARGETS", "Target", "moons", "polynomial", "regression_1d", "sine", "spiral", "xor"]


class Target(NamedTuple):
    """A named 1-D regression target: ``fn`` maps x (float64 array) to y, on ``x_range``."""

    fn: Callable[[np.ndarray], np.ndarray]
    x_range: tuple[float, float]
    description: str


def _shared(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """A one-input function of the shared table (:mod:`tinylens.data.functions`) on x of any
    shape."""
    batch = target_function(name).batch

    def fn(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return batch(x.reshape(-1, 1)).reshape(x.shape)

    return fn


def _rough(x: np.ndarray) -> np.ndarray:
    # Weierstrass-like: bounded by sum(0.5**k) < 2, with wiggles at 6 scales (3**k half-periods
    # per unit), so a small network fits the coarse shape long before the fine one.
    return sum(0.5**k * np.cos(3**k * np.pi * x) for k in range(6))


TARGETS: dict[str, Target] = {
    "sine": Target(np.sin, (0.0, 2 * math.pi), "sin(x) on [0, 2pi]"),
    "polynomial": Target(lambda x: x**3 - x, (-1.5, 1.5), "x**3 - x on [-1.5, 1.5]"),
    "abs": Target(_shared("abs"), (-1.0, 1.0), "|x| on [-1, 1]"),
    "rough": Target(_rough, (-1.0, 1.0), "sum_{k<6} 0.5**k cos(3**k pi x) on [-1, 1]"),
}


def regression_1d(
    target: str | Callable[[np.ndarray], np.ndarray],
    n: int = 200,
    noise: float = 0.0,
    *,
    rng: Seed = None,
    x_range: tuple[float, float] | None = None,
) -> Dataset:
    """A 1-D curve sampled on an even grid: ``y = f(x) + noise * N(0, 1)``.

    Parameters
    ----------
    target : str or callable
        A name in :data:`TARGETS` (``"sine"``, ``"polynomial"``, ``"abs"``, ``"rough"``), or a
        function of a float64 array of shape (n, 1) returning the same shape (or (n,)).
    n : int
        Number of samples.
    noise : float
        Standard deviation of the Gaussian noise added to the targets.
    rng : numpy Generator, int seed or None
        Only used when ``noise > 0``.
    x_range : (float, float), optional
        Defaults to the target's own range (``(-1, 1)`` for a callable).

    Returns
    -------
    Dataset
        ``X`` : array of shape (n, 1), ``np.linspace(lo, hi, n)``; ``y`` : array of shape (n, 1).

    >>> ds = regression_1d("abs", 5)
    >>> ds.X.ravel().tolist(), ds.y.ravel().tolist()
    ([-1.0, -0.5, 0.0, 0.5, 1.0], [1.0, 0.5, 0.0, 0.5, 1.0])
    """
    if isinstance(target, str):
        if target not in TARGETS:
            raise UnknownNameError("regression target", target, TARGETS)
        fn, default_range, _ = TARGETS[target]
        name = target
    elif callable(target):
        fn, default_range = target, (-1.0, 1.0)
        name = getattr(target, "__name__", "custom")
    else:
        raise ConfigError(f"target must be a name or a function, not {target!r}")
    n = check_count("n", n)
    noise = check_nonnegative("noise", noise)
    lo, hi = check_range("x_range", *(default_range if x_range is None else x_range))

    x = np.linspace(lo, hi, n).reshape(-1, 1)
    y = np.asarray(fn(x), dtype=np.float64)
    if y.shape == (n,):
        y = y.reshape(-1, 1)
    if y.shape != (n, 1):
        raise ShapeError(
            f"target function {name!r} returned shape {y.shape} for x of shape {x.shape}; "
            f"expected ({n}, 1) or ({n},)"
        )
    if noise > 0:
        y = y + noise * as_rng(rng).standard_normal(y.shape)
    return Dataset(
        X=x,
        y=y,
        task="regression",
        name=name,
        feature_names=("x",),
        input_range=(lo, hi),
        info={
            "generator": "regression_1d",
            "target": name,
            "n": n,
            "noise": noise,
            "x_range": (lo, hi),
            "seed": seed_of(rng),
        },
    )


def sine(
    n: int = 200,
    noise: float = 0.0,
    *,
    rng: Seed = None,
    x_range: tuple[float, float] = (0.0, 2 * math.pi),
) -> Dataset:
    """``y = sin(x) + noise * N(0, 1)`` with ``x = linspace(0, 2pi, n)``.

    Returns a Dataset with X : array of shape (n, 1) and y : array of shape (n, 1).
    """
    return regression_1d("sine", n, noise, rng=rng, x_range=x_range)


def polynomial(
    n: int = 200,
    coefficients: Sequence[float] = (0.0, -1.0, 0.0, 1.0),
    noise: float = 0.0,
    *,
    rng: Seed = None,
    x_range: tuple[float, float] = (-1.5, 1.5),
) -> Dataset:
    """``y = sum_k coefficients[k] * x**k + noise * N(0, 1)`` on an even grid.

    ``coefficients`` go from low to high order; the default ``(0, -1, 0, 1)`` is ``x**3 - x``.
    Returns a Dataset with X : array of shape (n, 1) and y : array of shape (n, 1).

    >>> polynomial(3, coefficients=(1, 0, 2), x_range=(-1, 1)).y.ravel().tolist()
    [3.0, 1.0, 3.0]
    """
    try:
        coefs = np.asarray(coefficients, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"coefficients must be numbers, not {coefficients!r}") from None
    if coefs.size == 0 or not np.all(np.isfinite(coefs)):
        raise ConfigError(f"coefficients must be a non-empty list of finite numbers, not {coefs}")

    def poly(x: np.ndarray) -> np.ndarray:
        return np.polynomial.polynomial.polyval(x, coefs)

    poly.__name__ = "polynomial"
    ds = regression_1d(poly, n, noise, rng=rng, x_range=x_range)
    ds.info["coefficients"] = coefs.tolist()
    return ds


def spiral(
    n: int = 1000,
    classes: int = 3,
    noise: float = 0.2,
    *,
    rng: Seed = None,
) -> Dataset:
    """The CS231n spiral: ``classes`` interleaved arms in the unit disc, shuffled.

    Class k with N_k points has radius ``r = linspace(0, 1, N_k)`` and angle
    ``t = linspace(4k, 4(k + 1), N_k) + noise * N(0, 1)``; a point is ``(r sin t, r cos t)``.
    Exactly ``n`` points in total: the ``n % classes`` left over go one each to the first classes.

    Returns a Dataset with X : array of shape (n, 2) and y : array of shape (n,).
    """
    n = check_count("n", n)
    classes = check_count("classes", classes)
    noise = check_nonnegative("noise", noise)
    if n < classes:
        raise ConfigError(f"spiral needs n >= classes so no class is empty, got n={n}")
    gen = as_rng(rng)
    X_parts, y_parts = [], []
    for k in range(classes):
        n_k = n // classes + (1 if k < n % classes else 0)
        r = np.linspace(0.0, 1.0, n_k)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n_k) + noise * gen.standard_normal(n_k)
        X_parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y_parts.append(np.full(n_k, k))
    order = gen.permutation(n)
    return Dataset(
        X=np.concatenate(X_parts)[order],
        y=np.concatenate(y_parts)[order],
        task="classification",
        name="spiral",
        n_classes=classes,
        feature_names=("x1", "x2"),
        input_range=(-1.0, 1.0),
        info={
            "generator": "spiral",
            "n": n,
            "classes": classes,
            "noise": noise,
            "seed": seed_of(rng),
        },
    )


def xor(
    n: int = 400,
    noise: float = 0.1,
    *,
    rng: Seed = None,
) -> Dataset:
    """Four Gaussian blobs at the corners ``(+-1, +-1)``; class 1 where the signs differ.

    The label comes from the corner, not the noisy point: ``y = [sign(c1) != sign(c2)]``. Points
    are shared out evenly over the corners (the first corners get the ``n % 4`` extra ones), so
    the classes differ in size by at most one. ``noise`` is the blobs' standard deviation.

    Returns a Dataset with X : array of shape (n, 2) and y : array of shape (n,).
    """
    n = check_count("n", n)
    noise = check_nonnegative("noise", noise)
    gen = as_rng(rng)
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    which = gen.permutation(np.arange(n) % 4)
    centre = corners[which]
    X = centre + noise * gen.standard_normal((n, 2))
    y = (centre[:, 0] > 0) != (centre[:, 1] > 0)
    return Dataset(
        X=X,
        y=y.astype(np.int64),
        task="classification",
        name="xor",
        n_classes=2,
        feature_names=("x1", "x2"),
        info={"generator": "xor", "n": n, "noise": noise, "seed": seed_of(rng)},
    )


def moons(
    n: int = 400,
    noise: float = 0.1,
    *,
    rng: Seed = None,
) -> Dataset:
    """Two interleaved half circles (the same construction as ``sklearn.datasets.make_moons``).

    Class 0 (``n // 2`` points): ``(cos a, sin a)`` for ``a = linspace(0, pi, n // 2)``.
    Class 1 (the rest): ``(1 - cos a, 1 - sin a - 0.5)``. Gaussian noise of standard deviation
    ``noise`` is added to both coordinates, then the rows are shuffled.

    Returns a Dataset with X : array of shape (n, 2) and y : array of shape (n,).
    """
    n = check_count("n", n, minimum=2)
    noise = check_nonnegative("noise", noise)
    gen = as_rng(rng)
    n_outer = n // 2
    n_inner = n - n_outer
    a_outer = np.linspace(0.0, math.pi, n_outer)
    a_inner = np.linspace(0.0, math.pi, n_inner)
    X = np.concatenate(
        [
            np.column_stack([np.cos(a_outer), np.sin(a_outer)]),
            np.column_stack([1.0 - np.cos(a_inner), 1.0 - np.sin(a_inner) - 0.5]),
        ]
    )
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    if noise > 0:
        X = X + noise * gen.standard_normal(X.shape)
    order = gen.permutation(n)
    return Dataset(
        X=X[order],
        y=y[order],
        task="classification",
        name="moons",
        n_classes=2,
        feature_names=("x1", "x2"),
        info={"generator": "moons", "n": n, "noise": noise, "seed": seed_of(rng)},
    )
