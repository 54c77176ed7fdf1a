"""Symbolic sums of ReLU atoms with exact coefficients, and their presentation: the algebra
behind :func:`~tinylens.circuits.explain` (moved out of ``explain.py`` unchanged).

:class:`Lin` is ``sum(coef * atom) + const`` over inputs, ``relu(Lin)`` and ``abs(Lin)``;
:func:`combine` adds them exactly, ``_fold_pairs`` turns ``c1 relu(z) + c2 relu(-z)`` into a
linear and an abs term, ``_present`` chooses min / max readings, :func:`sympy_to_expr` goes back
to the circuit language.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from tinylens.circuits.expr import BinOp, Call, Expr, Neg, Num, Var, natural_key, to_fraction
from tinylens.errors import ConfigError

__all__ = [
    "PRESENT_SECONDS",
    "SNAP_DENOMINATORS",
    "Lin",
    "abs_of",
    "combine",
    "formula_size",
    "formula_string",
    "relu_of",
    "sympy_to_expr",
]

SNAP_DENOMINATORS = (1, 2, 3, 4, 6)
"""Simple fractions a rounded coefficient snaps to when within half a unit of the last digit."""

# -- symbolic linear combinations of ReLU atoms ---------------------------------------------------


class _Atom:
    key: str


@dataclass(frozen=True)
class _Var(_Atom):
    name: str

    @cached_property
    def key(self) -> str:  # type: ignore[override]
        return "0:" + "".join(
            f"{t:08d}" if isinstance(t, int) else str(t) for t in natural_key(self.name)
        )


@dataclass(frozen=True)
class _Relu(_Atom):
    arg: Lin

    @cached_property
    def key(self) -> str:  # type: ignore[override]
        return f"1:relu({self.arg.key})"


@dataclass(frozen=True)
class _Abs(_Atom):
    arg: Lin

    @cached_property
    def key(self) -> str:  # type: ignore[override]
        return f"2:abs({self.arg.key})"


@dataclass(frozen=True)
class Lin:
    """``sum(coef * atom) + const`` with exact coefficients; atoms are inputs, ``relu(Lin)``
    and ``abs(Lin)``. Canonical: sorted atoms, no zero coefficients, so equal sums are equal
    objects (and cancel exactly)."""

    terms: tuple[tuple[_Atom, Fraction], ...] = ()
    const: Fraction = Fraction(0)

    @cached_property
    def key(self) -> str:
        return ";".join(f"{a.key}*{c}" for a, c in self.terms) + f"+{self.const}"

    @staticmethod
    def var(name: str) -> Lin:
        return Lin(((_Var(name), Fraction(1)),))

    @staticmethod
    def constant(value: Fraction) -> Lin:
        return Lin((), Fraction(value))

    def scale(self, c: Fraction) -> Lin:
        return combine([(c, self)])

    def __neg__(self) -> Lin:
        return self.scale(Fraction(-1))

    @property
    def is_constant(self) -> bool:
        return not self.terms


def combine(parts: Sequence[tuple[Fraction, Lin]], const: Fraction = Fraction(0)) -> Lin:
    """``sum(c * L) + const``, canonical (exact; zero coefficients dropped)."""
    acc: dict[str, list[Any]] = {}
    total = Fraction(const)
    for c, lin in parts:
        if c == 0:
            continue
        total += c * lin.const
        for atom, a in lin.terms:
            slot = acc.setdefault(atom.key, [atom, Fraction(0)])
            slot[1] += c * a
    terms = tuple((atom, v) for k, (atom, v) in sorted(acc.items()) if v != 0)
    return Lin(terms, total)


def formula_size(lin: Lin, memo: dict[str, int] | None = None) -> int:
    """Nodes of ``lin`` written out as a tree (a ReLU reused twice counts twice): the size of
    what SymPy and the exact error check work on."""
    memo = {} if memo is None else memo
    if lin.key not in memo:
        memo[lin.key] = 1 + sum(
            1 + (formula_size(a.arg, memo) if isinstance(a, (_Relu, _Abs)) else 0)
            for a, _ in lin.terms
        )
    return memo[lin.key]


def _fold_pairs(lin: Lin) -> Lin:
    """``c1 relu(z) + c2 relu(-z) = (c1 - c2)/2 z + (c1 + c2)/2 |z|`` for every such pair."""
    relus = {a.arg.key: (a, c) for a, c in lin.terms if isinstance(a, _Relu)}
    done: set[str] = set()
    parts: list[tuple[Fraction, Lin]] = []
    for atom, c in lin.terms:
        if isinstance(atom, _Relu):
            if atom.arg.key in done:
                continue
            neg = -atom.arg
            other = relus.get(neg.key)
            if other is not None and neg.key != atom.arg.key:
                c2 = other[1]
                done.update((atom.arg.key, neg.key))
                parts.append(((c - c2) / 2, atom.arg))
                parts.append(((c + c2) / 2, abs_of(atom.arg)))
                continue
        parts.append((c, Lin(((atom, Fraction(1)),))))
    return combine(parts, lin.const)


def _round(v: Fraction, digits: int | None) -> Fraction:
    """``v`` rounded to ``digits`` decimals, snapped to a simple fraction when that is within
    half a unit of the last digit (None: unchanged)."""
    if digits is None:
        return v
    half = Fraction(1, 2 * 10**digits)
    for q in SNAP_DENOMINATORS:
        p = round(v * q)
        if abs(v - Fraction(p, q)) <= half:
            return Fraction(p, q)
    return Fraction(round(v * 10**digits), 10**digits)


def _round_lin(lin: Lin, digits: int | None) -> Lin:
    if digits is None:
        return lin
    parts = [(_round(c, digits), Lin(((a, Fraction(1)),))) for a, c in lin.terms]
    return combine(parts, _round(lin.const, digits))


def _normalise(z: Lin) -> tuple[Fraction, Lin]:
    """``z = s * zn`` with ``s > 0`` and ``zn``'s largest coefficient magnitude 1."""
    s = max(abs(c) for _, c in z.terms)
    return s, z.scale(1 / s)


