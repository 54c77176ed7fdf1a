"""The optimizer study end to end: tiny configs, real training, files and numbers checked."""

from __future__ import annotations

import importlib
import json
import math
import re

import numpy as np
import pytest

from tinylens.cli.main import main
from tinylens.io import RunDir, read_sections
from tinylens.studies.optimizers import OptimizerStudyConfig, run_optimizers

# The module (the package exports its function under the same name, ``run``).
study_module = importlib.import_module("tinylens.studies.optimizers.run")


def tiny(**over):
    d = {
        "dataset": "spiral",
        "optimizers": ["sgd", "adam"],
        "seeds": 3,
        "paths": False,
        "data": {"spiral": {"n_points": 40}},
        "training": {"epochs": 6, "batch_size": 16},
        "target_loss": 0.9,
    }
    d.update(over)
    return OptimizerStudyConfig.from_dict(d)


@pytest.fixture(scope="module")
def result():
    return run_optimizers(tiny(paths=True, path_steps=30), quiet=True)


def test_summary_is_what_the_histories_say(result):
    """Means, sds and times to target recomputed from the raw histories in plain Python."""
    summary = result.summary()
    target = result.config.target_loss
    for name in ("sgd", "adam"):
        runs = [r for r in result.runs if r.optimizer == name]
        assert [r.seed for r in runs] == [0, 1, 2]
        accs = [r.history.val_accuracy[-1] for r in runs]
        mean = sum(accs) / 3
        sd = math.sqrt(sum((a - mean) ** 2 for a in accs) / 2)
        assert summary[name]["test_accuracy_mean"] == pytest.approx(mean, abs=1e-15)
        assert summary[name]["test_accuracy_sd"] == pytest.approx(sd, abs=1e-15)
        assert summary[name]["test_accuracy_min"] == min(accs)
        reached = []
        for r in runs:
            epochs = [
                e
                for e, loss in zip(r.history.epoch, r.history.train_loss, strict=True)
                if loss <= target
            ]
            if epochs:
                reached.append(epochs[0])
        assert summary[name]["reached_target"] == len(reached)
        if reached:
            assert summary[name]["epochs_to_target_mean"] == pytest.approx(np.mean(reached))
        assert summary[name]["lr"] == {"sgd": 0.01, "adam": 0.001}[name]
    curves = result.curves("val_accuracy")
    assert curves["adam"].shape == (3, 6)
    assert curves["adam"][:, -1].tolist() == [
        r.history.val_accuracy[-1] for r in result.runs if r.optimizer == "adam"
    ]


def test_same_seed_same_start_and_same_numbers():
    cfg = tiny(optimizers=["momentum"], seeds=2)
    a, b = run_optimizers(cfg, quiet=True), run_optimizers(cfg, quiet=True)
    for ra, rb in zip(a.runs, b.runs, strict=True):
        assert ra.history.train_loss == rb.history.train_loss  # bit for bit
        assert ra.history.val_accuracy == rb.history.val_accuracy
    # Different seeds start from different weights.
    assert a.runs[0].history.train_loss != a.runs[1].history.train_loss


def test_save_writes_the_report(result, tmp_path):
    run = RunDir(tmp_path / "opt")
    result.save(run)
    run.finish()
    out = tmp_path / "opt"
    for name in (
        "config.yaml",
        "metrics.json",
        "curves.csv",
        "curves.png",
        "final.png",
        "paths_rosenbrock.png",
        "paths_beale.png",
        "paths_net.png",
        "moments.png",
        "update_rules.html",
        "weights/adam_seed0.safetensors",
    ):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_source"] == "spiral" and metrics["n_train"] + metrics["n_test"] == 120
    assert set(metrics["paths"]) == {"rosenbrock", "beale", "net"}
    assert len(metrics["runs"]) == 6
    # curves.csv: one row per optimizer, seed and epoch.
    assert len((out / "curves.csv").read_text().splitlines()) == 1 + 2 * 3 * 6
    _, sections = read_sections(out)
    (section,) = sections
    assert any("Unfair by construction" in n for n in section.notes)
    titles = [t.title for t in section.tables]
    assert "update rules (plain text)" in titles and "paths on 2-D surfaces" in titles
    assert any(t.title.startswith("time to reach a training loss of 0.9") for t in section.tables)
    assert any(f.kind == "html" and f.path == "update_rules.html" for f in section.figures)


