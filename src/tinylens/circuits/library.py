"""The library: every hand-derived network of our sources, with exact weights and an oracle.

Each entry is a :class:`Circuit`: the network as an exact :class:`~tinylens.engine.AffineNet`
(weights ``[out, in]``, ``fractions.Fraction``; ReLU hidden layers and a linear output unless
said otherwise), its formula (a SymPy-parsable string in the input names, and a human form),
worked examples, the domain it is meant for, the reference function (plain Python on exact
numbers: the oracle), and the expression the compiler builds it from, for comparing sizes.

>>> c = get_circuit("min")
>>> c.net.sizes, c.formula
([2, 3, 1], 'x1 - Max(x1 - x2, 0)')
>>> [c.run(*ex.inputs) for ex in c.examples]
[(Fraction(3, 1),), (Fraction(-5, 1),)]
>>> get_circuit("identity_family", w1=2, w2="-1/2").net.layers[1].weight.tolist()
[[Fraction(1, 2), Fraction(-2, 1)]]

Naming, honestly: the sources' "is_even" network computes ``x mod 2`` (1 for *odd* x) on
0..15; it is the entry ``parity_net`` (aliases ``is_odd``, ``is_even_source``), and
``is_even`` is ``1 - parity_net``, the same network with its last layer changed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction as F
from typing import Any

import numpy as np

from tinylens.circuits.domain import Domain
from tinylens.circuits.exact import exact_net, fmt, to_fraction
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError, UnknownNameError

__all__ = [
    "CIRCUITS",
    "Circuit",
    "CircuitSpec",
    "Example",
    "Param",
    "circuit_names",
    "get_circuit",
]


@dataclass(frozen=True)
class Example:
    """``inputs -> outputs``; ``tolerance`` 0 means exact (sigmoid entries are approximate)."""

    inputs: tuple[F, ...]
    outputs: tuple[F, ...]
    tolerance: F = F(0)


@dataclass(frozen=True)
class Circuit:
    """One network of the library (see the module docstring for the fields)."""

    name: str
    description: str
    formula: str
    human: str
    net: AffineNet
    examples: tuple[Example, ...]
    domain: Domain
    reference: Callable[..., Any]
    expression: str | None = None
    aliases: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    source: str = "sources"
    notes: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.net.names)

    @property
    def exact(self) -> bool:
        """Exact arithmetic applies (ReLU / identity layers only; not the sigmoid neurons)."""
        return all(a in ("relu", "identity") for a in self.net.activations)

    @property
    def neurons(self) -> int:
        return sum(la.out_features for la in self.net.layers if la.activation != "identity")

    def run(self, *inputs: object) -> tuple[Any, ...]:
        """The network's outputs at one point: exact Fractions, or floats for sigmoid nets."""
        if len(inputs) != self.net.n_inputs:
            raise ConfigError(f"{self.name} takes {self.net.n_inputs} inputs, got {len(inputs)}")
        if self.exact:
            x = np.array([[to_fraction(v) for v in inputs]], dtype=object)
            return tuple(F(v) for v in self.net.forward(x)[0])
        x = np.array([[float(to_fraction(v)) for v in inputs]])
        return tuple(float(v) for v in self.net.to_float().forward(x)[0])

    def check_examples(self) -> list[tuple[Example, tuple[Any, ...], bool]]:
        """Every example with the network's output and whether it matches."""
        rows = []
        for ex in self.examples:
            got = self.run(*ex.inputs)
            ok = all(abs(F(g) - w) <= ex.tolerance for g, w in zip(got, ex.outputs, strict=True))
            rows.append((ex, got, ok))
        return rows

    def to_dict(self) -> dict[str, Any]:
        from tinylens.circuits.exact import net_to_strings

        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "description": self.description,
            "formula": self.formula,
            "human": self.human,
            "inputs": list(self.inputs),
            "sizes": self.net.sizes,
            "activations": self.net.activations,
            "neurons": self.neurons,
            "exact": self.exact,
            "domain": str(self.domain),
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "layers": net_to_strings(self.net),
            "examples": [
                {
                    "inputs": [fmt(v) for v in ex.inputs],
                    "outputs": [fmt(v) for v in ex.outputs],
                    "tolerance": fmt(ex.tolerance),
                }
                for ex in self.examples
            ],
            "expression": self.expression,
            "source": self.source,
            "notes": list(self.notes),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, F):
        return fmt(v)
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return v


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    doc: str


