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

from collections.abc import Mapping
from fractions import Fraction as F
from typing import Any

from tinylens.circuits.expr import to_fraction
from tinylens.circuits.library._entries import (
    _abs,
    _add,
    _bottleneck_product,
    _bottleneck_sum,
    _bottleneck_weighted,
    _detector,
    _greater,
    _identity,
    _identity_family,
    _is_even,
    _less_than_sigmoid,
    _less_than_step,
    _max,
    _min,
    _min4,
    _min_deep,
    _negative_identity,
    _parity_net,
    _reconstructor,
    _subtract,
)
from tinylens.circuits.library._types import Circuit, CircuitSpec, Example, Param
from tinylens.errors import UnknownNameError

__all__ = [
    "CIRCUITS",
    "CIRCUIT_ALIASES",
    "Circuit",
    "CircuitSpec",
    "Example",
    "Param",
    "circuit_names",
    "get_circuit",
    "parse_params",
]


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

CIRCUIT_ALIASES = {alias: spec.name for spec in CIRCUITS.values() for alias in spec.aliases}
"""Every alias of a library entry -> the entry's name (``get_circuit`` accepts both)."""


def circuit_names() -> list[str]:
    """Entry names in library order."""
    return list(CIRCUITS)


def get_circuit(name: str, **params: Any) -> Circuit:
    """The library entry ``name`` (or an alias), built with ``params`` where it takes any."""
    key = CIRCUIT_ALIASES.get(name, name)
    if key not in CIRCUITS:
        raise UnknownNameError("circuit", name, [*CIRCUITS, *CIRCUIT_ALIASES])
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
