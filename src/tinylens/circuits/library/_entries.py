"""The library's entries: one builder per hand-derived network of our sources (exact weights,
formula, worked examples, domain and plain-Python reference)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction as F
from typing import Any

from tinylens.circuits.expr import Domain, exact_net, fmt, to_fraction
from tinylens.circuits.library._types import Circuit, Example
from tinylens.data.functions import target_function
from tinylens.errors import ConfigError


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
        _ref("identity"),
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
        _ref("negative_identity"),
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
        _ref("abs"),
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
        _ref("identity"),
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
        _ref("add"),
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
        _ref("subtract"),
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
        _ref("min"),
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
        _ref("min"),
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
        _ref("min"),
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
        _ref("max"),
        "max(x1, x2)",
    )


def _ref(name: str) -> Callable[..., Any]:
    """The plain-Python reference of the shared target function ``name``
    (:mod:`tinylens.data.functions`): one formula for the library, the datasets and recovery."""
    return target_function(name).exact


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
        _ref("parity"),
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
        _ref("is_even"),
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