@dataclass(frozen=True)
class CircuitSpec:
    """A library entry: how to build its :class:`Circuit`, from parameters if it has any."""

    name: str
    summary: str
    build: Callable[..., Circuit]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()

    def __call__(self, **params: Any) -> Circuit:
        known = {p.name for p in self.params}
        for key in params:
            if key not in known:
                raise UnknownNameError(f"parameter of {self.name}", key, known or ["(none)"])
        values = {p.name: params.get(p.name, p.default) for p in self.params}
        return dataclasses.replace(self.build(**values), name=self.name, aliases=self.aliases)


def _ex(inputs: Sequence[object], outputs: Sequence[object] | object, tol: object = 0) -> Example:
    outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return Example(
        tuple(to_fraction(v) for v in inputs), tuple(to_fraction(v) for v in outs), to_fraction(tol)
    )


def _box(names: Sequence[str], lo: object = -1, hi: object = 1) -> Domain:
    return Domain.box(names, lo, hi)


def _ints(names: Sequence[str], lo: int, hi: int) -> Domain:
    return Domain.box(names, lo, hi, integer=True)


def _relu(v: F) -> F:
    return v if v > 0 else F(0)


# -- the entries ----------------------------------------------------------------------------


def _identity() -> Circuit:
    return Circuit(
        "identity",
        "x = ReLU(x) - ReLU(-x): a positiveness and a negativeness detector, reconstructed.",
        "x",
        "x = ReLU(x) - ReLU(-x)",
        exact_net([([[1], [-1]], [0, 0], "relu"), ([[1, -1]], [0], "identity")], ["x"]),
        (_ex([3], 3), _ex([-5], -5)),
        _box(["x"]),
        lambda x: x,
        "x",
    )


def _negative_identity() -> Circuit:
    return Circuit(
        "negative_identity",
        "-x = ReLU(-x) - ReLU(x): the identity's detectors with the output weights swapped.",
        "-x",
        "-x = -ReLU(x) + ReLU(-x)",
        exact_net([([[1], [-1]], [0, 0], "relu"), ([[-1, 1]], [0], "identity")], ["x"]),
        (_ex([3], -3), _ex([-5], 5)),
        _box(["x"]),
        lambda x: -x,
        "-x",
    )


def _abs() -> Circuit:
    return Circuit(
        "abs",
        "|x| = ReLU(x) + ReLU(-x): the identity's detectors, both added.",
        "Abs(x)",
        "|x| = ReLU(x) + ReLU(-x)",
        exact_net([([[1], [-1]], [0, 0], "relu"), ([[1, 1]], [0], "identity")], ["x"]),
        (_ex([3], 3), _ex([-5], 5)),
        _box(["x"]),
        lambda x: abs(x),
        "abs(x)",
    )


def _identity_family(w1: object, w2: object) -> Circuit:
    a, b = to_fraction(w1, "w1"), to_fraction(w2, "w2")
    if not a > 0 > b:
        raise ConfigError(f"the identity family needs w1 > 0 > w2, got w1={fmt(a)}, w2={fmt(b)}")
    return Circuit(
        "identity_family",
        "x = ReLU(w1 x)/w1 + ReLU(w2 x)/w2 for any w1 > 0 > w2: the identity up to positive "
        "rescaling of its two units.",
        "x",
        f"x = ReLU({fmt(a)} x) / {fmt(a)} + ReLU({fmt(b)} x) / {fmt(b)}",
        exact_net([([[a], [b]], [0, 0], "relu"), ([[1 / a, 1 / b]], [0], "identity")], ["x"]),
        (_ex([3], 3), _ex([-5], -5)),
        _box(["x"]),
        lambda x: x,
        "x",
        params={"w1": a, "w2": b},
    )


