"""Reading formulas back out of weights: the sources' cases, the whole library, pruning,
motifs and unit correspondence.

Oracles: the exact comparison of two piecewise-affine functions on a box (every formula is
checked against its network and against the intended expression), SymPy (the formula strings
parse with the input names), hand-computed errors from the float32 weights.
"""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest
import sympy

from tinylens.circuits import (
    CIRCUITS,
    compare_on_box,
    compile_expression,
    get_circuit,
    parse,
    parse_domain,
    verify,
)
from tinylens.circuits.readback import as_domain, explain, find_motifs, match_circuit, sympy_to_expr
from tinylens.cli.main import main
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError, ShapeError


def f32(values):
    """Weights as a trained float32 network stores them (then read exactly)."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def _sym(names):
    return {n: sympy.Symbol(n) for n in names}


# -- the sources' three cases ------------------------------------------------------------------


def sources_min_model():
    """The trained min model: output [1, 0, 0, -1.41] over [a, b, r1, r2], r2 = relu(fc2 . x)
    with fc2 = [0.71, -0.71]. A plain MLP has no skip connection, so a and b reach the output
    through relu(v) - relu(-v) (units 0-3); r1's incoming weights are not in the sources and do
    not matter (its output weight is 0): we use [0.5, 0.3] and bias -0.1."""
    W1 = f32([[1, 0], [-1, 0], [0, 1], [0, -1], [0.5, 0.3], [0.71, -0.71]])
    b1 = f32([0, 0, 0, 0, -0.1, 0])
    W2 = f32([[1, -1, 0, 0, 0, -1.41]])
    return AffineNet.from_lists([(W1, b1, "relu"), (W2, f32([0]), "identity")], ["a", "b"])


def test_the_trained_min_model_reads_a_minus_relu_a_minus_b():
    e = explain(sources_min_model())
    s = _sym(["a", "b"])
    a, b = s["a"], s["b"]
    assert sympy.sympify(e.relu_form, locals=s) - (a - sympy.Max(a - b, 0)) == 0
    assert sympy.sympify(e.formula, locals=s) == sympy.Min(a, b)
    # "within the rounding": the network is a - 1.41 * 0.71 relu(a - b) (in float32); the
    # rounded formula is off by |1 - 1.41 * 0.71| * relu(a - b), largest (a - b = 2) ...
    w = F(float(np.float32(1.41))) * F(float(np.float32(0.71)))
    assert e.max_error == 2 * abs(1 - w)
    assert float(e.max_error) < 0.0023  # ... 0.0022
    reasons = {(p["layer"], p["unit"]): p["reason"] for p in e.pruned_units}
    assert set(reasons) == {(0, 2), (0, 3), (0, 4)} and all("silent" in r for r in reasons.values())


def test_the_one_unit_bottlenecks_read_as_their_sums():
    # x1 + ... + x5 through one unit that never switches off on [-1, 1]^5
    total = AffineNet.from_lists(
        [
            (f32([[0.62] * 5]), f32([3.3]), "relu"),
            (f32([[1 / 0.62]]), f32([-3.3 / 0.62]), "identity"),
        ]
    )
    e = explain(total)
    x = sympy.symbols("x1:6")
    assert sympy.sympify(e.formula, locals=_sym(total.names)) == sum(x)
    assert e.pruned_units[0]["reason"].startswith("always active")
    assert e.max_error < F(1, 10**6)  # float32 representation of 0.62 and 1/0.62
    # the weighted sum of the sources, with the unit's scale 0.8 moved to the output
    m = [1.45, 0.05, -0.84, -0.38, 0.19]
    weighted = AffineNet.from_lists(
        [
            (f32([[v / 0.8 for v in m]]), f32([5.0]), "relu"),
            (f32([[0.8]]), f32([-0.85 - 5 * 0.8]), "identity"),
        ]
    )
    e = explain(weighted)
    assert e.formula == "1.45*x1 + 0.05*x2 - 0.84*x3 - 0.38*x4 + 0.19*x5 - 0.85"
    want = sympy.nsimplify("1.45*x1 + 0.05*x2 - 0.84*x3 - 0.38*x4 + 0.19*x5 - 0.85")
    got = sympy.sympify(e.formula, locals=_sym(weighted.names))
    assert sympy.nsimplify(got) - want == 0
    assert e.max_error < F(1, 10**6)


# -- the library -------------------------------------------------------------------------------

RELU_ENTRIES = [n for n in CIRCUITS if get_circuit(n).exact and get_circuit(n).expression]


@pytest.mark.parametrize("name", RELU_ENTRIES)
def test_every_library_network_reads_as_its_expression(name):
    c = get_circuit(name)
    e = explain(c.net, c.domain)
    assert e.max_error == 0  # exact weights: nothing is rounded
    symbols = _sym(c.inputs)
    for text in (e.formula, e.relu_form):
        expr = sympy.sympify(text, locals=symbols)
        assert expr.free_symbols <= set(symbols.values())
    # the formula is the entry's function on its domain, decided exactly
    (formula,) = e.exprs
    assert compare_on_box(formula, parse(c.expression), c.domain, names=c.inputs).max_error == 0
    # and the language form compiles back to a network computing the entry's function,
    # verified exactly on the entry's domain
    back = compile_expression(e.expression, domain=c.domain, inputs=c.inputs)
    check = verify(back.net, parse(c.expression), back.domain)
    assert check.verified is True and check.max_error == 0, check.message


def test_readings_of_the_classic_circuits():
    assert explain(get_circuit("min").net).formula == "Min(x1, x2)"
    assert explain(get_circuit("max").net).formula == "Max(x1, x2)"
    assert explain(get_circuit("min4").net).formula == "Min(x1, x2, x3, x4)"
    assert explain(get_circuit("abs").net).formula == "Abs(x)"
    assert explain(get_circuit("negative_reconstructor").net).formula == "Min(0, x)"
    assert explain(get_circuit("identity_family", w1=3, w2=-5).net).formula == "x"
    step = explain(get_circuit("less_than_step").net, "x=0:19")
    assert step.formula == "Min(1, Max(0, 10 - x))"
    # the sources' parity net on 0..15: the last fold and the ReLU output never switch there
    parity = explain(get_circuit("parity_net").net, "x=0:15")
    assert parity.formula == "1 - Abs(Abs(Abs(Abs(x - 8) - 4) - 2) - 1)"
    assert [(p["layer"], p["unit"]) for p in parity.pruned_units] == [(4, 0), (4, 1), (5, 0)]


# -- pruning is decided exactly ------------------------------------------------------------------


def test_dead_and_always_active_units_are_decided_on_the_box_not_by_sampling():
    # unit 0: relu(x - 1.5) is dead on [-1, 1]; unit 1: relu(x - 0.999) fires only on a sliver
    # a coarse grid would miss; unit 2: relu(x + 1) never switches off (linear)
    net = AffineNet.from_lists(
        [
            ([[1.0], [1.0], [1.0]], [-1.5, -0.999, 1.0], "relu"),
            ([[5.0, 1.0, 1.0]], [0.0], "identity"),
        ],
        ["x"],
    )
    e = explain(net, digits=None)
    reasons = {p["unit"]: p["reason"] for p in e.pruned_units}
    assert set(reasons) == {0, 2}
    assert reasons[0].startswith("dead") and reasons[2].startswith("always active")
    assert e.max_error == 0
    wide = explain(net, "x=-2:2", digits=None)
    assert {p["unit"] for p in wide.pruned_units} == set()  # all three switch on [-2, 2]


def test_a_unit_dead_because_of_the_layer_before():
    # layer 1: h = relu(x) >= 0; layer 2: relu(-h - 1) is never active
    net = AffineNet.from_lists(
        [
            ([[1.0]], [0.0], "relu"),
            ([[-1.0], [2.0]], [-1.0, 0.0], "relu"),
            ([[7.0, 0.5]], [0.0], "identity"),
        ],
        ["x"],
    )
    e = explain(net)
    assert {(p["layer"], p["unit"]) for p in e.pruned_units} >= {(1, 0)}
    assert sympy.sympify(e.formula, locals=_sym(["x"])) == sympy.Max(0, sympy.Symbol("x"))


def test_duplicates_and_rescaling():
    # relu(2x - 1) = 2 relu(x - 1/2) twice, at two scales, and a negative output weight
    net = AffineNet.from_lists(
        [
            ([[2.0], [0.5], [-1.0]], [-1.0, -0.25, 0.0], "relu"),
            ([[1.0, 4.0, -3.0]], [0.0], "identity"),
        ],
        ["x"],
    )
    e = explain(net)
    assert any("duplicate of unit 0" in p["reason"] for p in e.pruned_units)
    x = sympy.Symbol("x")
    got = sympy.nsimplify(sympy.sympify(e.relu_form, locals={"x": x}))  # 0.5 is 1/2
    assert (
        sympy.simplify(got - (4 * sympy.Max(x - sympy.Rational(1, 2), 0) - 3 * sympy.Max(-x, 0)))
        == 0
    )
    assert e.max_error == 0


def test_several_outputs_and_the_grid_fallback():
    c = compile_expression("abs(x1 - x2)")
    two = AffineNet(
        (
            c.net.layers[0],
            type(c.net.layers[1])(
                np.vstack([c.net.layers[1].weight, c.net.layers[1].weight * 2]),
                np.array([F(0), F(1)], dtype=object),
                "identity",
            ),
        ),
        c.net.input_names,
    )
    e = explain(two)
    assert e.formulas == ["Abs(x1 - x2)", "2*Abs(x1 - x2) + 1"] and e.max_error == 0
    fallback = explain(get_circuit("min").net, max_cells=1)
    assert fallback.method == "grid" and "interval bounds" in fallback.note
    # the grid compares float evaluations: an estimate, with float rounding in it
    assert fallback.formula == "Min(x1, x2)" and fallback.max_error < 1e-12


def test_mistakes():
    with pytest.raises(ConfigError, match="sigmoid"):
        explain(get_circuit("less_than_sigmoid").net)
    with pytest.raises(ConfigError, match="digits"):
        explain(get_circuit("min").net, digits=-1)
    with pytest.raises(ShapeError, match="2 inputs"):
        as_domain([-1, 1], ["a", "b"])
    assert str(as_domain("-1,1,0,1/2", ["a", "b"])) == "a=-1:1,b=0:1/2"
    assert str(as_domain("x=0..15", ["x"])) == "x=0:15"  # an integer range: its real hull
    with pytest.raises(ConfigError, match="not piecewise"):
        sympy_to_expr(sympy.Symbol("a") * sympy.Symbol("b"))


# -- motifs and correspondence -------------------------------------------------------------------


def test_motifs_of_the_library():
    kinds = {m.kind: m for m in find_motifs(get_circuit("min").net)}
    assert kinds["identity pair"].units == (1, 2) and kinds["identity pair"].formula == "x1"
    assert kinds["greaterness detector"].formula == "Max(0, x1 - x2)"
    assert kinds["greaterness detector"].weights == ("-1",)
    (pair,) = [m for m in find_motifs(get_circuit("abs").net) if m.kind == "abs pair"]
    assert pair.units == (0, 1) and pair.formula == "Abs(x)"
    folds = [m for m in find_motifs(get_circuit("is_even").net, "x=0:15") if m.kind == "abs pair"]
    assert [m.layer for m in folds] == [0, 1, 2, 3]


def test_motifs_in_a_trained_looking_network():
    # an abs pair at two scales with float noise, a dead unit and a greaterness detector
    net = AffineNet.from_lists(
        [
            (
                f32([[0.8, 0.0], [-1.7, 0.0], [0.0, 1.0], [1.3, -1.3001]]),
                f32([0.0, 0.0, -5.0, 0.0]),
                "relu",
            ),
            (f32([[1.25, 0.5882, 3.0, 0.4]]), f32([0.0]), "identity"),
        ],
        ["x1", "x2"],
    )
    kinds = [(m.kind, m.units) for m in find_motifs(net)]
    assert ("abs pair", (0, 1)) in kinds
    assert ("greaterness detector", (3,)) in kinds and ("dead", (2,)) in kinds


def test_match_circuit_says_which_units_correspond():
    base = get_circuit("min").net.to_float()
    perm, s = [2, 0, 1], np.array([0.5, 3.0, 1.7])
    W1 = base.layers[0].weight[perm] * s[:, None]
    W2 = base.layers[1].weight[:, perm] / s[None, :]
    moved = AffineNet.from_lists(
        [(W1, np.zeros(3), "relu"), (W2, np.zeros(1), "identity")], ["x1", "x2"]
    )
    match = match_circuit(moved, get_circuit("min").net)
    assert match is not None
    got = {ua: (ub, ratio) for ua, ub, ratio in match.layers[0]}
    for i in range(3):  # moved unit i is circuit unit perm[i], scaled by s[i]
        ub, ratio = got[(i,)]
        assert ub == (perm[i],) and ratio == pytest.approx(s[i])
    assert match_circuit(get_circuit("max").net, get_circuit("min").net) is None


# -- the command line ----------------------------------------------------------------------------


def test_explain_command_json_parses_in_sympy(tmp_path, capsys):
    out = tmp_path / "min.safetensors"
    assert (
        main(
            [
                "circuits",
                "compile",
                "min(a, b)",
                "--domain",
                "a=-1:1,b=-1:1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["circuits", "explain", str(out), "--json", "--compare", "b - relu(b - a)"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("formula", "max_error", "pruned_units"):
        assert key in data
    assert sympy.sympify(data["formula"], locals=_sym(["a", "b"])) == sympy.Min(
        *sympy.symbols("a b")
    )
    assert data["max_error"] == 0 and data["box"] == "a=-1:1,b=-1:1"
    assert data["compare"]["max_difference"] == 0  # the same function...
    assert data["compare"]["same_circuit"] is False  # ... from other units (its mirror image)


def test_explain_command_on_a_trained_file(tmp_path, capsys):
    import tinylens

    path = tmp_path / "trained.safetensors"
    tinylens.save(sources_min_model().to_module(), path)
    assert main(["circuits", "explain", str(path), "--compare", "a - relu(a - b)"]) == 0
    text = capsys.readouterr().out
    assert "formula:   Min(a, b)" in text and "relu form: a - Max(0, a - b)" in text
    assert "silent" in text and "identity pair" in text and "greaterness detector" in text
    assert "the same circuit up to permutation and positive rescaling" in text
    assert main(["circuits", "explain", str(path), "--box", "a=0:1"]) == 2  # b has no range
    capsys.readouterr()
    assert main(["circuits", "explain", str(path), "--digits", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digits"] == 1


def test_domains_of_the_examples():
    dom = parse_domain("x1=-1:1,x2=-1:1")
    assert (
        compare_on_box(
            parse("min(x1, x2)"), explain(get_circuit("min").net).exprs[0], dom
        ).max_error
        == 0
    )


# -- the article's min model, with its skip connection (issue 16) -------------------------------


def articles_min_model():
    """The min model of "A gentle introduction to mechanistic interpretability through simple
    algorithmic examples" as the article builds it: the output layer reads the inputs and the
    hidden ReLUs, ``y = fc(cat([a, b], relu(W x + c)))``, output weights [1, 0, 0, -1.41] over
    [a, b, r1, r2], r2's incoming weights [0.71, -0.71] (float32); r1's are not in the article
    and do not matter (output weight 0): [0.5, 0.3], bias -0.1 as above."""
    import torch
    from torch import nn

    class MinModel(nn.Module):
        input_names = ("a", "b")

        def __init__(self):
            super().__init__()
            self.hidden, self.out = nn.Linear(2, 2), nn.Linear(4, 1)

        def forward(self, x):
            return self.out(torch.cat([x, torch.relu(self.hidden(x))], dim=1))

    m = MinModel()
    with torch.no_grad():
        m.hidden.weight.copy_(torch.tensor([[0.5, 0.3], [0.71, -0.71]]))
        m.hidden.bias.copy_(torch.tensor([-0.1, 0.0]))
        m.out.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, -1.41]]))
        m.out.bias.zero_()
    return m


def test_the_articles_skip_connection_min_model_reads_min():
    e = explain(articles_min_model())
    s = _sym(["a", "b"])
    assert sympy.sympify(e.formula, locals=s) == sympy.Min(s["a"], s["b"])
    # the same rounding cost as the plain-MLP rebuild above: 2 |1 - 1.41 * 0.71|
    w = F(float(np.float32(1.41))) * F(float(np.float32(0.71)))
    assert e.max_error == 2 * abs(1 - w) and e.method == "exact"


def test_the_skip_models_exact_formula_equals_the_network_at_rational_points():
    from tinylens.circuits.expr import interpret
    from tinylens.torch import trace_relu_graph

    model = articles_min_model()
    e = explain(model, digits=None)
    assert e.max_error == 0
    graph = trace_relu_graph(model)
    rng = np.random.default_rng(2)
    pts = [(F(int(p), 97), F(int(q), 89)) for p, q in rng.integers(-97, 97, size=(200, 2))]
    X = np.array(pts, dtype=object)
    want = graph.forward(X)[:, 0]  # the module's own graph, in exact arithmetic
    got = interpret(parse(e.expression), {"a": X[:, 0], "b": X[:, 1]})  # exact coefficients
    assert list(got) == list(want)


def test_explain_study_reads_a_torch_module_and_shows_itself():
    from tinylens.studies.circuits import ExplainConfig, run_explain

    r = run_explain(ExplainConfig(model="article min model"), net=articles_min_model())
    assert r.explanation.formula == "Min(a, b)"
    assert repr(r).startswith("ExplainResult(Explanation('Min(a, b)', max_error=0.0022")
    assert "<table>" in r._repr_html_() and len(repr(r)) < 200
    assert list(r.explanation.to_pandas()["status"]) == ["switching"] * 6  # 2 units, 2 pairs
    assert r.to_dict()["model"] == "article min model"


# -- issue 17: a network too large to read back is refused before the slow work ------------------


def test_a_2_16_16_3_network_is_refused_in_one_line_naming_the_option(capsys, tmp_path):
    import time

    from tinylens.circuits.readback import formula_size
    from tinylens.engine import MLP
    from tinylens.io import save

    net = AffineNet.from_module(MLP([2, 16, 16, 3], rng=0))
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"2-16-16-3 network has [\d,]+ terms .* --max-terms"):
        explain(net)
    assert time.monotonic() - start < 60  # it ran for > 300 s before (issue 17)
    path = tmp_path / "big.safetensors"
    save(net, path)
    assert main(["circuits", "explain", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "--max-terms" in err
    # the size is the tree written out: a sum node, 1 per term, plus each ReLU's argument
    from tinylens.circuits.readback import Lin, combine, relu_of

    inner = relu_of(Lin.var("x"))
    assert formula_size(inner) == 1 + 1 + (1 + 1)  # sum, relu term, its argument (sum, x)
    nested = relu_of(combine([(F(1), inner), (F(2), relu_of(-Lin.var("x")))]))
    assert formula_size(nested) == 1 + 1 + (1 + (1 + 2) + (1 + 2))


def test_the_limit_leaves_small_networks_alone():
    e = explain(sources_min_model(), max_terms=30)
    assert e.formula == "Min(a, b)"
    with pytest.raises(ConfigError, match="--max-terms"):
        explain(sources_min_model(), max_terms=3)


def test_an_explanation_shows_itself_and_plots_network_and_formula():
    net = get_circuit("abs").net
    e = explain(net)
    assert repr(e) == "Explanation('Abs(x)', max_error=0 (exact), units=2, pruned=0)"
    assert "<table>" in e._repr_html_() and "Abs(x)" in e._repr_html_()
    (network, formula) = e.plot(net).axes[0].get_lines()
    x = network.get_xdata()
    np.testing.assert_array_equal(network.get_ydata(), np.abs(x))  # the network: |x|, exactly
    np.testing.assert_array_equal(formula.get_ydata(), np.abs(x))  # and the formula read back
    e2 = explain(get_circuit("min").net)
    fig = e2.plot(get_circuit("min").net)  # two inputs: |formula - network| over the box
    # the plot evaluates both in float64: x1 - relu(x1 - x2) rounds by at most an ulp of 2
    assert fig.axes[0].images[0].get_array().max() <= FLOAT64_ULP_AT_2


FLOAT64_ULP_AT_2 = 2 * np.finfo(np.float64).eps


def test_a_box_of_many_inputs_falls_back_to_bounds_and_a_grid(monkeypatch):
    """Exact pieces of a d-dimensional box keep up to 2^d vertices each (max of 10 inputs
    would take hours): above MAX_BOX_WORK explain uses interval bounds and a grid, and says
    so. Shown on min with the bound lowered below its 2^2 x 3 units."""
    import importlib

    module = importlib.import_module("tinylens.circuits.readback.explain")
    monkeypatch.setattr(module, "MAX_BOX_WORK", 2**2 * 3 - 1)
    e = explain(get_circuit("min").net)
    assert e.method == "grid" and e.note.startswith("2 inputs: the exact pieces of the box")
    assert e.formula == "Min(x1, x2)" and e.cells == 0
    assert e.max_error <= FLOAT64_ULP_AT_2  # the grid evaluates the network in float64
    monkeypatch.setattr(module, "MAX_BOX_WORK", 2**2 * 3)
    assert explain(get_circuit("min").net).method == "exact"
