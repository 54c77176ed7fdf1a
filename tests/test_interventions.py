"""Interventions, sweeps and attributions on both backends.

Oracles: the activation edited by hand with NumPy and the rest of the network run on it; a
plain loop of hooked forwards (the brute force the batched sweeps replace); Captum (torch) for
the engine's attributions; the completeness axiom of integrated gradients.
Tolerances: float64 everywhere; 1e-12 where the same arithmetic runs in another order;
IG_TOL for Captum's integrated gradients, whose quadrature weights are float32 (relative
error ~6e-8 per weight).
"""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

import tinylens as tl
from tinylens.data import digits
from tinylens.engine import small_cnn
from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.interventions import (
    Edit,
    ablation_sweep,
    batched_edits,
    class_accuracy,
    edited_copy,
    gradient_x_input,
    integrated_gradients,
    intervene,
    mean_ablation,
    mean_difference,
    patch_activation,
    patching,
    patching_sweep,
    resample_ablation,
    run_with_edits,
    saliency,
    scaling,
    scaling_sweep,
    steering,
    zero_ablation,
)

TOL = 1e-12
IG_TOL = 1e-7


@pytest.fixture(scope="module")
def trained():
    """A float64 64-24-12-10 MLP trained briefly on the 8x8 digits, and the data."""
    data = digits()
    net = tl.MLP([64, 24, 12, 10], rng=0, dtype=np.float64)
    tl.fit(net, data, tl.TrainConfig(epochs=8, optimizer="adam", lr=0.01), rng=0, quiet=True)
    return net, data


def _by_hand(net, x, name, fn):
    """Oracle: activation at ``name``, edited by ``fn`` with NumPy, then the rest of the net."""
    act = np.array(net.forward_to(x, name))
    return net.forward_from(name, fn(act))


def _state(net):
    return {k: v.copy() for k, v in net.state_dict().items()}


def _unchanged(net, before):
    assert net.n_hooks == 0
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# -- the presets --------------------------------------------------------------------------------


def test_every_preset_matches_a_hand_edit_on_both_backends(trained):
    net, data = trained
    x, ref = data.X[:40], data.X[100:400]
    ref_act = np.array(net.forward_to(ref, "layers.1"))
    before = _state(net)
    direction = np.linspace(-1, 1, 24)

    def zero(a):
        a[:, [3, 5]] = 0
        return a

    def mean(a):
        a[:, [3, 5]] = ref_act[:, [3, 5]].mean(axis=0)
        return a

    def scale(a):
        a[:, 7] *= 2.5
        return a

    cases = [
        (zero_ablation("layers.1", [3, 5]), zero),
        (mean_ablation("layers.1", [3, 5], model=net, reference=ref), mean),
        (scaling("layers.1", 7, 2.5), scale),
        (steering("layers.1", direction, alpha=0.5), lambda a: a + 0.5 * direction),
    ]
    module = tl.to_torch(net)
    for edit, fn in cases:
        expected = _by_hand(net, x, "layers.1", fn)
        np.testing.assert_allclose(run_with_edits(net, x, [edit]), expected, rtol=0, atol=TOL)
        np.testing.assert_allclose(run_with_edits(module, x, [edit]), expected, rtol=0, atol=TOL)
    _unchanged(net, before)
    assert sum(len(m._forward_hooks) for m in module.modules()) == 0


def test_resample_ablation_draws_reference_rows_reproducibly(trained):
    net, data = trained
    x, ref = data.X[:30], data.X[500:700]
    ref_act = np.array(net.forward_to(ref, "layers.3"))
    edit = resample_ablation("layers.3", [0, 4], model=net, reference=ref, rng=7)
    out = run_with_edits(net, x, [edit])
    idx = np.random.default_rng(7).integers(0, len(ref), size=30)  # the oracle's draw

    def resampled(a):
        a[:, [0, 4]] = ref_act[idx][:, [0, 4]]
        return a

    np.testing.assert_allclose(out, _by_hand(net, x, "layers.3", resampled), rtol=0, atol=TOL)
    twin = resample_ablation("layers.3", [0, 4], model=tl.to_torch(net), reference=ref, rng=7)
    np.testing.assert_allclose(run_with_edits(tl.to_torch(net), x, [twin]), out, atol=TOL)
    again = resample_ablation("layers.3", [0, 4], model=net, reference=ref, rng=7)
    np.testing.assert_array_equal(run_with_edits(net, x, [again]), out)


