"""Exact cells and exact verification on real boxes: no float, no tolerance, no sampling.

Oracles: the float region enumeration of tinylens.geometry (an independent algorithm: the same
regions and patterns), exact Fraction evaluation of the network and the interpreter at points
(every cell's map, every counterexample), and hand-computed errors.
"""

from __future__ import annotations

import itertools
from fractions import Fraction as F

import numpy as np
import pytest

from tinylens.circuits import (
    compile_expression,
    exact_net,
    get_circuit,
    parse,
    parse_domain,
    verify,
)
from tinylens.circuits.exact import box_polytope, compare_on_box, exact_copy, network_cells, rank
from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError
from tinylens.geometry import linear_regions


def _random_net(sizes, seed, exact=False):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        W = rng.integers(-4, 5, size=(b, a)) / 2 if exact else rng.normal(size=(b, a))
        bias = rng.integers(-2, 3, size=b) / 2 if exact else 0.5 * rng.normal(size=b)
        layers.append((W, bias, "relu" if i < len(sizes) - 2 else "identity"))
    net = AffineNet.from_lists(layers)
    return exact_copy(net) if exact else net


def _perturb(net, layer, row, col, eps):
    """A copy of an exact net with one weight moved by the rational ``eps``."""
    W = net.layers[layer].weight.copy()
    W[row, col] = W[row, col] + eps
    la = net.layers[layer]
    layers = list(net.layers)
    layers[layer] = AffineLayer(W, la.bias, la.activation)
    return AffineNet(tuple(layers), net.input_names)


# -- the polytope machinery -----------------------------------------------------------------


def test_rank_is_exact():
    assert rank([(F(1), F(2)), (F(2), F(4))]) == 1
    assert rank([(F(1), F(2)), (F(2), F(4) + F(1, 10**30))]) == 2  # a float would say 1
    assert rank([]) == 0


def test_splitting_a_cube_keeps_every_vertex_on_its_side():
    cube = box_polytope([(F(-1), F(1))] * 3)
    g, h = (F(1), F(1), F(1)), F(-1, 2)  # x + y + z = 1/2 cuts six edges
    low, high = cube.split(g, h)
    for poly, side in ((low, -1), (high, 1)):
        for v in poly.vertices:
            s = sum(a * b for a, b in zip(g, v, strict=True)) + h
            assert s * side >= 0 and all(-1 <= c <= 1 for c in v)
    # the cut is a hexagon: 6 new vertices shared by both sides
    assert len(low.vertices) == 4 + 6 and len(high.vertices) == 4 + 6
    # a plane through vertices only touches: no split
    assert cube.split((F(1), F(0), F(0)), F(-1)) is None


# -- cells of networks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, seed",
    [([1, 6, 5, 1], 0), ([2, 8, 1], 1), ([2, 5, 5, 1], 2), ([3, 6, 4, 1], 3), ([3, 5, 2], 4)],
)
def test_cells_are_the_float_regions_and_each_map_is_the_network(sizes, seed):
    net = _random_net(sizes, seed)
    d = sizes[0]
    cells = network_cells(net, box_polytope([(F(-1), F(1))] * d))
    regions = linear_regions(net, [(-1, 1)] * d)
    assert len(cells) == regions.count
    exact_patterns = {"".join("1" if s > 0 else "0" for s in c.signs) for c in cells}
    assert exact_patterns == set(regions.pattern_strings)
    exact = exact_copy(net)
    for c in cells:
        centre = c.poly.centroid()
        got = exact.forward(np.array([centre], dtype=object))[0]
        for k in range(net.layers[-1].out_features):
            want = sum(c.maps[k, i] * centre[i] for i in range(d)) + c.maps[k, d]
            assert got[k] == want  # exactly


def test_degenerate_integer_nets_where_units_cancel():
    # relu(x1 - x2) - relu(x1 - x2) is 0 everywhere; lines through the box's corners
    net = exact_net(
        [
            ([[1, -1], [1, -1], [1, 1], [-1, -1]], [0, 0, 0, 0], "relu"),
            ([[1, -1, 1, 1], [0, 0, 1, -1]], [0, 0], "relu"),
            ([[1, 1]], [0], "identity"),
        ],
        ["x1", "x2"],
    )
    cells = network_cells(net, box_polytope([(F(-1), F(1))] * 2))
    # abs(x1 + x2) + relu(x1 + x2): the units switch on both diagonals (4 patterns), the
    # function only on x1 + x2 = 0; the identical units 0 and 1 never split a cell twice
    assert len(cells) == 4
    v = verify(net, parse("abs(x1 + x2) + relu(x1 + x2)"), parse_domain("x1=-1:1,x2=-1:1"))
    assert v.verified is True and v.max_error == 0


# -- verification on real boxes -------------------------------------------------------------

BOXES = [
    ("abs(x)", "x=-1:1"),
    ("clamp(x, -1/3, 1/2)", "x=-1:1"),
    ("min(x1, x2)", "x1=-1:1,x2=-1:1"),
    ("max(x1, x2) - abs(x1 - x2)/2", "x1=-2:3,x2=-1:1/2"),
    ("max(x1, x2, x3)", "x1=-1:1,x2=-1:1,x3=-1:1"),
    ("min(x1 + x2, x3) - relu(x1 - 1/2)", "x1=-1:1,x2=0:1,x3=-1:1"),
]


