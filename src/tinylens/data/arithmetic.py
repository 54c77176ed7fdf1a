"""Arithmetic regression tasks for circuit studies: can a small network learn ``|x|``, ``x1 - x2``?

Continuous tasks draw inputs uniformly from ``[low, high]`` (default ``[-1, 1]``) with ``rng``.
Inputs are rounded to float32 *before* the target is computed (in float64, rounded once), so
every target is the formula applied to the stored inputs, not to inputs the caller never sees.
Integer tasks (:func:`less_than`, :func:`is_even`, :func:`parity`) enumerate their whole domain
in order and need no randomness.

Every task is a regression: X : array of shape (n_samples, n_inputs) float32 and
y : array of shape (n_samples, 1) float32, with ``feature_names`` ``("x",)`` or
``("x1", "x2", ...)``.

>>> ds = subtract(4, rng=0)
>>> ds.feature_names, ds.y.shape
(('x1', 'x2'), (4, 1))
>>> bool(((ds.X[:, 0] - ds.X[:, 1]).astype("float32") == ds.y[:, 0]).all())
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.data._params import check_count, check_range, seed_of
from tinylens.data.dataset import Dataset
from tinylens.data.functions import target_function
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError
from tinylens.typing import Seed

__all__ = [
    "absolute",
    "add",
    "identity",
    "is_even",
    "less_than",
    "maximum",
    "minimum",
    "negative_identity",
    "parity",
    "product",
    "subtract",
    "weighted_sum",
]

Rng = Seed  # tinylens.typing.Seed


def _names(k: int) -> tuple[str, ...]:
    return ("x",) if k == 1 else tuple(f"x{i + 1}" for i in range(k))


def _inputs(n: int, k: int, low: float, high: float, rng: Rng) -> np.ndarray:
    """Uniform inputs of shape (n, k), already rounded to float32 (held as float64)."""
    return as_rng(rng).uniform(low, high, size=(n, k)).astype(np.float32).astype(np.float64)


def _task(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    rng: Rng,
    input_range: tuple[float, float] | None,
    feature_names: tuple[str, ...] | None = None,
    **params: Any,
) -> Dataset:
    return Dataset(
        X=X,
        y=y.reshape(-1, 1),
        task="regression",
        name=name,
        feature_names=feature_names or _names(X.shape[1]),
        input_range=input_range,
        info={"generator": name, "n": len(X), **params, "seed": seed_of(rng)},
    )


def _fn(name: str) -> Any:
    """The shared table's array form of ``name`` (:mod:`tinylens.data.functions`)."""
    return target_function(name).batch


def _uniform_task(
    name: str, fn: Any, n: int, inputs: int, low: float, high: float, rng: Rng, **params: Any
) -> Dataset:
    n = check_count("n", n)
    inputs = check_count("inputs", inputs)
    low, high = check_range("[low, high]", low, high)
    X = _inputs(n, inputs, low, high, rng)
    return _task(
        name,
        X,
        fn(X),
        rng=rng,
        input_range=(low, high),
        inputs=inputs,
        low=low,
        high=high,
        **params,
    )


def identity(n: int = 1000, *, low: float = -1.0, high: float = 1.0, rng: Rng = None) -> Dataset:
    """``y = x``, x uniform on ``[low, high]``. X, y : arrays of shape (n, 1)."""
    return _uniform_task("identity", _fn("identity"), n, 1, low, high, rng)


def negative_identity(
    n: int = 1000, *, low: float = -1.0, high: float = 1.0, rng: Rng = None
) -> Dataset:
    """``y = -x``, x uniform on ``[low, high]``. X, y : arrays of shape (n, 1)."""
    return _uniform_task("negative_identity", _fn("negative_identity"), n, 1, low, high, rng)


def absolute(n: int = 1000, *, low: float = -1.0, high: float = 1.0, rng: Rng = None) -> Dataset:
    """``y = |x|`` (dataset name ``"abs"``), x uniform on ``[low, high]``. X, y : (n, 1)."""
    return _uniform_task("abs", _fn("abs"), n, 1, low, high, rng)


def add(
    n: int = 1000, inputs: int = 2, *, low: float = -1.0, high: float = 1.0, rng: Rng = None
) -> Dataset:
    """``y = x1 + ... + x_inputs``. X : array of shape (n, inputs); y : array of shape (n, 1)."""
    return _uniform_task("add", _fn("add"), n, inputs, low, high, rng)


def subtract(n: int = 1000, *, low: float = -1.0, high: float = 1.0, rng: Rng = None) -> Dataset:
    """``y = x1 - x2``. X : array of shape (n, 2); y : array of shape (n, 1)."""
    return _uniform_task("subtract", _fn("subtract"), n, 2, low, high, rng)


def weighted_sum(
    weights: Sequence[float],
    constant: float = 0.0,
    n: int = 1000,
    *,
    low: float = -1.0,
    high: float = 1.0,
    rng: Rng = None,
) -> Dataset:
    """``y = w . x + constant`` with one input per weight.

    X : array of shape (n, len(weights)); y : array of shape (n, 1).
    """
    try:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"weights must be a list of numbers, not {weights!r}") from None
    if w.size == 0 or not np.all(np.isfinite(w)):
        raise ConfigError(f"weights must be a non-empty list of finite numbers, not {weights!r}")
    if isinstance(constant, bool) or not isinstance(constant, numbers.Real):
        raise ConfigError(f"constant must be a number, not {constant!r}")
    c = float(constant)
    return _uniform_task(
        "weighted_sum",
        lambda X: X @ w + c,
        n,
        w.size,
        low,
        high,
        rng,
        weights=w.tolist(),
        constant=c,
    )


