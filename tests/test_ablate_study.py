"""The ablation study (``tinylens.studies.ablate``) and ``tinylens inspect`` as a study
(``tinylens.studies.inspect``): config round trips, runs on a network passed in or read from a
file, every number recomputed by a plain NumPy forward written here, and the notebook surface."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import tinylens as tl
from tinylens.data import load_dataset
from tinylens.errors import ConfigError, DataError
from tinylens.studies import ablate, inspect

# Accuracies are exact counts over the same predictions: compared with ==. Statistics sum the
# same float32 activations in another order (NumPy's pairwise sum against the streaming one).
F32 = 1e-5


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    data = load_dataset("spiral", n=240, classes=3, rng=0)
    net = tl.MLP([2, 12, 3], rng=0)
    tl.fit(net, data, tl.TrainConfig(epochs=8, lr=0.05, optimizer="adam"), rng=0, quiet=True)
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    tl.save(net, path)
    return data, net, path


def _hidden(net, X):
    lin = net.layers[0]
    return np.maximum(X.astype(net.dtype) @ lin.weight.data.T + lin.bias.data, 0)


def _predict(net, h):
    out = net.layers[2]
    return (h @ out.weight.data.T + out.bias.data).argmax(1)


# -- ablate ----------------------------------------------------------------------------------------


def test_ablate_config_round_trips_and_rejects_typos():
    cfg = ablate.AblateConfig(model="m.safetensors", layers=("layers.*",), pairs=True)
    assert ablate.AblateConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown ablation setting 'scale'"):
        ablate.AblateConfig.from_dict({"scale": [1]})
    with pytest.raises(ConfigError, match="ablation kind must be 'zero' or 'mean'"):
        ablate.AblateConfig(kind="half")
    with pytest.raises(ConfigError, match="no model"):
        ablate.run(ablate.AblateConfig(), progress=False)


def test_every_number_of_the_ablation_recomputed_by_hand(problem):
    data, net, _ = problem
    cfg = ablate.AblateConfig(scales=(0.0, 2.0), pairs=True)
    result = ablate.run(cfg, model=net, data=data, progress=False)
    assert result.layers == ["layers.1"] and result.unit_kinds == {"layers.1": "neuron"}
    h = _hidden(net, data.X)
    base = float(np.mean(_predict(net, h) == data.y))
    acc = []
    for u in range(12):
        hu = h.copy()
        hu[:, u] = 0
        acc.append(float(np.mean(_predict(net, hu) == data.y)))
    drop = [base - a for a in acc]
    table = result.to_dict()
    assert table == {"layer": ["layers.1"] * 12, "unit": list(range(12)), "accuracy": acc,
                     "drop": drop}  # fmt: skip
    m = result.metrics()
    worst = int(np.argmax(drop))
    assert m["baseline_accuracy"] == round(base, 6) and m["samples"] == 240
    assert m["layers.1: most needed neuron"] == worst
    assert m["layers.1: largest accuracy drop"] == round(drop[worst], 6)
    assert m["layers.1: units costing > 1% accuracy"] == sum(d > 0.01 for d in drop)
    assert m["layers.1: units costing nothing"] == sum(abs(d) < 1e-12 for d in drop)
    # a pair by hand, and a scaled unit by hand
    h01 = h.copy()
    h01[:, [0, 1]] = 0
    pairs = result.pairs["layers.1"]
    assert pairs.accuracy_[0] == np.mean(_predict(net, h01) == data.y) and len(pairs.units) == 66
    h2 = h.copy()
    h2[:, 3] *= 2
    assert result.scaling["layers.1"].accuracy_[3, 1] == np.mean(_predict(net, h2) == data.y)


def test_a_file_gives_the_same_tables_and_the_writer_writes_them(problem, tmp_path):
    data, net, path = problem
    from tinylens.io import RunDir

    given = ablate.run(ablate.AblateConfig(scales=()), model=net, data=data, progress=False)
    # from the file, measured on spiral generated from the seed (the same 240 points)
    cfg = ablate.AblateConfig.from_dict(
        {"model": str(path), "data": "spiral", "data_params": {"n": 240, "classes": 3}}
    )
    loaded = ablate.run(cfg, progress=False)
    assert loaded.to_dict() == given.to_dict()
    run_dir = RunDir(tmp_path / "out")
    ablate.write(loaded, run_dir)
    run_dir.finish()
    files = set(os.listdir(tmp_path / "out"))
    assert {"config.yaml", "metrics.json", "ablation_layers_1.csv", "ablation_layers_1.png",
            "scaling_layers_1.csv"} <= files  # fmt: skip
    rows = (tmp_path / "out" / "ablation_layers_1.csv").read_text().splitlines()
    assert len(rows) == 1 + 12


def test_regression_data_is_refused(problem):
    net = tl.MLP([1, 4, 1], rng=0)
    with pytest.raises(DataError, match="regression dataset"):
        ablate.run(ablate.AblateConfig(), model=net, data=load_dataset("sine", n=50, rng=0),
                   progress=False)  # fmt: skip


def test_the_ablation_result_shows_itself(problem):
    pd = pytest.importorskip("pandas")
    data, net, _ = problem
    result = ablate.run(ablate.AblateConfig(scales=()), model=net, data=data, progress=False)
    text = repr(result)
    assert text.startswith("AblateResult(layers='layers.1', samples=240") and len(text) < 300
    page = result._repr_html_()
    assert page.count("<table>") == 1 and "data:image/png;base64," in page
    assert tl.io.format_number(result.baseline_accuracy) in page
    assert pd.DataFrame(result.to_dict()).equals(result.to_pandas())
    assert result.plot().axes[0].images


# -- inspect ---------------------------------------------------------------------------------------


def test_inspect_statistics_recomputed_by_hand(problem):
    data, net, path = problem
    cfg = inspect.InspectConfig(
        model=str(path), data="spiral", data_params={"n": 240, "classes": 3}
    )
    result = inspect.run(cfg, progress=False)
    assert [(p.name, p.kind, p.shape, p.parameters) for p in result.points] == [
        ("layers.0", "linear", (12,), 36),
        ("layers.1", "relu", (12,), 0),
        ("layers.2", "linear", (3,), 39),
    ]
    h = _hidden(net, data.X).astype(np.float64)
    s = result.points[1].stats
    assert s.units == 12 and s.dead == int(np.sum(h.max(0) <= 0))
    assert math.isclose(s.frac_active, float(np.mean(h > 0)), rel_tol=1e-12)
    assert math.isclose(s.mean, float(h.mean(0).mean()), rel_tol=F32)
    assert math.isclose(s.std, float(h.std(0).mean()), rel_tol=F32)
    assert s.max == pytest.approx(float(h.max()), rel=F32)
    assert result.metrics()["layers.1: dead"] == s.dead and result.n_samples == 240
    table = result.table()
    assert table["hook point"] == ["layers.0", "layers.1", "layers.2"]
    assert table["parameters"] == [36, 0, 39] and table["dead"][1] == s.dead


def test_inspect_without_data_gives_shapes_only(problem):
    _, net, _ = problem
    result = inspect.run(inspect.InspectConfig(), model=net, progress=False)
    assert [p.shape for p in result.points] == [(12,), (12,), (3,)]
    assert all(p.stats is None for p in result.points) and "dead" not in result.table()
    with pytest.raises(ConfigError, match="--data-param is read only with --data NAME"):
        inspect.InspectConfig(data_params={"n": 3})
    assert inspect.InspectConfig.from_dict({"model": "m", "batch_size": 64}).batch_size == 64


def test_the_inspect_result_shows_itself(problem):
    pd = pytest.importorskip("pandas")
    data, net, _ = problem
    result = inspect.run(inspect.InspectConfig(), model=net, data=data, progress=False)
    assert repr(result).startswith("InspectResult(model='', hook_points=3, parameters=75")
    page = result._repr_html_()
    assert page.count("<table>") == 1 and "data:image/png;base64," in page
    assert pd.DataFrame(result.table()).equals(result.to_pandas())
    assert result.plot().axes[0].patches