def _detector(sign: int) -> Circuit:
    name = "positive_detector" if sign > 0 else "negative_detector"
    return Circuit(
        name,
        f"One ReLU unit that fires for {'positive' if sign > 0 else 'negative'} x: "
        f"ReLU({'' if sign > 0 else '-'}x).",
        "Max(x, 0)" if sign > 0 else "Max(-x, 0)",
        "ReLU(x)" if sign > 0 else "ReLU(-x)",
        exact_net([([[sign]], [0], "relu")], ["x"]),
        (_ex([3], 3 if sign > 0 else 0), _ex([-5], 0 if sign > 0 else 5)),
        _box(["x"]),
        (lambda x: _relu(x)) if sign > 0 else (lambda x: _relu(-x)),
        "relu(x)" if sign > 0 else "relu(-x)",
    )


def _reconstructor(sign: int) -> Circuit:
    name = "positive_reconstructor" if sign > 0 else "negative_reconstructor"
    side = "x >= 0" if sign > 0 else "x <= 0"
    return Circuit(
        name,
        f"A detector and the output weight that turns it back into x: equals x for {side} and 0 "
        "on the other side (the identity with one unit missing: the 'works for x > 0 only' "
        "failure of trained identity nets is the positive one).",
        "Max(x, 0)" if sign > 0 else "Min(x, 0)",
        "ReLU(x)" if sign > 0 else "-ReLU(-x)",
        exact_net([([[sign]], [0], "relu"), ([[sign]], [0], "identity")], ["x"]),
        (_ex([3], 3 if sign > 0 else 0), _ex([-5], 0 if sign > 0 else -5)),
        _box(["x"]),
        (lambda x: _relu(x)) if sign > 0 else (lambda x: -_relu(-x)),
        "relu(x)" if sign > 0 else "min(x, 0)",
        notes=("our reading of the sources' 'reconstructor': the output weight of one detector",),
    )


def _add() -> Circuit:
    return Circuit(
        "add",
        "x1 + x2 = ReLU(x1 + x2) - ReLU(-x1 - x2): the identity applied to the sum.",
        "x1 + x2",
        "x1 + x2 = ReLU(x1 + x2) - ReLU(-(x1 + x2))",
        exact_net(
            [([[1, 1], [-1, -1]], [0, 0], "relu"), ([[1, -1]], [0], "identity")], ["x1", "x2"]
        ),
        (_ex([3, 5], 8), _ex([3, -5], -2)),
        _box(["x1", "x2"]),
        lambda a, b: a + b,
        "x1 + x2",
    )


def _subtract() -> Circuit:
    return Circuit(
        "subtract",
        "x1 - x2 = ReLU(x1 - x2) - ReLU(x2 - x1): the identity applied to the difference.",
        "x1 - x2",
        "x1 - x2 = ReLU(x1 - x2) - ReLU(x2 - x1)",
        exact_net(
            [([[1, -1], [-1, 1]], [0, 0], "relu"), ([[1, -1]], [0], "identity")], ["x1", "x2"]
        ),
        (_ex([3, 5], -2), _ex([3, -5], 8)),
        _box(["x1", "x2"]),
        lambda a, b: a - b,
        "x1 - x2",
    )


def _greater() -> Circuit:
    return Circuit(
        "greater_detector",
        "One unit that fires by how much x1 exceeds x2: ReLU(x1 - x2).",
        "Max(x1 - x2, 0)",
        "ReLU(x1 - x2)",
        exact_net([([[1, -1]], [0], "relu")], ["x1", "x2"]),
        (_ex([5, 3], 2), _ex([3, 5], 0)),
        _box(["x1", "x2"]),
        lambda a, b: _relu(a - b),
        "relu(x1 - x2)",
    )


_MIN_W1 = [[1, -1], [1, 0], [-1, 0]]  # ReLU(x1 - x2), ReLU(x1), ReLU(-x1)