def test_patching_all_units_gives_the_clean_run_and_one_unit_a_hand_patch(trained):
    net, data = trained
    clean, corrupted = data.X[:25], data.X[25:50]
    for model in (net, tl.to_torch(net)):
        out = patch_activation(model, corrupted, clean, "layers.1")
        np.testing.assert_allclose(out, net.forward(clean), rtol=0, atol=TOL)
    clean_act = np.array(net.forward_to(clean, "layers.1"))

    def patch6(a):
        a[:, 6] = clean_act[:, 6]
        return a

    expected = _by_hand(net, corrupted, "layers.1", patch6)
    np.testing.assert_allclose(
        patch_activation(net, corrupted, clean, "layers.1", units=6), expected, atol=TOL
    )
    with pytest.raises(ShapeError, match="same inputs"):
        run_with_edits(net, data.X[:10], [patching("layers.1", clean_act)])


def test_intervene_is_scoped_even_on_error_and_edits_check_their_units(trained):
    net, data = trained
    module = tl.to_torch(net)
    for model in (net, module):
        edits = [zero_ablation("layers.1", 0), scaling("layers.3", 1, 3.0)]
        with pytest.raises(RuntimeError, match="inside"), intervene(model, edits):
            raise RuntimeError("inside")
    assert net.n_hooks == 0 and sum(len(m._forward_hooks) for m in module.modules()) == 0
    with pytest.raises(ShapeError, match="24 units along axis 1; cannot edit unit 30"):
        run_with_edits(net, data.X[:3], [zero_ablation("layers.1", [2, 30])])
    with pytest.raises(ConfigError, match="repeat"):
        Edit("layers.1", units=(1, 1))
    with pytest.raises(ConfigError, match="integer"):
        Edit("layers.1", units=(1.5,))
    with pytest.raises(ConfigError, match="needs mean"):
        mean_ablation("layers.1", 2)


def test_channel_level_edits_on_a_cnn_match_torch_and_zero_whole_maps():
    net = small_cnn((8, 8), channels=(3, 4), classes=5, rng=1, dtype=np.float64)
    x = np.random.default_rng(2).random((6, 64))
    edits = [zero_ablation("layers.2", [1]), scaling("layers.5", [0, 3], 0.5)]
    out = run_with_edits(net, x, edits)
    np.testing.assert_allclose(run_with_edits(tl.to_torch(net), x, edits), out, atol=TOL)
    seen = {}
    with intervene(net, [zero_ablation("layers.2", [1])]):
        net.run_with_hooks(x, [("layers.3", lambda a, n: seen.setdefault(n, a.copy()))])
        _, cache = net.run_with_cache(x, names="layers.2")
    assert (cache["layers.2"][:, 1] == 0).all() and cache["layers.2"][:, 0].any()
    assert (seen["layers.3"][:, 1] == 0).all()  # the pooled map of channel 1 is gone too
    mean_map = mean_ablation("layers.2", 2, model=net, reference=x)
    assert mean_map.value.shape == (1, 8, 8)  # per-position mean of the channel


def test_edited_copy_folds_constant_edits_into_weights(trained):
    net, data = trained
    x = data.X[:50]
    before = _state(net)
    cases = [
        [zero_ablation("layers.1", [1, 2])],  # a ReLU output: the next layer's columns
        [scaling("layers.0", 4, 0.25), steering("layers.2", np.ones(12), 0.3)],  # linear rows
        [mean_ablation("layers.3", [0, 3], mean=np.arange(12.0))],
    ]
    for edits in cases:
        folded = edited_copy(net, edits)
        assert folded.n_hooks == 0
        np.testing.assert_allclose(folded.forward(x), run_with_edits(net, x, edits), atol=1e-10)
    _unchanged(net, before)
    cnn = small_cnn((8, 8), channels=(2, 3), rng=0, dtype=np.float64)
    cx = np.random.default_rng(1).random((4, 64))
    edits = [scaling("layers.1", [1], 0.0), steering("layers.4", np.array([1.0, 0, -1]))]
    np.testing.assert_allclose(
        edited_copy(cnn, edits).forward(cx), run_with_edits(cnn, cx, edits), atol=1e-12
    )
    with pytest.raises(ConfigError, match="draws values per batch"):
        edited_copy(net, [resample_ablation("layers.1", 0, model=net, reference=x, rng=0)])
    with pytest.raises(ConfigError, match="cannot fold"):
        edited_copy(cnn, [zero_ablation("layers.2", 0)])  # ReLU followed by max pooling


