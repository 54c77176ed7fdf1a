"""The basis, regions and topology studies and their commands, end to end (small and fast)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinylens as tl
from tinylens.cli.main import main, normalise_argv
from tinylens.engine import AffineNet
from tinylens.geometry import decompose, linear_regions
from tinylens.io import RunDir
from tinylens.studies.basis import BasisStudyConfig, width_sweep
from tinylens.studies.basis import run as run_basis
from tinylens.studies.topology import TopologyConfig, run_topology
from tinylens.training import TrainConfig

# basis_frames.json keeps 4 significant digits of each curve value: a relative error of at most
# 5e-4, plus the same on each of the (up to 15) ghosts summed when the output is rebuilt.
FRAME_RTOL = 5e-4


def test_basis_study_frames_match_the_snapshots(tmp_path):
    train = TrainConfig(epochs=40, optimizer="adam", lr=0.05)
    cfg = BasisStudyConfig(hidden=5, train=train, frames=4, grid_points=31, sweep=False)
    result = run_basis(cfg, progress=False)
    assert [f["epoch"] for f in result.frames] == [0, 10, 20, 30, 40]
    for (epoch, state), frame in zip(result.snapshots, result.frames, strict=True):
        snap = result.net.copy()
        snap.load_state_dict(state)
        out = AffineNet.from_module(snap)(result.grid)[:, 0]
        assert frame["epoch"] == epoch
        scale = np.abs(out).max()
        np.testing.assert_allclose(frame["output"], out, atol=FRAME_RTOL * scale)
        ghosts = np.array(frame["ghosts"])
        assert ghosts.shape == (5, 31)
        np.testing.assert_allclose(
            ghosts.sum(axis=0) + frame["b_out"], out, atol=6 * FRAME_RTOL * scale
        )
        basis = decompose(snap)
        assert frame["kinks"] == pytest.approx(basis.kinks, rel=1e-5)
        assert frame["importances"] == pytest.approx(basis.importances.tolist(), rel=1e-5)
    run = RunDir(tmp_path / "run")
    result.save(run)
    run.finish()
    out = tmp_path / "run"
    for name in ("basis.png", "partial_sums.png", "kinks.png", "loss.png", "basis_evolution.gif"):
        assert (out / name).stat().st_size > 1000, name
    frames = json.loads((out / "basis_frames.json").read_text())
    assert frames["schema"] == "tinylens.basis_frames/1"
    assert len(frames["x"]) == 31 and len(frames["frames"]) == 5
    assert set(frames["frames"][0]) == {
        "epoch",
        "loss",
        "b_out",
        "output",
        "slopes",
        "biases",
        "kinks",
        "importances",
        "active_side",
        "dead_on_data",
        "ghosts",
    }
    from PIL import Image

    assert Image.open(out / "basis_evolution.gif").n_frames == 5
    assert len(list((out / "snapshots").glob("*.safetensors"))) == 5
    report = json.loads((out / "report.json").read_text())
    assert report["sections"][0]["id"] == "basis"
    assert "ffmpeg" in " ".join(report["sections"][0]["notes"])


def test_width_sweep_sees_that_abs_needs_two_neurons():
    train = TrainConfig(epochs=300, batch_size=200, optimizer="adam", lr=0.05, shuffle=False)
    sweep = width_sweep(("abs",), (1, 8), seeds=2, train=train)
    err = sweep.errors["abs"]
    assert err.shape == (2, 2)
    # one ReLU cannot make |x|; eight fit it (the best of two seeds, to be robust to a dead one)
    assert err[0].min() > 0.1
    assert err[1].min() < 0.05


def test_basis_cli_with_the_source_projects_spelling(tmp_path, capsys):
    code = main(
        [
            "basis",
            "--hidden_dim",
            "4",
            "--epochs",
            "30",
            "--frames",
            "3",
            "--no-sweep",
            "--no-animation",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "b"),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["neurons"] == 4 and summary["frames"] == 4
    assert (tmp_path / "b" / "basis_frames.json").exists()
    assert (tmp_path / "b" / "index.html").exists()
    assert not (tmp_path / "b" / "basis_evolution.gif").exists()


def test_regions_cli_json_schema_and_run_directory(tmp_path, capsys):
    net = tl.MLP([2, 6, 5, 1], rng=2, init="torch")
    path = tl.save(net, tmp_path / "net.safetensors")
    assert main(["regions", str(path), "--box", "-1,1,-2,2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    regions = linear_regions(net, [(-1, 1), (-2, 2)])
    assert data["count"] == regions.count == len(data["regions"])
    for entry, region in zip(data["regions"], regions, strict=True):
        assert set(entry) == {"pattern", "affine", "vertices", "area"}
        assert entry["pattern"] == region.pattern and len(entry["pattern"]) == 11
        np.testing.assert_allclose(entry["affine"]["W"], region.W)
        np.testing.assert_allclose(entry["affine"]["c"], region.c)
    assert sum(e["area"] for e in data["regions"]) == pytest.approx(8.0)
    assert not list(tmp_path.glob("runs*"))  # --json alone writes no run directory
    out = tmp_path / "r"
    assert main(["regions", str(path), "--box=-1,1,-2,2", "--out", str(out), "--quiet"]) == 0
    assert (out / "regions.png").exists() and (out / "index.html").exists()
    saved = json.loads((out / "regions.json").read_text())
    assert saved["count"] == regions.count


def test_regions_cli_in_1d_and_3d(tmp_path, capsys):
    p1 = tl.save(tl.MLP([1, 5, 1], rng=0, init="torch"), tmp_path / "one.safetensors")
    assert main(["regions", str(p1), "--box", "-2,2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["regions"][0]) == {"pattern", "affine", "interval", "length"}
    p3 = tl.save(tl.MLP([3, 4, 1], rng=0, init="torch"), tmp_path / "three.safetensors")
    assert main(["regions", str(p3), "--box", "-1,1,-1,1,-1,1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"pattern", "affine", "inequalities"} <= set(data["regions"][0])
    assert main(["regions", str(p3), "--box", "-1,1,-1,1,-1,1", "--out", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize(
    "box, message",
    [
        ("-1,1,0", "box has 3 bounds"),
        ("1,-1,-1,1", "each needs LO < HI"),
        ("-1,1", "the network has 2 inputs"),
        ("0,x", "expected comma-separated numbers"),
    ],
)
def test_bad_boxes_are_one_line_and_exit_2(box, message, tmp_path, capsys):
    path = tl.save(tl.MLP([2, 3, 1], rng=0), tmp_path / "net.safetensors")
    try:
        code = main(["regions", str(path), "--box", box, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.partial"))


def test_negative_number_lists_attach_to_their_option():
    assert normalise_argv(["regions", "m", "--box", "-1,1,-2.5,2"]) == [
        "regions",
        "m",
        "--box=-1,1,-2.5,2",
    ]
    assert normalise_argv(["x", "--lr", "-1"]) == ["x", "--lr", "-1"]  # argparse handles this
    assert normalise_argv(["x", "--lr", "-1e-3"]) == ["x", "--lr", "-1e-3"]
    for value in ("-3..3", "-1:1", "-3..3,y=0..2", "-.5:.5", "-1e-2:1e-2"):  # ranges attach too
        assert normalise_argv(["c", "e", "--domain", value]) == ["c", "e", f"--domain={value}"]
    assert normalise_argv(["c", "--verify", "-x"]) == ["c", "--verify", "-x"]  # not a number
    assert normalise_argv(["x", "--box=-1,1"]) == ["x", "--box=-1,1"]


def test_topology_study_small(tmp_path):
    cfg = TopologyConfig.from_dict(
        {"classes": [3], "points": 300, "degree": 3, "hidden": [16, 8], "train": {"epochs": 60}}
        | {"lift_epochs": 200}
    )
    result = run_topology(cfg, quiet=True)
    pc = result.per_class[3]
    assert pc["lift"]["parameters"] == 9 * 3 + 3
    assert pc["mlp"]["parameters"] == (2 * 16 + 16) + (16 * 8 + 8) + (8 * 3 + 3)
    assert len(pc["degree_sweep"]) == 3
    seps = [s["test_accuracy"] for s in pc["separability"]]
    assert len(seps) == 4  # input, two hidden layers, logits
    assert seps[2] > seps[0]  # depth makes the arms more separable than the raw plane
    counts = pc["region_counts"]
    assert len(counts) == 2 and counts[1] >= counts[0] > 1
    run = RunDir(tmp_path / "t")
    result.save(run)
    run.finish()
    for name in ("boundaries.png", "folding_K3.png", "separability.png", "regions.png"):
        assert (tmp_path / "t" / name).exists(), name
    assert tl.load_affine(tmp_path / "t" / "mlp_K3.safetensors").sizes == [2, 16, 8, 3]


def _relu_mlp_from_file(path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (weight, bias) pairs of a saved ReLU MLP, read with safetensors itself (no tinylens)."""
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    indices = sorted({int(key.split(".")[1]) for key in tensors})
    return [(tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]) for i in indices]


