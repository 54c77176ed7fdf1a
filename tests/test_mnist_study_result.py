"""The MNIST study in its package shape: the config (one nested TrainConfig, the CLI's defaults
read from it), the result's notebook face (repr, HTML, table, figure), and the numbers added for
issue 16, each recomputed another way: the selective subspaces' silhouettes against
scikit-learn on a fresh forward pass, the bottleneck scaling curves against single hooked runs,
the activation histograms against the snapshots, ``top_selective_neurons`` against the dead
units.

On digits (seconds). Tolerances: EXACT for accuracies (batched sweep and single hooked run score
the same float32 forward); SIL = 1e-5 for silhouettes of float32 activations computed by our
NumPy silhouette against scikit-learn's.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tinylens.cli.main import main
from tinylens.errors import ConfigError
from tinylens.hooks import evaluating
from tinylens.interventions import run_with_edits, scaling
from tinylens.studies.mnist import (
    MnistResult,
    MnistStudyConfig,
    analyse_model,
    run,
)
from tinylens.training import TrainConfig

SIL = 1e-5


@pytest.fixture(scope="module")
def result():
    cfg = MnistStudyConfig.quick(
        epochs=4,
        variants=("raw", "best"),
        analyses=("ablation", "scaling", "subspaces", "embeddings"),
        embeddings=("pca", "tsne"),
        embedding_samples=120,
        tsne_samples=120,
        subspace_samples=100,
        subspace_random=2,
        histogram_samples=200,
        histogram_bins=10,
    )
    return run(cfg, progress=False)


def test_config_nests_one_train_config_and_keeps_the_cli_spellings():
    cfg = MnistStudyConfig(epochs=3, batch_size=32, lr=0.05)
    assert cfg.train == dataclasses.replace(
        MnistStudyConfig().train, epochs=3, batch_size=32, lr=0.05
    )
    assert MnistStudyConfig().train == TrainConfig(
        epochs=20, batch_size=64, optimizer="sgd", snapshot_every=1
    )
    d = cfg.to_dict()
    assert d["train"]["epochs"] == 3 and "epochs" not in d
    assert MnistStudyConfig.from_dict(d) == cfg
    assert MnistStudyConfig.from_dict({"epochs": 3, "lr": 0.05}).train.lr == 0.05
    with pytest.raises(ConfigError, match="unknown training setting 'epoch'"):
        MnistStudyConfig.from_dict({"train": {"epoch": 3}})
    with pytest.raises(ConfigError, match="lr must be a positive number"):
        MnistStudyConfig(lr=-1)
    # replace keeps a new train config (the aliases default to None: no override)
    assert dataclasses.replace(cfg, train=TrainConfig(epochs=7)).train.epochs == 7


def test_the_cli_help_quotes_the_configs_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["mnist", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    d = MnistStudyConfig()
    assert f"epochs (default {d.train.epochs})" in text
    assert f"minibatch (default {d.train.batch_size})" in text
    assert f"(default {d.tsne_samples};" in text and f"(default {d.seed}," in text


def test_cli_rejects_an_unknown_init_in_one_line(tmp_path, capsys):
    code = main(["mnist", "--quick", "--init", "kaiming", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "unknown initialisation 'kaiming'" in err and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_the_result_shows_itself_in_a_notebook(result):
    text = repr(result)
    assert text.startswith("MnistResult(digits: 1438 train / 359 test, 64-32-16-10")
    assert "raw=" in text and "best=" in text and "[" not in text and len(text) < 300
    page = result._repr_html_()
    assert "<table>" in page and page.count("<tr>") == 3  # header + two models
    assert 'src="data:image/png;base64,' in page
    table = result.to_dict()
    assert table["model"] == ["raw", "best"]
    assert table["test accuracy"] == [round(r.test_accuracy, 4) for r in result.runs.values()]
    frame = result.to_pandas()
    assert frame.shape == (2, len(table)) and list(frame["model"]) == ["raw", "best"]
    fig = result.plot()
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2  # one per model; no full-MNIST reference line on digits
    np.testing.assert_array_equal(lines[0].get_ydata(), result.runs["raw"].history.val_accuracy)
    assert isinstance(result, MnistResult)


def _selective_units(sel, k):
    """Each class's k most selective live units, by a plain sort; their union."""
    live = [u for u in range(sel.selectivity_.shape[1]) if not sel.dead_[u]]
    out = set()
    for c in range(sel.selectivity_.shape[0]):
        out |= set(sorted(live, key=lambda u: (-sel.selectivity_[c, u], u))[:k])
    return sorted(out)


