"""The plain training study (``tinylens.studies.train``): its config (``hidden``, with ``arch`` as
an alias), a run that is exactly "data, MLP, fit" and writes nothing, the writer, the command, and
the result's notebook surface; each number recomputed another way."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest

import tinylens as tl
from tinylens.cli.main import main
from tinylens.data import load_dataset
from tinylens.errors import ConfigError, ShapeError
from tinylens.studies import train
from tinylens.training import TrainConfig

# float32 logits by two routes (the engine and a NumPy forward here) differ by a few ulps.
F32 = 1e-5

SMALL = {"data": "spiral", "data_params": {"n": 150}, "train": {"epochs": 4, "batch_size": 32}}


def _weights(net):
    return {k: v.copy() for k, v in net.state_dict().items()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# -- config ----------------------------------------------------------------------------------------


def test_arch_is_an_alias_for_hidden_and_the_ends():
    by_arch = train.TrainStudyConfig(arch=(2, 16, 8, 3))
    assert (by_arch.hidden, by_arch.inputs, by_arch.outputs) == ((16, 8), 2, 3)
    assert train.TrainStudyConfig.from_dict({"arch": [2, 16, 8, 3]}) == by_arch
    assert "arch" not in by_arch.to_dict() and by_arch.to_dict()["hidden"] == [16, 8]
    assert train.TrainStudyConfig.from_dict(by_arch.to_dict()) == by_arch  # round trip
    # the default: hidden widths only, ends from the data
    default = train.TrainStudyConfig()
    assert (default.hidden, default.inputs, default.outputs) == ((64, 32), None, None)
    # a config.yaml of the old layout (arch: null) still loads
    assert train.TrainStudyConfig.from_dict({"arch": None, "data": "xor"}).hidden == (64, 32)


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"arch": [2, 8, 3], "hidden": [8]}, "give the widths once"),
        ({"arch": [3]}, "arch needs at least an input and an output width"),
        ({"arch": [2, "x", 3]}, "arch must be a list of widths"),
        ({"hidden": [8, 0]}, "hidden widths must be positive"),
        ({"hiden": [8]}, "unknown training-study setting 'hiden' (did you mean 'hidden'?)"),
        ({"inputs": 0}, "inputs and outputs must be positive widths"),
    ],
)
def test_bad_widths_are_one_clear_error(d, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        train.TrainStudyConfig.from_dict(d)


# -- run -------------------------------------------------------------------------------------------


def test_run_is_data_then_mlp_then_fit_bit_for_bit_and_arch_changes_nothing():
    cfg = train.TrainStudyConfig.from_dict({**SMALL, "hidden": [8], "seed": 3})
    result = train.run(cfg, progress=False)
    # by hand: the same seed splits the data, draws the weights and shuffles, in that order
    data = load_dataset("spiral", n=150, rng=3)
    gen = np.random.default_rng(3)
    part, held = data.split(0.2, rng=gen)
    net = tl.MLP([2, 8, 3], rng=gen)
    tl.fit(net, part, TrainConfig(epochs=4, batch_size=32), rng=gen, val=held,
           quiet=True)  # fmt: skip
    assert _same_weights(_weights(result.net), _weights(net))
    assert np.array_equal(result.val.X, held.X)
    by_arch = train.run(train.TrainStudyConfig.from_dict({**SMALL, "arch": [2, 8, 3], "seed": 3}),
                        progress=False)  # fmt: skip
    assert _same_weights(_weights(by_arch.net), _weights(net))


def test_metrics_recomputed_from_the_trained_weights():
    result = train.run(train.TrainStudyConfig.from_dict({**SMALL, "hidden": [8]}), progress=False)
    net, val = result.net, result.val
    # a plain NumPy forward of the final weights (x @ W.T + b, ReLU, x @ W.T + b)
    W0, b0 = net.layers[0].weight.data, net.layers[0].bias.data
    W2, b2 = net.layers[2].weight.data, net.layers[2].bias.data
    logits = np.maximum(val.X @ W0.T + b0, 0) @ W2.T + b2
    assert result.metrics["val_accuracy"] == np.mean(logits.argmax(1) == val.y)
    z = logits - logits.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    ce = -np.mean(log_p[np.arange(len(val.y)), val.y])
    assert math.isclose(result.metrics["val_loss"], ce, rel_tol=F32)
    assert result.metrics["parameters"] == (2 + 1) * 8 + (8 + 1) * 3
    assert result.metrics["epochs_run"] == 4 == len(result.history.epoch)


def test_widths_that_do_not_fit_the_data_name_the_fix():
    cfg = train.TrainStudyConfig.from_dict({**SMALL, "arch": [3, 8, 3]})
    with pytest.raises(ShapeError, match="arch starts with 3 inputs but spiral has 2 features"):
        train.run(cfg, progress=False)
    cfg = train.TrainStudyConfig.from_dict({**SMALL, "arch": [2, 8, 4]})
    with pytest.raises(ShapeError, match="end it with 3"):
        train.run(cfg, progress=False)


def test_run_writes_nothing_and_write_writes_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = train.run(train.TrainStudyConfig.from_dict({**SMALL, "hidden": [6]}), progress=False)
    assert os.listdir(tmp_path) == []
    from tinylens.io import RunDir

    run_dir = RunDir(tmp_path / "out")
    train.write(result, run_dir)
    run_dir.finish()
    out = tmp_path / "out"
    assert {"config.yaml", "metrics.json", "history.csv", "model.safetensors", "loss.png",
            "boundary.png"} <= set(os.listdir(out))  # fmt: skip
    assert _same_weights(_weights(tl.load(out / "model.safetensors")), _weights(result.net))
    import yaml

    assert yaml.safe_load((out / "config.yaml").read_text())["hidden"] == [6]
    assert len((out / "history.csv").read_text().splitlines()) == 1 + 4


# -- the command -----------------------------------------------------------------------------------

CMD = ["train", "--data", "spiral", "--data-param", "n=150", "--epochs", "3", "--quiet"]


def test_hidden_and_arch_train_the_same_network_and_not_both(tmp_path):
    assert main([*CMD, "--hidden", "8", "--out", str(tmp_path / "h")]) == 0
    assert main([*CMD, "--arch", "2,8,3", "--out", str(tmp_path / "a")]) == 0
    a = tl.load(tmp_path / "a" / "model.safetensors")
    h = tl.load(tmp_path / "h" / "model.safetensors")
    assert h.sizes == [2, 8, 3] and _same_weights(_weights(a), _weights(h))
    with pytest.raises(SystemExit) as info:
        main([*CMD, "--hidden", "8", "--arch", "2,8,3", "--out", str(tmp_path / "x")])
    assert info.value.code == 2


def test_a_huge_hidden_width_is_refused_before_anything_is_built(capsys):
    assert main([*CMD, "--hidden", "1000000000,1000000000"]) == 2
    err = capsys.readouterr().err
    assert "--hidden (with one input and one output) 1,1000000000,1000000000,1 makes" in err


# -- the result in a notebook ----------------------------------------------------------------------


def test_the_result_shows_itself():
    pd = pytest.importorskip("pandas")
    result = train.run(train.TrainStudyConfig.from_dict({**SMALL, "hidden": [8]}), progress=False)
    text = repr(result)
    assert text.startswith("TrainResult(data='spiral', net='2-8-3'") and len(text) < 300
    page = result._repr_html_()
    assert page.count("<table>") == 1 and "data:image/png;base64," in page
    assert tl.io.format_number(result.metrics["val_accuracy"]) in page
    frame = result.to_pandas()
    assert frame["val_loss"].tolist() == result.history.val_loss
    assert pd.DataFrame(result.to_dict()).equals(frame)
    fig = result.plot()
    assert fig.axes and fig.axes[0].lines


def test_a_diverged_run_leaves_no_resume_point_so_a_smaller_rate_is_a_new_run(tmp_path, capsys):
    out = tmp_path / "run"
    huge = ["--hidden", "8", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "30"]
    assert main([*CMD, *huge, "--out", str(out)]) == 2
    assert "diverged" in capsys.readouterr().err.lower()
    partial = tmp_path / ".run.partial"
    assert not (partial / "checkpoint.safetensors").exists()
    assert not (partial / "checkpoint.json").exists()
    # the same command with a sane rate trains from scratch, not "other settings waiting"
    assert main([*CMD, "--hidden", "8", "--lr", "0.01", "--out", str(out)]) == 0
    assert (out / "model.safetensors").exists() and not (out / "checkpoint.json").exists()