def relu_of(z: Lin, digits: int | None = None) -> Lin:
    """``relu(z)`` as ``s * relu(zn)`` (see :func:`_normalise`), ``zn`` rounded."""
    if z.is_constant:
        return Lin.constant(max(z.const, Fraction(0)))
    s, zn = _normalise(z)
    zn = _round_lin(zn, digits)
    if zn.is_constant:  # pragma: no cover - the largest coefficient rounds to +-1
        return Lin.constant(s * max(zn.const, Fraction(0)))
    return Lin(((_Relu(zn), s),))


def abs_of(z: Lin) -> Lin:
    """``|z|`` as ``s * |zn|`` with the first coefficient of ``zn`` positive."""
    if z.is_constant:
        return Lin.constant(abs(z.const))
    s, zn = _normalise(z)
    if zn.terms[0][1] < 0:
        zn = -zn
    return Lin(((_Abs(zn), s),))


# -- to SymPy, to the language ---------------------------------------------------------------------


def _sympy_of(lin: Lin, symbols: dict[str, Any]) -> Any:
    """The plain reading: every relu as ``Max(z, 0)``."""
    import sympy

    out = sympy.Rational(lin.const.numerator, lin.const.denominator)
    for atom, c in lin.terms:
        out += sympy.Rational(c.numerator, c.denominator) * _sympy_atom(atom, symbols, None)
    return out


def _sympy_atom(atom: _Atom, symbols: dict[str, Any], memo: dict[str, Any] | None) -> Any:
    import sympy

    inner = (lambda L: _present(L, symbols, memo)) if memo is not None else None
    if isinstance(atom, _Var):
        return symbols[atom.name]
    if isinstance(atom, _Relu):
        arg = inner(atom.arg) if inner else _sympy_of(atom.arg, symbols)
        return sympy.Max(arg, 0)
    if isinstance(atom, _Abs):
        arg = inner(atom.arg) if inner else _sympy_of(atom.arg, symbols)
        return sympy.Abs(arg)
    raise TypeError(atom)  # pragma: no cover


PRESENT_SECONDS = 10.0
"""Time the search for the shortest min / max reading may take (our own bound). Huge or
many-digit coefficients make SymPy's comparisons slow; past it the formula is shown in its relu
form, which is the same function (max_error is computed either way)."""
_DEADLINE = "\x00deadline"  # a memo key no Lin key can equal


def _present(lin: Lin, symbols: dict[str, Any], memo: dict[str, Any]) -> Any:
    """The shortest reading of ``lin`` with min / max absorbing one relu term (module doc)."""
    import sympy

    if lin.key in memo:
        return memo[lin.key]
    if time.monotonic() > memo.get(_DEADLINE, math.inf):
        return _sympy_of(lin, symbols)  # out of time: the relu form, equal but not shortened

    def rat(c: Fraction) -> Any:
        return sympy.Rational(c.numerator, c.denominator)

    plain = rat(lin.const)
    for atom, c in lin.terms:
        term = rat(c) * _sympy_atom(atom, symbols, memo)
        if isinstance(atom, _Relu) and c < 0:  # -k relu(z) = k min(0, -z): keep the shorter
            alt = rat(-c) * sympy.Min(0, _present(-atom.arg, symbols, memo))
            term = alt if sympy.count_ops(alt) < sympy.count_ops(term) else term
        plain += term
    best, best_ops = plain, sympy.count_ops(plain)
    relus = [(a, c) for a, c in lin.terms if isinstance(a, _Relu)]
    if len(relus) <= 4:
        for atom, c in relus:
            rest = combine([(Fraction(1), lin), (-c, Lin(((atom, Fraction(1)),)))])
            k = abs(c)
            base = rest.scale(1 / k)
            other = combine([(Fraction(1), base), (Fraction(1 if c > 0 else -1), atom.arg)])
            first, second = _present(base, symbols, memo), _present(other, symbols, memo)
            cand = rat(k) * (sympy.Max(first, second) if c > 0 else sympy.Min(first, second))
            ops = sympy.count_ops(cand)
            if ops < best_ops:
                best, best_ops = cand, ops
        # c relu(z) - c relu(z - g), g > 0, is c clamp(z, 0, g) = c min(max(z, 0), g)
        for (a1, c1), (a2, c2) in itertools.combinations(relus, 2):
            z1, z2 = a1.arg, a2.arg  # type: ignore[attr-defined]
            if c1 != -c2 or z1.terms != z2.terms or z1.const == z2.const:
                continue
            (hi, c), lo = ((a1, c1), a2) if z1.const > z2.const else ((a2, c2), a1)
            gap = hi.arg.const - lo.arg.const  # type: ignore[attr-defined]
            rest = combine(
                [
                    (Fraction(1), lin),
                    (-c1, Lin(((a1, Fraction(1)),))),
                    (-c2, Lin(((a2, Fraction(1)),))),
                ]
            )
            clamp = sympy.Min(sympy.Max(_present(hi.arg, symbols, memo), 0), rat(gap))  # type: ignore[attr-defined]
            cand = _present(rest, symbols, memo) + rat(c) * clamp
            ops = sympy.count_ops(cand)
            if ops < best_ops:
                best, best_ops = cand, ops
    memo[lin.key] = best
    return best