def test_mean_difference_steers_one_class_towards_another(trained):
    net, data = trained
    threes, eights = data.X[data.y == 3], data.X[data.y == 8]
    direction = mean_difference(net, threes, eights, "layers.3")
    steered = run_with_edits(net, threes, [steering("layers.3", direction, alpha=1.5)])
    assert (steered.argmax(1) == 8).mean() > 0.5 > (net.forward(threes).argmax(1) == 8).mean()


# -- sweeps -------------------------------------------------------------------------------------


def _loop_accuracy(model, X, y, edits_list, k):
    """Brute force: one hooked forward per edit list, scored by hand."""
    rows = []
    for edits in edits_list:
        out = np.asarray(run_with_edits(model, X, edits))
        pred = out.argmax(1)
        per = [np.mean(pred[y == c] == c) for c in range(k)]
        rows.append([*per, np.mean(pred == y)])
    return np.array(rows)


def test_ablation_sweep_equals_a_loop_of_hooked_forwards(trained):
    net, data = trained
    X, y = data.X, data.y
    table = ablation_sweep(net, data, "layers.1")
    loop = _loop_accuracy(net, X, y, [[zero_ablation("layers.1", u)] for u in range(24)], 10)
    np.testing.assert_allclose(table.class_accuracy_, loop[:, :-1], rtol=0, atol=TOL)
    np.testing.assert_allclose(table.accuracy_, loop[:, -1], rtol=0, atol=TOL)
    assert table.baseline_accuracy_ == pytest.approx(np.mean(net.forward(X).argmax(1) == y))
    assert table.units.shape == (24, 1) and len(table.rows()) == 24
    assert table.columns()[:3] == ["units", "accuracy", "drop"]
    # pairs, a chosen subset, tiny chunks: still the brute force
    pairs = ablation_sweep(net, data, "layers.3", units=[0, 2, 5, 7], pairs=True, max_elements=1)
    assert pairs.units.tolist() == [[0, 2], [0, 5], [0, 7], [2, 5], [2, 7], [5, 7]]
    loop = _loop_accuracy(
        net, X, y, [[zero_ablation("layers.3", list(p))] for p in pairs.units], 10
    )
    np.testing.assert_allclose(pairs.accuracy_, loop[:, -1], rtol=0, atol=TOL)
    mat = pairs.pair_matrix()
    assert mat.shape == (4, 4) and mat[1, 3] == mat[3, 1] == pairs.accuracy_[4]  # units 2, 7


def test_sweeps_agree_across_backends_and_torch_models_of_any_shape(trained):
    net, data = trained
    engine = ablation_sweep(net, data, "layers.3", kind="mean")
    chain = ablation_sweep(tl.to_torch(net), data, "layers.3", kind="mean")
    np.testing.assert_allclose(chain.class_accuracy_, engine.class_accuracy_, rtol=0, atol=TOL)

    class Custom(nn.Module):  # a custom forward: the sweep expands the batch instead
        def __init__(self, seq):
            super().__init__()
            self.body, self.head = seq.layers[:4], seq.layers[4]

        def forward(self, x):
            return self.head(self.body(x))

    custom = Custom(tl.to_torch(net))
    assert tl.hooked(custom).suffix("body.3") is None
    expanded = ablation_sweep(custom, data, "body.3", kind="mean", max_elements=5000)
    np.testing.assert_allclose(expanded.class_accuracy_, engine.class_accuracy_, atol=TOL)