def product(
    n: int = 1000,
    inputs: int = 2,
    low: float = 0.5,
    high: float = 2.0,
    log_domain: bool = True,
    *,
    rng: Rng = None,
) -> Dataset:
    """The product of ``inputs`` positive numbers drawn uniformly from ``[low, high]``.

    With ``log_domain`` (the default) the features are ``log(x_i)`` and the target is
    ``log(x1 * ... * x_k)``, which turns the product into a sum a ReLU network can represent.
    The raw inputs are ``np.exp(X.astype(np.float64))`` exactly: they are defined from the
    float32 log features, and the target is computed from them (``info["raw_inputs"]`` says so).
    Without it, X holds the raw values and y their product.

    X : array of shape (n, inputs); y : array of shape (n, 1).
    """
    n = check_count("n", n)
    inputs = check_count("inputs", inputs)
    low, high = check_range("[low, high]", low, high)
    if log_domain and low <= 0:
        raise ConfigError(f"product with log_domain=True needs low > 0, got low={low}")
    raw = _inputs(n, inputs, low, high, rng)
    params: dict[str, Any] = {"inputs": inputs, "low": low, "high": high, "log_domain": log_domain}
    if log_domain:
        X = np.log(raw).astype(np.float32).astype(np.float64)
        raw = np.exp(X)  # the raw values the stored features stand for
        y = np.log(np.prod(raw, axis=1))
        names = tuple(f"log({f})" for f in _names(inputs))
        input_range = (math.log(low), math.log(high))
        params["raw_inputs"] = "exp(X)"
    else:
        X = raw
        y = raw[:, 0].copy()
        for k in range(1, inputs):  # left to right, like math.prod
            y *= raw[:, k]
        names, input_range = _names(inputs), (low, high)
    return _task("product", X, y, rng=rng, input_range=input_range, feature_names=names, **params)


def minimum(
    n: int = 1000, inputs: int = 2, *, low: float = -1.0, high: float = 1.0, rng: Rng = None
) -> Dataset:
    """``y = min(x1, ..., x_inputs)`` (dataset name ``"min"``). X : (n, inputs); y : (n, 1)."""
    return _uniform_task("min", _fn("min"), n, inputs, low, high, rng)


def maximum(
    n: int = 1000, inputs: int = 2, *, low: float = -1.0, high: float = 1.0, rng: Rng = None
) -> Dataset:
    """``y = max(x1, ..., x_inputs)`` (dataset name ``"max"``). X : (n, inputs); y : (n, 1)."""
    return _uniform_task("max", _fn("max"), n, inputs, low, high, rng)


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, not {value!r}")
    return int(value)


def less_than(c: float = 10, low: int = 0, high: int = 20, *, rng: Rng = None) -> Dataset:
    """Every integer ``x`` in ``low .. high - 1``, in order, with ``y = 1.0 if x < c else 0.0``.

    ``rng`` is accepted for a uniform signature and unused: the grid is exhaustive.
    X, y : arrays of shape (high - low, 1).

    >>> less_than(3, 0, 5).y.ravel().tolist()
    [1.0, 1.0, 1.0, 0.0, 0.0]
    """
    low, high = _integer("low", low), _integer("high", high)
    if high <= low:
        raise ConfigError(f"less_than needs low < high, got low={low}, high={high}")
    if isinstance(c, bool) or not isinstance(c, numbers.Real):
        raise ConfigError(f"c must be a number, not {c!r}")
    x = np.arange(low, high, dtype=np.float64).reshape(-1, 1)
    y = (x[:, 0] < c).astype(np.float64)  # c is a parameter: the shared less_than has c = 10
    return _task(
        "less_than",
        x,
        y,
        rng=rng,
        input_range=(low, high - 1) if high - 1 > low else None,
        c=c,
        low=low,
        high=high,
    )


def _bits_grid(name: str, bits: int, rng: Rng, fn: Any) -> Dataset:
    bits = check_count("bits", bits)
    if bits > 24:  # float32 holds every integer up to 2**24 exactly
        raise ConfigError(f"bits must be <= 24 so every x is exact in float32, got {bits}")
    x = np.arange(2**bits, dtype=np.float64).reshape(-1, 1)
    return _task(name, x, fn(x), rng=rng, input_range=(0.0, 2.0**bits - 1), bits=bits)


def is_even(bits: int = 4, *, rng: Rng = None) -> Dataset:
    """Every ``x`` in ``0 .. 2**bits - 1``, in order, with ``y = 1.0`` when x is even.

    ``rng`` is accepted for a uniform signature and unused. X, y : arrays of shape (2**bits, 1).
    """
    return _bits_grid("is_even", bits, rng, _fn("is_even"))


def parity(bits: int = 4, *, rng: Rng = None) -> Dataset:
    """Every ``x`` in ``0 .. 2**bits - 1``, in order, with ``y = x mod 2`` (1.0 when odd).

    This is the parity of the integer (its lowest bit), not of its number of set bits.
    ``rng`` is accepted for a uniform signature and unused. X, y : arrays of shape (2**bits, 1).
    """
    return _bits_grid("parity", bits, rng, _fn("parity"))
