"""The library: every entry's weights, examples, formula and oracle agree, exactly."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
import sympy

from tinylens.circuits import CIRCUITS, compile_expression, get_circuit, parse, verify
from tinylens.circuits.library import CircuitSpec
from tinylens.errors import ConfigError, UnknownNameError

NAMES = list(CIRCUITS)


def _rational_grid(circuit, per_axis=9):
    """Every point of a rational grid over the box (ends, 0 and the quarter points included)."""
    axes = []
    for name in circuit.inputs:
        iv = circuit.domain[name]
        if iv.integer:
            axes.append([F(v) for v in iv.values()])
        else:
            axes.append([iv.lo + (iv.hi - iv.lo) * F(i, per_axis - 1) for i in range(per_axis)])
    return list(itertools.product(*axes))


@pytest.mark.parametrize("name", NAMES)
def test_worked_examples_hold(name):
    circuit = get_circuit(name)
    rows = circuit.check_examples()
    assert rows, f"{name} has no worked examples"
    for ex, got, ok in rows:
        assert ok, (name, ex, got)
        if circuit.exact:
            assert ex.tolerance == 0 and got == ex.outputs  # exact equality, Fractions


@pytest.mark.parametrize("name", [n for n in NAMES if get_circuit(n).exact])
def test_network_equals_its_reference_on_the_domain(name):
    circuit = get_circuit(name)
    if circuit.domain.is_integer:
        v = verify(circuit.net, circuit.reference, circuit.domain)
        assert v.verified is True and v.max_error == 0, v.message
        return
    # Real boxes: a proof over the whole box against the entry's expression (exact linear
    # pieces), and the plain-Python oracle on a rational grid, which checks the expression.
    v = verify(circuit.net, parse(circuit.expression), circuit.domain)
    assert v.verified is True and v.max_error == 0 and v.method == "exact regions", v.message
    for point in _rational_grid(circuit, 9 if len(circuit.inputs) <= 2 else 3):
        assert circuit.run(*point) == (F(circuit.reference(*point)),), (name, point)


@pytest.mark.parametrize("name", NAMES)
def test_formula_is_sympy_with_the_input_names_and_means_the_reference(name):
    circuit = get_circuit(name)
    symbols = {n: sympy.Symbol(n) for n in circuit.inputs}
    expr = sympy.sympify(circuit.formula, locals=symbols)
    assert expr.free_symbols <= set(symbols.values())
    points = _rational_grid(circuit, 5 if len(circuit.inputs) <= 2 else 2)
    for point in points[:: max(1, len(points) // 40)]:
        value = expr.subs(
            {symbols[n]: sympy.Rational(v) for n, v in zip(circuit.inputs, point, strict=True)}
        )
        want = circuit.reference(*point)
        if circuit.exact:
            assert sympy.Rational(value) == sympy.Rational(F(want)), (name, point)
        else:
            assert float(value) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("name", [n for n in NAMES if get_circuit(n).expression])
def test_the_compiler_is_never_larger_than_the_hand_derived_network(name):
    circuit = get_circuit(name)
    compiled = compile_expression(circuit.expression, domain=circuit.domain)
    assert compiled.neurons <= circuit.neurons, (name, compiled.sizes, circuit.net.sizes)
    if circuit.domain.is_integer:
        assert compiled.verify().verification.verified


def test_the_sources_is_even_net_computes_x_mod_2_and_is_named_honestly():
    parity = get_circuit("parity_net")
    assert get_circuit("is_odd").name == get_circuit("is_even_source").name == "parity_net"
    assert parity.net.sizes == [1, 2, 2, 2, 2, 2, 1]
    assert parity.net.activations == ["relu"] * 6  # a ReLU after every layer, the last too
    for x in range(-20, 41):
        (got,) = parity.run(x)
        want = abs(x) if x < 0 else x % 2 if x < 16 else x - 16
        assert got == want, x
    even = get_circuit("is_even")
    for x in range(16):
        assert even.run(x) == (1 - parity.run(x)[0],)
        assert even.run(x) == (F(x % 2 == 0),)


def test_the_sigmoid_step_and_its_sharpening():
    one = get_circuit("less_than_sigmoid")
    assert round(one.run(F(19, 2))[0], 2) == 0.62  # F(9.5) = 0.62, as in the sources
    assert one.net.sizes == [1, 1] and one.net.activations == ["sigmoid"] and not one.exact
    for M in (1, 10, 100):
        sharp = get_circuit("less_than_sharp", M=M)
        assert sharp.run(10)[0] == 0.5  # at the threshold, every M gives 1/2
        assert sharp.run(9)[0] == pytest.approx(1 / (1 + math.exp(-M)))
    step = get_circuit("less_than_step")
    assert [step.run(x)[0] for x in (8, 9, 10, 11)] == [1, 1, 0, 0]


def test_parametrised_entries():
    fam = get_circuit("identity_family", w1=F(3), w2="-1/4")
    assert fam.net.layers[1].weight.tolist() == [[F(1, 3), F(-4)]]
    assert fam.run(F(-7, 2)) == (F(-7, 2),)
    with pytest.raises(ConfigError, match="w1 > 0 > w2"):
        get_circuit("identity_family", w1=-1, w2=1)
    with pytest.raises(UnknownNameError, match="parameter of identity_family"):
        get_circuit("identity_family", w3=1)
    with pytest.raises(UnknownNameError, match="did you mean 'abs'"):
        get_circuit("abz")


@pytest.mark.parametrize(
    "name, params",
    [
        ("bottleneck_sum", {}),
        ("bottleneck_weighted_sum", {}),
        ("bottleneck_weighted_sum", {"m": ["1/2", "-3"], "c": "2", "w2": "-4"}),
        ("bottleneck_product", {"n": 3}),
    ],
)
def test_bottleneck_conditions(name, params):
    c = get_circuit(name, **params)
    (w1,), (b1,) = c.net.layers[0].weight.tolist(), c.net.layers[0].bias.tolist()
    (w2,), (b2,) = c.net.layers[1].weight.tolist()[0], c.net.layers[1].bias.tolist()
    m, const = c.params["m"], c.params["c"]
    assert [w2 * w for w in w1] == list(m)  # w2 * W1_i = m_i
    assert w2 * b1 + b2 == const  # w2 * b1 + b2 = c
    radius = c.params["radius"]
    assert b1 - radius * sum(abs(w) for w in w1) >= 0  # the unit never switches off
    assert c.net.sizes == [len(m), 1, 1]


def test_the_sources_weighted_sum_example():
    c = get_circuit("bottleneck_weighted_sum")
    assert [F(v) for v in c.params["m"]] == [
        F("1.45"),
        F("0.05"),
        F("-0.84"),
        F("-0.38"),
        F("0.19"),
    ]
    assert c.params["c"] == F("-0.85")
    assert c.run(0, 0, 0, 0, 0) == (F("-0.85"),)


def test_every_entry_has_the_documented_fields():
    for name, spec in CIRCUITS.items():
        assert isinstance(spec, CircuitSpec)
        c = spec()
        d = c.to_dict()
        assert d["name"] == name and d["layers"] and d["examples"] and d["formula"]
        assert len(d["layers"]) == len(c.net.layers)
        for layer, dl in zip(c.net.layers, d["layers"], strict=True):
            assert np.shape(dl["weight"]) == layer.weight.shape  # [out, in]