def test_scaling_sweep_grid_equals_the_loop_and_its_special_cases(trained):
    net, data = trained
    X, y = data.X, data.y
    sweep = scaling_sweep(net, data, "layers.3", scales=(0.0, 1.0, 2.0))
    assert sweep.accuracy_.shape == (12, 3) and sweep.class_accuracy_.shape == (12, 3, 10)
    np.testing.assert_allclose(sweep.accuracy_[:, 1], sweep.baseline_accuracy_, atol=TOL)
    zero = ablation_sweep(net, data, "layers.3")
    np.testing.assert_allclose(sweep.accuracy_[:, 0], zero.accuracy_, atol=TOL)
    loop = _loop_accuracy(net, X, y, [[scaling("layers.3", u, 2.0)] for u in range(12)], 10)
    np.testing.assert_allclose(sweep.class_accuracy_[:, 2], loop[:, :-1], atol=TOL)
    assert sweep.columns() == ["unit", "x0", "x1", "x2"]
    with pytest.raises(ConfigError, match="finite"):
        scaling_sweep(net, data, "layers.3", scales=(1.0, float("nan")))


def test_channel_ablation_sweep_on_a_cnn_matches_torch():
    data = digits()
    cnn = small_cnn(data.image_shape, channels=(4, 6), rng=0, dtype=np.float64)
    tl.fit(cnn, data, tl.TrainConfig(epochs=2, optimizer="adam", lr=0.01), rng=0, quiet=True)
    sub = data.subset(np.arange(400))
    a = ablation_sweep(cnn, sub, "layers.5")
    b = ablation_sweep(tl.to_torch(cnn), sub, "layers.5")
    assert a.units.shape == (6, 1)  # one row per channel
    np.testing.assert_allclose(a.class_accuracy_, b.class_accuracy_, rtol=0, atol=TOL)
    loop = _loop_accuracy(cnn, sub.X, sub.y, [[zero_ablation("layers.5", c)] for c in range(6)], 10)
    np.testing.assert_allclose(a.accuracy_, loop[:, -1], atol=TOL)


def test_patching_sweep_each_unit_matches_a_hand_patch(trained):
    net, data = trained
    clean, corrupted = data.X[:60], data.X[60:120]
    sweep = patching_sweep(net, clean, corrupted, "layers.3")
    target = net.forward(clean).argmax(1)
    for u in (0, 5, 11):
        out = patch_activation(net, corrupted, clean, "layers.3", units=u)
        assert sweep.effect_[u] == pytest.approx(np.mean(out.argmax(1) == target))
    assert sweep.clean_ == 1.0
    assert sweep.corrupted_ == pytest.approx(np.mean(net.forward(corrupted).argmax(1) == target))
    assert sweep.restored_.shape == (12,)


def test_batched_edits_and_class_accuracy_contracts(trained):
    net, data = trained
    with pytest.raises(ConfigError, match="share a hook point"):
        batched_edits(net, data.X[:5], [zero_ablation("layers.1", 0), zero_ablation("layers.3", 0)])
    out = batched_edits(net, data.X[:5], [scaling("layers.1", 0, 1.0)], baseline=True)
    assert out.shape == (2, 5, 10)
    np.testing.assert_array_equal(out[0], out[1])
    logits = np.array([[[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]]])  # predictions 0, 1, 0
    np.testing.assert_allclose(class_accuracy(logits, np.array([0, 1, 1]), 3)[0, :2], [1.0, 0.5])
    assert np.isnan(class_accuracy(logits, np.array([0, 1, 1]), 3)[0, 2])  # class 2 absent
    with pytest.raises(DataError, match="classification"):
        ablation_sweep(net, (data.X, data.X[:, :1].astype(np.float64)), "layers.1")


# -- attributions -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid"])
def test_engine_attributions_match_captum(trained, method):
    net, data = trained
    module = tl.to_torch(net)
    x = data.X[:12]
    for name, unit in [("layers.1", 5), ("layers.3", 2), ("layers.4", 7)]:
        for fn in (saliency, gradient_x_input):
            np.testing.assert_allclose(fn(net, x, name, unit), fn(module, x, name, unit), atol=TOL)
        ig_e = integrated_gradients(net, x, name, unit, steps=24, method=method)
        ig_t = integrated_gradients(module, x, name, unit, steps=24, method=method)
        np.testing.assert_allclose(ig_e, ig_t, rtol=IG_TOL, atol=IG_TOL * np.abs(ig_t).max())