def _min() -> Circuit:
    return Circuit(
        "min",
        "min(x1, x2) = x1 - ReLU(x1 - x2): a greaterness detector subtracted from x1, which "
        "passes through as ReLU(x1) - ReLU(-x1).",
        "x1 - Max(x1 - x2, 0)",
        "min(x1, x2) = x1 - ReLU(x1 - x2)",
        exact_net([(_MIN_W1, [0, 0, 0], "relu"), ([[-1, 1, -1]], [0], "identity")], ["x1", "x2"]),
        (_ex([3, 5], 3), _ex([3, -5], -5)),
        _box(["x1", "x2"]),
        lambda a, b: min(a, b),
        "min(x1, x2)",
    )


def _min_deep() -> Circuit:
    return Circuit(
        "min_deep",
        "min(x1, x2) in a 2-3-2-1 network: the min circuit, then its result passed through a "
        "second layer as ReLU(m) - ReLU(-m), the shape that composes (min of four).",
        "x1 - Max(x1 - x2, 0)",
        "m = x1 - ReLU(x1 - x2);  min(x1, x2) = ReLU(m) - ReLU(-m)",
        exact_net(
            [
                (_MIN_W1, [0, 0, 0], "relu"),
                ([[-1, 1, -1], [1, -1, 1]], [0, 0], "relu"),
                ([[1, -1]], [0], "identity"),
            ],
            ["x1", "x2"],
        ),
        (_ex([3, 5], 3), _ex([3, -5], -5)),
        _box(["x1", "x2"]),
        lambda a, b: min(a, b),
        "min(x1, x2)",
    )


def _min4() -> Circuit:
    W1 = [[1, -1, 0, 0], [1, 0, 0, 0], [-1, 0, 0, 0], [0, 0, 1, -1], [0, 0, 1, 0], [0, 0, -1, 0]]
    a = [-1, 1, -1, 0, 0, 0]  # a = min(x1, x2) from the first three units
    b = [0, 0, 0, -1, 1, -1]  # b = min(x3, x4)
    W2 = [
        [ai - bi for ai, bi in zip(a, b, strict=True)],  # ReLU(a - b)
        a,  # ReLU(a)
        [-v for v in a],  # ReLU(-a)
    ]
    return Circuit(
        "min4",
        "min(min(x1, x2), min(x3, x4)): two min circuits side by side, then a third on their "
        "results, a - ReLU(a - b).",
        "Min(x1, x2, x3, x4)",
        "min(x1, x2, x3, x4) = min(min(x1, x2), min(x3, x4))",
        exact_net(
            [(W1, [0] * 6, "relu"), (W2, [0, 0, 0], "relu"), ([[-1, 1, -1]], [0], "identity")],
            ["x1", "x2", "x3", "x4"],
        ),
        (_ex([3, 5, 4, 6], 3), _ex([3, -5, 4, -6], -6), _ex([1, 2, -3, 7], -3)),
        _box(["x1", "x2", "x3", "x4"]),
        lambda a, b, c, d: min(a, b, c, d),
        "min(x1, x2, x3, x4)",
    )


