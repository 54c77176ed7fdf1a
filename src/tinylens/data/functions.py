"""One table of named target functions, shared by the arithmetic datasets
(:mod:`tinylens.data.arithmetic`), the circuit library (:mod:`tinylens.circuits.library`, whose
entries take their plain-Python references from here) and the recovery study
(:mod:`tinylens.studies.recovery`).

Each :class:`TargetFunction` has two faces of one formula: ``exact(*xs)`` on scalars in plain
Python (ints, Fractions or floats: the oracle, exact on Fractions) and ``batch(X)`` on an array
``X`` of shape (n, k), returning shape (n,) float64. The tests hold the two to each other.

>>> f = target_function("min")
>>> f.exact(3, 1, 2), f.batch(np.array([[3.0, 1.0, 2.0]])).tolist()
(1, [1.0])
>>> target_function("is_even").batch(np.arange(4.0).reshape(-1, 1)).tolist()
[1.0, 0.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.errors import UnknownNameError

__all__ = ["TARGET_FUNCTIONS", "TargetFunction", "column_sum", "target_function"]


@dataclass(frozen=True)
class TargetFunction:
    """A named target ``y = f(x1, ..., xk)``.

    Attributes
    ----------
    name : str
    formula : str
        For people: ``"|x|"``, ``"x1 + ... + xk"``.
    arity : int or None
        Number of inputs; None: any number (at least one).
    exact : callable
        ``exact(*xs)`` on scalars, in plain Python (exact on Fractions).
    batch : callable
        ``batch(X)``: X of shape (n, k) -> y of shape (n,), float64.
    expression : str or None
        The function in the circuit language for two inputs (one for unary functions).
    """

    name: str
    formula: str
    arity: int | None
    exact: Callable[..., Any]
    batch: Callable[[np.ndarray], np.ndarray]
    expression: str | None = None


def column_sum(X: np.ndarray) -> np.ndarray:
    """``X[:, 0] + X[:, 1] + ...`` left to right, like Python's ``sum``, so that a plain-Python
    oracle can be exact. X : array of shape (n, k); returns shape (n,)."""
    total = np.array(X[:, 0], dtype=np.float64)
    for k in range(1, X.shape[1]):
        total += X[:, k]
    return total


def _sum(*xs: Any) -> Any:
    return sum(xs[1:], xs[0])


def _is_even(x: Any) -> Fraction:
    return Fraction(1 - int(x) % 2)


def _parity(x: Any) -> Fraction:
    return Fraction(int(x) % 2)


TARGET_FUNCTIONS: dict[str, TargetFunction] = {
    f.name: f
    for f in (
        TargetFunction("identity", "x", 1, lambda x: x, lambda X: np.array(X[:, 0], float), "x"),
        TargetFunction(
            "negative_identity", "-x", 1, lambda x: -x, lambda X: -np.asarray(X[:, 0], float), "-x"
        ),
        TargetFunction("abs", "|x|", 1, abs, lambda X: np.abs(X[:, 0]), "abs(x)"),
        TargetFunction("add", "x1 + ... + xk", None, _sum, column_sum, "x1 + x2"),
        TargetFunction(
            "subtract", "x1 - x2", 2, lambda a, b: a - b, lambda X: X[:, 0] - X[:, 1], "x1 - x2"
        ),
        TargetFunction(
            "min",
            "min(x1, ..., xk)",
            None,
            lambda *xs: min(xs),
            lambda X: X.min(axis=1),
            "min(x1, x2)",
        ),
        TargetFunction(
            "max",
            "max(x1, ..., xk)",
            None,
            lambda *xs: max(xs),
            lambda X: X.max(axis=1),
            "max(x1, x2)",
        ),
        TargetFunction(
            "less_than",
            "1 if x < 10 else 0",
            1,
            lambda x: Fraction(1) if x < 10 else Fraction(0),
            lambda X: (X[:, 0] < 10).astype(np.float64),
            "x < 10",
        ),
        TargetFunction(
            "is_even",
            "1 for even integers x",
            1,
            _is_even,
            lambda X: (X[:, 0] % 2 == 0).astype(np.float64),
            "is_even(x, bits=4)",
        ),
        TargetFunction(
            "parity",
            "x mod 2 (1 for odd integers x)",
            1,
            _parity,
            lambda X: (X[:, 0] % 2).astype(np.float64),
            "is_odd(x, bits=4)",
        ),
    )
}
"""Every shared target function by name."""


def target_function(name: str) -> TargetFunction:
    """The entry ``name`` of :data:`TARGET_FUNCTIONS`; an unknown name is a clear error."""
    if name not in TARGET_FUNCTIONS:
        raise UnknownNameError("target function", name, TARGET_FUNCTIONS)
    return TARGET_FUNCTIONS[name]