def test_integrated_gradients_completeness_and_cnn_channel_units():
    net = small_cnn((8, 8), channels=(2, 3), rng=3, dtype=np.float64)
    module = tl.to_torch(net)
    x = np.random.default_rng(4).random((5, 64))
    base = np.full_like(x, 0.5)
    # (hook point, unit, completeness tolerance): the first conv is affine in the input, so
    # the path integral is exact and IG complete to rounding; after ReLU and pooling the
    # integrand jumps at kinks and 200 Gauss-Legendre points leave a small quadrature error.
    for name, unit, tol in [
        ("layers.1", 1, 1e-10),
        ("layers.1", (1, 3, 4), 1e-10),
        ("layers.4", 2, 1e-2),
    ]:
        ig = integrated_gradients(net, x, name, unit, baseline=base, steps=200)
        act, act0 = net.forward_to(x, name), net.forward_to(base, name)

        def pick(a, unit=unit):  # a channel's whole map, or one entry of it
            return a[:, unit].sum((1, 2)) if isinstance(unit, int) else a[(slice(None), *unit)]

        gap = pick(act) - pick(act0)
        np.testing.assert_allclose(ig.sum(1), gap, atol=tol * np.abs(gap).max())
        ig_t = integrated_gradients(module, x, name, unit, baseline=base, steps=200)
        np.testing.assert_allclose(ig, ig_t, rtol=IG_TOL, atol=IG_TOL * np.abs(ig_t).max())


def test_engine_attribution_leaves_gradients_alone_and_refuses_hooks(trained):
    net, _ = trained
    for p in net.parameters():
        p.grad[...] = 1.5
    saliency(net, np.ones((2, 64)), "layers.1", 0)
    assert all((p.grad == 1.5).all() for p in net.parameters())
    edits = [zero_ablation("layers.1", 0)]
    with pytest.raises(ConfigError, match="ignore forward hooks"), intervene(net, edits):
        saliency(net, np.ones((2, 64)), "layers.3", 0)
    # torch differentiates through edits: the gradient through an ablated unit is zero
    module = tl.to_torch(net)
    x = np.random.default_rng(0).random((4, 64))
    with intervene(module, [zero_ablation("layers.1", list(range(24)))]):
        assert np.abs(saliency(module, x, "layers.3", 0)).max() == 0.0


def test_correct_predictions_stacked_equals_argmax_including_ties():
    from tinylens.interventions import correct_predictions

    rng = np.random.default_rng(5)
    logits = np.round(rng.normal(size=(3, 500, 6)), 1)  # one decimal: ties are frequent
    y = rng.integers(0, 6, size=500)
    score = correct_predictions(y)
    expected = (logits.argmax(-1) == y).astype(float)  # (3, 500)
    assert 0 < expected.mean() < 1
    rows = np.tile(np.arange(500), 3)
    np.testing.assert_array_equal(score(logits.reshape(-1, 6), rows), expected.reshape(-1))
    np.testing.assert_array_equal(
        score.stacked(np.ascontiguousarray(logits.transpose(2, 0, 1))), expected
    )
    # Samples sorted by label (as the per-class tables pass them) take the slice path: the
    # same answers, ties included; labels in many short runs take the one-hot path.
    order = np.argsort(y, kind="stable")
    ys, ls = y[order], logits[:, order]
    sorted_score = correct_predictions(ys)
    assert sorted_score._runs is not None and len(sorted_score._runs) == 6
    assert score._runs is None  # 500 random labels: far more runs than the slice path takes
    np.testing.assert_array_equal(
        sorted_score.stacked(np.ascontiguousarray(ls.transpose(2, 0, 1))),
        (ls.argmax(-1) == ys).astype(float),
    )
    one = rng.normal(size=(2, 50, 1))
    yb = rng.integers(0, 2, size=50)
    both = correct_predictions(yb)
    np.testing.assert_array_equal(
        both(one.reshape(-1, 1), np.tile(np.arange(50), 2)).reshape(2, 50),
        both.stacked(np.ascontiguousarray(one.transpose(2, 0, 1))),
    )