def _max() -> Circuit:
    return Circuit(
        "max",
        "max(x1, x2) = x1 + ReLU(x2 - x1): min's circuit by analogy.",
        "x1 + Max(x2 - x1, 0)",
        "max(x1, x2) = x1 + ReLU(x2 - x1)",
        exact_net(
            [([[-1, 1], [1, 0], [-1, 0]], [0, 0, 0], "relu"), ([[1, 1, -1]], [0], "identity")],
            ["x1", "x2"],
        ),
        (_ex([3, 5], 5), _ex([3, -5], 3)),
        _box(["x1", "x2"]),
        lambda a, b: max(a, b),
        "max(x1, x2)",
    )


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _less_than_sigmoid(c: object, M: object, name: str) -> Circuit:
    cc, m = to_fraction(c, "c"), to_fraction(M, "M")
    if m <= 0:
        raise ConfigError(f"the sharpness M must be positive, got {fmt(m)}")
    sharp = name == "less_than_sharp"
    tol = F(1, 200)  # the sources quote two decimals
    examples = [
        _ex([cc - F(1, 2)], F(round(_sigmoid(float(m / 2)), 2)).limit_denominator(100), tol),
        _ex([cc - 10], F(round(_sigmoid(float(10 * m)), 2)).limit_denominator(100), tol),
        _ex([cc + 10], F(round(_sigmoid(float(-10 * m)), 2)).limit_denominator(100), tol),
    ]
    return Circuit(
        name,
        f"x < {fmt(cc)} as one sigmoid unit, sigmoid({'M*(' if sharp else ''}{fmt(cc)} - x"
        f"{')' if sharp else ''}): approximate; F({fmt(cc - F(1, 2))}) = "
        f"{float(examples[0].outputs[0]):.2f}. "
        + (
            "Larger M sharpens the step, but at x = c it is 0.5 for every M; the exact "
            "integer step is less_than_step."
            if sharp
            else "The exact integer step is less_than_step."
        ),
        f"1/(1 + exp(-{fmt(m) + '*' if sharp else ''}({fmt(cc)} - x)))",
        f"sigmoid({fmt(m) + ' * ' if sharp else ''}({fmt(cc)} - x))",
        exact_net([([[-m]], [m * cc], "sigmoid")], ["x"]),
        tuple(examples),
        _ints(["x"], 0, 2 * math.ceil(cc) - 1 if cc > 0 else 19),
        lambda x: _sigmoid(float(m * (cc - F(x)))),
        None,
        params={"c": cc, "M": m} if sharp else {"c": cc},
        notes=("approximate: the compiler builds the exact ReLU step (less_than_step) instead",),
    )


def _less_than_step(c: object) -> Circuit:
    cc = to_fraction(c, "c")
    if cc.denominator != 1:
        raise ConfigError(f"less_than_step needs an integer threshold c, got {fmt(cc)}")
    hi = max(int(cc) * 2 - 1, int(cc) + 1)
    return Circuit(
        "less_than_step",
        f"x < {fmt(cc)} on integers, exactly: ReLU({fmt(cc)} - x) - ReLU({fmt(cc - 1)} - x) is 1 "
        f"up to {fmt(cc - 1)} and 0 from {fmt(cc)} on (a ramp between the two integers).",
        f"Piecewise((1, x < {fmt(cc)}), (0, True))",
        f"[x < {fmt(cc)}] = ReLU({fmt(cc)} - x) - ReLU({fmt(cc - 1)} - x) on integers",
        exact_net([([[-1], [-1]], [cc, cc - 1], "relu"), ([[1, -1]], [0], "identity")], ["x"]),
        (_ex([cc - 1], 1), _ex([cc], 0), _ex([cc - 10], 1), _ex([cc + 5], 0)),
        _ints(["x"], min(0, int(cc) - 10), hi),
        lambda x: F(1) if x < cc else F(0),
        f"x < {fmt(cc)}",
        params={"c": cc},
    )


def _parity_layers(last: tuple[list[list[int]], list[int]]) -> list[tuple[Any, Any, str]]:
    mid = [[-1, -1], [1, 1]]
    return [
        ([[-1], [1]], [8, -8], "relu"),
        (mid, [4, -4], "relu"),
        (mid, [2, -2], "relu"),
        (mid, [1, -1], "relu"),
        (mid, [1, -1], "relu"),
        (last[0], last[1], "relu"),
    ]


def _fold(x: F) -> F:
    return abs(abs(abs(abs(abs(x - 8) - 4) - 2) - 1) - 1)