@pytest.mark.parametrize("source, domain", BOXES)
def test_compiled_circuits_are_proved_and_a_tiny_rational_nudge_is_caught(source, domain):
    c = compile_expression(source, domain=domain)
    v = verify(c.net, c.expr, c.domain)
    assert v.verified is True and v.max_error == 0 and v.method == "exact regions", v.message
    # Move the first output weight by 1/10^9: the result is wrong somewhere, by an exact amount
    eps = F(1, 10**9)
    last = len(c.net.layers) - 1
    cols = [j for j in range(c.net.layers[last].in_features)]
    bad = _perturb(c.net, last, 0, cols[0], eps)
    w = verify(bad, c.expr, c.domain)
    assert w.verified is False and w.max_error > 0
    point = w.counterexample
    for name in c.inputs:  # the counterexample lies in the box
        assert c.domain[name].lo <= point[name] <= c.domain[name].hi
    # ... and the network really is off there by max_error (exact evaluation, no cells)
    x = np.array([[point[n] for n in c.inputs]], dtype=object)
    got = F(bad.forward(x)[0, 0])
    from tinylens.circuits import evaluate

    assert abs(got - evaluate(c.expr, **point)) == w.max_error
    # the exact maximum: eps times the largest value of that unit on the box, which no
    # grid point of the box exceeds
    grid = _grid(c.domain, c.inputs, 5)
    errs = np.abs(bad.forward(grid) - c.net.forward(grid))[:, 0]
    assert max(errs) <= w.max_error
    # a tolerance that covers the error accepts it
    assert verify(bad, c.expr, c.domain, tolerance=w.max_error).verified is True


def _grid(domain, names, k):
    axes = [
        [domain[n].lo + (domain[n].hi - domain[n].lo) * F(i, k - 1) for i in range(k)]
        for n in names
    ]
    return np.array(list(itertools.product(*axes)), dtype=object)


def test_the_exact_max_error_of_a_nudged_min():
    # min's first-layer weight of x1 in relu(x1 - x2) moved by 1/1000: the error is
    # relu(1.001 x1 - x2) - relu(x1 - x2), which is x1 / 1000 where x1 > x2 (and less
    # elsewhere): largest, 1/1000, on the edge x1 = 1
    net = _perturb(get_circuit("min").net, 0, 0, 0, F(1, 1000))
    v = verify(net, parse("min(x1, x2)"), parse_domain("x1=-1:1,x2=-1:1"))
    assert v.verified is False and v.max_error == F(1, 1000)
    assert v.counterexample["x1"] == 1


def test_trained_float_weights_are_read_exactly():
    # 0.1 * relu(10 x) is not exactly relu(x) in binary floating point
    net = AffineNet.from_lists([([[10.0]], [0.0], "relu"), ([[0.1]], [0.0], "identity")], ["x"])
    v = verify(net, parse("relu(x)"), parse_domain("x=-1:1"))
    assert v.verified is False
    assert v.max_error == abs(F(10.0) * F(0.1) - 1) and v.counterexample == {"x": F(1)}
    ok = AffineNet.from_lists([([[4.0]], [0.0], "relu"), ([[0.25]], [0.0], "identity")], ["x"])
    assert verify(ok, parse("relu(x)"), parse_domain("x=-1:1")).verified is True


def test_mixed_domains_enumerate_the_integer_inputs():
    c = compile_expression("where(x < 2, y, -y)", domain="x=0..3,y=-1:1")
    v = verify(c.net, c.expr, c.domain)
    assert v.verified is True and v.cells >= 4
    wrong = verify(c.net, parse("where(x < 3, y, -y)"), c.domain)
    assert wrong.verified is False and wrong.max_error == 2
    assert wrong.counterexample["x"] == 2 and abs(wrong.counterexample["y"]) == 1


def test_discontinuous_references_are_checked_on_open_cells_and_say_so():
    net = get_circuit("positive_detector").net  # relu(x)
    dom = parse_domain("x=-1:1")
    # (x > 0) * x equals relu(x) everywhere, but a comparison of reals jumps at x = 0: the
    # check covers the open cells and does not claim a proof
    v = verify(net, parse("(x > 0) * x"), dom)
    assert v.verified is None and v.max_error == 0 and "x > 0" in v.message
    # a real difference is still a proof of failure, with a witness strictly inside a cell
    w = verify(net, parse("(x > 0) * x + (x > 1/2)"), dom)
    assert w.verified is False and w.max_error == 1
    assert w.counterexample["x"] > F(1, 2)


def test_what_cannot_be_checked_on_a_real_box():
    net = get_circuit("identity").net
    dom = parse_domain("x=-1:1")
    with pytest.raises(ConfigError, match="integer argument"):
        verify(net, parse("is_even(x, bits=2)"), dom)
    two = get_circuit("add").net
    with pytest.raises(ConfigError, match="not piecewise affine"):
        verify(two, parse("x1 * x2"), parse_domain("x1=-1:1,x2=-1:1"))
    with pytest.raises(ConfigError, match="relu and identity"):
        verify(get_circuit("less_than_sigmoid").net, parse("x < 10"), dom)
    big = _random_net([3, 12, 12, 1], 7)
    with pytest.raises(ConfigError, match="more than 10 linear pieces"):
        network_cells(big, box_polytope([(F(-1), F(1))] * 3), max_cells=10)


def test_comparing_two_expressions_and_two_networks():
    dom = parse_domain("a=-1:1,b=-1:1")
    same = compare_on_box(parse("a - relu(a - b)"), parse("min(a, b)"), dom)
    assert same.max_error == 0
    near = compare_on_box(parse("a - relu(a - b)"), parse("min(a, b) + b/100"), dom)
    assert near.max_error == F(1, 100)
    lib, comp = get_circuit("max").net, compile_expression("max(x1, x2)").net
    assert compare_on_box(lib, comp, parse_domain("x1=-5:5,x2=-5:5")).max_error == 0