def _fast_path_outputs(net, X, edits):
    """The MLP-tail fast path's outputs, checked against the generic path and against torch."""
    from tinylens.interventions import batched

    assert batched._mlp_tail(net, "layers.1") is not None
    fast = batched_edits(net, X, edits, baseline=True)
    with net.hooks([("layers.4", lambda a, n: None)]):  # a hooked tail: the generic path
        assert batched._mlp_tail(net, "layers.1") is None
        generic = batched_edits(net, X, edits, baseline=True)
    np.testing.assert_allclose(fast, generic, rtol=0, atol=1e-12)
    module = tl.to_torch(net)
    np.testing.assert_allclose(batched_edits(module, X, edits, baseline=True), fast, atol=1e-12)
    return fast


def test_single_unit_edits_of_every_kind_take_the_rank_one_path_exactly(trained):
    # Scalings (zero ablation included) gather their deltas at once; mean ablation, patching
    # and per-unit scale arrays fall back to the edit's own delta, in the same chunk.
    net, data = trained
    X = data.X
    clean = np.array(net.forward_to(X[::-1], "layers.1"))
    edits = [
        zero_ablation("layers.1", 3),
        scaling("layers.1", 5, 2.5),
        scaling("layers.1", 5, np.array([0.5])),
        mean_ablation("layers.1", 7, mean=np.full(24, 0.25)),
        patching("layers.1", clean, 11),
        zero_ablation("layers.1", 23),
    ]
    fast = _fast_path_outputs(net, X, edits)
    # and against the plain hooked forwards, one edit at a time
    for e, row in zip(edits, fast[1:], strict=True):
        np.testing.assert_allclose(row, net.run_with_hooks(X, [e.hook]), atol=1e-12)


def test_the_mlp_tail_fast_path_equals_the_generic_path(trained):
    net, data = trained
    X, y = data.X, data.y
    edits = [zero_ablation("layers.1", u) for u in range(0, 24, 5)]
    edits += [zero_ablation("layers.1", [1, 2]), steering("layers.1", np.linspace(0, 1, 24))]
    edits += [patching("layers.1", np.array(net.forward_to(X[::-1], "layers.1")), [3, 4])]
    fast = _fast_path_outputs(net, X, edits)
    # one forward's cache serves several sweeps; a cache of other inputs is refused
    _, cache = net.run_with_cache(X, names=["layers.1", "layers.3"])
    for name in ("layers.1", "layers.3"):
        a = ablation_sweep(net, data, name, cache=cache)
        b = ablation_sweep(net, data, name)
        np.testing.assert_array_equal(a.class_accuracy_, b.class_accuracy_)
    with pytest.raises(ShapeError, match="cache must come from these inputs"):
        ablation_sweep(net, data.subset(np.arange(100)), "layers.1", cache=cache)
    assert np.mean(fast[0].argmax(1) == y) == pytest.approx(b.baseline_accuracy_)


# -- training mode: refused, and in evaluation mode the sweeps equal plain torch loops ----------


def _torch_loop_accuracy(model, module, X, y, edit_fns, k):
    """The torch oracle: one plain forward per edit, the edit a raw ``register_forward_hook``
    on ``module`` (no tinylens code), scored by hand."""
    import torch

    rows = []
    for fn in edit_fns:
        handle = module.register_forward_hook(lambda m, args, out, fn=fn: fn(out))
        try:
            with torch.no_grad():
                pred = model(torch.from_numpy(X.astype(np.float64))).argmax(-1).numpy()
        finally:
            handle.remove()
        rows.append([*(np.mean(pred[y == c] == c) for c in range(k)), np.mean(pred == y)])
    return np.array(rows)


def _zero_feature(u, axis=1):
    def fn(out):
        new = out.clone()
        new.select(axis, u).zero_()
        return new

    return fn


def _bn_dropout_model(data):
    """64-24-10 with BatchNorm and Dropout; running statistics moved off their initial values
    by a few training-mode forwards, so evaluation and training mode differ."""
    import torch

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Dropout(0.3), nn.Linear(24, 10)
    ).double()
    with torch.no_grad():
        for _ in range(3):
            model(torch.from_numpy(data.X.astype(np.float64)))
    return model