def test_every_variants_selective_subspaces_are_embedded_and_their_silhouettes_hold(result):
    from sklearn.metrics import silhouette_score

    k = result.config.subspace_k
    for variant, r in result.runs.items():
        embs = r.analysis.subspace_embeddings
        assert {(e.space.split(" ")[0], e.method) for e in embs} == {
            (n, m) for n in r.layers for m in ("pca", "tsne")
        }, variant
        for e in embs:
            name = e.space.split(" ")[0]
            units = _selective_units(r.layers[name].selectivity, k)
            assert e.space == f"{name} [units {','.join(map(str, units))}]"
            with evaluating(r.net) as h:
                _, cache = h.run_with_cache(r.test.X[e.rows], names=[name])
            acts = np.asarray(cache[name], dtype=np.float64)[:, units]
            np.testing.assert_array_equal(e.labels, r.test.y[e.rows])
            full = silhouette_score(acts, e.labels)
            assert e.silhouette_full_ == pytest.approx(full, abs=SIL)
            assert e.silhouette_ == pytest.approx(silhouette_score(e.points, e.labels), abs=SIL)
    rows = result.metrics()["variants"]["best"]["subspace_embeddings"]
    assert {"silhouette_full_subspace", "silhouette_2d"} <= set(rows[0])


def test_bottleneck_scaling_curves_equal_single_hooked_runs(result):
    p = result.primary
    curves = p.bottleneck_scaling()
    bottlenecks = p.bottlenecks()
    assert sorted(c for e in curves for c in e["classes"]) == sorted(bottlenecks)
    X, y = p.test.X, p.test.y
    for e in curves:
        for j, s in enumerate(e["scales"]):
            pred = run_with_edits(p.net, X, [scaling(e["layer"], e["unit"], s)]).argmax(axis=1)
            per_class = [float(np.mean(pred[y == c] == c)) for c in range(10)]
            assert e["class_accuracy"][j] == per_class
        for c in e["classes"]:
            acc = [row[c] for row in e["class_accuracy"]]
            falls = [i for i in range(len(acc) - 1) if acc[i + 1] < acc[i]]
            assert e["monotone"][str(c)] == (not falls)
            assert [d[1] for d in e["drops"] if d[0] == c] == [e["scales"][i] for i in falls]
    assert result.metrics()["bottleneck_scaling"] == json.loads(json.dumps(curves))


def test_histograms_cover_every_epoch_of_every_variant(result):
    for r in result.runs.values():
        h = r.histograms
        assert h.epochs.tolist() == [e for e, _ in r.history.snapshots] == list(range(5))
        assert h.n_samples == 200
        for name in r.layers:
            units = r.layers[name].n_units
            assert (h.counts_[name].sum(axis=1) == 200 * units).all()


def test_top_selective_neurons_list_live_units_only(result):
    r = result.primary
    # silence all but one unit of layers.3 (bias far below zero), then analyse again
    net = r.net.copy()
    b = net.module("layers.2").bias.data
    b[1:] = -1e6
    a = analyse_model(net, r.train, r.test, config=result.config.analysis_config())
    dead = a.layers["layers.3"].selectivity.dead_
    assert dead.tolist() == [False] + [True] * 15
    patched = dataclasses.replace(r, net=net, analysis=a)
    other = dataclasses.replace(result, runs={"raw": patched})
    m = other.metrics()
    top = m["top_selective_neurons"]["layers.3"]
    assert all([x["unit"] for x in top[str(c)]] == [0] for c in range(10))
    assert m["top_selective_neurons_live_units"]["layers.3"] == {"live": 1, "units": 16, "k": 3}
    # the unpatched layer keeps k live units per class
    assert all(len(v) == 3 for v in m["top_selective_neurons"]["layers.1"].values())
