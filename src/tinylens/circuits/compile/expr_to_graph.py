"""Syntax tree to a layered graph of ReLU units: the constructions of the compiler.

Every intermediate quantity is a :class:`Value`: an exact affine function of the units of one
layer (layer 0 being the inputs), with bounds and a lattice for its values on the domain. A
construction that needs a ReLU adds units to the next layer; values from different layers are
aligned by *carrying* the shallower one through the layers in between, exactly:

=======================  =====================================================  ============
quantity                 construction                                           units
=======================  =====================================================  ============
carry ``v`` one layer    ``relu(v) - relu(-v)``; ``relu(v)`` if ``v >= 0``;     2 (or 1)
                         a single unit ``n >= 0`` as ``relu(n)``; ``v >= lo``
                         on the domain: ``relu(v - lo) + lo``
``relu(v)``              one unit (none if ``v`` never changes sign)            1
``abs(v)``               ``relu(v) + relu(-v)``                                 2
``min(a, b)``            ``a - relu(a - b)`` or ``b - relu(b - a)`` (carry the  1 + carry
                         cheaper one; a constant costs nothing)
``max(a, b)``            ``a + relu(b - a)`` or ``b + relu(a - b)``             1 + carry
``min/max`` of k         pairwise tree, ``ceil(log2 k)`` layers
``clamp(v, lo, hi)``     ``lo + relu(v - lo) - relu(v - hi)``                   2, 1 layer
``d > 0`` on a lattice   ``(relu(d) - relu(d - delta)) / delta``, ``delta`` the  2
                         smallest positive lattice value (1 on integers)
``d == 0``               ``(relu(d + g) - 2 relu(d) + relu(d - g)) / g``         3
``is_even(x, bits=n)``   fold ``y <- |y - 2**(n-k)|`` for k = 1..n              2 per layer
``c * v``, c in {0, 1}   ``relu(v + M c - M) - relu(-v + M c - M)``, M >= |v|    2 (1 if v>=0)
``where(c, a, b)``       cheapest of ``b + c (a - b)``, ``a + (1 - c)(b - a)``,
                         ``c a + (1 - c) b``
=======================  =====================================================  ============

Units are shared: a unit whose pre-activation is a positive multiple of an existing one's in
the same layer is that unit (``relu(2 z) = 2 relu(z)``). Where several constructions are
possible, each is tried on a copy of the graph and the one adding the fewest units is kept.

The domain's bounds let the compiler drop a unit that is never active, or never inactive, on
the domain; every such shortcut, and every other fact about the domain a construction relies
on, is recorded in :attr:`Graph.assumptions`: outside the domain the network may differ from
the expression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction as F

from tinylens.circuits.compile.bounds import Lattice, Range
from tinylens.circuits.compile.expr_functions import _FunctionBuilder
from tinylens.circuits.compile.graph import Graph, Neuron, Value, _const
from tinylens.circuits.expr import BinOp, Call, Compare, Domain, Expr, Neg, Num, Var, fmt
from tinylens.errors import ConfigError

__all__ = ["Graph", "Neuron", "Value", "expr_to_graph"]


class _Builder(_FunctionBuilder):
    def __init__(self, names: Sequence[str], domain: Domain | None) -> None:
        self.names = tuple(names)
        self.domain = domain
        self.graph = Graph(self.names)
        self.inputs: list[Range] = []
        self.lattices: list[Lattice | None] = []
        for n in self.names:
            iv = domain.get(n) if domain is not None else None
            self.inputs.append(Range(iv.lo, iv.hi) if iv is not None else Range.everything())
            self.lattices.append(Lattice.integers() if iv is not None and iv.integer else None)

    # -- linear algebra of values ----------------------------------------------------------
    def lin(self, parts: Sequence[tuple[F, Value]], const: F = F(0), label: str = "") -> Value:
        """``const + sum(c * v)``, carrying the shallower values to the deepest layer."""
        parts = [(F(c), v) for c, v in parts if c != 0]
        depth = max((v.depth for _, v in parts), default=0)
        terms: dict[int, F] = {}
        total = F(const)
        rng, srng = Range.point(total), Range.point(total)
        lattice: Lattice | None = Lattice(F(0), total)
        for c, v in parts:
            v = self.carry_to(v, depth)
            total += c * v.const
            for i, w in v.terms:
                terms[i] = terms.get(i, F(0)) + c * w
            rng, srng = rng.add(v.rng.scale(c)), srng.add(v.srng.scale(c))
            lattice = (
                None if lattice is None or v.lattice is None else lattice.add(v.lattice.scale(c))
            )
        items = tuple(sorted((i, w) for i, w in terms.items() if w != 0))
        if not items:
            return _const(total, label)
        if depth == 0:  # an affine function of the inputs: its exact range on the box
            rng = rng.intersect(self._box_range(items, total))
        if lattice is None and depth == 0 and all(self.lattices[i] for i, _ in items):
            lattice = Lattice(F(0), total)
            for i, w in items:
                lattice = lattice.add(self.lattices[i].scale(w))  # type: ignore[union-attr]
        return Value(depth, items, total, rng, srng, lattice, label)

    def _box_range(self, items: tuple[tuple[int, F], ...], const: F) -> Range:
        lo: F | None = const
        hi: F | None = const
        for i, w in items:
            r = self.inputs[i].scale(w)
            lo = None if lo is None or r.lo is None else lo + r.lo
            hi = None if hi is None or r.hi is None else hi + r.hi
        return Range(lo, hi)

    def refine(
        self, v: Value, rng: Range, srng: Range, lattice: Lattice | None, label: str
    ) -> Value:
        """``v`` with bounds tightened by what the construction is known to compute."""
        if v.is_const:
            return _const(v.const, label)
        lat = v.lattice if lattice is None else lattice
        return Value(
            v.layer, v.terms, v.const, v.rng.intersect(rng), v.srng.intersect(srng), lat, label
        )

    # -- units -------------------------------------------------------------------------------
    def carry_to(self, v: Value, depth: int) -> Value:
        while not v.is_const and v.layer < depth:
            v = self.carry_one(v)
        return v

    def carry_one(self, v: Value) -> Value:
        """The same value, one layer deeper, exactly (no shortcut that changes the value)."""
        g, layer = self.graph, v.layer + 1
        name = v.label or "a value"
        if v.rng.nonnegative():
            self._structural(
                v.srng.nonnegative(), f"{name} >= 0 on the domain (carried by one unit)"
            )
            i, s = g.unit(v, f"carry {name}")
            return Value(layer, ((i, s),), F(0), v.rng, v.srng, v.lattice, v.label)
        if v.rng.nonpositive():
            self._structural(
                v.srng.nonpositive(), f"{name} <= 0 on the domain (carried by one unit)"
            )
            i, s = g.unit(self._neg(v), f"carry -({name})")
            return Value(layer, ((i, -s),), F(0), v.rng, v.srng, v.lattice, v.label)
        if v.layer >= 1 and len(v.terms) == 1:  # units are >= 0: relu(unit) = unit
            ((j, c),) = v.terms
            unit = Value(v.layer, ((j, F(1)),), F(0), Range(F(0), None), Range(F(0), None), None)
            i, s = g.unit(unit, f"carry {name}")
            return Value(layer, ((i, c * s),), v.const, v.rng, v.srng, v.lattice, v.label)
        if v.rng.lo is not None or v.rng.hi is not None:
            # bounded on the domain: v = relu(v - lo) + lo (or hi - relu(hi - v)), one unit
            below = v.rng.lo is not None
            edge = v.rng.lo if below else v.rng.hi
            assert edge is not None
            side = ">=" if below else "<="
            self._structural(
                (v.srng.lo is not None and v.srng.lo >= edge)
                if below
                else (v.srng.hi is not None and v.srng.hi <= edge),
                f"{name} {side} {fmt(edge)} on the domain (carried by one unit with a bias)",
            )
            shifted = v if below else self._neg(v)
            off = edge if below else -edge
            moved = Value(
                v.layer,
                shifted.terms,
                shifted.const - off,
                shifted.rng.shift(-off),
                shifted.srng.shift(-off),
                None,
            )
            i, s = g.unit(moved, f"carry {name} {side} {fmt(edge)} in one unit")
            return Value(layer, ((i, s if below else -s),), edge, v.rng, v.srng, v.lattice, v.label)
        i, s = g.unit(v, f"carry {name} (+)")
        k, t = g.unit(self._neg(v), f"carry {name} (-)")
        return Value(layer, ((i, s), (k, -t)), F(0), v.rng, v.srng, v.lattice, v.label)

    def _neg(self, v: Value) -> Value:
        return Value(
            v.layer,
            tuple((i, -c) for i, c in v.terms),
            -v.const,
            v.rng.neg(),
            v.srng.neg(),
            None if v.lattice is None else v.lattice.scale(F(-1)),
            f"-({v.label})" if v.label else "",
        )

    def _structural(self, holds_everywhere: bool, text: str) -> None:
        if not holds_everywhere:
            self.graph.note(text)

    def relu(self, v: Value, label: str = "") -> Value:
        label = label or f"relu({v.label})"
        if v.is_const:
            return _const(max(v.const, F(0)), label)
        if v.rng.nonnegative():
            self._structural(
                v.srng.nonnegative(), f"{v.label} >= 0 on the domain, so {label} = {v.label}"
            )
            return self.refine(v, v.rng, v.srng.relu(), None, label)
        if v.rng.nonpositive():
            self._structural(v.srng.nonpositive(), f"{v.label} <= 0 on the domain, so {label} = 0")
            return _const(F(0), label)
        i, s = self.graph.unit(v, label)
        lattice = None if v.lattice is None else v.lattice.union(Lattice(F(0), F(0)))
        return Value(v.layer + 1, ((i, s),), F(0), v.rng.relu(), v.srng.relu(), lattice, label)

    def cheapest(self, options: Sequence[Callable[[], Value]]) -> Value:
        """Run the option that adds the fewest units (the first on ties)."""
        if len(options) == 1:
            return options[0]()
        g = self.graph
        costs = []
        for opt in options:
            snap, before = g.snapshot(), g.n_units
            opt()
            costs.append(g.n_units - before)
            g.restore(snap)
        return options[costs.index(min(costs))]()

    # -- the constructions -----------------------------------------------------------------
    def build(self, e: Expr) -> Value:
        if isinstance(e, Num):
            return _const(e.value)
        if isinstance(e, Var):
            i = self.names.index(e.name)
            v = Value(
                0, ((i, F(1)),), F(0), self.inputs[i], Range.everything(), self.lattices[i], e.name
            )
            return v
        if isinstance(e, Neg):
            return self.lin([(F(-1), self.build(e.operand))], label=str(e))
        if isinstance(e, BinOp):
            return self.binop(e)
        if isinstance(e, Compare):
            return self.compare(e)
        if isinstance(e, Call):
            return self.call(e)
        raise TypeError(f"not an expression: {e!r}")  # pragma: no cover

    def binop(self, e: BinOp) -> Value:
        a, b = self.build(e.left), self.build(e.right)
        label = str(e)
        if e.op == "+":
            return self.lin([(F(1), a), (F(1), b)], label=label)
        if e.op == "-":
            return self.lin([(F(1), a), (F(-1), b)], label=label)
        if e.op == "/":
            if not b.is_const:
                raise ConfigError(
                    f"column {e.pos}: {label} divides by a non-constant; a ReLU network divides "
                    "only by constants"
                )
            if b.const == 0:
                raise ConfigError(f"column {e.pos}: {label} divides by zero")
            return self.lin([(1 / b.const, a)], label=label)
        if a.is_const:
            return self.lin([(a.const, b)], label=label)
        if b.is_const:
            return self.lin([(b.const, a)], label=label)
        if a.is_boolean():
            return self.gate(a, b, e, label)
        if b.is_boolean():
            return self.gate(b, a, e, label)
        raise ConfigError(
            f"column {e.pos}: {label} multiplies two variable quantities; a ReLU network "
            "multiplies exactly only by a constant or by a 0/1 value such as a comparison"
        )

    def gate(self, c: Value, v: Value, e: Expr, label: str) -> Value:
        """``c * v`` for ``c`` in {0, 1} and bounded ``v``."""
        if c.is_const:
            return self.lin([(c.const, v)], label=label)
        if v.is_const:
            return self.lin([(v.const, c)], label=label)
        if not v.rng.bounded:
            raise ConfigError(
                f"column {e.pos}: {label} gates {v.label} by a 0/1 value, which needs bounds on "
                f"{v.label}; declare the inputs' ranges with --domain"
            )
        lo, hi = v.rng.lo, v.rng.hi
        assert lo is not None and hi is not None
        self._structural(
            v.srng.bounded,
            f"{lo} <= {v.label} <= {hi} on the domain (bounds of the gate in {label})",
        )
        rng = v.rng.hull(Range.point(F(0)))
        srng = Range.everything()
        lattice = None if v.lattice is None else v.lattice.union(Lattice(F(0), F(0)))
        if lo >= 0:  # relu(v + M c - M): v when c = 1, 0 when c = 0 (v <= M)
            out = self.relu(self.lin([(F(1), v), (hi, c)], -hi, f"{v.label} gated"), label)
        elif hi <= 0:
            M = -lo
            neg = self.relu(self.lin([(F(-1), v), (M, c)], -M, f"-{v.label} gated"), label)
            out = self.lin([(F(-1), neg)], label=label)
        else:
            M = max(-lo, hi)
            pos = self.relu(self.lin([(F(1), v), (M, c)], -M, f"{v.label} gated (+)"))
            neg = self.relu(self.lin([(F(-1), v), (M, c)], -M, f"{v.label} gated (-)"))
            out = self.lin([(F(1), pos), (F(-1), neg)], label=label)
        return self.refine(out, rng, srng, lattice, label)

    # comparisons
    def _lattice_of(self, d: Value, e: Compare | Call, what: str) -> Lattice:
        if d.lattice is None or d.lattice.step == 0:
            names = ", ".join(sorted(e.variables())) or "the inputs"
            raise ConfigError(
                f"column {e.pos}: {what} is an exact 0/1 step only on integer-valued inputs, "
                f"but {names} may take any real value; declare integer ranges, e.g. "
                f"--domain {sorted(e.variables())[0] if e.variables() else 'x'}=0..15"
            )
        return d.lattice

    def positive(self, d: Value, e: Compare, label: str) -> Value:
        """1 where ``d > 0``, else 0, for ``d`` on a lattice."""
        if d.is_const:
            return _const(F(1) if d.const > 0 else F(0), label)
        lat = self._lattice_of(d, e, label)
        delta = lat.smallest_positive()
        self.graph.note(
            f"{label}: exact where {d.label} takes values in {fmt(lat.step)}Z+{fmt(lat.offset)}"
        )
        if d.rng.lo is not None and d.rng.lo > 0:
            return _const(F(1), label)
        if d.rng.nonpositive():
            return _const(F(0), label)
        r1 = self.relu(d, f"relu({d.label})")
        r2 = self.relu(self.lin([(F(1), d)], -delta, f"{d.label} - {fmt(delta)}"))
        out = self.lin([(1 / delta, r1), (-1 / delta, r2)], label=label)
        return self.refine(out, Range(F(0), F(1)), Range(F(0), F(1)), Lattice.integers(), label)

    def compare(self, e: Compare) -> Value:
        a, b = self.build(e.left), self.build(e.right)
        label = str(e)
        if e.op in ("<", ">"):
            big, small = (e.right, e.left) if e.op == "<" else (e.left, e.right)
            d = self.lin([(F(1), b), (F(-1), a)] if e.op == "<" else [(F(1), a), (F(-1), b)])
            d = self.refine(d, d.rng, d.srng, None, str(BinOp("-", big, small)))
            return self.positive(d, e, label)
        if e.op in ("<=", ">="):
            d = self.lin([(F(1), b), (F(-1), a)] if e.op == "<=" else [(F(1), a), (F(-1), b)])
            if d.is_const:
                return _const(F(1) if d.const >= 0 else F(0), label)
            lat = self._lattice_of(d, e, label)
            shift = lat.scale(F(-1)).smallest_positive()  # d >= 0  <=>  d + shift > 0
            d = self.lin([(F(1), d)], shift)
            big, small = (e.right, e.left) if e.op == "<=" else (e.left, e.right)
            d = self.refine(d, d.rng, d.srng, None, f"{BinOp('-', big, small)} + {fmt(shift)}")
            return self.positive(d, e, label)
        d = self.lin([(F(1), a), (F(-1), b)])
        d = self.refine(d, d.rng, d.srng, None, str(BinOp("-", e.left, e.right)))
        eq = self.equal_zero(d, e, label if e.op == "==" else f"{e.left} == {e.right}")
        if e.op == "==":
            return eq
        out = self.lin([(F(-1), eq)], F(1), label)
        return self.refine(out, Range(F(0), F(1)), Range(F(0), F(1)), Lattice.integers(), label)

    def equal_zero(self, d: Value, e: Compare, label: str) -> Value:
        if d.is_const:
            return _const(F(1) if d.const == 0 else F(0), label)
        lat = self._lattice_of(d, e, label)
        self.graph.note(
            f"{label}: exact where {d.label} takes values in {fmt(lat.step)}Z+{fmt(lat.offset)}"
        )
        if (
            not lat.contains(F(0))
            or (d.rng.lo is not None and d.rng.lo > 0)
            or (d.rng.hi is not None and d.rng.hi < 0)
        ):
            return _const(F(0), label)
        g = lat.step
        up = self.relu(self.lin([(F(1), d)], g), f"relu({d.label} + {fmt(g)})")
        mid = self.relu(d, f"relu({d.label})")
        down = self.relu(self.lin([(F(1), d)], -g), f"relu({d.label} - {fmt(g)})")
        out = self.lin([(1 / g, up), (-2 / g, mid), (1 / g, down)], label=label)
        return self.refine(out, Range(F(0), F(1)), Range(F(0), F(1)), Lattice.integers(), label)


def expr_to_graph(
    expr: Expr, input_names: Sequence[str], domain: Domain | None = None
) -> tuple[Graph, Value]:
    """Build the graph of ``expr`` over inputs ``input_names``; returns it and the output value.

    ``domain`` (over exactly ``input_names``) provides bounds and integrality; without it every
    input is an unbounded real.
    """
    missing = sorted(expr.variables() - set(input_names))
    if missing:
        raise ConfigError(f"the expression uses {', '.join(missing)}, which are not inputs")
    builder = _Builder(input_names, domain)
    out = builder.build(expr)
    return builder.graph, out
