"""Verification finds every wrong point, exactly; canonical forms see through the symmetries."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from tinylens.circuits import (
    canonicalize,
    compile_expression,
    exact_net,
    get_circuit,
    parse,
    parse_domain,
    same_circuit,
    verify,
)
from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError


def test_a_wrong_network_gives_its_worst_point():
    # relu(10 - x) - relu(9.5 - x) is 1/2, not 1, below 10: wrong everywhere on x <= 9
    wrong = exact_net([([[-1], [-1]], [10, "19/2"], "relu"), ([[1, -1]], [0], "identity")], ["x"])
    v = verify(wrong, parse("x < 10"), parse_domain("x=0..19"))
    assert v.verified is False and v.max_error == F(1, 2)
    assert v.counterexample == {"x": F(0)}  # the first point with the largest error
    assert "FAILED" in v.message and "x=0" in v.message
    loose = verify(wrong, parse("x < 10"), parse_domain("x=0..19"), tolerance=F(1, 2))
    assert loose.verified is True


def test_a_single_bad_point_is_found():
    # min's network with one weight nudged by 1/1000: wrong only where x1 > x2
    net = get_circuit("min").net
    W = net.layers[1].weight.copy()
    W[0, 0] = F(-999, 1000)
    bad = AffineNet(
        (net.layers[0], AffineLayer(W, net.layers[1].bias, "identity")), net.input_names
    )
    v = verify(bad, parse("min(x1, x2)"), parse_domain("x1=-3..3,x2=-3..3"))
    assert v.verified is False
    assert v.max_error == F(6, 1000) and v.counterexample == {"x1": F(3), "x2": F(-3)}


def test_plain_python_references_with_several_outputs():
    net = exact_net(
        [
            ([[1, 0], [0, 1], [-1, 0]], [0, 0, 0], "relu"),
            ([[1, 0, 0], [0, 1, 0]], [0, 0], "identity"),
        ],
        ["a", "b"],
    )
    dom = parse_domain("a=-2..2,b=0..3")
    assert verify(net, lambda a, b: (max(a, 0), b), dom).verified is True
    assert verify(net, lambda a, b: (a, b), dom).verified is False
    with pytest.raises(ConfigError, match="gives 1 outputs"):
        verify(net, lambda a, b: a, dom)


def test_real_boxes_are_verified_exactly_not_by_sampling():
    c = compile_expression("min(x1, x2)", domain="x1=-1:1,x2=-1:1", verify=True)
    v = c.verification
    assert v.verified is True and v.method == "exact regions" and v.max_error == 0
    assert v.points == 0 and v.cells == 2  # x1 >< x2 (x1 is carried as relu(x1 + 1) - 1)
    mixed = compile_expression("(x > 0) * y", domain="x=0..3,y=-1:1", verify=True)
    assert mixed.verification.verified is True and mixed.verification.cells >= 4
    # a plain-Python function is a black box on a real box: no proof, and no guess
    box = verify(c.net, lambda a, b: min(a, b), c.domain)
    assert box.verified is None and box.method == "unavailable" and "black box" in box.message


def test_limits_and_missing_ranges():
    c = compile_expression("x + y")
    with pytest.raises(ConfigError, match="stops at 100"):
        verify(c.net, c.expr, parse_domain("x=0..20,y=0..20"), max_points=100)
    with pytest.raises(ConfigError, match="no range for y"):
        verify(c.net, c.expr, parse_domain("x=0..20"))
    with pytest.raises(ConfigError, match="relu and identity"):
        verify(get_circuit("less_than_sigmoid").net, parse("x < 10"), parse_domain("x=0..19"))


# -- canonical forms ------------------------------------------------------------------------


def _float_net(layers, names):
    return AffineNet.from_lists(layers, names)


def test_permuted_and_rescaled_units_are_the_same_circuit():
    rng = np.random.default_rng(0)
    base = get_circuit("min").net.to_float()
    perm = [2, 0, 1]
    s = rng.uniform(0.2, 5.0, size=3)
    W1 = base.layers[0].weight[perm] * s[:, None]
    W2 = base.layers[1].weight[:, perm] / s[None, :]
    moved = _float_net([(W1, np.zeros(3), "relu"), (W2, np.zeros(1), "identity")], ["x1", "x2"])
    assert same_circuit(moved, get_circuit("min").net)
    mirrored = compile_expression("x2 - relu(x2 - x1)").net  # the other min circuit
    assert not same_circuit(mirrored, get_circuit("min").net)
    assert not same_circuit(get_circuit("max").net, get_circuit("min").net)


def test_dead_duplicate_and_silent_units_are_removed():
    # identity with an extra dead unit (never active on [-1, 1]), a duplicate of unit 0 at
    # another scale, and a unit whose output weight is 0
    layers = [
        ([[1.0], [-1.0], [1.0], [2.0], [0.5]], [0, 0, -5, 0, 0.1], "relu"),
        ([[0.5, -1.0, 7.0, 0.25, 0.0]], [0.0], "identity"),
    ]
    net = _float_net(layers, ["x"])
    points = np.linspace(-1, 1, 41).reshape(-1, 1)
    c = canonicalize(net, points)
    assert c.sizes == [1, 2, 1] and c.dead == (1,) and c.merged == (1,) and c.silent == (1,)
    assert same_circuit(net, get_circuit("identity").net, points)
    assert not same_circuit(net, get_circuit("identity").net)  # without the domain, unit 2 lives


def test_lattice_matching_of_integer_steps():
    step = get_circuit("less_than_step").net
    # kinks at 9.7 and 9.2 instead of 10 and 9: the same step on the integers
    moved = _float_net(
        [([[-2.0], [-2.0]], [19.4, 18.4], "relu"), ([[1.0, -1.0]], [0.0], "identity")], ["x"]
    )
    assert same_circuit(moved, step, lattice=1.0)
    assert not same_circuit(moved, step)  # the weights themselves differ
    late = _float_net(
        [([[-1.0], [-1.0]], [11.5, 10.5], "relu"), ([[1.0, -1.0]], [0.0], "identity")], ["x"]
    )
    assert not same_circuit(late, step, lattice=1.0)  # a step between 10 and 11 is x < 11