def test_sweeps_refuse_training_mode_and_equal_a_torch_loop_in_evaluation_mode():
    import torch

    data = digits().subset(np.arange(300))
    X, y = data.X, data.y
    model = _bn_dropout_model(data).train()
    stats = model[1].running_mean.clone()
    for call in (
        lambda: ablation_sweep(model, data, "2"),
        lambda: scaling_sweep(model, data, "2", scales=(0.0, 2.0)),
        lambda: patching_sweep(model, X[:5], X[5:10], "2"),
        lambda: batched_edits(model, X, [zero_ablation("2", 0)]),
    ):
        with pytest.raises(ConfigError, match=r"training mode and '1' \(and 1 more\).*eval\(\)"):
            call()
    assert model.training and torch.equal(model[1].running_mean, stats)  # nothing ran

    model.eval()
    sweep = ablation_sweep(model, data, "2")
    loop = _torch_loop_accuracy(model, model[2], X, y, [_zero_feature(u) for u in range(24)], 10)
    np.testing.assert_allclose(sweep.class_accuracy_, loop[:, :-1], rtol=0, atol=TOL)
    np.testing.assert_allclose(sweep.accuracy_, loop[:, -1], rtol=0, atol=TOL)
    assert torch.equal(model[1].running_mean, stats) and not model.training
    # the documented way to sweep a model left in training mode: the flags come back after
    model.train()
    with tl.hooks.evaluating(model):
        scaled = scaling_sweep(model, data, "2", scales=(0.0,))
    np.testing.assert_allclose(scaled.accuracy_[:, 0], loop[:, -1], rtol=0, atol=TOL)
    assert model.training and model[3].training


def test_engine_sweeps_refuse_training_mode_dropout_and_equal_the_loop_in_eval_mode(trained):
    from tinylens.engine import Dropout, Linear, ReLU, Sequential

    net, data = trained
    rng = np.random.default_rng(0)
    drop = Sequential(
        [Linear(64, 16, rng=rng), ReLU(), Dropout(0.5, rng=0), Linear(16, 10, rng=rng)]
    ).train()
    with pytest.raises(ConfigError, match=r"training mode and 'layers\.2'"):
        ablation_sweep(drop, data, "layers.1")
    assert drop.training
    drop.eval()
    sweep = ablation_sweep(drop, data, "layers.1")
    loop = _loop_accuracy(
        drop, data.X, data.y, [[zero_ablation("layers.1", u)] for u in range(16)], 10
    )
    np.testing.assert_allclose(sweep.class_accuracy_, loop[:, :-1], rtol=0, atol=TOL)
    # no mode-dependent module: training mode is fine and changes nothing
    assert ablation_sweep(net.train(), data, "layers.3").accuracy_.shape == (12,)


# -- activations of more than two dimensions name their unit axis ----------------------------


def _sequence_model():
    """(batch, position=5, feature=4) -> Linear(4, 6) per position -> ReLU -> flatten -> 3."""
    import torch

    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Flatten(), nn.Linear(30, 3)).double()


def _torch_hooked_out(model, module, x, fn):
    import torch

    handle = module.register_forward_hook(lambda m, args, out: fn(out))
    try:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    finally:
        handle.remove()