def test_topology_test_accuracy_is_measured_on_the_held_out_split(tmp_path):
    cfg = TopologyConfig.from_dict(
        {"classes": [3], "points": 300, "degree": 2, "hidden": [8], "train": {"epochs": 30}}
        | {"lift_epochs": 50}
    )
    result = run_topology(cfg, quiet=True)
    run = RunDir(tmp_path / "t")
    result.save(run)
    run.finish()
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())["3"]
    # the held-out split rebuilt from the documented recipe: spiral, then split, one generator
    rng = np.random.default_rng([cfg.seed, 3])
    train, test = tl.data.spiral(cfg.points, 3, cfg.noise, rng=rng).split(
        cfg.test_fraction, rng=rng
    )
    np.testing.assert_array_equal(test.X, result.data[3][1].X)

    def accuracy(X, y):  # the engine's forward, in the file's dtype (float32), by hand
        layers = _relu_mlp_from_file(tmp_path / "t" / "mlp_K3.safetensors")
        h = X.astype(layers[0][0].dtype)
        for i, (w, b) in enumerate(layers):
            h = h @ w.T + b
            if i < len(layers) - 1:
                h = np.maximum(h, 0.0)
        return float(np.mean(h.argmax(axis=1) == y))

    test_acc, train_acc = accuracy(test.X, test.y), accuracy(train.X, train.y)
    assert test_acc != train_acc  # so a test accuracy taken on the training split shows
    assert metrics["mlp"]["test_accuracy"] == test_acc
    assert metrics["mlp"]["train_accuracy"] == train_acc
    # the lifted model is not saved: score the returned one on the rebuilt held-out split
    assert metrics["lift"]["test_accuracy"] == result.lifts[3].accuracy(test.X, test.y)
    assert metrics["lift"]["test_accuracy"] != result.lifts[3].accuracy(train.X, train.y)


def test_topology_cli(tmp_path, capsys):
    args = ["topology", "--classes", "3", "--points", "200", "--degree", "2", "--hidden", "8,8"]
    args += ["--epochs", "20", "--lift-epochs", "50", "--out", str(tmp_path / "t"), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "K3" in summary and summary["K3"]["mlp"]["parameters"] == 2 * 8 + 8 + 8 * 8 + 8 + 27


def test_regions_cli_refuses_a_tanh_net_before_making_a_run(tmp_path, capsys):
    path = tl.save(tl.MLP([2, 3, 1], "tanh", rng=0), tmp_path / "tanh.safetensors")
    assert main(["regions", str(path), "--box", "-1,1,-1,1", "--out", str(tmp_path / "o")]) == 2
    assert "not piecewise linear" in capsys.readouterr().err
    assert not list(tmp_path.glob(".o*")) and not (tmp_path / "o").exists()


def test_regions_report_has_a_hoverable_map(tmp_path):
    """The run's report embeds every 2-D region with its pattern and affine map."""
    import json

    import tinylens as tl
    from tinylens.cli.main import main

    path = tl.save(tl.MLP([2, 6, 1], rng=1, init="torch"), tmp_path / "m.safetensors")
    assert (
        main(["regions", str(path), "--box", "-1,1,-1,1", "--out", str(tmp_path / "r"), "--quiet"])
        == 0
    )
    spec = json.loads((tmp_path / "r" / "regions_map.json").read_text())
    regions = json.loads((tmp_path / "r" / "regions.json").read_text())
    assert len(spec["regions"]) == regions["count"]
    assert spec["regions"][0]["tip"].startswith(
        "region 0\npattern " + regions["regions"][0]["pattern"]
    )
    page = (tmp_path / "r" / "index.html").read_text()
    assert "data-kind='regions-map'" in page


def test_topology_config_nests_the_mlp_training_and_rejects_unknown_keys():
    from tinylens.errors import ConfigError
    from tinylens.studies.topology import MLP_TRAINING

    cfg = TopologyConfig.from_dict({"train": {"epochs": 7}, "hidden": 16})
    assert cfg.hidden == (16,) and cfg.train.epochs == 7
    # the other training settings stay the study's (Adam 0.01), not TrainConfig's (SGD)
    assert (cfg.train.optimizer, cfg.train.lr, cfg.train.batch_size) == ("adam", 0.01, 64)
    assert TopologyConfig().train == MLP_TRAINING
    assert TopologyConfig.from_dict(cfg.to_dict()) == cfg
    for bad, message in [
        ({"epochs": 7}, "unknown topology setting 'epochs'"),
        ({"train": {"epoch": 7}}, "unknown training setting 'epoch'"),
        ({"classes": [1]}, "classes must be integers >= 2"),
        ({"train": {"optimizer": "adamm"}}, "unknown optimizer 'adamm'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            TopologyConfig.from_dict(bad)


def test_topology_cli_defaults_are_the_configs(capsys):
    from tinylens.cli.main import build_parser
    from tinylens.cli.topology import build_config

    cfg = build_config(build_parser().parse_args(["topology", "--seed", "0"]))
    assert cfg == TopologyConfig()
    cfg = build_config(build_parser().parse_args(["topology", "--epochs", "5", "--lr", "0.1"]))
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.optimizer) == (5, 0.1, "adam")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["topology", "--help"])
    assert "MLP widths (64,32)" in capsys.readouterr().out


def test_topology_result_shows_itself():
    from matplotlib.figure import Figure

    from tinylens.studies.topology import run

    cfg = TopologyConfig.from_dict(
        {"classes": [3], "points": 150, "degree": 2, "hidden": [6], "train": {"epochs": 5}}
        | {"lift_epochs": 20}
    )
    result = run(cfg, progress=False)
    pc = result.per_class[3]
    text = repr(result)
    assert text == (
        f"TopologyResult(test accuracy K=3: lifting {pc['lift']['test_accuracy']:.3f}, MLP "
        f"{pc['mlp']['test_accuracy']:.3f}, {result.regions[3].count} regions)"
    )
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 2 and "data:image/png;base64," in page
    frame = result.to_pandas()
    assert list(frame["model"]) == ["degree-2 lifting", "MLP 6"]
    assert frame["test acc"].tolist() == [pc["lift"]["test_accuracy"], pc["mlp"]["test_accuracy"]]
    # the metrics a sweep collects, recomputed from the models themselves
    _, test = result.data[3]
    m = result.metrics
    assert m["K3.mlp.test_accuracy"] == np.mean(result.mlps[3].predict(test.X).argmax(1) == test.y)
    assert m["K3.lift.test_accuracy"] == result.lifts[3].accuracy(test.X, test.y)
    assert m["K3.regions"] == result.regions[3].count == pc["region_counts"][-1]
    fig = result.plot()
    assert isinstance(fig, Figure)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), pc["degree_sweep"])


def test_topology_figures_need_no_mathtext():
    """Log-axis labels and x1/x2 are plain text: matplotlib's mathtext parser (hundreds of
    milliseconds at first use) is never started by the topology figures (issue 18)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from tinylens.viz.geometry import plot_separability
    from tinylens.viz.topology import plain_log_ticks

    fig = plot_separability(["input", "layer 1", "layer 2", "logits"], {"K=3": [0.5, 1, 1, 1]},
                            region_counts={"K=3": [1793, 4084]})  # fmt: skip
    plain_log_ticks(fig.axes[1])
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[1]
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()]
    shown = [t for t in labels if t]
    assert "2,000" in shown and "4,000" in shown
    assert not any("$" in t for t in labels)
