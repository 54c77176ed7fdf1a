"""Exact abstract values the compiler reasons with: intervals and lattices of rationals.

* :class:`Range` is an interval ``[lo, hi]`` with ``None`` for an infinite end. Interval
  arithmetic over the expression bounds every intermediate value on the domain; the compiler
  uses the bounds to drop units that are never active, to size the gates of ``where`` and
  to check that ``is_even`` sees only ``0 <= x < 2**bits``.
* :class:`Lattice` ``step * Z + offset`` (``step == 0``: one value) holds every value a
  quantity can take: integers are ``1 * Z + 0``. A comparison ``d > 0`` on a lattice is exact as
  the ReLU step ``(relu(d) - relu(d - delta)) / delta``, with ``delta`` the smallest positive
  lattice value: nothing lies strictly between 0 and ``delta``.

>>> Range(F(-1), F(2)).abs(), Range(None, F(0)).relu()
(Range(lo=Fraction(0, 1), hi=Fraction(2, 1)), Range(lo=Fraction(0, 1), hi=Fraction(0, 1)))
>>> Lattice(F(1), F(0)).scale(F(1, 2)).add(Lattice(F(0), F(1, 3))).smallest_positive()
Fraction(1, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction as F

__all__ = ["Lattice", "Range", "rational_gcd"]


def rational_gcd(a: F, b: F) -> F:
    """The largest ``g`` with ``a`` and ``b`` both integer multiples of it (gcd(a, 0) = |a|)."""
    a, b = abs(a), abs(b)
    if a == 0:
        return b
    if b == 0:
        return a
    den = a.denominator * b.denominator // math.gcd(a.denominator, b.denominator)
    return F(math.gcd(int(a * den), int(b * den)), den)


@dataclass(frozen=True)
class Range:
    """The interval ``[lo, hi]``; ``None`` is minus or plus infinity."""

    lo: F | None
    hi: F | None

    @classmethod
    def point(cls, v: F) -> Range:
        return cls(v, v)

    @classmethod
    def everything(cls) -> Range:
        return cls(None, None)

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None

    def nonnegative(self) -> bool:
        return self.lo is not None and self.lo >= 0

    def nonpositive(self) -> bool:
        return self.hi is not None and self.hi <= 0

    def add(self, other: Range) -> Range:
        lo = None if self.lo is None or other.lo is None else self.lo + other.lo
        hi = None if self.hi is None or other.hi is None else self.hi + other.hi
        return Range(lo, hi)

    def shift(self, c: F) -> Range:
        return Range(
            None if self.lo is None else self.lo + c, None if self.hi is None else self.hi + c
        )

    def scale(self, c: F) -> Range:
        if c == 0:
            return Range(F(0), F(0))
        lo = None if self.lo is None else self.lo * c
        hi = None if self.hi is None else self.hi * c
        return Range(lo, hi) if c > 0 else Range(hi, lo)

    def neg(self) -> Range:
        return self.scale(F(-1))

    def relu(self) -> Range:
        lo = F(0) if self.lo is None else max(self.lo, F(0))
        hi = None if self.hi is None else max(self.hi, F(0))
        return Range(lo, hi)

    def abs(self) -> Range:
        if self.nonnegative():
            return self
        if self.nonpositive():
            return self.neg()
        lo = F(0)
        hi = None if self.lo is None or self.hi is None else max(-self.lo, self.hi)
        return Range(lo, hi)

    def minimum(self, other: Range) -> Range:
        lo = None if self.lo is None or other.lo is None else min(self.lo, other.lo)
        his = [h for h in (self.hi, other.hi) if h is not None]
        return Range(lo, min(his) if his else None)

    def maximum(self, other: Range) -> Range:
        los = [v for v in (self.lo, other.lo) if v is not None]
        hi = None if self.hi is None or other.hi is None else max(self.hi, other.hi)
        return Range(max(los) if los else None, hi)

    def hull(self, other: Range) -> Range:
        lo = None if self.lo is None or other.lo is None else min(self.lo, other.lo)
        hi = None if self.hi is None or other.hi is None else max(self.hi, other.hi)
        return Range(lo, hi)

    def intersect(self, other: Range) -> Range:
        """The tighter of two valid bounds of the same quantity."""
        los = [v for v in (self.lo, other.lo) if v is not None]
        his = [v for v in (self.hi, other.hi) if v is not None]
        return Range(max(los) if los else None, min(his) if his else None)

    def __str__(self) -> str:
        lo = "-inf" if self.lo is None else str(self.lo)
        hi = "inf" if self.hi is None else str(self.hi)
        return f"[{lo}, {hi}]"


@dataclass(frozen=True)
class Lattice:
    """Every value lies in ``step * Z + offset`` (``step >= 0``; 0 means the single value)."""

    step: F
    offset: F

    def __post_init__(self) -> None:
        step = abs(self.step)
        offset = self.offset % step if step else self.offset
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "offset", offset)

    @classmethod
    def integers(cls) -> Lattice:
        return cls(F(1), F(0))

    def scale(self, c: F) -> Lattice:
        return Lattice(self.step * c, self.offset * c)

    def shift(self, c: F) -> Lattice:
        return Lattice(self.step, self.offset + c)

    def add(self, other: Lattice) -> Lattice:
        return Lattice(rational_gcd(self.step, other.step), self.offset + other.offset)

    def union(self, other: Lattice) -> Lattice:
        """A lattice holding both: ``gcd(step, step', offset - offset') * Z + offset``."""
        g = rational_gcd(rational_gcd(self.step, other.step), self.offset - other.offset)
        return Lattice(g, self.offset)

    def contains(self, v: F) -> bool:
        return (v - self.offset) % self.step == 0 if self.step else v == self.offset

    def smallest_positive(self) -> F:
        """The smallest value > 0 in the lattice (the lattice must have step > 0)."""
        r = self.offset % self.step
        return r if r > 0 else self.step

    @property
    def integral(self) -> bool:
        """Every value is an integer."""
        if self.step == 0:
            return self.offset.denominator == 1
        return self.step.denominator == 1 and self.offset.denominator == 1
