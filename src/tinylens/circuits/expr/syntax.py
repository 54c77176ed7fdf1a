"""The circuit expression language: its syntax tree, its functions, and how it prints.

The language (parsed by :mod:`tinylens.circuits.expr.parse`, never by ``eval``):

==========================  ==============================================================
``x``, ``x1``, ``3``, ``0.5``  variables and exact numbers (decimals are exact rationals)
``a + b``, ``a - b``, ``-a``  sums and differences
``3 * a``, ``a / 2``          products with a constant (or with a 0/1 value: ``(x > 0) * y``)
``abs(a)``, ``relu(a)``       ``|a|`` and ``max(a, 0)``
``min(a, b, ...)``            minimum / maximum of any number (>= 1) of arguments
``max(a, b, ...)``
``clamp(a, lo, hi)``          ``min(max(a, lo), hi)``
``a < b`` (``<= > >= == !=``) 1 if true else 0; exact on integer-valued inputs only
``is_even(a, bits=n)``        1 if ``a`` is even, for integers ``0 <= a < 2**n``
``is_odd(a, bits=n)``         ``1 - is_even(a, bits=n)``: the parity ``a mod 2``
``where(c, a, b)``            ``a`` if ``c`` (a 0/1 value) is 1, else ``b``
==========================  ==============================================================

>>> from tinylens.circuits.expr.parse import parse
>>> e = parse("min(x1, x2) + 2*relu(x1 - 1/2)")
>>> str(e)
'min(x1, x2) + 2*relu(x1 - 1/2)'
>>> to_sympy_string(e)
'Min(x1, x2) + 2*Max(x1 - 1/2, 0)'
>>> sorted(e.variables())
['x1', 'x2']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from tinylens.circuits.expr.rational import fmt

__all__ = [
    "COMPARISONS",
    "FUNCTIONS",
    "BinOp",
    "Call",
    "Compare",
    "Expr",
    "FunctionSpec",
    "Neg",
    "Num",
    "Var",
    "natural_key",
    "to_sympy_string",
]


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the language: argument count and the keyword arguments it takes."""

    name: str
    min_args: int
    max_args: int | None  # None: any number
    keywords: tuple[str, ...] = ()
    doc: str = ""


FUNCTIONS: dict[str, FunctionSpec] = {
    f.name: f
    for f in (
        FunctionSpec("abs", 1, 1, doc="absolute value |a|"),
        FunctionSpec("relu", 1, 1, doc="max(a, 0)"),
        FunctionSpec("min", 1, None, doc="minimum of the arguments"),
        FunctionSpec("max", 1, None, doc="maximum of the arguments"),
        FunctionSpec("clamp", 3, 3, doc="clamp(a, lo, hi) = min(max(a, lo), hi)"),
        FunctionSpec("is_even", 1, 1, ("bits",), "1 if a is even (integers 0 <= a < 2**bits)"),
        FunctionSpec("is_odd", 1, 1, ("bits",), "a mod 2 (integers 0 <= a < 2**bits)"),
        FunctionSpec("where", 3, 3, doc="where(c, a, b): a if c == 1 else b (c is 0 or 1)"),
    )
}
"""Every function the language knows, by name."""

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")

# Binding strength, for printing with the fewest parentheses.
_PREC = {"cmp": 1, "+": 2, "-": 2, "*": 3, "/": 3, "neg": 4, "atom": 5}


class Expr:
    """Base class of syntax-tree nodes. ``pos`` is the 1-based column in the source text."""

    pos: int

    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        yield self
        for c in self.children():
            yield from c.walk()

    def variables(self) -> set[str]:
        return {n.name for n in self.walk() if isinstance(n, Var)}

    def sorted_variables(self) -> list[str]:
        """Variables in natural order: ``x2`` before ``x10``."""
        return sorted(self.variables(), key=natural_key)

    def _prec(self) -> int:
        return _PREC["atom"]

    def __str__(self) -> str:
        return _text(self)