def test_tuning_uses_a_validation_split_never_the_test_set(monkeypatch):
    calls = []
    real_fit = study_module.fit

    def spy(net, data, config, *, val, **kw):
        calls.append((data.n, val.n, val is test_set[0]))
        return real_fit(net, data, config, val=val, **kw)

    test_set = [None]
    real_load = study_module.load_study_data

    def load(cfg):
        data = real_load(cfg)
        test_set[0] = data.test
        return data

    monkeypatch.setattr(study_module, "fit", spy)
    monkeypatch.setattr(study_module, "load_study_data", load)
    cfg = tiny(tune=True, tune_factors=[0.1, 1.0, 10.0], tune_seeds=1, seeds=2)
    res = run_optimizers(cfg, quiet=True)
    tuning_calls, final_calls = calls[: 2 * 3], calls[2 * 3 :]
    assert not any(on_test for _, _, on_test in tuning_calls)
    assert all(on_test for _, _, on_test in final_calls) and len(final_calls) == 4
    n_fit, n_val = res.tuning["n_fit"], res.tuning["n_val"]
    assert all((n, v) == (n_fit, n_val) for n, v, _ in tuning_calls)
    assert n_fit + n_val == res.data.train.n
    for name, g in res.tuning["grid"].items():
        best = g["lrs"][int(np.argmin(g["val_loss"]))]
        assert res.lrs[name] == g["chosen"] == best
        assert all(r.hyperparameters["lr"] == best for r in res.runs if r.optimizer == name)
    assert not any("Unfair" in n for n in res.notes())


def test_a_diverging_optimizer_is_recorded_not_fatal():
    cfg = tiny(optimizer_params={"sgd": {"lr": 1e4}}, seeds=2)
    res = run_optimizers(cfg, quiet=True)
    s = res.summary()
    assert s["sgd"]["diverged"] == 2 and math.isnan(s["sgd"]["test_accuracy_mean"])
    assert s["adam"]["diverged"] == 0 and s["adam"]["test_accuracy_mean"] > 0
    assert any("diverged" in n for n in res.notes())
    assert "training diverged at epoch" in res.runs[0].diverged


def test_sine_is_a_regression_study(tmp_path):
    cfg = OptimizerStudyConfig.from_dict(
        {
            "dataset": "sine",
            "optimizers": ["adam"],
            "seeds": 2,
            "paths": False,
            "data": {"sine": {"n_points": 100}},
            "training": {"epochs": 3},
        }
    )
    res = run_optimizers(cfg, quiet=True)
    assert not res.classification and res.data.sizes == [1, 64, 64, 1]
    assert cfg.activation == "tanh"
    assert "test_accuracy_mean" not in res.summary()["adam"]
    assert any("Sine regression" in n for n in res.notes())
    run = RunDir(tmp_path / "s")
    res.save(run)
    assert (run.work / "final.png").is_file()


def test_mnist_uses_the_genuine_test_images_and_says_so(mnist_test_only_dir):
    cfg = OptimizerStudyConfig.from_dict(
        {
            "dataset": "mnist",
            "data_dir": str(mnist_test_only_dir),
            "optimizers": ["adam"],
            "seeds": 1,
            "paths": False,
            "data": {"mnist": {"train_size": 600}},
            "training": {"epochs": 1},
        }
    )
    res = run_optimizers(cfg, quiet=True)
    assert res.data.source == "mnist-test-split"
    assert res.data.sizes == [784, 128, 64, 10]
    assert (res.data.train.n, res.data.test.n) == (600, 2000)
    assert any("genuine MNIST test images" in n for n in res.notes())


def test_mnist_uses_the_full_training_set_when_present(mnist_full_dir):
    cfg = OptimizerStudyConfig.from_dict(
        {
            "dataset": "mnist",
            "data_dir": str(mnist_full_dir),
            "optimizers": ["adam"],
            "seeds": 1,
            "paths": False,
            "data": {"mnist": {"train_size": 600}},  # a subset of the 60,000: CI's time
            "training": {"epochs": 1},
        }
    )
    res = run_optimizers(cfg, quiet=True)
    assert res.data.source == "mnist" and res.data.sizes == [784, 128, 64, 10]
    assert (res.data.train.n, res.data.test.n) == (600, 10_000)
    assert res.data.train.name == "mnist-train"
    assert not any("genuine MNIST test images" in n for n in res.notes())