def _parity_net() -> Circuit:
    return Circuit(
        "parity_net",
        "The sources' 'is_even' network, 1-2-2-2-2-2-1 with a ReLU after every layer: "
        "|||||x-8|-4|-2|-1|-1| folds the line five times. On 0..15 it is x mod 2 (1 for ODD x, "
        "so the sources' name is the opposite of what it computes); below 0 it is |x|, from 16 "
        "on x - 16.",
        "Mod(x, 2)",
        "|||||x - 8| - 4| - 2| - 1| - 1| = x mod 2 on 0..15",
        exact_net(_parity_layers(([[1, 1]], [0])), ["x"]),
        (_ex([0], 0), _ex([1], 1), _ex([6], 0), _ex([15], 1), _ex([-3], 3), _ex([20], 4)),
        _ints(["x"], 0, 15),
        lambda x: F(int(x) % 2),
        "is_odd(x, bits=4)",
        notes=(
            "outside 0..15 the network is not x mod 2: the worked examples -3 -> 3 and "
            "20 -> 4 show |x| and x - 16",
        ),
    )


def _is_even() -> Circuit:
    return Circuit(
        "is_even",
        "1 for even x on 0..15: the sources' parity network with its last layer changed to "
        "ReLU(1 - h1 - h2), i.e. 1 - (x mod 2).",
        "1 - Mod(x, 2)",
        "ReLU(1 - |||||x - 8| - 4| - 2| - 1| - 1|) = [x even] on 0..15",
        exact_net(_parity_layers(([[-1, -1]], [1])), ["x"]),
        (_ex([0], 1), _ex([1], 0), _ex([6], 1), _ex([15], 0)),
        _ints(["x"], 0, 15),
        lambda x: F(1 - int(x) % 2),
        "is_even(x, bits=4)",
        notes=(
            "the compiler's folding needs 4 layers of 2 units, not 5 (see circuits list --sizes)",
        ),
    )


def _bottleneck(
    name: str, m: Sequence[F], c: F, w2: F, names: Sequence[str], radius: F, description: str
) -> Circuit:
    """``w2 * ReLU(b1 + W1 . x) + b2`` equal to ``m . x + c`` on the box ``[-radius, radius]^n``.

    Conditions: ``w2 * W1_i = m_i`` and ``w2 * b1 + b2 = c``, and the unit never switches off on
    the box: ``b1 + W1 . x >= 0``, i.e. ``b1 >= radius * sum |W1_i|``.
    """
    if w2 == 0:
        raise ConfigError("the bottleneck's output weight w2 must be nonzero")
    W1 = [mi / w2 for mi in m]
    b1 = radius * sum(abs(v) for v in W1)
    b2 = c - w2 * b1
    formula = _linear_text(m, names, c)
    pt1 = [radius] * len(m)
    pt2 = [-radius if i % 2 else radius / 2 for i in range(len(m))]
    ref = _affine_ref(m, c)
    return Circuit(
        name,
        description
        + f" One unit, active on the whole box [-{fmt(radius)}, {fmt(radius)}]^{len(m)}: "
        f"w2 = {fmt(w2)}, b1 = {fmt(b1)} (so the unit never switches off), b2 = {fmt(b2)}.",
        formula,
        f"w2 * ReLU(b1 + W1 . x) + b2 with w2 * W1_i = m_i, w2 * b1 + b2 = c: {formula}",
        exact_net([([W1], [b1], "relu"), ([[w2]], [b2], "identity")], list(names)),
        (_ex(pt1, ref(*pt1)), _ex(pt2, ref(*pt2))),
        _box(names, -radius, radius),
        ref,
        formula,
        params={"m": tuple(m), "c": c, "w2": w2, "radius": radius},
    )


def _linear_text(m: Sequence[F], names: Sequence[str], c: F) -> str:
    """``m . x + c`` as text both SymPy and the compiler read: ``x1 + 1/2*x2 - 3``."""
    parts = []
    for mi, n in zip(m, names, strict=True):
        if mi == 0:
            continue
        mag = "" if abs(mi) == 1 else f"{fmt(abs(mi))}*"
        parts.append(("- " if mi < 0 else "+ ") + mag + n)
    if c or not parts:
        parts.append(("- " if c < 0 else "+ ") + fmt(abs(c)))
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _affine_ref(m: Sequence[F], c: F) -> Callable[..., F]:
    def ref(*x: F) -> F:
        return sum((mi * F(xi) for mi, xi in zip(m, x, strict=True)), F(0)) + c

    return ref


