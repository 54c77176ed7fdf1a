"""The compiler: one shared table of cases (tracr style), random expressions, exact checks.

Oracles: the reference interpreter (exact rationals) on every point of integer domains, and at
random rational points (kinks included) on real ones; plus hand-derived sizes and weights.
"""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinylens.circuits import (
    compile_expression,
    exact_outputs,
    get_circuit,
    interpret,
    load_exact,
    parse,
    verify,
)
from tinylens.errors import ConfigError

# (expression, domain, expected neurons, expected sizes); every row is verified exhaustively
# on its domain (every point of an integer one, the exact linear pieces of a real box), and
# checked at exact random points when it has no domain.
CASES = [
    ("x", None, 0, [1, 1]),
    ("-x", None, 0, [1, 1]),
    ("x1 + 2*x2 - 1/2", None, 0, [2, 1]),
    ("abs(x)", None, 2, [1, 2, 1]),
    ("relu(x)", None, 1, [1, 1]),
    ("relu(x1 - x2)", None, 1, [2, 1]),
    ("min(x, 0)", None, 1, [1, 1, 1]),
    ("min(x1, x2)", None, 3, [2, 3, 1]),
    ("max(x1, x2)", None, 3, [2, 3, 1]),
    ("min(x1, x2, x3, x4)", None, 9, [4, 6, 3, 1]),
    ("max(x1, x2, x3)", None, 8, [3, 5, 3, 1]),
    ("clamp(x, -1, 2)", None, 2, [1, 2, 1]),
    ("abs(abs(x) - 1)", None, 4, [1, 2, 2, 1]),
    ("min(x1, x2) + max(x1, x2)", None, 4, [2, 4, 1]),  # the carry of x1 is shared
    ("x < 10", "x=0..19", 2, [1, 2, 1]),
    ("x <= 3", "x=-5..9", 2, [1, 2, 1]),
    ("x >= y", "x=0..4,y=0..4", 2, [2, 2, 1]),
    ("x == 3", "x=0..9", 3, [1, 3, 1]),
    ("x != 3", "x=0..9", 3, [1, 3, 1]),
    ("x/2 < 3", "x=0..20", 2, [1, 2, 1]),
    ("is_even(x, bits=4)", "x=0..15", 8, [1, 2, 2, 2, 2, 1]),
    ("is_odd(x, bits=4)", "x=0..15", 8, [1, 2, 2, 2, 2, 1]),
    ("1 - is_even(x, bits=4)", "x=0..15", 8, [1, 2, 2, 2, 2, 1]),
    ("is_even(x)", "x=0..7", 6, [1, 2, 2, 2, 1]),
    ("is_odd(x + y, bits=3)", "x=0..3,y=0..3", 6, [2, 2, 2, 2, 1]),
    ("where(x < 5, y, -y)", "x=0..9,y=-3..3", 7, [2, 4, 3, 1]),
    ("where(x < 5, 1, 0)", "x=0..9", 2, [1, 2, 1]),
    ("(x > 2) * y", "x=0..5,y=-4..4", 5, [2, 3, 2, 1]),
    ("(x > 2) * y", "x=0..5,y=0..4", 4, [2, 3, 1]),  # one gate unit: the relu output
    ("min(x < 3, y < 2)", "x=0..5,y=0..5", 6, [2, 4, 2, 1]),  # a 0/1 value carries in 1
    ("abs(x - 3)", "x=3..10", 0, [1, 1]),
    ("clamp(x, 0, 5)", "x=0..5", 0, [1, 1]),
    ("x == 1/2", "x=0..3", 0, [1, 1]),
    ("min(2*x, x + 3)", "x=-4..6", 2, [1, 2, 1]),  # 2x >= -8: one carry unit
    # bounded below on the domain, a value is carried by one unit: relu(v - lo) + lo
    ("min(x1, x2)", "x1=-1:1,x2=-1:1", 2, [2, 2, 1]),
    ("min(x1, x2, x3, x4)", "x1=-1:1,x2=-1:1,x3=-1:1,x4=-1:1", 6, [4, 4, 2, 1]),
]