def _decimal(q: Any) -> str | None:
    """``'1.45'`` for a rational with a terminating decimal expansion, else None."""
    den = int(q.q)
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return None
    text = format(Decimal(int(q.p)) / Decimal(int(q.q)), "f")
    return text


def formula_string(expr: Any) -> str:
    """SymPy text of ``expr`` with terminating rationals written as decimals (``1.45*x1``,
    not ``29*x1/20``); ``sympy.sympify`` reads it back."""
    from sympy.printing.precedence import precedence
    from sympy.printing.str import StrPrinter

    class _Printer(StrPrinter):
        def _print_Rational(self, e: Any) -> str:
            dec = _decimal(e)
            return dec if dec is not None else str(super()._print_Rational(e))

        def _print_Mul(self, e: Any) -> str:
            c, rest = e.as_coeff_Mul()
            if c.is_Rational and not c.is_Integer and _decimal(c) is not None and rest != 1:
                sign = "-" if c < 0 else ""
                body = self.parenthesize(rest, precedence(e))
                return f"{sign}{_decimal(abs(c))}*{body}"
            return str(super()._print_Mul(e))

    return str(_Printer().doprint(expr))


def sympy_to_expr(e: Any) -> Expr:
    """A SymPy expression made of symbols, numbers, ``+``, products by numbers, ``Max``,
    ``Min`` and ``Abs`` as an expression of the circuit language (``Max(z, 0)`` becomes
    ``relu(z)``). Anything else raises ConfigError."""
    import sympy

    if e.is_Symbol:
        return Var(str(e))
    if e.is_Number:
        if not e.is_Rational:
            return Num(to_fraction(str(e)))
        return Num(Fraction(int(e.p), int(e.q)))
    if e.is_Add:
        args = list(e.as_ordered_terms())
        out = sympy_to_expr(args[0])
        for a in args[1:]:
            c, rest = a.as_coeff_Mul()
            if c.is_Number and c < 0:
                out = BinOp("-", out, sympy_to_expr(-a))
            else:
                out = BinOp("+", out, sympy_to_expr(a))
        return out
    if e.is_Mul:
        c, rest = e.as_coeff_Mul()
        if rest.is_Mul and not all(f.is_Number for f in rest.args[:1]):
            factors = [f for f in rest.args if not f.is_Number]
            if len(factors) > 1:
                raise ConfigError(f"{e} multiplies varying quantities; not piecewise affine")
        if c == -1:
            return Neg(sympy_to_expr(rest))
        return BinOp("*", sympy_to_expr(c), sympy_to_expr(rest))
    if isinstance(e, (sympy.Max, sympy.Min)):
        args = list(e.args)
        name = "max" if isinstance(e, sympy.Max) else "min"
        if name == "max" and len(args) == 2 and any(a == 0 for a in args):
            other = args[1] if args[0] == 0 else args[0]
            return Call("relu", (sympy_to_expr(other),))
        return Call(name, tuple(sympy_to_expr(a) for a in args))
    if isinstance(e, sympy.Abs):
        return Call("abs", (sympy_to_expr(e.args[0]),))
    raise ConfigError(f"cannot read {e} ({type(e).__name__}) as a piecewise-affine expression")


def _lin_to_expr(lin: Lin) -> Expr:
    """The exact plain reading as an expression of the language (relu, abs)."""
    out: Expr | None = None
    for atom, c in lin.terms:
        if isinstance(atom, _Var):
            body: Expr = Var(atom.name)
        elif isinstance(atom, _Relu):
            body = Call("relu", (_lin_to_expr(atom.arg),))
        else:
            body = Call("abs", (_lin_to_expr(atom.arg),))  # type: ignore[attr-defined]
        term = body if c == 1 else BinOp("*", Num(c), body)
        out = term if out is None else BinOp("+", out, term)
    if out is None:
        return Num(lin.const)
    return BinOp("+", out, Num(lin.const)) if lin.const else out