def test_cli_end_to_end_on_digits(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "optimizers",
            "--dataset",
            "digits",
            "--optimizer",
            "sgd,momentum",
            "--seeds",
            "2",
            "--epochs",
            "2",
            "--train-size",
            "300",
            "--path-steps",
            "20",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["data_source"] == "digits" and summary["n_train"] == 300
    assert summary["model"] == [64, 128, 64, 10]
    assert set(summary["summary"]) == {"sgd", "momentum"}
    assert (out / "index.html").is_file() and (out / "paths_net.png").is_file()
    html = (out / "index.html").read_text()
    assert "<math" in html and "Unfair by construction" in html


def test_report_says_when_seeds_do_not_separate_optimizers():
    from tinylens.studies.optimizers.write import _resolution

    def s(mean, sd):
        return {"test_accuracy_mean": mean, "test_accuracy_sd": sd}

    summary = {"a": s(0.96, 0.01), "b": s(0.952, 0.004), "c": s(0.88, 0.01)}
    assert _resolution(summary, ["a", "b", "c"], True) == (
        " b is within one sd of a: these seeds do not separate them."
    )
    del summary["b"]
    assert "a is ahead of the others by more than one sd" in _resolution(summary, ["a", "c"], True)


def test_the_result_shows_itself_in_a_notebook(result):
    from matplotlib.figure import Figure

    summary = result.summary()
    text = repr(result)
    assert text.startswith("OptimizerStudyResult(spiral, 2 optimizers x 3 seeds, 6 epochs; best ")
    assert "\n" not in text and "[" not in text and len(text) < 200  # numbers, never arrays
    best = max(summary, key=lambda n: summary[n]["test_accuracy_mean"])
    assert result.ranked()[0] == best and f"best {best} test accuracy" in text
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 2 and "data:image/png;base64," in page
    frame = result.to_pandas()
    assert list(frame.index) == ["sgd", "adam"]
    assert frame.loc["adam", "test_accuracy_mean"] == summary["adam"]["test_accuracy_mean"]
    header, rows = result.table()
    assert [r[0] for r in rows] == ["sgd", "adam"] and header[2] == "test accuracy mean"
    assert rows[1][2:4] == [
        summary["adam"]["test_accuracy_mean"],
        summary["adam"]["test_accuracy_sd"],
    ]
    fig = result.plot()
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    sgd = ax.get_lines()[0].get_ydata()  # the mean over seeds, from the raw histories
    expected = np.mean([r.history.train_loss for r in result.runs if r.optimizer == "sgd"], axis=0)
    np.testing.assert_allclose(sgd, expected, rtol=1e-12)
    other = Figure()
    assert result.plot(ax=other.subplots()) is other
    first = result.runs[0]
    assert repr(first) == (
        f"OptimizerRun(sgd, seed 0, lr 0.01, 6 epochs, final train loss "
        f"{first.history.train_loss[-1]:.4g})"
    )


def test_to_pandas_names_pandas_when_it_is_missing(result, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    # the one message of every result's to_pandas (tinylens._optional.require_pandas)
    message = "to_pandas() (or use summary(), a dict) needs pandas, which is not installed; "
    with pytest.raises(
        ImportError, match=re.escape(message + "run: pip install 'tinylens[notebook]'")
    ):
        result.to_pandas()


def test_all_runs_both_momentum_rules_and_the_table_stays_aligned(tmp_path, capsys):
    """--optimizer all includes PyTorch's heavy ball and the EMA rule of
    msmrexe/interpretable-neural-basis-decomposition; with a 12-character name in the table
    every column still starts where its header does."""
    args = ["optimizers", "--dataset", "spiral", "--optimizer", "all", "--seeds", "1"]
    args += ["--epochs", "2", "--no-paths", "--out", str(tmp_path / "o")]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: {spiral: {n_points: 20}}\n")
    assert main([*args, "--config", str(cfg)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1]
    rows = [ln for ln in lines[2:] if ln.startswith("  ") and not ln.startswith("  note")]
    names = [row.split()[0] for row in rows]
    assert names == ["sgd", "momentum", "ema_momentum", "nesterov", "adam", "adamw", "rmsprop"]
    lr_end = header.index(" lr") + 3
    score = header.index("test accuracy")
    reach = header.index("epochs to loss")
    for row in rows:
        assert row[lr_end - 1] != " " and row[lr_end] == " ", row  # lr right-aligned under "lr"
        assert row[score - 1] == " " and row[score] != " ", row
        assert row[reach - 1] == " " and row[reach] != " ", row
    # Both rules ran, and they are not the same rule: their curves differ.
    import json

    report = json.loads((tmp_path / "o" / "metrics.json").read_text())
    loss = {r["optimizer"]: r["history"]["train_loss"] for r in report["runs"]}
    assert loss["momentum"] != loss["ema_momentum"]
    page = (tmp_path / "o" / "index.html").read_text()
    assert "ema_momentum (EMA momentum)" in page
    assert "the rule msmrexe/interpretable-neural-basis-decomposition calls Momentum" in page
    assert any("Two momentum rules ran" in line for line in lines)