@pytest.mark.parametrize("source, domain, neurons, sizes", CASES)
def test_compiled_sizes_and_exactness(source, domain, neurons, sizes):
    c = compile_expression(source, domain=domain)
    assert (c.neurons, c.sizes) == (neurons, sizes), (c.neurons, c.sizes)
    assert c.net.is_exact
    if domain is not None:  # exhaustive on integers, exact linear pieces on real boxes
        v = verify(c.net, c.expr, c.domain)
        assert v.verified is True and v.max_error == 0 and v.counterexample is None
        assert v.points == (c.domain.n_points or 0) and (v.cells > 0) != c.domain.is_integer
    else:
        _check_at_rational_points(c, np.random.default_rng(len(source)))


def _check_at_rational_points(c, rng, n=300):
    """Exact comparison with the interpreter at random rationals, integers and half-integers
    (where the kinks of these expressions are)."""
    k = len(c.inputs)
    pts = [[F(int(v), 4) for v in rng.integers(-16, 17, size=k)] for _ in range(n)]
    pts += [
        [
            F(int(a), int(b))
            for a, b in zip(rng.integers(-50, 50, k), rng.integers(1, 9, k), strict=True)
        ]
        for _ in range(n)
    ]
    X = np.array(pts, dtype=object)
    got = exact_outputs(c.net, X)[:, 0]
    want = np.broadcast_to(interpret(c.expr, {n: X[:, i] for i, n in enumerate(c.inputs)}), len(X))
    assert all(F(g) == F(w) for g, w in zip(got, want, strict=True)), c.source


def test_min_compiles_to_the_hand_derived_weights():
    c = compile_expression("min(x1, x2)")
    hand = get_circuit("min").net
    for a, b in zip(c.net.layers, hand.layers, strict=True):
        assert a.weight.tolist() == b.weight.tolist() and a.bias.tolist() == b.bias.tolist()
    step = compile_expression("x < 10", domain="x=0..19").net
    assert step.layers[0].weight.tolist() == [[-1], [-1]]
    assert step.layers[0].bias.tolist() == [10, 9]  # relu(10 - x) - relu(9 - x)
    assert step.layers[1].weight.tolist() == [[1, -1]]


@pytest.mark.parametrize(
    "name",
    [
        "abs",
        "min",
        "max",
        "min4",
        "less_than_step",
        "is_even",
        "parity_net",
        "positive_detector",
        "greater_detector",
        "negative_reconstructor",
        "identity",
        "add",
        "bottleneck_sum",
    ],
)
def test_compiled_sizes_are_at_most_the_hand_derived_ones(name):
    circuit = get_circuit(name)
    c = compile_expression(circuit.expression, domain=circuit.domain)
    assert c.neurons <= circuit.neurons
    assert c.depth <= len(circuit.net.layers)


def test_assumptions_say_when_the_network_relies_on_the_domain():
    assert compile_expression("abs(x)").assumptions == ()
    narrow = compile_expression("abs(x - 3)", domain="x=3..10")
    assert narrow.neurons == 0 and any(">= 0 on the domain" in a for a in narrow.assumptions)
    step = compile_expression("x < 10", domain="x=0..19")
    assert any("exact where" in a for a in step.assumptions)  # integers only


# -- random expressions --------------------------------------------------------------------

_leaf = st.one_of(st.sampled_from(["x", "y"]), st.integers(-3, 3).map(str))


# Comparisons whose domain touches the threshold (the edge point is in the domain, at one end),
# or lies just beside it, and comparisons of a value with itself: the compiler decides from the
# bounds whether a step is needed, so a ">=" where ">" belongs (or the reverse) gives a constant
# that is wrong at exactly one point. Each is checked on every point of its domain, the edge
# point by hand too. (A randomised test meets these only by chance.)
THRESHOLD_EDGES = [
    # (expression, domain, the edge point, the value there)
    ("x > 3", "x=3..9", 3, 0),
    ("x > 3", "x=0..3", 3, 0),
    ("x > 3", "x=4..9", 4, 1),
    ("x < 3", "x=3..9", 3, 0),
    ("x < 3", "x=0..3", 3, 0),
    ("x < 3", "x=0..2", 2, 1),
    ("x >= 3", "x=0..3", 3, 1),
    ("x >= 3", "x=3..9", 3, 1),
    ("x >= 3", "x=0..2", 2, 0),
    ("x <= 3", "x=3..9", 3, 1),
    ("x <= 3", "x=0..3", 3, 1),
    ("x <= 3", "x=4..9", 4, 0),
    ("x == 3", "x=3..9", 3, 1),
    ("x == 3", "x=0..3", 3, 1),
    ("x != 3", "x=3..9", 3, 0),
    ("x != 3", "x=0..3", 3, 0),
    ("x > x", "x=0..3", 0, 0),
    ("x >= x", "x=0..3", 0, 1),
    ("x < x", "x=0..3", 0, 0),
    ("x <= x", "x=0..3", 0, 1),
    ("x/2 > 1", "x=2..8", 2, 0),
    ("x/2 >= 1", "x=0..2", 2, 1),
]


