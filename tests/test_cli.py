"""The command line: help, version, errors (one line, exit 2), and a real training run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tinylens.cli.main import main, normalise_argv


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "tinylens", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_help_version_and_module_entry_point():
    out = run_cli("--help")
    assert out.returncode == 0 and "train" in out.stdout
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("tinylens 0.")


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["train", "--epochs", "zero"],
            "--epochs: expected a positive integer up to 1,000,000,000, got 'zero'",
        ),
        (["train", "--seed", "-1"], "--seed: expected a seed: an integer >= 0"),
        (["train", "--out", ""], "--out was given an empty value"),
        (["train", "--arch", "2,1000000000,3"], "makes a network of 6,000,000,003 parameters"),
        (["train", "--val-fraction", "nan"], "expected a finite number"),
        (["train", "--arch", "2,x"], "expected comma-separated integers"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["nope"], "invalid choice: 'nope'"),
        (["train", "--data", "spirl", "--quiet"], "unknown dataset 'spirl'"),
        (["train", "--arch", "3,8,3", "--quiet"], "arch starts with 3 inputs but spiral has 2"),
        (["train", "--optimizer", "adma", "--quiet"], "unknown optimizer 'adma'"),
    ],
)
def test_user_mistakes_give_one_line_and_exit_code_2(args, message, tmp_path):
    out = run_cli(*args, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists()


def test_underscore_spelling_of_options():
    assert normalise_argv(["basis", "--hidden_dim", "15", "--out", "my_dir", "--batch_size=3"]) == [
        "basis",
        "--hidden-dim",
        "15",
        "--out",
        "my_dir",
        "--batch-size=3",
    ]


def test_train_writes_a_complete_run_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            "spiral",
            "--data-param",
            "n=300",
            "--arch",
            "2,16,3",
            "--epochs",
            "5",
            "--snapshot-every",
            "5",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["out"] == str(out) and 0 <= summary["val_accuracy"] <= 1
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {
        "config.yaml",
        "metrics.json",
        "history.csv",
        "model.safetensors",
        "loss.png",
        "boundary.png",
        "report.json",
        "index.html",
        "snapshots/epoch_0000.safetensors",
        "snapshots/epoch_0005.safetensors",
    } <= names
    before = (out / "metrics.json").read_text()
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    assert (out / "metrics.json").read_text() == before
    assert (
        main(["train", "--epochs", "1", "--arch", "2,4,3", "--out", str(out), "--quiet", "--force"])
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 1


def test_report_command_rerenders_and_rejects_non_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--arch", "2,4,3", "--out", str(out), "--quiet"]) == 0
    (out / "index.html").unlink()
    assert main(["report", str(out)]) == 0
    assert "<img src='loss.png'" in (out / "index.html").read_text()
    assert main(["report", str(tmp_path)]) == 2
    assert "has no report.json" in capsys.readouterr().err


def test_report_json_and_the_circuit_library_report(tmp_path, capsys):
    lib = tmp_path / "library"
    assert main(["circuits", "list", "--out", str(lib), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == f"report:  {lib / 'index.html'}"
    page = (lib / "index.html").read_text()
    assert page.count("data-kind='circuit'") == 23  # every library entry, drawn
    assert main(["circuits", "list", "--out", str(lib), "--quiet"]) == 2  # never overwritten
    capsys.readouterr()
    assert main(["report", str(lib), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"report": str(lib / "index.html")}


TRAIN = ["train", "--data", "spiral", "--data-param", "n=200", "--arch", "2,8,3", "--epochs", "6",
         "--batch-size", "32", "--quiet"]  # fmt: skip


def test_a_killed_train_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    import importlib

    import numpy as np

    import tinylens as tl

    # the module, not the package's run function that shares its name
    study = importlib.import_module("tinylens.studies.train.run")
    from tinylens.training import Callback

    assert main([*TRAIN, "--out", str(tmp_path / "straight")]) == 0

    class Kill(Callback):
        def on_epoch_end(self, epoch, net, history):
            if epoch == 3:
                raise KeyboardInterrupt  # as if the process were stopped mid-run

    real_fit = study.fit
    monkeypatch.setattr(
        study, "fit", lambda *a, **kw: real_fit(*a, **{**kw, "callbacks": [Kill()]})
    )
    out = tmp_path / "resumed"
    assert main([*TRAIN, "--out", str(out)]) == 130
    assert not out.exists() and (tmp_path / ".resumed.partial" / "checkpoint.safetensors").exists()
    monkeypatch.setattr(study, "fit", real_fit)

    # another seed would continue on other data: refused, until --force starts over
    assert main([*TRAIN, "--out", str(out), "--seed", "1"]) == 2
    assert main([*TRAIN, "--out", str(out)]) == 0
    straight = tl.load(tmp_path / "straight" / "model.safetensors").state_dict()
    resumed = tl.load(out / "model.safetensors").state_dict()
    assert all(np.array_equal(straight[k], resumed[k]) for k in straight)
    assert not (out / "checkpoint.safetensors").exists()  # no resume point in a finished run
    history = (out / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in history[1:]] == ["1", "2", "3", "4", "5", "6"]


def test_force_starts_over_and_other_runs_never_inherit_partial_files(tmp_path):
    partial = tmp_path / ".r.partial"
    partial.mkdir()
    (partial / "stale.png").write_text("left by an interrupted run")
    assert main(["train", "--epochs", "1", "--arch", "2,4,3", "--out", str(tmp_path / "r"),
                 "--quiet", "--force"]) == 0  # fmt: skip
    assert not (tmp_path / "r" / "stale.png").exists()
    import tinylens as tl

    path = tl.save(tl.MLP([2, 3, 1], rng=0), tmp_path / "m.safetensors")
    (tmp_path / ".g.partial").mkdir()
    (tmp_path / ".g.partial" / "stale.png").write_text("x")
    assert main(["regions", str(path), "--box", "-1,1,-1,1", "--out", str(tmp_path / "g"),
                 "--quiet"]) == 0  # fmt: skip
    assert not (tmp_path / "g" / "stale.png").exists()
