"""The SAE study from Python and from the command line, on the offline digits."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinylens as tl
from tinylens.cli.main import main
from tinylens.data import load_image_split
from tinylens.errors import ConfigError
from tinylens.probes import selectivity
from tinylens.studies.sae import SAEStudyConfig, run
from tinylens.superposition import SAETrainConfig, SparseAutoencoder

SMALL = SAETrainConfig(n_latents=48, k=4, steps=40, batch_size=64, lr=3e-3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    split = load_image_split("digits", seed=0)
    net = tl.MLP([64, 24, 10], rng=0)
    tl.fit(net, split.train, tl.TrainConfig(epochs=8, optimizer="adam", lr=0.01), rng=0)
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    tl.save(net, path)
    return net, split, path


def test_python_run_agrees_with_the_probes(trained):
    net, split, _ = trained
    result = run(SAEStudyConfig(data="digits", sae=SMALL, maps=3), model=net, data=split)
    # the study's streaming class means equal the probes' own pass over the same data
    probe = selectivity(net, split.test, "layers.1")
    np.testing.assert_allclose(result.neurons.class_means_, probe.class_means_, rtol=1e-10)
    np.testing.assert_allclose(result.neurons.selectivity_, probe.selectivity_, rtol=1e-8)
    assert result.latents.class_means_.shape == (10, 48)
    assert len(result.polysemantic_units) == 3
    assert result.pixel_maps.maps_.shape == (24, 8, 8)
    assert result.saliency.maps_.shape == (3, 8, 8)
    top = result.top_images["neurons"]
    assert top.images.shape == (3, 9, 8, 8)
    # top images really are each neuron's largest activations on the held-out set
    acts = net.forward_to(split.test.X, "layers.1")
    u = int(top.units[0])
    best = np.sort(acts[:, u])[::-1][:9]
    got = net.forward_to(top.images[0].reshape(9, 64), "layers.1")[:, u]
    np.testing.assert_allclose(got, best, rtol=1e-6)
    m = result.metrics()
    assert m["latents"] == 48 and 0 < m["fraction of variance explained"] <= 1
    assert "SAEStudyResult('layers.1'" in repr(result) and len(repr(result)) < 250
    assert "<table>" in result._repr_html_()
    assert result.to_dict()["measure"][0] == "units"
    assert result.plot().axes[0].get_ylabel() == "share of live units"


def test_config_round_trip_and_unknown_keys():
    cfg = SAEStudyConfig(model="m.safetensors", sae=SMALL)
    assert SAEStudyConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="did you mean 'hook'"):
        SAEStudyConfig.from_dict({"hok": "layers.1"})
    with pytest.raises(ConfigError, match="did you mean 'steps'"):
        SAEStudyConfig.from_dict({"sae": {"step": 3}})


def test_cli_writes_a_run_and_refuses_bad_input(trained, tmp_path, capsys):
    _, _, model = trained
    out = tmp_path / "run"
    args = ["sae", str(model), "--data", "digits", "--latents", "32", "--k", "4", "--steps", "30"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert summary["spliced accuracy"] == metrics["spliced accuracy"]
    for name in ("index.html", "sae.safetensors", "neurons.csv", "latents.csv", "config.yaml"):
        assert (out / name).is_file()
    sae = SparseAutoencoder.load(out / "sae.safetensors")
    assert sae.n_latents == 32 and sae.k == 4 and sae.hook_name == "layers.1"
    # an existing run is never overwritten without --force
    before = (out / "metrics.json").read_text()
    assert main([*args, "--out", str(out), "--quiet"]) == 2
    assert (out / "metrics.json").read_text() == before
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # bad hook point, k larger than the latents: one line, exit 2, nothing written
    for bad, words in (
        (["--hook", "layers.l"], "did you mean"),
        (["--k", "99"], "k must lie in 1..32"),
    ):
        target = tmp_path / "bad"
        assert main([*args, *bad, "--out", str(target), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1
        assert not target.exists()
    # a model with a NaN weight is refused by name, before any training
    net = tl.load(model)
    net.layers[0].weight.data[0, 0] = np.nan
    tl.save(net, tmp_path / "nan.safetensors")
    target = tmp_path / "nan-run"
    assert main(["sae", str(tmp_path / "nan.safetensors"), "--out", str(target), "--quiet"]) == 2
    assert "NaN or infinite" in capsys.readouterr().err and not target.exists()


def test_cli_help_states_the_config_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["sae", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    d = SAETrainConfig()
    for value in (d.n_latents, d.l1, d.steps, d.batch_size, d.lr):
        assert f"(default {value:g})" in text


def test_cnn_channels_through_the_study():
    split = load_image_split("digits", seed=0)
    net = tl.engine.network.small_cnn((8, 8), channels=(4, 8), rng=0)
    cfg = SAEStudyConfig(data="digits", hook="layers.5", sae=SAETrainConfig(16, k=2, steps=10))
    result = run(cfg, model=net, data=split, progress=False)
    assert result.neurons.kind == "channel" and result.sae.d == 8
    assert result.evaluation.n_rows == split.test.n * 16  # 4x4 positions: one pooling before
    probe = selectivity(net, split.test, "layers.5")  # per channel: the mean over positions
    np.testing.assert_allclose(result.neurons.class_means_, probe.class_means_, rtol=1e-6)
    assert result.pixel_maps.maps_.shape == (8, 8, 8)