@pytest.mark.parametrize("source, domain, edge, value", THRESHOLD_EDGES)
def test_comparisons_at_the_edge_of_their_domain(source, domain, edge, value):
    c = compile_expression(source, domain=domain)
    assert interpret(c.expr, {"x": np.array([F(edge)], dtype=object)}).tolist() == [value]
    assert exact_outputs(c.net, np.array([[F(edge)]], dtype=object))[0, 0] == value
    v = verify(c.net, c.expr, c.domain)  # every point of the domain, exactly
    assert v.verified is True and v.max_error == 0, v.message


def _int_expr(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.integers(-2, 3), children).map(lambda t: f"{t[0]}*({t[1]})"),
        children.map(lambda e: f"abs({e})"),
        children.map(lambda e: f"relu({e})"),
        st.lists(children, min_size=1, max_size=3).map(lambda es: f"min({', '.join(es)})"),
        st.lists(children, min_size=1, max_size=3).map(lambda es: f"max({', '.join(es)})"),
        st.tuples(children, st.integers(-3, 0), st.integers(0, 3)).map(
            lambda t: f"clamp({t[0]}, {t[1]}, {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        children.map(lambda e: f"is_even(clamp({e}, 0, 7), bits=3)"),
        st.tuples(children, children, children).map(lambda t: f"where({t[0]} < 1, {t[1]}, {t[2]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]} > 0) * ({t[1]})"),
    )


int_exprs = st.recursive(_leaf, _int_expr, max_leaves=7)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is reproducible, not luck
    suppress_health_check=[HealthCheck.too_slow],
)
@given(int_exprs)
def test_random_integer_expressions_compile_to_verified_networks(source):
    c = compile_expression(source, domain="x=-3..4,y=0..5", verify=True)
    assert c.verification.verified is True, (source, c.verification.message)
    assert c.verification.max_error == 0


def _real_expr(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["-2", "1/2", "3", "-1/3"]), children).map(
            lambda t: f"{t[0]}*({t[1]})"
        ),
        children.map(lambda e: f"abs({e})"),
        children.map(lambda e: f"relu({e})"),
        st.lists(children, min_size=1, max_size=4).map(lambda es: f"min({', '.join(es)})"),
        st.lists(children, min_size=1, max_size=4).map(lambda es: f"max({', '.join(es)})"),
        children.map(lambda e: f"clamp({e}, -1/2, 3/4)"),
    )


