"""The constructions of the circuit language's functions (``relu``, ``abs``, ``min``, ``max``,
``clamp``, ``is_even``, ``where``) as ReLU units; the table is in
:mod:`tinylens.circuits.compile.expr_to_graph`, whose builder these methods are part of.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction as F

from tinylens.circuits.compile.bounds import Lattice, Range
from tinylens.circuits.compile.graph import Value, _const
from tinylens.circuits.expr import Call, fmt
from tinylens.errors import ConfigError

__all__: list[str] = []


class _FunctionBuilder:
    """The function-call half of the expression builder (mixed into ``_Builder``)."""

    # functions
    def call(self, e: Call) -> Value:
        label = str(e)
        name = e.name
        if name in ("is_even", "is_odd"):
            return self.parity(e, label)
        args = [self.build(a) for a in e.args]
        if name == "relu":
            return self.relu(args[0], label)
        if name == "abs":
            v = args[0]
            if v.is_const:
                return _const(abs(v.const), label)
            if v.rng.nonnegative():
                self._structural(
                    v.srng.nonnegative(), f"{v.label} >= 0 on the domain, so {label} = {v.label}"
                )
                return self.refine(v, v.rng, v.srng.abs(), None, label)
            if v.rng.nonpositive():
                self._structural(
                    v.srng.nonpositive(), f"{v.label} <= 0 on the domain, so {label} = -({v.label})"
                )
                neg = self.lin([(F(-1), v)], label=label)
                return self.refine(neg, v.rng.abs(), v.srng.abs(), None, label)
            out = self.lin([(F(1), self.relu(v)), (F(1), self.relu(self._neg(v)))], label=label)
            lattice = None if v.lattice is None else v.lattice.union(v.lattice.scale(F(-1)))
            return self.refine(out, v.rng.abs(), v.srng.abs(), lattice, label)
        if name in ("min", "max"):
            return self.extremum(name, args, label)
        if name == "clamp":
            x, lo, hi = args
            if lo.is_const and hi.is_const:
                if lo.const > hi.const:
                    raise ConfigError(f"column {e.pos}: {label} has lo > hi")
                r1 = self.relu(self.lin([(F(1), x)], -lo.const, f"{x.label} - {fmt(lo.const)}"))
                r2 = self.relu(self.lin([(F(1), x)], -hi.const, f"{x.label} - {fmt(hi.const)}"))
                out = self.lin([(F(1), r1), (F(-1), r2)], lo.const, label)
                rng = x.rng.maximum(lo.rng).minimum(hi.rng)
                srng = x.srng.maximum(lo.srng).minimum(hi.srng)
                return self.refine(out, rng, srng, None, label)
            return self.extremum(
                "min", [self.extremum("max", [x, lo], f"max({e.args[0]}, {e.args[1]})"), hi], label
            )
        if name == "where":
            return self.where(e, args, label)
        raise ConfigError(f"column {e.pos}: unknown function {name!r}")  # pragma: no cover

    def extremum(self, name: str, values: list[Value], label: str) -> Value:
        values = list(values)
        while len(values) > 1:
            nxt = []
            for i in range(0, len(values) - 1, 2):
                nxt.append(self.pair(name, values[i], values[i + 1]))
            if len(values) % 2:
                nxt.append(values[-1])
            values = nxt
        v = values[0]
        return (
            self.refine(v, v.rng, v.srng, None, label) if not v.is_const else _const(v.const, label)
        )

    def pair(self, name: str, a: Value, b: Value) -> Value:
        """``min(a, b) = a - relu(a - b)`` / ``max(a, b) = a + relu(b - a)`` (or mirrored)."""
        label = f"{name}({a.label}, {b.label})"
        is_min = name == "min"
        d = self.lin([(F(1), a), (F(-1), b)], label=f"{a.label} - {b.label}")
        rng = a.rng.minimum(b.rng) if is_min else a.rng.maximum(b.rng)
        srng = a.srng.minimum(b.srng) if is_min else a.srng.maximum(b.srng)
        lattice = None if a.lattice is None or b.lattice is None else a.lattice.union(b.lattice)
        if d.rng.nonpositive() or d.rng.nonnegative():  # one argument always wins
            a_wins = d.rng.nonpositive() == is_min
            held = d.srng.nonpositive() if d.rng.nonpositive() else d.srng.nonnegative()
            self._structural(held, f"{label} = {(a if a_wins else b).label} on the domain")
            w = a if a_wins else b
            return self.refine(w, rng, srng, lattice, label)

        def keep(first: Value, second: Value) -> Callable[[], Value]:
            # min: first - relu(first - second); max: first + relu(second - first)
            def run() -> Value:
                sign = F(1) if is_min else F(-1)
                diff = self.lin(
                    [(sign, first), (-sign, second)],
                    label=f"{first.label} - {second.label}"
                    if is_min
                    else f"{second.label} - {first.label}",
                )
                r = self.relu(diff, f"relu({diff.label})")
                out = self.lin([(F(1), first), (-sign, r)], label=label)
                return self.refine(out, rng, srng, lattice, label)

            return run

        return self.cheapest([keep(a, b), keep(b, a)])

    def parity(self, e: Call, label: str) -> Value:
        v = self.build(e.args[0])
        bits = e.keyword("bits")
        if v.is_const:
            if v.const.denominator != 1:
                raise ConfigError(f"column {e.pos}: {label}: {fmt(v.const)} is not an integer")
            even = F(1) if int(v.const) % 2 == 0 else F(0)
            return _const(even if e.name == "is_even" else 1 - even, label)
        if v.lattice is None or not v.lattice.integral:
            raise ConfigError(
                f"column {e.pos}: {label} needs an integer-valued argument; declare integer "
                f"ranges, e.g. --domain {v.label if v.label.isidentifier() else 'x'}=0..15"
            )
        lo, hi = v.rng.lo, v.rng.hi
        if bits is None:
            if lo is None or hi is None or lo < 0:
                raise ConfigError(
                    f"column {e.pos}: {label} needs bits=n (exact on 0 <= x < 2**n) or a "
                    "domain on which its argument is >= 0 and bounded"
                )
            bits = max(1, int(hi).bit_length())
        top = 2**bits
        if (lo is not None and lo < 0) or (hi is not None and hi >= top):
            raise ConfigError(
                f"column {e.pos}: {e.name}(..., bits={bits}) is exact for 0 <= {v.label} < {top}, "
                f"but {v.label} ranges over {v.rng} on the domain; raise bits or narrow the domain"
            )
        y = v
        for k in range(1, bits + 1):
            c = F(2 ** (bits - k))
            shifted = self.lin([(F(1), y)], -c, label=f"{y.label} - {fmt(c)}")
            folded = self.lin(
                [(F(1), self.relu(shifted)), (F(1), self.relu(self._neg(shifted)))],
                label=f"|{y.label} - {fmt(c)}|",
            )
            y = self.refine(
                folded, shifted.rng.abs(), shifted.srng.abs(), Lattice.integers(), f"fold{k}"
            )
        even = self.refine(y, Range(F(0), F(1)), y.srng, Lattice.integers(), label)
        if e.name == "is_even":
            return even
        odd = self.lin([(F(-1), even)], F(1), label)
        return self.refine(odd, Range(F(0), F(1)), odd.srng, Lattice.integers(), label)

    def where(self, e: Call, args: list[Value], label: str) -> Value:
        c, a, b = args
        if not c.is_boolean():
            raise ConfigError(
                f"column {e.pos}: the condition of {label} must be 0 or 1 on the domain (a "
                f"comparison, is_even, ...); {e.args[0]} ranges over {c.rng}"
            )
        if c.is_const:
            chosen = a if c.const == 1 else b
            return self.refine(chosen, chosen.rng, chosen.srng, None, label)
        rng, srng = a.rng.hull(b.rng), a.srng.hull(b.srng)
        lattice = None if a.lattice is None or b.lattice is None else a.lattice.union(b.lattice)
        not_c = self.refine(
            self.lin([(F(-1), c)], F(1)),
            Range(F(0), F(1)),
            Range(F(0), F(1)),
            Lattice.integers(),
            f"not {c.label}",
        )

        def option_a() -> Value:  # b + c (a - b)
            diff = self.lin([(F(1), a), (F(-1), b)], label=f"({a.label}) - ({b.label})")
            return self.lin([(F(1), b), (F(1), self.gate(c, diff, e, label))], label=label)

        def option_b() -> Value:  # a + (1 - c)(b - a)
            diff = self.lin([(F(1), b), (F(-1), a)], label=f"({b.label}) - ({a.label})")
            return self.lin([(F(1), a), (F(1), self.gate(not_c, diff, e, label))], label=label)

        def option_c() -> Value:  # c a + (1 - c) b
            return self.lin(
                [(F(1), self.gate(c, a, e, label)), (F(1), self.gate(not_c, b, e, label))],
                label=label,
            )

        out = self.cheapest([option_a, option_b, option_c])
        return self.refine(out, rng, srng, lattice, label) if not out.is_const else out