@dataclass(frozen=True)
class Num(Expr):
    value: Fraction
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Var(Expr):
    name: str
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr
    pos: int = field(default=0, compare=False, repr=False)

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _prec(self) -> int:
        return _PREC["neg"]


@dataclass(frozen=True)
class BinOp(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False, repr=False)

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def _prec(self) -> int:
        return _PREC[self.op]


@dataclass(frozen=True)
class Compare(Expr):
    op: str  # < <= > >= == !=
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False, repr=False)

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def _prec(self) -> int:
        return _PREC["cmp"]


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]
    keywords: tuple[tuple[str, int], ...] = ()
    pos: int = field(default=0, compare=False, repr=False)

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def keyword(self, name: str) -> int | None:
        for k, v in self.keywords:
            if k == name:
                return v
        return None


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key putting ``x2`` before ``x10``."""
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


# -- printing ---------------------------------------------------------------------------------


def _wrap(e: Expr, min_prec: int, printer: object) -> str:
    s = printer(e)  # type: ignore[operator]
    return f"({s})" if e._prec() < min_prec else s


def _num_text(q: Fraction) -> str:
    return fmt(q)


def _arithmetic(e: Expr, printer: Callable[[Expr], str]) -> str | None:
    """Numbers, variables, negation and + - * / as text (shared by both printers), else None."""
    if isinstance(e, Num):
        return _num_text(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Neg):
        return "-" + _wrap(e.operand, _PREC["neg"] + 1, printer)
    if isinstance(e, BinOp):
        p = _PREC[e.op]
        # Left-associative: the right operand of - and / needs parentheses at equal precedence.
        left = _wrap(e.left, p, printer)
        right = _wrap(e.right, p + (1 if e.op in "-/" else 0), printer)
        if e.op in "*/" and isinstance(e.left, Num) and e.left.value.denominator != 1:
            left = f"({left})"
        sep = f" {e.op} " if e.op in "+-" else e.op
        return f"{left}{sep}{right}"
    return None


def _text(e: Expr) -> str:
    arith = _arithmetic(e, _text)
    if arith is not None:
        return arith
    if isinstance(e, Compare):
        return f"{_wrap(e.left, 2, _text)} {e.op} {_wrap(e.right, 2, _text)}"
    if isinstance(e, Call):
        parts = [_text(a) for a in e.args] + [f"{k}={v}" for k, v in e.keywords]
        return f"{e.name}({', '.join(parts)})"
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover


_SYMPY_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "Eq", "!=": "Ne"}


def to_sympy_string(e: Expr) -> str:
    """A string ``sympy.sympify`` reads as the same function of symbols named like the inputs.

    ``relu`` becomes ``Max(a, 0)``, ``abs`` ``Abs``, comparisons and ``where`` ``Piecewise``,
    ``is_even(a)`` ``1 - Mod(a, 2)``.
    """
    return _sympy(e)


def _sympy(e: Expr) -> str:
    arith = _arithmetic(e, _sympy)
    if arith is not None:
        return arith
    if isinstance(e, Compare):
        a, b = _sympy(e.left), _sympy(e.right)
        cond = f"{_SYMPY_CMP[e.op]}({a}, {b})" if e.op in ("==", "!=") else f"{a} {e.op} {b}"
        return f"Piecewise((1, {cond}), (0, True))"
    if isinstance(e, Call):
        args = [_sympy(a) for a in e.args]
        if e.name == "abs":
            return f"Abs({args[0]})"
        if e.name == "relu":
            return f"Max({args[0]}, 0)"
        if e.name in ("min", "max"):
            return args[0] if len(args) == 1 else f"{e.name.title()}({', '.join(args)})"
        if e.name == "clamp":
            return f"Min(Max({args[0]}, {args[1]}), {args[2]})"
        if e.name == "is_even":
            return f"1 - Mod({args[0]}, 2)"
        if e.name == "is_odd":
            return f"Mod({args[0]}, 2)"
        if e.name == "where":
            return f"Piecewise(({args[1]}, Ne({args[0]}, 0)), ({args[2]}, True))"
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover
