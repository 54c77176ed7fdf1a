"""``tinylens inspect`` and ``tinylens ablate`` (and ``train --model cnn``) from the command line.

The oracle for every number printed or written is the Python API called directly on the same
weights and data.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import tinylens as tl
from tinylens.cli.main import main
from tinylens.interventions import ablation_sweep, scaling_sweep
from tinylens.probes import neuron_stats
from tinylens.studies.data import evaluation_data


@pytest.fixture(scope="module")
def mlp_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_hooks")
    train = ["train", "--data", "digits", "--arch", "64,16,8,10", "--epochs", "8"]
    code = main([*train, "--out", str(root / "train"), "--quiet"])
    assert code == 0
    return root / "train" / "model.safetensors"


def _json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_inspect_lists_hook_points_and_shapes_without_data(mlp_file, capsys):
    assert main(["inspect", str(mlp_file)]) == 0
    out = capsys.readouterr().out
    for name, kind, shape in [("layers.0", "linear", "16"), ("layers.3", "relu", "8")]:
        assert any(line.split()[:3] == [name, kind, shape] for line in out.splitlines()), out
    assert main(["inspect", str(mlp_file), "--json"]) == 0
    summary = _json(capsys)
    assert [p["name"] for p in summary["hook_points"]] == tl.load(mlp_file).hook_names
    assert summary["hook_points"][0]["parameters"] == 64 * 16 + 16
    assert "stats" not in summary["hook_points"][0]


def test_inspect_with_data_reports_streaming_statistics(mlp_file, capsys):
    assert main(["inspect", str(mlp_file), "--data", "digits", "--json"]) == 0
    summary = _json(capsys)
    data, _, _ = evaluation_data("digits", {}, 0)
    stats = neuron_stats(tl.load(mlp_file), data)
    assert summary["samples"] == data.n
    for point in summary["hook_points"]:
        st = stats[point["name"]]
        assert point["stats"]["dead"] == int(st.dead_.sum())
        assert point["stats"]["frac_active"] == pytest.approx(st.frac_active_.mean(), abs=1e-6)
        assert point["stats"]["max"] == pytest.approx(st.max_.max(), abs=1e-6)


def test_ablate_writes_tables_figures_and_a_report(mlp_file, tmp_path, capsys):
    out = tmp_path / "ablate"
    args = ["ablate", str(mlp_file), "--data", "digits", "--pairs", "--scales", "0,1,2"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    summary = _json(capsys)
    net = tl.load(mlp_file)
    data, _, _ = evaluation_data("digits", {}, 0)
    for name, width in (("layers.1", 16), ("layers.3", 8)):
        stem = name.replace(".", "_")
        direct = ablation_sweep(net, data, name)
        with open(out / f"ablation_{stem}.csv") as f:
            rows = list(csv.reader(f))
        assert rows[0][:3] == ["units", "accuracy", "drop"] and len(rows) == width + 1
        np.testing.assert_allclose([float(r[1]) for r in rows[1:]], direct.accuracy_, atol=1e-6)
        with open(out / f"pairs_{stem}.csv") as f:
            assert len(list(csv.reader(f))) == width * (width - 1) // 2 + 1
        scaled = scaling_sweep(net, data, name, (0.0, 1.0, 2.0))
        with open(out / f"scaling_{stem}.csv") as f:
            table = [[float(v) for v in r[1:]] for r in list(csv.reader(f))[1:]]
        np.testing.assert_allclose(table, scaled.accuracy_, atol=1e-6)
        for kind in ("ablation", "pairs", "scaling"):
            assert (out / f"{kind}_{stem}.png").stat().st_size > 1000
        worst = int(direct.units[np.argmax(direct.drop_), 0])
        assert summary[f"{name}: most needed neuron"] == worst
    assert summary["baseline_accuracy"] == pytest.approx(direct.baseline_accuracy_, abs=1e-6)
    report = json.loads((out / "report.json").read_text())
    assert report["sections"][0]["id"] == "ablate"
    assert (out / "index.html").exists() and (out / "config.yaml").exists()


def test_train_a_cnn_then_ablate_its_channels(tmp_path, capsys):
    train = ["train", "--data", "digits", "--model", "cnn", "--channels", "3,4", "--epochs", "2"]
    code = main([*train, "--lr", "0.01", "--out", str(tmp_path / "cnn"), "--quiet"])
    assert code == 0
    model = tmp_path / "cnn" / "model.safetensors"
    net = tl.load(model)
    assert [m.kind for m in net.layers][:4] == ["unflatten", "conv2d", "relu", "maxpool2d"]
    args = ["ablate", str(model), "--data", "digits", "--layer", "layers.[25]", "--no-scaling"]
    assert main([*args, "--out", str(tmp_path / "abl"), "--json"]) == 0
    summary = _json(capsys)
    assert summary["layers.2: units"] == 3 and summary["layers.5: units"] == 4
    assert "layers.2: most needed channel" in summary
    assert not list((tmp_path / "abl").glob("scaling_*"))
    assert main(["inspect", str(model), "--data", "digits"]) == 0
    assert "3x8x8" in capsys.readouterr().out  # the first conv's maps: 3 channels of 8x8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layer", "layer.1"], "did you mean 'layers.1'"),
        (["--data", "sine"], "regression dataset"),
        (["--data", "xor"], "input has 2 features; the network expects (batch, 64)"),
        (["--kind", "median"], "invalid choice"),
        (["--scales", "a,b"], "comma-separated numbers"),
    ],
)
def test_ablate_mistakes_are_one_line_and_exit_2(mlp_file, tmp_path, capsys, args, message):
    argv = ["ablate", str(mlp_file), "--data", "digits", "--out", str(tmp_path / "x"), *args]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects a bad value before the command runs
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_inspect_on_mnist_says_which_images_it_used(mnist_test_only_dir, tmp_path, capsys):
    path = tl.save(tl.MLP([784, 8, 10], rng=0), tmp_path / "m.safetensors")
    argv = ["inspect", str(path), "--data", "mnist", "--data-dir", str(mnist_test_only_dir)]
    assert main([*argv, "--json"]) == 0
    summary = _json(capsys)
    # only the test set is here: 2,000 of its images are held out, and the substitution is said
    assert summary["data"].startswith("mnist") and summary["samples"] == 2000
    assert any("test images split" in n for n in summary["notes"])


def test_inspect_on_full_mnist_uses_the_10000_test_images(mnist_full_dir, tmp_path, capsys):
    path = tl.save(tl.MLP([784, 8, 10], rng=0), tmp_path / "m.safetensors")
    argv = ["inspect", str(path), "--data", "mnist", "--data-dir", str(mnist_full_dir), "--json"]
    assert main(argv) == 0
    summary = _json(capsys)
    assert summary["data"].startswith("mnist") and summary["samples"] == 10_000
    assert not any("test images split" in n for n in summary["notes"])
