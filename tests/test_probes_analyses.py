"""Confusion, embeddings, silhouettes, input maps, pruning and the input-range check, each
against an independent computation (scikit-learn, a loop of single hooked runs, the weights).

Tolerances: EXACT for counts and accuracies (sums of 0/1 over the same samples); SK_TOL = 1e-10
for float64 silhouettes and PCA against scikit-learn (different summation orders); RAND_TOL =
1e-8 for the randomized PCA of 784-pixel images against a full SVD (12 power iterations on a
spectrum with gaps); MAP_TOL = 1e-10 for float64 maps against weights and loops.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import silhouette_score

import tinylens as tl
from tinylens.data import digits, normalize
from tinylens.interventions import Edit, run_with_edits
from tinylens.probes import (
    InputRange,
    InputRangeWarning,
    binary_silhouettes,
    check_input_range,
    class_saliency_maps,
    confusion,
    confusion_matrix,
    input_range_from_info,
    input_range_of,
    keep_set,
    layer_embeddings,
    pca,
    prune_by_selectivity,
    saliency_maps,
    selective_subspaces,
    selectivity,
    silhouette,
    single_pixel_inputs,
    single_pixel_maps,
)

SK_TOL = 1e-10
RAND_TOL = 1e-8
MAP_TOL = 1e-10


@pytest.fixture(scope="module")
def trained():
    train, test = digits().split(0.2, rng=0)
    net = tl.MLP([64, 20, 12, 10], rng=2, dtype=np.float64)
    tl.fit(net, train, tl.TrainConfig(epochs=12, optimizer="adam", lr=0.01), rng=0, quiet=True)
    return net, train, test


def test_confusion_matches_scikit_learn_and_a_loop(trained):
    net, _, test = trained
    c = confusion(net, test)
    pred = net.predict(test.X).argmax(axis=1)
    np.testing.assert_array_equal(c.matrix_, sk_confusion(test.y, pred, labels=range(10)))
    for k in range(10):
        assert c.per_class_accuracy_[k] == np.mean(pred[test.y == k] == k)
    assert c.accuracy_ == np.mean(pred == test.y)
    worst = c.most_confused(3)
    assert worst == sorted(worst, key=lambda t: -t[2]) and all(i != j for i, j, _ in worst)
    assert confusion_matrix([0, 1], [1, 1], 2).tolist() == [[0, 1], [0, 1]]
    # torch's float64 logits differ from the engine's by ulps (another BLAS): the predictions,
    # and so the counts, are the same exactly when no sample's two best logits are that close
    logits = np.sort(net.predict(test.X), axis=1)
    assert (logits[:, -1] - logits[:, -2]).min() > 1e-9
    torch_c = confusion(tl.to_torch(net), test)
    np.testing.assert_array_equal(torch_c.matrix_, c.matrix_)


def test_pca_equals_a_full_svd_and_scikit_learn(mnist_dir):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 30)) @ rng.normal(size=(30, 30))
    ours, theirs = pca(X, 3), PCA(3, svd_solver="full").fit(X)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(theirs.components_), atol=SK_TOL)
    np.testing.assert_allclose(
        ours.explained_variance_ratio_, theirs.explained_variance_ratio_, atol=SK_TOL
    )
    np.testing.assert_allclose(np.abs(ours.points_), np.abs(theirs.transform(X)), atol=SK_TOL)
    # the largest loading of each component is positive: reproducible signs
    idx = np.argmax(np.abs(ours.components_), axis=1)
    assert np.all(ours.components_[np.arange(3), idx] > 0)
    # 1,000 real MNIST images: the randomized path agrees with the exact one
    from tinylens.data import load_mnist

    images = load_mnist(mnist_dir, split="test", download=False).X[:1000].astype(np.float64)
    fast, exact = pca(images, 2), pca(images, 2, exact=True)
    np.testing.assert_allclose(fast.components_, exact.components_, atol=RAND_TOL)
    np.testing.assert_allclose(fast.points_, exact.points_, atol=RAND_TOL * 100)


def test_silhouettes_equal_scikit_learn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 4))
    y = rng.integers(0, 4, size=150)
    y[0] = 9  # a class with one point scores 0, as scikit-learn has it
    X[3] = X[4]  # coincident points
    assert silhouette(X, y) == pytest.approx(silhouette_score(X, y), abs=SK_TOL)
    assert np.isnan(silhouette(X, np.zeros(150)))
    spaces = rng.normal(size=(5, 150, 3))
    pos = y == 2
    want = [silhouette_score(s, pos) for s in spaces]
    np.testing.assert_allclose(binary_silhouettes(spaces, pos, chunk=2), want, atol=SK_TOL)


def test_layer_embeddings_and_selective_subspaces_score_what_they_embed(trained):
    net, train, test = trained
    emb = layer_embeddings(net, test, ["layers.1", "layers.3"], ("pca",), n_samples=200, rng=0)
    assert [(e.space, e.method) for e in emb] == [
        ("input", "pca"),
        ("layers.1", "pca"),
        ("layers.3", "pca"),
    ]
    _, cache = net.run_with_cache(test.X, names="layers.3")
    for e in emb:
        assert e.points.shape == (200, 2)
        assert e.silhouette_ == pytest.approx(silhouette_score(e.points, e.labels), abs=SK_TOL)
    sel = selectivity(net, train, "layers.3")
    sub = selective_subspaces(
        net, test, "layers.3", sel.selectivity_, k=3, n_random=6, n_samples=None, rng=0
    )
    acts = np.asarray(cache["layers.3"])
    for c in (0, 4, 9):
        top = sub.top_units[c]
        np.testing.assert_array_equal(top, sel.top(3)[c])
        want = silhouette_score(acts[:, top], test.y == c)
        assert sub.silhouette_[c] == pytest.approx(want, abs=SK_TOL)
    assert sub.random_.shape == (10, 6) and sub.points_.shape == (10, test.n, 2)
    assert np.all((sub.percentile_ >= 0) & (sub.percentile_ <= 1))


def test_single_pixel_maps_equal_a_loop_of_one_pixel_images_on_both_backends(trained):
    net, _, _ = trained
    on, off = 2.5, -0.5
    maps = single_pixel_maps(net, "layers.3", (8, 8), on=on, off=off, batch_size=7)
    blank = np.full((1, 64), off)
    base = net.forward_to(blank, "layers.3")[0]
    for pixel in (0, 9, 63):
        img = blank.copy()
        img[0, pixel] = on
        want = net.forward_to(img, "layers.3")[0] - base
        np.testing.assert_allclose(maps.maps_[:, pixel // 8, pixel % 8], want, atol=MAP_TOL)
    torch_maps = single_pixel_maps(tl.to_torch(net), "layers.3", (8, 8), on=on, off=off)
    np.testing.assert_allclose(torch_maps.maps_, maps.maps_, atol=MAP_TOL)
    imgs = single_pixel_inputs((2, 3), on=1.0, off=0.0, channels=2)
    assert imgs.shape == (6, 12) and imgs.sum() == 12 and imgs[4, 4] == imgs[4, 10] == 1


def test_channel_maps_of_a_cnn_are_the_channel_means():
    net = tl.engine.small_cnn((8, 8), channels=(3,), rng=0)
    maps = single_pixel_maps(net, "layers.2", (8, 8))
    blank = np.zeros((1, 64), dtype=np.float32)
    img = blank.copy()
    img[0, 27] = 1.0
    diff = net.forward_to(img, "layers.2")[0] - net.forward_to(blank, "layers.2")[0]
    np.testing.assert_allclose(maps.maps_[:, 3, 3], diff.reshape(3, -1).mean(axis=1), atol=1e-6)


def test_saliency_maps_of_linear_units_are_their_weights(trained):
    net, _, test = trained
    maps = saliency_maps(net, test.X, "layers.0", (8, 8), units=[0, 5], n_samples=30, rng=0)
    W = net.layers[0].weight.data
    np.testing.assert_allclose(maps.maps_, np.abs(W[[0, 5]]).reshape(2, 8, 8), atol=MAP_TOL)
    gxi = saliency_maps(
        net, test.X[:40], "layers.0", (8, 8), units=[3], method="gradient_x_input", n_samples=None
    )
    want = (test.X[:40] * W[3]).mean(axis=0).reshape(8, 8)
    np.testing.assert_allclose(gxi.maps_[0], want, atol=1e-6)  # float32 inputs


def test_class_saliency_of_a_linear_classifier_is_its_rows():
    data = digits()
    net = tl.MLP([64, 10], rng=0, dtype=np.float64)
    maps = class_saliency_maps(net, data, (8, 8), n_per_class=20, rng=0)
    assert maps.units.tolist() == list(range(10)) and maps.name == "layers.0"
    np.testing.assert_allclose(
        maps.maps_, np.abs(net.layers[0].weight.data).reshape(10, 8, 8), atol=MAP_TOL
    )


def _accuracy_with(net, test, edits):
    out = run_with_edits(net, test.X, edits) if edits else net.forward(test.X)
    pred = np.asarray(out).argmax(axis=1)
    per_class = [np.mean(pred[test.y == c] == c) for c in range(10)]
    return np.mean(pred == test.y), per_class


def test_pruning_equals_single_hooked_runs(trained):
    net, train, test = trained
    S = {n: selectivity(net, train, n) for n in ("layers.1", "layers.3")}
    ks = (1, 2, 4)
    one = prune_by_selectivity(
        net, test, {"layers.1": S["layers.1"].selectivity_}, ks, n_random=3, rng=5
    )
    for i, k in enumerate(ks):
        kept = keep_set(S["layers.1"].selectivity_, k)
        np.testing.assert_array_equal(one.kept[i]["layers.1"], kept)
        off = [u for u in range(20) if u not in kept]
        acc, per_class = _accuracy_with(net, test, [Edit("layers.1", off, scale=0.0)])
        assert one.accuracy_[i] == acc
        np.testing.assert_array_equal(one.class_accuracy_[i], per_class)
    assert one.baseline_accuracy_ == _accuracy_with(net, test, [])[0]
    both = prune_by_selectivity(
        net,
        test,
        {n: s.selectivity_ for n, s in S.items()},
        ks,
        dead={n: s.dead_ for n, s in S.items()},
        n_random=2,
        rng=5,
    )
    k = 2
    edits = []
    for n, s in S.items():
        kept = keep_set(s.selectivity_, k, dead=s.dead_)
        width = s.selectivity_.shape[1]
        edits.append(Edit(n, [u for u in range(width) if u not in kept], scale=0.0))
    assert both.accuracy_[1] == _accuracy_with(net, test, edits)[0]
    assert both.n_units == 32 and both.random_accuracy_.shape == (3, 2)
    # the control is reproducible from its seed, and torch gives the same table
    again = prune_by_selectivity(
        tl.to_torch(net), test, {"layers.1": S["layers.1"].selectivity_}, ks, n_random=3, rng=5
    )
    # the same units are drawn; the scores come from torch's float64 forward (another BLAS,
    # ulps apart), so an image whose two best logits tie within ulps could flip: one at most
    for a, b in zip(again.random_kept, one.random_kept, strict=True):
        for ra, rb in zip(a, b, strict=True):
            np.testing.assert_array_equal(ra["layers.1"], rb["layers.1"])
    assert np.abs(again.random_accuracy_ - one.random_accuracy_).max() * test.n <= 1
    assert np.abs(again.accuracy_ - one.accuracy_).max() * test.n <= 1


def test_the_random_control_of_pruning_draws_live_units_only_as_many_as_kept(trained):
    _, train, test = trained
    net = tl.MLP([64, 20, 10], rng=3, dtype=np.float64)
    tl.fit(net, train, tl.TrainConfig(epochs=3, optimizer="adam", lr=0.01), rng=0, quiet=True)
    dead_units = np.arange(0, 20, 2)  # half the layer
    net.layers[0].weight.data[dead_units] = 0.0
    net.layers[0].bias.data[dead_units] = -1.0
    S = selectivity(net, train, "layers.1")
    assert S.dead_[dead_units].all() and (~S.dead_).sum() >= 5
    on_test = (net.run_with_cache(test.X)[1]["layers.1"] <= 0).all(axis=0)  # dead on test
    ks = (1, 2, 3)
    # dead units not given: measured on the data scored (test); given: those
    for dead, expected in ((None, on_test), ({"layers.1": S.dead_}, S.dead_)):
        res = prune_by_selectivity(
            net, test, {"layers.1": S.selectivity_}, ks, dead=dead, n_random=20, rng=7
        )
        np.testing.assert_array_equal(res.dead["layers.1"], expected)
        live = set(np.flatnonzero(~expected).tolist())
        for i in range(len(ks)):
            n_kept = len(res.kept[i]["layers.1"])
            assert set(res.kept[i]["layers.1"].tolist()) <= live
            assert len(res.random_kept[i]) == 20
            for drawn in res.random_kept[i]:
                assert len(drawn["layers.1"]) == n_kept
                assert set(drawn["layers.1"].tolist()) <= live  # never a dead unit
        # the control's accuracies are those of its drawn sets (single hooked runs)
        for i, j in ((0, 0), (2, 19)):
            kept = res.random_kept[i][j]["layers.1"]
            off = [u for u in range(20) if u not in kept]
            acc, _ = _accuracy_with(net, test, [Edit("layers.1", off, scale=0.0)])
            assert res.random_accuracy_[i, j] == acc


def test_feeding_0_255_pixels_to_a_0_1_model_warns_loudly_with_the_fix():
    data = digits()
    trained = input_range_of(data)
    assert (trained.low, trained.high, trained.normalization) == (0.0, 1.0, None)
    with pytest.warns(InputRangeWarning, match=r"inputs span 0\.\.255 .* 0\.\.1: divide by 255"):
        assert not check_input_range(data.X * 255, trained)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_input_range(data.X, trained)
        assert check_input_range(data.X[:3] * 1.02, trained)  # within the 5% tolerance


def test_raw_pixels_fed_to_a_normalized_model_warn_too():
    data = digits()
    norm = normalize(data, 0.3, 0.4)
    trained = input_range_of(norm)
    assert trained.normalization == (0.3, 0.4)
    with pytest.warns(InputRangeWarning, match=r"normalize them as in training: \(x - 0\.3\)"):
        check_input_range(data.X, trained)
    with pytest.warns(InputRangeWarning, match="divide by 255, then normalize"):
        check_input_range(data.X * 255, trained)
    with pytest.warns(InputRangeWarning, match="they look normalized"):
        check_input_range(norm.X, InputRange(0.0, 1.0))
    with pytest.warns(InputRangeWarning, match="multiply by 255"):
        check_input_range(data.X, (0.0, 255.0))


def test_the_range_travels_in_the_weights_file(tmp_path):
    rng = InputRange(-0.42, 2.8, (0.1307, 0.3081))
    path = tl.save(
        tl.MLP([4, 2], rng=0), tmp_path / "m.safetensors", info={"input_range": rng.to_dict()}
    )
    info = tl.io.read_info(path)["info"]
    assert input_range_from_info(info) == rng
    assert input_range_from_info({}) is None
    assert input_range_from_info({"input_range": {"low": 1}}) is None


def test_probes_take_a_users_torch_module_through_hooked():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10)
    ).double()
    data = digits()
    sel = selectivity(model, data, "1")
    _, cache = tl.hooked(model).run_with_cache(data.X, names="1")
    means = np.stack([cache["1"][data.y == c].mean(axis=0) for c in range(10)])
    np.testing.assert_allclose(sel.class_means_, means, rtol=1e-12)
    maps = single_pixel_maps(model, "1", (8, 8))
    assert maps.maps_.shape == (16, 8, 8)


def test_tsne_is_seeded_and_separates_what_is_separate():
    from tinylens.probes import embed

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(40, 6)), rng.normal(size=(40, 6)) + 8.0])
    y = np.repeat([0, 1], 40)
    a, b = embed(X, "tsne", rng=3), embed(X, "tsne", rng=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (80, 2) and silhouette(a, y) > 0.5
    with pytest.raises(tl.UnknownNameError, match="did you mean 'tsne'"):
        embed(X, "tnse")