def test_edits_on_a_sequence_activation_name_their_axis_and_match_torch():
    import torch

    model = _sequence_model()
    x = np.random.default_rng(0).normal(size=(8, 5, 4))
    h = tl.hooked(model)
    # axis 1 of (batch, position, feature) is a position: no default, one clear error
    with pytest.raises(ShapeError, match=r"no default unit axis; name it, e\.g\. axis=-1"):
        run_with_edits(model, x, [zero_ablation("1", [3])])
    assert h.n_hooks == 0
    feat = run_with_edits(model, x, [zero_ablation("1", [3], axis=-1)])
    np.testing.assert_array_equal(feat, _torch_hooked_out(model, model[1], x, _zero_feature(3, 2)))
    pos = run_with_edits(model, x, [zero_ablation("1", [3], axis=1)])
    np.testing.assert_array_equal(pos, _torch_hooked_out(model, model[1], x, _zero_feature(3, 1)))
    assert not np.allclose(feat, pos)

    ref = np.random.default_rng(1).normal(size=(20, 5, 4))
    with torch.no_grad():
        ref_act = model[1](model[0](torch.from_numpy(ref))).numpy()  # (20, 5, 6)

    def set_feature(u, values):  # values: per position
        def fn(out):
            new = out.clone()
            new[..., u] = torch.as_tensor(values)
            return new

        return fn

    mean = run_with_edits(model, x, [mean_ablation("1", [2], model=model, reference=ref, axis=2)])
    oracle = _torch_hooked_out(model, model[1], x, set_feature(2, ref_act.mean(0)[:, 2]))
    np.testing.assert_allclose(mean, oracle, rtol=0, atol=TOL)

    direction = np.arange(6.0)
    steered = run_with_edits(model, x, [steering("1", direction, alpha=0.5, axis=-1)])
    oracle = _torch_hooked_out(
        model, model[1], x, lambda out: out + 0.5 * torch.as_tensor(direction)
    )
    np.testing.assert_allclose(steered, oracle, rtol=0, atol=TOL)

    scaled = run_with_edits(model, x, [scaling("1", [0, 5], 3.0, axis=-1)])

    def triple(out):
        new = out.clone()
        new[..., [0, 5]] *= 3.0
        return new

    np.testing.assert_allclose(scaled, _torch_hooked_out(model, model[1], x, triple), atol=TOL)

    clean = np.random.default_rng(2).normal(size=x.shape)
    with torch.no_grad():
        clean_act = model[1](model[0](torch.from_numpy(clean))).numpy()
    patched = patch_activation(model, x, clean, "1", units=[4], axis=-1)
    oracle = _torch_hooked_out(
        model,
        model[1],
        x,
        lambda out: torch.cat(
            [out[..., :4], torch.from_numpy(clean_act[..., 4:5]), out[..., 5:]], -1
        ),
    )
    np.testing.assert_allclose(patched, oracle, rtol=0, atol=TOL)

    draws = resample_ablation("1", [1], model=model, reference=ref, rng=0, axis=-1)
    edited = draws(h.as_tensor(ref_act[:3]))
    assert torch.equal(
        edited[..., [0, 2, 3, 4, 5]], torch.as_tensor(ref_act[:3])[..., [0, 2, 3, 4, 5]]
    )
    with pytest.raises(ShapeError, match="axis 0 is the batch"):
        zero_ablation("1", [0], axis=0)(h.as_tensor(ref_act))
    with pytest.raises(ShapeError, match="has 6 units along axis 2; cannot edit unit 6"):
        zero_ablation("1", [6], axis=-1)(h.as_tensor(ref_act))


def test_sweeps_over_sequence_features_equal_a_torch_loop():
    model = _sequence_model().eval()
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 5, 4))
    y = rng.integers(0, 3, size=120)
    with pytest.raises(ShapeError, match="no default unit axis"):
        ablation_sweep(model, (X, y), "1")
    sweep = ablation_sweep(model, (X, y), "1", axis=-1)
    assert sweep.units.shape == (6, 1)
    loop = _torch_loop_accuracy(model, model[1], X, y, [_zero_feature(u, 2) for u in range(6)], 3)
    np.testing.assert_allclose(sweep.class_accuracy_, loop[:, :-1], rtol=0, atol=TOL)
    positions = scaling_sweep(model, (X, y), "1", scales=(0.0,), axis=1)
    assert positions.accuracy_.shape == (5, 1)
    loop = _torch_loop_accuracy(model, model[1], X, y, [_zero_feature(p, 1) for p in range(5)], 3)
    np.testing.assert_allclose(positions.accuracy_[:, 0], loop[:, -1], rtol=0, atol=TOL)


def test_image_activations_default_to_channels_explicitly():
    cnn = small_cnn((8, 8), channels=(3,), rng=0, dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(4, 64))
    act = np.array(cnn.forward_to(x, "layers.2"))  # (4, 3, 8, 8): batch, channel, h, w
    assert act.ndim == 4
    default = zero_ablation("layers.2", [1])(act)
    np.testing.assert_array_equal(default, zero_ablation("layers.2", [1], axis=1)(act))
    assert not default[:, 1].any() and np.array_equal(default[:, [0, 2]], act[:, [0, 2]])
    width = zero_ablation("layers.2", [1], axis=-1)(act)  # column 1 of every map
    assert not width[..., 1].any() and np.array_equal(width[..., 2:], act[..., 2:])
    with pytest.raises(ConfigError, match="only axis 1 folds"):
        edited_copy(cnn, [zero_ablation("layers.2", [1], axis=-1)])