MAX_INPUTS = 1000
"""Most inputs a parametrised library circuit takes (our own bound: the network is built,
verified and printed in full; 10^8 inputs would take minutes and gigabytes)."""


def _count(value: object, name: str) -> int:
    """A positive integer parameter up to :data:`MAX_INPUTS`, or ConfigError."""
    q = to_fraction(value, name)
    if q.denominator != 1 or not 1 <= q <= MAX_INPUTS:
        raise ConfigError(
            f"{name} must be an integer from 1 to {MAX_INPUTS}, got {str(value)[:40]}"
        )
    return int(q)


def _bottleneck_sum(n: object) -> Circuit:
    k = _count(n, "n")
    return _bottleneck(
        "bottleneck_sum",
        [F(1)] * k,
        F(0),
        F(1),
        [f"x{i + 1}" for i in range(k)],
        F(1),
        f"The sum of {k} inputs through a one-unit bottleneck.",
    )


def _bottleneck_weighted(m: object, c: object, w2: object) -> Circuit:
    if isinstance(m, str):
        m = [v for v in m.replace(" ", "").split(",") if v]
    if not isinstance(m, (list, tuple)) or not m:
        raise ConfigError(f"m must be a list of weights, e.g. 1.45,0.05, not {m!r}")
    weights = [to_fraction(v, "m") for v in m]
    return _bottleneck(
        "bottleneck_weighted_sum",
        weights,
        to_fraction(c, "c"),
        to_fraction(w2, "w2"),
        [f"x{i + 1}" for i in range(len(weights))],
        F(1),
        "A weighted sum plus a constant through a one-unit bottleneck (default weights: the "
        "sources' trained example).",
    )


def _bottleneck_product(n: object) -> Circuit:
    k = _count(n, "n")
    names = [f"log_x{i + 1}" for i in range(k)]
    circuit = _bottleneck(
        "bottleneck_product",
        [F(1)] * k,
        F(0),
        F(1),
        names,
        F(1),
        f"The product of {k} positive numbers through logarithms: the inputs are log x_i, the "
        "output log(x1 ... xn) = sum log x_i (the box [-1, 1] is x_i in [1/e, e]).",
    )
    return circuit


