"""The MNIST study end to end: on the 10,000 genuine MNIST test images split 8,000 / 2,000 (few
epochs; a directory holding only the test files, so the fallback runs whatever the machine has),
on full MNIST (a 2,000-image training subset, to keep CI quick) and on digits; its tables against
single hooked runs; its files; its command line.

Tolerances: EXACT for accuracies (the batched sweeps and single hooked runs score the same
samples with the same float32 forward); F32_TOL = 1e-6 relative for statistics of float32
activations recomputed outside the study (which runs BLAS on one thread: its float32 products
may round differently from a multi-threaded run); ONE_IMAGE for accuracies of the same float32
network on torch and on the engine (another BLAS: a near-tie image may flip).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinylens as tl
from tinylens.cli.main import main
from tinylens.engine import MLP
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.interventions import run_with_edits, scaling, zero_ablation
from tinylens.io import RunDir, read_info
from tinylens.probes import InputRangeWarning, neuron_stats
from tinylens.studies.mnist import (
    VARIANTS,
    AnalysisConfig,
    MnistStudyConfig,
    analyse_model,
    build_variant,
    neuron_points,
    run_mnist,
)

F32_TOL = 1e-6
ONE_IMAGE = 1  # across backends, accuracies may differ by one near-tie test image (see its test)


def _per_class(pred, y):
    return np.array([np.mean(pred[y == c] == c) for c in range(10)])


def test_variants_are_the_documented_stacks_over_the_same_linear_weights():
    sizes = [64, 32, 16, 10]
    kinds = {
        v: [m.kind for m in build_variant(v, sizes, rng=7).layers] for v in [*VARIANTS, "layernorm"]
    }
    assert kinds["raw"] == kinds["normalized"] == ["linear", "relu"] * 2 + ["linear"]
    assert (
        kinds["layernorm_pre"]
        == kinds["layernorm"]
        == ["linear", "layernorm", "relu"] * 2 + ["linear"]
    )
    assert kinds["layernorm_post"] == ["linear", "relu", "layernorm"] * 2 + ["linear"]
    assert kinds["dropout"] == ["linear", "relu", "dropout", "linear", "relu", "linear"]
    assert kinds["best"] == [
        *["linear", "relu", "layernorm", "dropout"],
        *["linear", "layernorm", "relu"],
        "linear",
    ]
    raw, mlp = build_variant("raw", sizes, rng=7), MLP(sizes, rng=7)
    for a, b in zip(raw.parameters(), mlp.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    as_torch = build_variant("raw", sizes, rng=7, init="torch")
    for a, b in zip(
        as_torch.parameters(), MLP(sizes, rng=7, init="torch").parameters(), strict=True
    ):
        np.testing.assert_array_equal(a.data, b.data)
    best = build_variant("best", sizes, rng=7)
    for a, b in zip(best.linears, raw.linears, strict=True):
        np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert best.module("layers.3").p == 0.2
    assert neuron_points(best) == ["layers.1", "layers.6"]
    with pytest.raises(UnknownNameError, match="did you mean 'dropout'"):
        build_variant("dropuot", sizes)


def test_config_validates_and_expands_names():
    cfg = MnistStudyConfig(variants="all", embeddings="all", analyses="none")
    assert cfg.variants == tuple(VARIANTS) and cfg.embeddings == ("pca", "tsne", "umap")
    assert cfg.analyses == ()
    assert MnistStudyConfig(variants=("layernorm", "raw")).variants == ("layernorm_pre", "raw")
    with pytest.raises(ConfigError, match="hidden"):
        MnistStudyConfig(hidden=(32, 0))
    with pytest.raises(UnknownNameError, match="analysis"):
        MnistStudyConfig(analyses=("ablation", "prunning"))
    assert (
        MnistStudyConfig.from_dict(MnistStudyConfig.quick().to_dict()) == MnistStudyConfig.quick()
    )
    assert MnistStudyConfig().resolved_lr("mnist-test-split") == 0.01
    assert MnistStudyConfig().resolved_lr("digits") == 0.1
    assert MnistStudyConfig(lr=0.03).resolved_lr("digits") == 0.03


@pytest.fixture(scope="module")
def split_run(mnist_test_only_dir):
    cfg = MnistStudyConfig(
        data_dir=str(mnist_test_only_dir),
        download=False,
        epochs=3,
        embeddings=("pca",),
        embedding_samples=200,
        subspace_samples=150,
        subspace_random=4,
        prune_ks=(1, 3),
        prune_random=2,
        saliency_samples=10,
        scales=(0.0, 2.0),
    )
    return run_mnist(cfg, quiet=True)


def test_the_split_study_trains_the_sources_model_and_says_what_it_used(split_run):
    r = split_run
    assert r.data.source == "mnist-test-split"
    assert (r.data.train.n, r.data.test.n) == (8000, 2000)
    p = r.primary
    assert p.net.sizes == [784, 32, 16, 10] and r.lr == 0.01
    assert [m.kind for m in p.net.layers] == ["linear", "relu", "linear", "relu", "linear"]
    # the confusion matrix scores the same network on the same test set as fit's evaluation
    assert p.test_accuracy == pytest.approx(p.history.val_accuracy[-1], abs=1e-12)
    assert any("8000 / 2000" in n for n in r.notes())
    assert any("not comparable" in n for n in r.notes())
    assert sorted(p.stats) == [0, 1, 2, 3] and len(p.history.snapshots) == 4


def test_on_full_mnist_the_study_trains_on_the_training_set_and_tests_on_10000(
    mnist_full_dir,
):
    cfg = MnistStudyConfig(
        data_dir=str(mnist_full_dir),
        download=False,
        epochs=1,
        train_size=2000,  # a stratified subset of the 60,000: CI's time
        analyses="none",
        embeddings="none",
    )
    r = run_mnist(cfg, quiet=True)
    assert r.data.source == "mnist" and r.lr == 0.01
    assert (r.data.train.n, r.data.test.n) == (2000, 10_000)
    assert r.data.train.name == "mnist-train" and r.data.test.name == "mnist-test"
    assert not any("8000 / 2000" in n for n in r.notes())
    assert any("stratified subset of 2000" in n for n in r.notes())
    # the reported accuracy, recomputed from the trained network on the 10,000 test images
    p = r.primary
    pred = p.net.forward(r.data.test.X).argmax(axis=1)
    assert p.test_accuracy == pytest.approx(np.mean(pred == r.data.test.y), abs=1e-12)


def test_statistics_and_selectivity_come_from_the_final_training_pass(split_run):
    p = split_run.primary
    final = neuron_stats(p.net, p.train, ["layers.1", "layers.3"])
    for name, la in p.layers.items():
        np.testing.assert_allclose(
            la.selectivity.class_means_, final[name].class_means_, rtol=F32_TOL, atol=F32_TOL
        )
        np.testing.assert_array_equal(la.lifecycle.dead[-1], final[name].dead_)
        assert la.lifecycle.epochs.tolist() == [0, 1, 2, 3]


def test_ablation_and_scaling_tables_equal_single_hooked_runs(split_run):
    p = split_run.primary
    X, y = p.test.X, p.test.y
    for name, la in p.layers.items():
        for u in (0, 5, la.n_units - 1):
            out = run_with_edits(p.net, X, [zero_ablation(name, u)])
            per_class = _per_class(out.argmax(axis=1), y)
            np.testing.assert_array_equal(la.ablation.class_accuracy_[u], per_class)
            assert la.ablation.accuracy_[u] == np.mean(out.argmax(axis=1) == y)
        out = run_with_edits(p.net, X, [scaling(name, 2, 2.0)])
        np.testing.assert_array_equal(
            la.scaling.class_accuracy_[2, 1], _per_class(out.argmax(axis=1), y)
        )
        for b in la.bottlenecks():
            c = b["class"]
            drop = la.ablation.class_drop_[:, c].max()
            assert b["class_accuracy_drop"] == pytest.approx(drop, abs=1e-6)  # rounded to 6


def test_metrics_hold_what_the_issue_asks_for(split_run):
    m = split_run.metrics()
    for key in (
        "test_accuracy",
        "per_class_accuracy",
        "dead_neurons",
        "top_selective_neurons",
        "bottleneck_neurons",
        "variant_comparison",
    ):
        assert key in m, key
    assert len(m["per_class_accuracy"]) == 10
    layer = m["variants"]["raw"]["layers"]["layers.1"]
    for key in ("mean", "std", "frac_active", "max_selectivity"):
        assert len(layer[key]) == 32, key
    assert np.array(layer["class_means"]).shape == (10, 32)
    assert set(layer["top_neurons"]) == {"activation", "gradient", "selectivity"}
    assert m["dead_neurons"]["layers.1"]["epochs"] == [0, 1, 2, 3]
    assert set(m["top_selective_neurons"]["layers.3"]) == {str(c) for c in range(10)}
    assert set(m["bottleneck_neurons"]) == {str(c) for c in range(10)}
    json.dumps(m, allow_nan=False)  # strict JSON: no NaN anywhere


@pytest.fixture(scope="module")
def digits_run():
    cfg = MnistStudyConfig.quick(
        epochs=4,
        variants="all",
        cnn=True,
        cnn_epochs=2,
        analyses="all",
        embeddings=("pca",),
        embedding_samples=150,
        subspace_samples=100,
        subspace_random=3,
        saliency_samples=5,
    )
    return run_mnist(cfg, quiet=True)


def test_every_variant_is_trained_and_compared_and_the_first_gets_every_analysis(digits_run):
    r = digits_run
    assert list(r.runs) == list(VARIANTS)
    first, other = r.runs["raw"], r.runs["best"]
    assert first.full and not other.full
    assert first.layers["layers.1"].pixel_maps.maps_.shape == (32, 8, 8)
    assert other.layers["layers.1"].pixel_maps is None and other.layers["layers.1"].ablation
    norm = r.runs["normalized"]
    # digits are standardised with the training pixels' own mean and std (recomputed here)
    raw_train = first.train.X.astype(np.float64)
    mean, std = norm.analysis.input_range.normalization
    assert mean == pytest.approx(raw_train.mean(), rel=F32_TOL)
    assert std == pytest.approx(raw_train.std(), rel=F32_TOL)
    assert norm.train.X.min() < 0  # it trained on normalized pixels
    rows = r.metrics()["variant_comparison"]
    assert [row["variant"] for row in rows] == list(VARIANTS)
    assert all(
        {"test_accuracy", "dead_units", "mean_selectivity", "parameters"} <= set(x) for x in rows
    )


def test_the_cnn_track_diagnoses_channels(digits_run):
    cnn = digits_run.cnn
    assert cnn is not None and list(cnn.layers) == ["layers.2", "layers.5"]
    la = cnn.layers["layers.2"]
    assert la.unit == "channel" and la.selectivity.selectivity_.shape == (10, 8)
    assert la.lifecycle.dead.shape == (3, 8)  # passes at epochs 0, 1, 2
    assert cnn.feature_maps["layers.2"].shape == (4, 8, 8, 8)
    assert cnn.feature_maps["layers.5"].shape == (4, 16, 4, 4)
    X, y = cnn.test.X, cnn.test.y
    out = run_with_edits(cnn.net, X, [zero_ablation("layers.5", 3)])
    np.testing.assert_array_equal(la.ablation.class_accuracy_.shape, (8, 10))
    np.testing.assert_array_equal(
        cnn.layers["layers.5"].ablation.class_accuracy_[3], _per_class(out.argmax(axis=1), y)
    )
    comparison = digits_run.metrics()["cnn_comparison"]
    assert [c["variant"] for c in comparison] == ["raw", "cnn"]


def test_the_run_directory_has_weights_snapshots_figures_and_a_report(digits_run, tmp_path):
    rd = RunDir(tmp_path / "run")
    digits_run.save(rd)
    from tinylens.report import render_run

    render_run(rd.work)
    path = rd.finish()
    for f in ("config.yaml", "metrics.json", "index.html", "model.safetensors", "history.csv"):
        assert (path / f).is_file(), f
    snaps = sorted((path / "snapshots" / "raw").iterdir())
    assert [s.name for s in snaps] == [f"epoch_{e:04d}.safetensors" for e in range(5)]
    assert (path / "snapshots" / "cnn" / "epoch_0002.safetensors").is_file()
    info = read_info(path / "weights" / "normalized.safetensors")["info"]
    assert info["input_range"]["normalization"] is not None and info["variant"] == "normalized"
    html = (path / "index.html").read_text()
    # the settings quoted in the text are the nested TrainConfig's (not the config's aliases)
    assert "batch 64, 4 epochs" in html and "None" not in (path / "report.json").read_text()
    for anchor in (
        "training",
        "lifecycle",
        "selectivity",
        "drift",
        "ablation",
        "embeddings",
        "maps",
        "pruning",
        "cnn",
    ):
        assert f"id='mnist-{anchor}'" in html, anchor
    for img in (
        "lifecycle_layers_1.png",
        "confusion.png",
        "pixel_maps_layers_1.png",
        "pruning_joint.png",
        "cnn_feature_maps_layers_2.png",
        "variants.png",
    ):
        assert (path / img).is_file(), img
    loaded = tl.load(path / "model.safetensors")
    np.testing.assert_array_equal(
        loaded.predict(digits_run.data.test.X),
        digits_run.primary.net.predict(digits_run.data.test.X),
    )


def test_analyse_model_warns_when_the_test_inputs_are_on_another_scale(digits_run):
    p = digits_run.primary
    wrong = p.test.map_X(lambda X: X * 255)
    with pytest.warns(InputRangeWarning, match="divide by 255"):
        analyse_model(p.net, p.train, wrong, config=AnalysisConfig(analyses=()))


def test_analyse_model_runs_on_a_torch_twin_and_agrees(digits_run):
    p = digits_run.primary
    settings = AnalysisConfig(analyses=("ablation", "pruning"), prune_ks=(1, 2), prune_random=2)
    eng = analyse_model(p.net, p.train, p.test, config=settings)
    tor = analyse_model(tl.to_torch(p.net), p.train, p.test, ["layers.1", "layers.3"], settings)
    # Accuracies across backends: float32 logits from two BLAS libraries differ by ~1e-7, so a
    # test image whose two best logits are that close may be classified differently: allow one
    # such image per score (ONE_IMAGE), no more.
    per_class = np.bincount(p.test.y, minlength=10)
    for name in ("layers.1", "layers.3"):
        a, b = eng.layers[name].ablation.class_accuracy_, tor.layers[name].ablation.class_accuracy_
        assert a.shape == b.shape
        assert np.all(np.abs(a - b) * per_class <= ONE_IMAGE + 1e-9)
        np.testing.assert_allclose(
            eng.layers[name].selectivity.selectivity_,
            tor.layers[name].selectivity.selectivity_,
            rtol=1e-5,  # float32 forwards on two backends
            atol=1e-5,
        )
    a, b = eng.joint_pruning.accuracy_, tor.joint_pruning.accuracy_
    assert a.shape == b.shape and np.all(np.abs(a - b) * p.test.n <= ONE_IMAGE + 1e-9)


def test_cli_quick_run_prints_json_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "m"
    code = main(
        ["mnist", "--quick", "--epochs", "3", "--skip", "pruning", "--out", str(out), "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["data_source"] == "digits" and summary["model"] == [64, 32, 16, 10]
    assert summary["dead_neurons"]["layers.1"] and len(summary["per_class_accuracy"]) == 10
    assert (out / "index.html").is_file() and not (out / "pruning_joint.png").exists()
    cfg = (out / "config.yaml").read_text()
    assert "epochs: 3" in cfg and "lr: 0.1" in cfg


def test_cli_mnist_split_from_the_data_dir(mnist_test_only_dir, tmp_path, capsys):
    skip = ["saliency", "subspaces", "perturbation", "scaling", "pruning"]
    argv = ["mnist", "--data-dir", str(mnist_test_only_dir), "--no-download", "--epochs", "1"]
    argv += ["--embeddings", "none", "--out", str(tmp_path / "s")]
    code = main(argv + [a for name in skip for a in ("--skip", name)])
    assert code == 0
    text = capsys.readouterr().out
    assert "mnist-test-split (8000 train / 2000 test, 784-32-16-10 relu)" in text
    assert "not comparable" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--variant", "rawx"], "unknown variant 'rawx'"),
        (["--skip", "abaltion"], "unknown analysis 'abaltion'"),
        (["--embeddings", "tsen"], "unknown embedding method 'tsen'"),
        (["--hidden", "32,x"], "expected comma-separated integers"),
    ],
)
def test_cli_mistakes_are_one_line(argv, message, tmp_path, capsys):
    try:
        code = main(["mnist", "--quick", *argv, "--out", str(tmp_path / "x")])
    except SystemExit as exc:  # argparse rejects a bad value before the command runs
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_a_statistics_pass_always_covers_the_final_weights():
    r = run_mnist(MnistStudyConfig.quick(epochs=3, stats_every=2, analyses="none"), quiet=True)
    p = r.primary
    assert sorted(p.stats) == [0, 2, 3]
    final = neuron_stats(p.net, p.train, "layers.3")["layers.3"]
    # atol too: a unit whose pre-activation cancels to ~1e-4 carries float32 rounding of the
    # O(1) terms it summed, so its relative error can exceed F32_TOL (seen: 3e-6 on AMD EPYC)
    np.testing.assert_allclose(
        p.layers["layers.3"].selectivity.class_means_,
        final.class_means_,
        rtol=F32_TOL,
        atol=F32_TOL,
    )
