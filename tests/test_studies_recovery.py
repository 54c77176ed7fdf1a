"""The recovery study: its outcome classification on hand-made networks, and a real run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinylens.circuits import compile_expression, get_circuit
from tinylens.engine import AffineNet, BatchedMLP
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.studies.recovery import (
    OUTCOMES,
    TARGETS,
    RecoveryConfig,
    classify,
    classify_seeds,
    eval_grid,
    read_back,
    run_recovery,
)


def _batched_from(target, weight_sets):
    """A BatchedMLP whose instance k has the float weights ``weight_sets[k]``."""
    net = BatchedMLP(
        target.sizes,
        range(len(weight_sets)),
        bias=target.bias,
        output_activation=target.output_activation,
    )
    for k, layers in enumerate(weight_sets):
        for i, (W, b) in enumerate(layers):
            net.weights[i].data[k] = W
            if net.biases is not None:
                net.biases[i].data[k] = b
    return net


def _classify(target, net):
    X = eval_grid(target)
    y = target.function(X)
    losses = net.loss(X, y)
    return classify(target, net, X, y, losses, tol=1e-6, atol=0.02).tolist()


def test_identity_outcomes_on_hand_made_networks():
    t = TARGETS["identity"]
    z = np.zeros(2)
    nets = [
        [([[1.0], [-1.0]], z), ([[1.0, -1.0]], [0.0])],  # the circuit
        [([[3.0], [-0.5]], z), ([[1 / 3, -2.0]], [0.0])],  # the identity family: rescaled
        [([[-0.5], [3.0]], z), ([[-2.0, 1 / 3]], [0.0])],  # ... and permuted
        [([[1.0], [2.0]], z), ([[0.6, 0.2]], [0.0])],  # both units look at x > 0
        [([[-1.0], [-2.0]], z), ([[-0.6, -0.2]], [0.0])],  # both at x < 0
        [([[0.0], [0.0]], z), ([[1.0, 1.0]], [0.0])],  # outputs 0 = the mean of x
        [([[1.0], [-1.0]], z), ([[0.9, -0.9]], [0.0])],  # close: loss 1e-3 > tol
    ]
    assert _classify(t, _batched_from(t, nets)) == [
        "success",
        "success",
        "success",
        "works for x > 0 only",
        "works for x < 0 only",
        "stuck at the mean",
        "other (local minimum)",
    ]


def test_min_finds_either_mirror_image_and_other_structures_are_named():
    t = TARGETS["min"]
    mine = get_circuit("min").net.to_float()
    mirror = compile_expression("x2 - relu(x2 - x1)").net.to_float()
    sets = [[(la.weight, la.bias) for la in n.layers] for n in (mine, mirror)]
    assert _classify(t, _batched_from(t, sets)) == ["success", "success"]
    # With only one of the two known circuits, the mirror image is not that circuit unit by
    # unit, but its formula read back out of the weights is still min(x1, x2): success is the
    # read-back, and the structural check is reported next to it
    only_mine = dataclasses.replace(t, circuits=lambda: [get_circuit("min").net])
    X = eval_grid(t)
    net = _batched_from(t, sets)
    c = classify_seeds(
        only_mine, net, X, t.function(X), net.loss(X, t.function(X)), tol=1e-6, atol=0.02
    )
    assert c.outcomes.tolist() == ["success", "success"]
    assert c.structural.tolist() == [True, False] and c.readback.tolist() == [True, True]
    assert c.formulas.tolist() == ["Min(x1, x2)", "Min(x1, x2)"]


def test_read_back_and_structure_can_disagree():
    t = TARGETS["identity"]
    z = np.zeros(2)
    # outputs 0.985 x: loss 7.5e-5, below a loose tol of 1e-3; the units are the identity's
    # within atol 0.02, but the formula read back (two decimals) is 0.98*x, not x
    net = _batched_from(t, [[([[1.0], [-1.0]], z), ([[0.985, -0.985]], [0.0])]])
    X = eval_grid(t)
    y = t.function(X)
    c = classify_seeds(t, net, X, y, net.loss(X, y), tol=1e-3, atol=0.02)
    assert c.outcomes.tolist() == ["solved, other formula"]
    assert c.structural.tolist() == [True] and c.readback.tolist() == [False]
    assert c.formulas.tolist() == ["0.98*x"]
    # an integer target reads on [0, 19] and is compared with x < 10 on the integers only
    step = TARGETS["less_than"]
    assert read_back(step, get_circuit("less_than_step").net) == (True, "Min(1, Max(0, 10 - x))")
    late = AffineNet.from_lists(
        [([[-1.0], [-1.0]], [10.5, 9.5], "relu"), ([[1.0, -1.0]], [0.0], "identity")]
    )
    assert read_back(step, late)[0] is False  # 1/2 at x = 10
    # no exact formula for the sigmoid target: only its structure counts
    assert read_back(TARGETS["less_than_sigmoid"], get_circuit("less_than_sigmoid").net) == (
        None,
        "",
    )


def test_a_wedge_left_uncovered():
    t = TARGETS["add"]
    # both units see only x1 + x2 > 0: the other half-plane outputs 0
    net = _batched_from(t, [[([[1.0, 1.0], [2.0, 2.0]], np.zeros(2)), ([[0.6, 0.2]], [0.0])]])
    assert _classify(t, net) == ["works on part of the domain only"]


def test_integer_targets_use_the_lattice():
    t = TARGETS["less_than"]
    # kinks at 9.75 and 9.25, not 10 and 9: still the step on the integers
    net = _batched_from(t, [[([[-2.0], [-2.0]], [19.5, 18.5]), ([[1.0, -1.0]], [0.0])]])
    assert _classify(t, net) == ["success"]
    sig = TARGETS["less_than_sigmoid"]
    steep = _batched_from(sig, [[([[-40.0]], [380.0])]])  # sigmoid(40 (9.5 - x))
    wrong_way = _batched_from(sig, [[([[2.0]], [6.0])]])  # saturated at 1 everywhere
    assert _classify(sig, steep) == ["success"]
    assert _classify(sig, wrong_way) == ["constant output"]


def test_a_small_run_end_to_end_is_deterministic():
    cfg = RecoveryConfig(target="negative_identity", seeds=24, steps=150)
    a, b = run_recovery(cfg, quiet=True), run_recovery(cfg, quiet=True)
    assert a.main.outcomes.tolist() == b.main.outcomes.tolist()
    np.testing.assert_array_equal(a.main.losses, b.main.losses)
    counts = a.main.counts()
    assert sum(counts.values()) == 24 and set(counts) <= set(OUTCOMES)
    # with two bias-free units, about half the seeds start with both on one side of 0
    assert counts.get("success", 0) >= 4
    assert counts.get("works for x > 0 only", 0) + counts.get("works for x < 0 only", 0) >= 4
    # relu(w x) without bias keeps the sign of w under gradient flow (a discrete step can jump
    # across 0): seeds whose units start on one side of 0 succeed far less often
    both = a.main.init_sides()
    sides = a.metrics["init_sides"]
    assert both is not None and sides["both"]["seeds"] + sides["one"]["seeds"] == 24
    assert sides["one"]["success_rate"] < sides["both"]["success_rate"]
    assert a.main.curves.shape[1] == 24 and a.main.curve_steps[-1] == 150
    m = a.metrics
    assert m["success_rate"] == counts.get("success", 0) / 24 and m["steps"] == 150


def test_the_grid_reuses_the_main_run_and_varies_what_it_says():
    cfg = RecoveryConfig(
        target="abs",
        seeds=12,
        steps=100,
        compare=True,
        compare_optimizers=("sgd", "adam"),
        compare_inits=("auto", "torch"),
    )
    r = run_recovery(cfg, quiet=True)
    assert [(v.optimizer, v.init) for v in r.grid] == [
        ("sgd", "auto"),
        ("sgd", "torch"),
        ("adam", "auto"),
        ("adam", "torch"),
    ]
    assert r.grid[0] is r.main
    assert r.grid[2].lr == 0.01 and r.main.lr == 0.1


def test_config_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'min'"):
        RecoveryConfig(target="mni")
    with pytest.raises(ConfigError, match="seeds"):
        RecoveryConfig(target="min", seeds=0)


def test_config_nests_one_train_config_and_rejects_unknown_keys():
    from tinylens.training import TrainConfig

    cfg = RecoveryConfig(target="min", seeds=4, steps=300, lr=0.05)
    # 300 steps over a pool of 10 batches: 30 epochs of fit, SGD (the target's) at lr 0.05
    assert cfg.training == TrainConfig(
        epochs=30, batch_size=1000, optimizer="sgd", lr=0.05, loss="mse", shuffle=True
    )
    assert (cfg.optimizer, cfg.lr, cfg.batch_size, cfg.steps_per_epoch) == ("sgd", 0.05, 1000, 10)
    assert RecoveryConfig.from_dict(cfg.to_dict()) == cfg
    # an integer target trains full-batch on its 20 integers: one step per epoch
    step = RecoveryConfig(target="less_than", batch_size=64)
    assert step.batch_size == 20 and step.training.epochs == step.steps == 5000
    assert not step.training.shuffle
    # given as a TrainConfig, its epochs set the steps
    nested = RecoveryConfig(
        target="abs", training=TrainConfig(epochs=7, batch_size=100, optimizer="adam")
    )
    assert nested.steps == 70 and nested.lr is None and nested.optimizer == "adam"
    with pytest.raises(ConfigError, match="unknown recovery setting 'seed_count'"):
        RecoveryConfig.from_dict({"seed_count": 3})
    with pytest.raises(ConfigError, match="not both"):
        RecoveryConfig(target="abs", lr=0.1, training=TrainConfig())
    with pytest.raises(ConfigError, match="epochs"):
        RecoveryConfig(target="abs", steps=100, training=TrainConfig(epochs=3))
    with pytest.raises(ConfigError, match="hidden"):
        RecoveryConfig(target="abs", hidden=(2, 0))
    with pytest.raises(ConfigError, match="real targets only"):
        RecoveryConfig(target="is_even", distribution="normal")
    with pytest.raises(UnknownNameError, match="did you mean 'normal'"):
        RecoveryConfig(target="abs", distribution="normall")
    wide = RecoveryConfig(target="abs", hidden=(4,))
    assert wide.recovery_target.sizes == (1, 4, 1) and TARGETS["abs"].sizes == (1, 2, 1)


def test_the_result_shows_itself_in_a_notebook(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from tinylens.io import RunDir

    r = run_recovery(RecoveryConfig(target="abs", seeds=10, steps=100), quiet=True)
    text = repr(r)
    assert text.startswith("RecoveryResult(abs: 10 seeds of 1-2-1") and "[" not in text
    assert len(text) < 200 and "[" not in repr(r.main)
    page = r._repr_html_()
    assert "<table>" in page and page.count("<tr>") == 1 + len(r.main.counts())
    assert "data:image/png;base64," in page
    df = r.to_pandas()
    assert len(df) == 10 and list(df["seed"]) == list(range(10))
    # the per-seed table counts the outcomes the result reports, recounted by hand
    recount: dict[str, int] = {}
    for o in df["outcome"]:
        recount[o] = recount.get(o, 0) + 1
    assert recount == r.main.counts()
    assert (df["outcome"] == "success").mean() == r.metrics["success_rate"]
    assert isinstance(r.plot(), Figure)
    assert r.save(tmp_path / "run") == tmp_path / "run"
    r.save(RunDir(tmp_path / "partial"))  # a RunDir the caller finishes
    for name in ("config.yaml", "metrics.json", "seeds.csv", "losses.png", "curves.png"):
        assert (tmp_path / "run" / name).exists(), name


def test_the_sigmoid_step_is_scored_as_the_article_solution(tmp_path):
    """less_than_sigmoid: a seed succeeds when its threshold -b/w is in (9, 10) with w < 0 and
    M = -w still grows over the last quarter. Recomputed here by training each seed alone
    (the engine's MLP through fit, float64) and scoring it in plain Python."""
    from tinylens.engine import MLP
    from tinylens.training import Callback, fit

    cfg = RecoveryConfig(target="less_than_sigmoid", seeds=8, steps=800, dtype="float64")
    r = run_recovery(cfg, quiet=True)
    X = np.arange(20, dtype=np.float64).reshape(-1, 1)
    y = (X < 10).astype(np.float64)

    class Trace(Callback):
        def __init__(self):
            self.w = []

        def on_fit_start(self, net, history):
            self.w.append(float(net.linears[0].weight.data[0, 0]))

        def on_epoch_end(self, epoch, net, history):
            if epoch % 16 == 0:
                self.w.append(float(net.linears[0].weight.data[0, 0]))

    expected = []
    for k, seed in enumerate(r.main.seeds):
        net = MLP([1, 1], "relu", "sigmoid", rng=int(seed), dtype=np.float64)
        trace = Trace()
        train = dataclasses.replace(cfg.training, lr=0.1)  # the target's Adam rate
        fit(net, (X, y), train, rng=0, callbacks=[trace], quiet=True)
        (w,), b = net.linears[0].weight.data[0], float(net.linears[0].bias.data[0])
        # the batched trace holds the same weights: M = -w at every recorded step
        np.testing.assert_allclose(-r.main.trace[:, k, 0], [-v for v in trace.w], rtol=1e-9)
        # recorded every 16 steps; the last quarter starts at the record nearest step 600
        steps = [16 * i for i in range(len(trace.w))]
        assert steps == r.main.curve_steps.tolist()
        late = trace.w[min(range(len(steps)), key=lambda i: abs(steps[i] - 600))]
        found = w < 0 and 9 < -b / w < 10
        sharpening = -w > -late
        expected.append("success" if found and sharpening else None)
    got = r.main.outcomes.tolist()
    assert [o if o == "success" else None for o in got] == expected
    assert 0 < expected.count("success") < 8
    sh = r.metrics["sharpening"]
    ok = [k for k, o in enumerate(expected) if o]
    assert sh["seeds"] == len(ok)
    assert sh["median_M_end"] == pytest.approx(float(np.median(-r.main.trace[-1, ok, 0])))
    assert sh["median_M_end"] > sh["median_M_start"] and 9 < sh["median_threshold_end"] < 10
    import json

    import matplotlib

    matplotlib.use("Agg")
    out = r.save(tmp_path / "sigmoid")
    assert (out / "sharpening.png").exists()
    assert json.loads((out / "metrics.json").read_text())["sharpening"] == sh


def test_is_even_trains_on_the_article_labels_and_initialisation():
    """The article's 'is_even' labels are x mod 2 (what its network computes) and its layers
    start as PyTorch's nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
    Seeds stuck at the mean output 1/2 (the labels' mean) everywhere: checked on each such
    seed with the engine's own single network."""
    t = TARGETS["is_even"]
    X = eval_grid(t)
    assert t.function(X)[:, 0].tolist() == [x % 2 for x in range(16)]
    assert TARGETS["is_even_labels_even"].function(X)[:, 0].tolist() == [
        1 - x % 2 for x in range(16)
    ]
    r = run_recovery(RecoveryConfig(target="is_even", seeds=24, steps=1500), quiet=True)
    assert r.main.init == "torch"
    for name, w in r.main.initial.items():
        if name.endswith("weight"):
            bound = 1 / np.sqrt(w.shape[2])
            b = r.main.initial[name.replace("weight", "bias")]
            assert np.abs(w).max() <= bound and np.abs(b).max() <= bound, name
    # He (the other convention) draws first-layer weights past PyTorch's bound of 1
    he = run_recovery(RecoveryConfig(target="is_even_labels_even", seeds=24, steps=10), quiet=True)
    assert he.main.init == "auto" and np.abs(he.main.initial["layers.0.weight"]).max() > 1
    stuck = np.flatnonzero(r.main.outcomes == "stuck at the mean")
    assert len(stuck) >= 3 and r.main.success_rate == 0
    for k in stuck:
        out = r.main.net.astype(np.float64).instance(int(k)).forward(X)[:, 0]
        assert np.abs(out - 0.5).max() < 0.05 * 0.5, k
    # the other constant outputs are a dead ReLU output: 0 on every input
    for k in np.flatnonzero(r.main.outcomes == "constant output"):
        out = r.main.net.astype(np.float64).instance(int(k)).forward(X)[:, 0]
        assert np.array_equal(out, np.zeros(16)), k


def test_input_distributions_of_the_toy_examples_post():
    from tinylens.studies.recovery import DISTRIBUTIONS, training_data

    rng = np.random.default_rng(0)
    n = 200_000
    normal = DISTRIBUTIONS["normal"](rng, n, 5)
    # standard normal: mean 0 and variance 1 within 5 standard errors
    assert np.abs(normal.mean(axis=0)).max() < 5 / np.sqrt(n)
    assert np.abs(normal.var(axis=0) - 1).max() < 5 * np.sqrt(2 / n)
    x = np.exp(DISTRIBUTIONS["gamma"](rng, n, 2))  # the network sees log x
    # gamma(2, 1): mean 2, variance 2 (shape k, scale 1: mean k, variance k)
    assert np.abs(x.mean(axis=0) - 2).max() < 5 * np.sqrt(2 / n)
    assert np.abs(x.var(axis=0) - 2).max() < 0.05
    u = DISTRIBUTIONS["uniform"](rng, n, 1)
    assert u.min() >= -1 and u.max() < 1
    # the product target: log(x1 x2) from the logs, in plain Python on a few points
    t = TARGETS["bottleneck_product"]
    X, y = training_data(t, 5, np.random.default_rng(1))
    for (a, b), v in zip(X.tolist(), y[:, 0].tolist(), strict=True):
        assert v == pytest.approx(np.log(np.exp(a) * np.exp(b)), abs=1e-12)
    # a distribution option swaps the inputs of a real target, the seeds and target stay
    c = RecoveryConfig(target="abs", distribution="normal", seeds=2)
    assert c.recovery_target.distribution == "normal" and TARGETS["abs"].distribution == "uniform"


def test_the_product_bottleneck_success_over_seeds():
    """Each seed called a success computes log x1 + log x2 on fresh gamma-drawn points (checked
    with the engine's single network); each constant one has its unit dead on the box."""
    from tinylens.studies.recovery import training_data

    r = run_recovery(RecoveryConfig(target="bottleneck_product", seeds=16, steps=1000), quiet=True)
    t = TARGETS["bottleneck_product"]
    X, y = training_data(t, 2000, np.random.default_rng(123))
    X = X[np.abs(X).max(axis=1) <= 1]  # the box success is read on
    y = X.sum(axis=1)
    counts = r.main.counts()
    assert counts["success"] / 16 == r.metrics["success_rate"]
    assert 0 < counts["success"] < 16
    for k, outcome in enumerate(r.main.outcomes):
        net = r.main.net.astype(np.float64).instance(k)
        out = net.forward(X)[:, 0]
        if outcome == "success":
            assert np.abs(out - y).max() < 1e-2, k
            # the structure, by hand: the unit on over the box, w2 W1 = (1, 1), w2 b1 + b2 = 0
            (w_a, w_b), b1 = net.linears[0].weight.data[0], net.linears[0].bias.data[0]
            w2, b2 = net.linears[1].weight.data[0, 0], net.linears[1].bias.data[0]
            by_hand = (
                b1 >= abs(w_a) + abs(w_b)
                and max(abs(w2 * w_a - 1), abs(w2 * w_b - 1)) <= 0.02
                and abs(w2 * b1 + b2) <= 0.02
            )
            assert bool(r.main.structural[k]) == by_hand, k
        elif outcome == "constant output":
            assert np.ptp(out) < 1e-6, k


@pytest.mark.parametrize(
    ("name", "seeds", "steps"),
    [("min", 24, 6000), ("less_than", 16, 300), ("is_even", 6, 100), ("bottleneck_sum", 8, 100)],
)
def test_the_study_s_read_back_is_explain_s_formula_and_outcome(name, seeds, steps, monkeypatch):
    """Issue 18: the study reads formulas with read_formulas (no per-unit text, one SymPy
    presentation per distinct rounded sum, the first layer's status from exact interval
    bounds). On trained seeds, recovered and not, every formula is explain's, string for
    string, and the outcomes are those of the explain-based read-back it replaced. The
    targets take each road: min (one ReLU layer, no bias), less_than (bias, an integer box),
    is_even (six ReLU layers: the cells), bottleneck_sum (five inputs)."""
    import sys

    from tinylens.circuits.readback import explain, read_formulas

    classify_module = sys.modules["tinylens.studies.recovery.classify"]
    target = TARGETS[name]
    main = run_recovery(RecoveryConfig(target=name, seeds=seeds, steps=steps), quiet=True).main
    box, _ = target.read_back_domain()
    memo: dict = {}
    formulas = []
    for k in range(seeds):
        net = AffineNet(AffineNet.from_module(main.net.instance(k)).layers, target.inputs)
        want = explain(net, box, digits=2, check=False).formulas
        assert read_formulas(net, box, digits=2, memo=memo) == want, k
        assert read_formulas(net, box, digits=2, memo=memo) == want, k  # from the memo
        formulas.append(want[0])
    # seeds that read differently (two sums may present alike: units in another order)
    assert 2 <= len(set(formulas)) <= len(memo)
    if name == "min":  # and seeds that share one: 11 recovered min, 13 did not
        assert len(memo) < seeds and formulas.count("Min(x1, x2)") == 11
        assert main.outcomes.tolist().count("success") == 11
    # the outcomes: the same with explain's formulas in the study's place
    monkeypatch.setattr(
        classify_module,
        "read_formulas",
        lambda net, box, digits, memo: explain(net, box, digits=digits, check=False).formulas,
    )
    X = eval_grid(target)
    slow = classify_seeds(target, main.net, X, target.function(X), main.losses, tol=1e-6, atol=0.02)
    assert slow.outcomes.tolist() == main.outcomes.tolist()
    assert slow.formulas.tolist() == main.formulas.tolist()
    assert slow.readback.tolist() == main.readback.tolist()


def test_read_formulas_status_at_the_edges_and_the_deadline(monkeypatch):
    """The first layer's status from interval bounds agrees with the cells' at the edges: a
    unit that is 0 at one corner only (dead), one that is 0 along an edge (always active), a
    constant one; and a presentation cut short by the deadline is not kept in the memo."""
    import sys

    from tinylens.circuits.readback import explain, read_formulas

    net = AffineNet.from_lists(
        [
            (
                [[1.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, -1.0], [-1.0, 1.0]],
                [-2.0, 1.0, 0.5, 0.0, 0.0],
                "relu",
            ),
            ([[5.0, 1.0, 2.0, -1.0, 1.0]], [0.0], "identity"),
        ]
    )
    box = [(-1, 1), (-1, 1)]
    e = explain(net, box, digits=2, check=False)
    assert [u.status for u in e.units] == ["dead", "linear", "constant", "switching", "switching"]
    memo: dict = {}
    assert read_formulas(net, box, digits=2, memo=memo) == e.formulas == ["x2 + 2"]
    assert len(memo) == 1
    explain_module = sys.modules["tinylens.circuits.readback.explain"]
    monkeypatch.setattr(explain_module, "PRESENT_SECONDS", -1.0)  # out of time at once
    memo.clear()
    read_formulas(net, box, digits=2, memo=memo)
    assert memo == {}
