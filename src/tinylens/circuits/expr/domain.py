"""Input domains of circuits: integer ranges and real intervals, one per input.

Spelling (``--domain`` on the command line, :func:`parse_domain` in Python):

* ``x=0..15`` : the integers 0, 1, ..., 15 (both ends included);
* ``x=-1:1``  : the real interval [-1, 1];
* several inputs separated by commas: ``x1=-1:1,x2=-1:1`` or ``x=0..15,y=-3..3``;
* without a name, one range for every input: ``0..15`` or ``-1:1``.

Ends may be integers, decimals or fractions (``-1/2:1/2``); integer ranges need integer ends.

>>> d = parse_domain("x=0..15,y=-3..3")
>>> d.names, d.is_integer, d.n_points
(('x', 'y'), True, 112)
>>> str(parse_domain("x1=-1:1, x2=-1/2:1/2"))
'x1=-1:1,x2=-1/2:1/2'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tinylens.circuits.expr.rational import fmt, to_fraction
from tinylens.errors import ConfigError, did_you_mean

__all__ = ["Domain", "Interval", "parse_domain"]


@dataclass(frozen=True)
class Interval:
    """``[lo, hi]``: every integer in it when ``integer``, else every real number."""

    lo: Fraction
    hi: Fraction
    integer: bool = False

    def __post_init__(self) -> None:
        lo, hi = to_fraction(self.lo, "lower end"), to_fraction(self.hi, "upper end")
        if lo > hi:
            raise ConfigError(f"empty range {fmt(lo)}..{fmt(hi)}: the lower end exceeds the upper")
        if self.integer and (lo.denominator != 1 or hi.denominator != 1):
            raise ConfigError(
                f"integer range {fmt(lo)}..{fmt(hi)} needs integer ends; for a real interval "
                f"write {fmt(lo)}:{fmt(hi)}"
            )
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def n_points(self) -> int | None:
        """Number of integers in the range (None for a real interval)."""
        return int(self.hi - self.lo) + 1 if self.integer else None

    def values(self) -> range:
        if not self.integer:
            raise ConfigError("a real interval has no list of values")
        return range(int(self.lo), int(self.hi) + 1)

    def __str__(self) -> str:
        sep = ".." if self.integer else ":"
        return f"{fmt(self.lo)}{sep}{fmt(self.hi)}"


@dataclass(frozen=True)
class Domain:
    """One :class:`Interval` per named input, in input order."""

    intervals: tuple[tuple[str, Interval], ...]

    def __post_init__(self) -> None:
        names = [n for n, _ in self.intervals]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"the domain names {', '.join(dup)} twice; give each input once")

    @classmethod
    def box(cls, names: Sequence[str], lo: object, hi: object, integer: bool = False) -> Domain:
        """The same interval for every input."""
        iv = Interval(to_fraction(lo), to_fraction(hi), integer)
        return cls(tuple((n, iv) for n in names))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.intervals)

    def __getitem__(self, name: str) -> Interval:
        for n, iv in self.intervals:
            if n == name:
                return iv
        raise KeyError(name)

    def get(self, name: str) -> Interval | None:
        try:
            return self[name]
        except KeyError:
            return None

    @property
    def is_integer(self) -> bool:
        """Every input ranges over integers (so the domain is finite)."""
        return all(iv.integer for _, iv in self.intervals)

    @property
    def n_points(self) -> int | None:
        if not self.is_integer:
            return None
        total = 1
        for _, iv in self.intervals:
            total *= iv.n_points or 0
        return total

    def points(self, names: Sequence[str] | None = None) -> Iterator[tuple[int, ...]]:
        """Every point of an integer domain, in ``names`` order (default: the domain's)."""
        order = list(names) if names is not None else list(self.names)
        return itertools.product(*(self[n].values() for n in order))

    def grid(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Every point of an integer domain as an int64 array of shape (n_points, n_inputs)."""
        order = list(names) if names is not None else list(self.names)
        axes = [np.arange(int(self[n].lo), int(self[n].hi) + 1) for n in order]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1) if axes else np.zeros((1, 0), int)

    def restrict(self, names: Sequence[str]) -> Domain:
        """The domain of ``names`` in that order; every name must be declared."""
        missing = [n for n in names if self.get(n) is None]
        if missing:
            hint = did_you_mean(missing[0], self.names, n=1)
            raise ConfigError(
                f"the domain gives no range for {', '.join(missing)}{hint}; add "
                f"{missing[0]}=LO..HI (integers) or {missing[0]}=LO:HI (reals)"
            )
        return Domain(tuple((n, self[n]) for n in names))

    def __str__(self) -> str:
        return ",".join(f"{n}={iv}" for n, iv in self.intervals)


_ITEM = re.compile(r"^\s*(?:(?P<name>[A-Za-z_][A-Za-z_0-9]*)\s*=)?\s*(?P<range>.+?)\s*$")


def _interval(text: str, where: str) -> Interval:
    if ".." in text:
        lo, _, hi = text.partition("..")
        integer = True
    elif ":" in text:
        lo, _, hi = text.partition(":")
        integer = False
    else:
        raise ConfigError(
            f"domain {where!r}: expected LO..HI (integers) or LO:HI (real interval), got {text!r}"
        )
    return Interval(to_fraction(lo, "range end"), to_fraction(hi, "range end"), integer)


def parse_domain(text: str, names: Sequence[str] | None = None) -> Domain:
    """A :class:`Domain` from ``"x=0..15,y=-3..3"``, ``"x=-1:1"`` or an unnamed ``"0..15"``.

    ``names`` (the inputs of an expression) are required for the unnamed form, which gives
    every input the same range.
    """
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError("the domain is empty; write e.g. x=0..15 or x=-1:1")
    parsed: list[tuple[str | None, Interval]] = []
    for item in items:
        m = _ITEM.match(item)
        if m is None:  # pragma: no cover - the pattern matches any non-blank text
            raise ConfigError(f"cannot read domain item {item!r}")
        parsed.append((m.group("name"), _interval(m.group("range"), item.strip())))
    unnamed = [iv for n, iv in parsed if n is None]
    if unnamed:
        if len(parsed) != 1:
            raise ConfigError(
                f"domain {text!r}: name every range (x=0..15,y=0..3) or give one unnamed range "
                "for all inputs"
            )
        if not names:
            raise ConfigError(f"domain {text!r} names no input; write NAME=LO..HI")
        return Domain(tuple((n, unnamed[0]) for n in names))
    return Domain(tuple((n, iv) for n, iv in parsed if n is not None))