CIRCUITS: dict[str, CircuitSpec] = {
    s.name: s
    for s in (
        CircuitSpec("identity", "x = ReLU(x) - ReLU(-x)", _identity),
        CircuitSpec("negative_identity", "-x = ReLU(-x) - ReLU(x)", _negative_identity),
        CircuitSpec("abs", "|x| = ReLU(x) + ReLU(-x)", _abs),
        CircuitSpec(
            "identity_family",
            "x = ReLU(w1 x)/w1 + ReLU(w2 x)/w2, w1 > 0 > w2",
            _identity_family,
            (
                Param("w1", F(2), "weight of the positive unit (> 0)"),
                Param("w2", F(-1, 2), "weight of the negative unit (< 0)"),
            ),
        ),
        CircuitSpec(
            "positive_detector", "ReLU(x)", lambda: _detector(1), aliases=("positiveness_detector",)
        ),
        CircuitSpec(
            "negative_detector",
            "ReLU(-x)",
            lambda: _detector(-1),
            aliases=("negativeness_detector",),
        ),
        CircuitSpec("positive_reconstructor", "x for x >= 0: ReLU(x)", lambda: _reconstructor(1)),
        CircuitSpec(
            "negative_reconstructor", "x for x <= 0: -ReLU(-x)", lambda: _reconstructor(-1)
        ),
        CircuitSpec("add", "x1 + x2 = ReLU(x1 + x2) - ReLU(-x1 - x2)", _add, aliases=("addition",)),
        CircuitSpec(
            "subtract",
            "x1 - x2 = ReLU(x1 - x2) - ReLU(x2 - x1)",
            _subtract,
            aliases=("subtraction",),
        ),
        CircuitSpec(
            "greater_detector", "ReLU(x1 - x2)", _greater, aliases=("greaterness_detector",)
        ),
        CircuitSpec("min", "min(x1, x2) = x1 - ReLU(x1 - x2), 2-3-1", _min),
        CircuitSpec("min_deep", "min(x1, x2), 2-3-2-1", _min_deep),
        CircuitSpec("min4", "min(min(x1, x2), min(x3, x4))", _min4),
        CircuitSpec("max", "max(x1, x2) = x1 + ReLU(x2 - x1)", _max),
        CircuitSpec(
            "less_than_sigmoid",
            "x < c as one sigmoid unit sigmoid(c - x) (approximate)",
            lambda c: _less_than_sigmoid(c, 1, "less_than_sigmoid"),
            (Param("c", F(10), "threshold"),),
            aliases=("x_lt_10_sigmoid",),
        ),
        CircuitSpec(
            "less_than_sharp",
            "x < c as sigmoid(M (c - x)) (approximate, sharper with M)",
            lambda c, M: _less_than_sigmoid(c, M, "less_than_sharp"),
            (Param("c", F(10), "threshold"), Param("M", F(10), "sharpness (> 0)")),
            aliases=("less_than_sharpened",),
        ),
        CircuitSpec(
            "less_than_step",
            "x < c on integers: ReLU(c - x) - ReLU(c - 1 - x), exact",
            _less_than_step,
            (Param("c", F(10), "integer threshold"),),
            aliases=("x_lt_10", "less_than"),
        ),
        CircuitSpec(
            "parity_net",
            "the sources' 'is_even' net: x mod 2 (1 for odd) on 0..15",
            _parity_net,
            aliases=("is_odd", "is_even_source"),
        ),
        CircuitSpec("is_even", "1 - parity_net: [x even] on 0..15", _is_even),
        CircuitSpec(
            "bottleneck_sum",
            "x1 + ... + xn through one unit",
            _bottleneck_sum,
            (Param("n", 5, "number of inputs"),),
        ),
        CircuitSpec(
            "bottleneck_weighted_sum",
            "m . x + c through one unit",
            _bottleneck_weighted,
            (
                Param(
                    "m", (F("1.45"), F("0.05"), F("-0.84"), F("-0.38"), F("0.19")), "weights m_i"
                ),
                Param("c", F("-0.85"), "constant"),
                Param("w2", F(1), "output weight (nonzero)"),
            ),
        ),
        CircuitSpec(
            "bottleneck_product",
            "log(x1 ... xn) = sum log x_i through one unit",
            _bottleneck_product,
            (Param("n", 2, "number of factors"),),
        ),
    )
}
"""Every library entry by name."""

_ALIASES = {alias: spec.name for spec in CIRCUITS.values() for alias in spec.aliases}


def circuit_names() -> list[str]:
    """Entry names in library order."""
    return list(CIRCUITS)


def get_circuit(name: str, **params: Any) -> Circuit:
    """The library entry ``name`` (or an alias), built with ``params`` where it takes any."""
    key = _ALIASES.get(name, name)
    if key not in CIRCUITS:
        raise UnknownNameError("circuit", name, [*CIRCUITS, *_ALIASES])
    return CIRCUITS[key](**params)


def parse_params(spec: CircuitSpec, pairs: Mapping[str, str]) -> dict[str, Any]:
    """Command-line ``KEY=VALUE`` strings to parameter values (numbers stay exact)."""
    out: dict[str, Any] = {}
    known = {p.name: p for p in spec.params}
    for key, value in pairs.items():
        if key not in known:
            raise UnknownNameError(f"parameter of {spec.name}", key, known or ["(none)"])
        default = known[key].default
        if isinstance(default, tuple):
            out[key] = [to_fraction(v, key) for v in str(value).replace(" ", "").split(",") if v]
        elif isinstance(default, int) and not isinstance(default, bool):
            out[key] = int(to_fraction(value, key))
        else:
            out[key] = to_fraction(value, key)
    return out
