"""The reference interpreter: what an expression means, computed with exact rationals.

This is the oracle the compiled networks are verified against. It follows the definitions in
:mod:`~tinylens.circuits.expr.syntax` directly (``min`` is the minimum, ``a < b`` is 1 or 0,
``is_even`` is the remainder mod 2) and shares no code with the compiler.

Values are NumPy object arrays of :class:`fractions.Fraction` (or Python ints), one entry per
point, so a whole integer domain is interpreted in one call.

>>> from tinylens.circuits.expr.parse import parse
>>> import numpy as np
>>> x = np.array([0, 3, 10, 11], dtype=object)
>>> interpret(parse("x < 10"), {"x": x}).tolist()
[1, 1, 0, 0]
>>> interpret(parse("where(is_even(x, bits=4), x/2, -x)"), {"x": x}).tolist()
[Fraction(0, 1), -3, Fraction(5, 1), -11]
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from tinylens.circuits.expr.syntax import BinOp, Call, Compare, Expr, Neg, Num, Var
from tinylens.errors import ConfigError, did_you_mean

__all__ = ["evaluate", "interpret"]

_ONE, _ZERO = 1, 0


def interpret(expr: Expr, env: Mapping[str, object]) -> np.ndarray:
    """Exact values of ``expr`` at the points given by ``env``.

    Parameters
    ----------
    expr : Expr
    env : mapping of str to array of shape (n_points,) or a number
        Each variable's values (ints or Fractions; an array of floats is converted exactly).

    Returns
    -------
    array of object, shape (n_points,)
        Broadcast over the variables (a constant expression gives shape ()).
    """
    arrays = {name: _as_exact(v, name) for name, v in env.items()}
    return np.asarray(_eval(expr, arrays), dtype=object)


def evaluate(expr: Expr, **values: object) -> Fraction:
    """The exact value at one point: ``evaluate(parse("min(a, b)"), a=3, b=5) == 3``."""
    out = interpret(expr, values)
    return Fraction(out.item()) if out.ndim == 0 else Fraction(out.reshape(-1)[0])


def _as_exact(value: object, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object:
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(object)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ConfigError(f"variable {name} has non-finite values")
        return np.vectorize(Fraction, otypes=[object])(arr)
    raise ConfigError(f"variable {name} must hold numbers, not {arr.dtype}")


def _eval(e: Expr, env: dict[str, np.ndarray]) -> object:
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Var):
        if e.name not in env:
            raise ConfigError(f"no values for variable {e.name!r}{did_you_mean(e.name, env, n=1)}")
        return env[e.name]
    if isinstance(e, Neg):
        return -_obj(_eval(e.operand, env))
    if isinstance(e, BinOp):
        a, b = _obj(_eval(e.left, env)), _obj(_eval(e.right, env))
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        if np.any(b == 0):
            raise ConfigError(f"column {e.pos}: division by zero in {e}")
        return a * (1 / _fraction(b))
    if isinstance(e, Compare):
        a, b = _obj(_eval(e.left, env)), _obj(_eval(e.right, env))
        truth = {
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
            "==": a == b,
            "!=": a != b,
        }[e.op]
        return np.where(np.asarray(truth, dtype=bool), _ONE, _ZERO).astype(object)
    if isinstance(e, Call):
        args = [_obj(_eval(a, env)) for a in e.args]
        name = e.name
        if name == "abs":
            return np.where(args[0] < 0, -args[0], args[0]).astype(object)
        if name == "relu":
            return np.where(args[0] > 0, args[0], _ZERO).astype(object)
        if name in ("min", "max"):
            out = args[0]
            for a in args[1:]:
                pick = (a < out) if name == "min" else (a > out)
                out = np.where(pick, a, out).astype(object)
            return out
        if name == "clamp":
            x, lo, hi = args
            if np.any(lo > hi):
                raise ConfigError(f"column {e.pos}: clamp has lo > hi")
            return np.where(x < lo, lo, np.where(x > hi, hi, x)).astype(object)
        if name in ("is_even", "is_odd"):
            x = args[0]
            flat = np.asarray(x, dtype=object).reshape(-1)
            if any(Fraction(v).denominator != 1 for v in flat):
                raise ConfigError(f"column {e.pos}: {name} got a non-integer value")
            rem = np.asarray([int(Fraction(v)) % 2 for v in flat], dtype=object).reshape(
                np.shape(x)
            )
            return rem if name == "is_odd" else (1 - rem)
        if name == "where":
            c, a, b = args
            return np.where(np.asarray(c != 0, dtype=bool), a, b).astype(object)
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover


def _obj(v: object) -> np.ndarray:
    return np.asarray(v, dtype=object)


def _fraction(v: np.ndarray) -> object:
    """Divide exactly: 1 / Fraction, elementwise, never 1 / int (a float)."""
    if v.ndim == 0:
        return Fraction(v.item())
    return np.vectorize(Fraction, otypes=[object])(v)