real_exprs = st.recursive(
    st.one_of(st.sampled_from(["x", "y"]), st.sampled_from(["0", "1", "-3/2"])),
    _real_expr,
    max_leaves=7,
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is reproducible, not luck
    suppress_health_check=[HealthCheck.too_slow],
)
@given(real_exprs, st.booleans())
def test_random_real_expressions_are_exact_at_rational_points(source, with_domain):
    c = compile_expression(
        source, domain="x=-2:2,y=-2:2" if with_domain else None, inputs=["x", "y"]
    )
    if with_domain:  # exact on the box only: sample inside it
        rng = np.random.default_rng(abs(hash(source)) % 2**32)
        X = np.array(
            [[F(int(v), 8) for v in rng.integers(-16, 17, 2)] for _ in range(200)], dtype=object
        )
        got = exact_outputs(c.net, X)[:, 0]
        want = np.broadcast_to(interpret(c.expr, {"x": X[:, 0], "y": X[:, 1]}), len(X))
        assert all(F(g) == F(w) for g, w in zip(got, want, strict=True)), source
    else:
        assert c.assumptions == ()
        _check_at_rational_points(c, np.random.default_rng(0), n=100)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, domain, message",
    [
        ("x * y", None, "multiplies two variable quantities"),
        ("x < 10", None, "exact 0/1 step only on integer-valued inputs"),
        ("x < 10", "x=-1:1", "exact 0/1 step only on integer-valued inputs"),
        ("is_even(x, bits=3)", "x=0..9", "exact for 0 <= x < 8"),
        ("is_even(x)", "x=-2..5", "needs bits=n"),
        ("is_even(x, bits=3)", None, "integer-valued argument"),
        ("is_even(x/2, bits=3)", "x=0..7", "integer-valued argument"),
        ("where(x < 1, y, 0)", "x=0..3,y=-1:1", None),
        ("where(x, 1, 0)", "x=0..3", "must be 0 or 1"),
        ("where(x < 1, y, 0)", None, "integer-valued"),
        ("(x < 1) * y", "x=0..3", "unknown variable 'y'"),
        ("x / y", None, "divides by a non-constant"),
        ("x / 0", None, "divides by zero"),
        ("clamp(x, 2, 1)", None, "lo > hi"),
        ("3 + 4", None, "has no variables"),
        ("x1 + x3", "x1=0..3,x2=0..3", "unknown variable 'x3'"),
    ],
)
def test_compile_errors_are_one_clear_line(source, domain, message):
    if message is None:  # real y gated by an integer comparison: allowed, y is bounded
        c = compile_expression(source, domain=domain)
        assert c.neurons > 0
        return
    with pytest.raises(ConfigError) as err:
        compile_expression(source, domain=domain)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_variable_suggests_a_close_name():
    with pytest.raises(ConfigError, match="did you mean 'alpha'"):
        compile_expression("alpah + beta", domain="alpha=0..3,beta=0..3")


def test_compiled_network_round_trips_through_the_weights_file(tmp_path):
    import tinylens as tl

    c = compile_expression("min(x1, x2) / 3", domain="x1=0..4,x2=0..4", verify=True)
    path = tl.save(c.net.to_float(), tmp_path / "c.safetensors", info=c.info())
    back = load_exact(path)
    assert back.names == ["x1", "x2"]
    for a, b in zip(back.layers, c.net.layers, strict=True):
        assert a.weight.tolist() == b.weight.tolist() and a.bias.tolist() == b.bias.tolist()
    assert F(1, 3) in [F(v) for v in back.layers[-1].weight.ravel()]  # exact, not 0.333...
    info = tl.io.read_info(path)["info"]["circuit"]
    assert info["verification"]["verified"] is True
    json.dumps(info)  # plain JSON


def test_load_exact_refuses_a_file_without_exact_weights(tmp_path):
    import tinylens as tl
    from tinylens.errors import WeightsFileError

    path = tl.save(get_circuit("abs").net.to_float(), tmp_path / "plain.safetensors")
    with pytest.raises(WeightsFileError, match="no exact weights"):
        load_exact(path)


def test_parse_of_compiled_expression_text_round_trips():
    for source, *_ in CASES:
        e = parse(source)
        assert parse(str(e)) == e


# -- issue 17: an exact check on a real box that would run for hours is refused first ------------


def test_verifying_max_of_12_on_a_real_box_is_refused_before_any_work(capsys):
    import time

    from tinylens.circuits import parse_domain
    from tinylens.circuits.exact import MAX_BOX_WORK, check_box_work
    from tinylens.cli.main import main

    names = ", ".join(f"x{i}" for i in range(1, 13))
    start = time.monotonic()
    assert main(["circuits", "compile", f"max({names})", "--domain=-1:1", "--verify"]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - start < 30
    assert "2^12 = 4,096 vertices" in err and "--max-work" in err and err.count("\n") == 1
    # the estimate: 2^d x ReLU units, at the bound allowed, one more refused
    c = compile_expression("max(x1, x2, x3)", domain="x1=-1:1,x2=-1:1,x3=-1:1")
    units = c.neurons
    check_box_work(c.net, c.domain, 2**3 * units)
    with pytest.raises(ConfigError, match=rf"2\^3 x {units} ReLU units = {8 * units}"):
        check_box_work(c.net, c.domain, 2**3 * units - 1)
    # integer inputs are enumerated, not split: they do not count
    check_box_work(c.net, parse_domain("x1=-1..1,x2=-1..1,x3=-1..1"), 1)
    assert MAX_BOX_WORK >= 2**8 * 15  # max(x1, ..., x8) is still checked
