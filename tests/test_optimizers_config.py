"""The optimizer study's config: the source's YAML keys, defaults, and unknown keys as errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tinylens.cli.main import main
from tinylens.errors import ConfigError
from tinylens.studies.optimizers import (
    ALL_OPTIMIZERS,
    OptimizerStudyConfig,
    load_study_data,
    resolved_hyperparameters,
)

ROOT = Path(__file__).resolve().parent.parent

# The source project's config file, key for key.
SOURCE_YAML = """
data:
  mnist:
    train_size: 5000
  spiral:
    n_points: 40
    K: 4
    sigma: 0.3
training:
  epochs: 7
  batch_size: 32
optimizer_params:
  sgd:
    learning_rate: 0.05
  momentum:
    learning_rate: 0.02
    beta: 0.8
  adam:
    learning_rate: 0.002
    beta1: 0.85
    beta2: 0.99
    epsilon: 1.0e-7
"""


def test_the_source_keys_map_onto_the_config():
    cfg = OptimizerStudyConfig.from_dict(yaml.safe_load(SOURCE_YAML))
    assert cfg.mnist_train_size == 5000
    assert (cfg.spiral_points, cfg.spiral_classes, cfg.spiral_noise) == (40, 4, 0.3)
    assert (cfg.epochs, cfg.batch_size) == (7, 32)
    assert cfg.optimizer_params["sgd"]["lr"] == 0.05
    # The source's Momentum is v = beta v + (1 - beta) g: its entry is read as ema_momentum, and
    # PyTorch's heavy-ball momentum keeps its preset (issue 16).
    assert cfg.optimizer_params["ema_momentum"] == {
        "lr": 0.02,
        "momentum": 0.8,
        "weight_decay": 0.0,
    }
    assert cfg.optimizer_params["momentum"] == {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0}
    assert cfg.train_config("ema_momentum").optimizer == "ema_momentum"
    adam = cfg.optimizer_params["adam"]
    assert adam["lr"] == 0.002 and adam["betas"] == [0.85, 0.99] and adam["eps"] == 1e-7
    tc = cfg.train_config("adam")
    assert (tc.optimizer, tc.lr, tc.betas, tc.eps, tc.epochs, tc.batch_size) == (
        "adam",
        0.002,
        (0.85, 0.99),
        1e-7,
        7,
        32,
    )
    # Optimizers the file does not mention keep their presets.
    assert cfg.optimizer_params["rmsprop"]["lr"] == 0.01


def test_defaults_are_the_source_settings():
    cfg = OptimizerStudyConfig(dataset="mnist")
    assert cfg.hidden == (128, 64) and cfg.activation == "relu"
    assert (cfg.epochs, cfg.batch_size, cfg.seeds) == (20, 64, 5)
    assert cfg.optimizers == ALL_OPTIMIZERS
    assert resolved_hyperparameters("sgd")["lr"] == 0.01
    assert resolved_hyperparameters("momentum")["lr"] == 0.01
    assert resolved_hyperparameters("momentum")["momentum"] == 0.9
    adam = resolved_hyperparameters("adam")
    assert (adam["lr"], adam["betas"], adam["eps"]) == (0.001, [0.9, 0.999], 1e-8)


def test_spiral_model_is_2_128_64_k():
    cfg = OptimizerStudyConfig.from_dict(
        {"dataset": "spiral", "data": {"spiral": {"n_points": 10, "K": 5}}}
    )
    data = load_study_data(cfg)
    assert data.sizes == [2, 128, 64, 5]
    assert data.train.n + data.test.n == 50  # n_points is per class, as in CS231n


def test_round_trip_through_the_yaml_layout():
    cfg = OptimizerStudyConfig.from_dict(yaml.safe_load(SOURCE_YAML))
    again = OptimizerStudyConfig.from_dict(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again == cfg
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"epoch": 3}, "unknown config key 'epoch' (did you mean 'training.epochs'?)"),
        ({"seed": 1, "sede": 3}, "unknown config key 'sede' (did you mean 'seed'"),
        ({"training": {"epoch": 3}}, "unknown config key 'training.epoch' (did you mean "),
        (
            {"data": {"spiral": {"n_point": 3}}},
            "unknown config key 'data.spiral.n_point' (did you mean 'data.spiral.n_points'?)",
        ),
        ({"data": {"cifar": {}}}, "unknown config key 'data.cifar'"),
        ({"optimizer_params": {"adma": {}}}, "(did you mean 'optimizer_params.adam' or"),
        ({"optimizer_params": {"adam": {"momentum": 0.9}}}, "adam has no momentum; it takes"),
        ({"optimizer_params": {"sgd": {"lr": -1}}}, "optimizer_params.sgd.lr must be positive"),
        ({"optimizers": ["sgd", "adamm"]}, "unknown optimizer 'adamm'"),
        ({"dataset": "mnits"}, "unknown dataset 'mnits'"),
        ({"seeds": 0}, "seeds must be a positive integer"),
        ({"training": {"epochs": 2.5}}, "training.epochs must be a positive integer, got 2.5"),
        ({"data": {"spiral": {"n_points": 0}}}, "data.spiral.n_points must be a positive"),
        ({"model": {"activation": "rleu"}}, "unknown activation 'rleu'"),
        ({"tune": "yes"}, "tune must be true or false, not 'yes'"),
        ({"optimizers": 3}, "optimizers must be a list of names (or 'all'), not 3"),
    ],
)
def test_bad_keys_and_values_are_one_line_errors(config, message):
    with pytest.raises(ConfigError) as info:
        OptimizerStudyConfig.from_dict(config)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known keys under training: batch_size, epochs"):
        OptimizerStudyConfig.from_dict({"training": {"lr": 0.1}})


def test_the_example_config_file_loads():
    cfg = OptimizerStudyConfig.from_yaml(str(ROOT / "examples" / "optimizers_small.yaml"))
    # The source's momentum entry is its EMA rule, so the file lists both rules (issue 16).
    assert cfg.optimizers == ("sgd", "momentum", "ema_momentum", "adam")
    assert cfg.optimizer_params["ema_momentum"]["momentum"] == 0.9
    assert cfg.optimizer_params["adam"]["eps"] == 1e-8


def test_cli_reports_an_unknown_key_in_the_config_file(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  epochs: 2\n  batchsize: 8\n")
    code = main(["optimizers", "--config", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "unknown config key 'training.batchsize' (did you mean 'training.batch_size'?)" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_options_override_the_config_file(tmp_path):
    from tinylens.cli.main import build_parser
    from tinylens.cli.optimizers import build_config

    path = tmp_path / "c.yaml"
    path.write_text(SOURCE_YAML + "dataset: spiral\nseeds: 4\n")
    args = build_parser().parse_args(
        ["optimizers", "--config", str(path), "--epochs", "3", "--optimizer", "sgd,adam"]
    )
    cfg = build_config(args)
    assert (cfg.dataset, cfg.seeds, cfg.epochs, cfg.batch_size) == ("spiral", 4, 3, 32)
    assert cfg.optimizers == ("sgd", "adam")
    assert cfg.optimizer_params["adam"]["lr"] == 0.002  # from the file


def test_cli_train_size_only_for_images(tmp_path, capsys):
    code = main(["optimizers", "--dataset", "sine", "--train-size", "10", "--quiet"])
    assert code == 2
    assert "--train-size applies to mnist and digits" in capsys.readouterr().err


def test_all_runs_both_momentum_rules_each_named_for_what_it_is():
    assert {"momentum", "ema_momentum"} <= set(ALL_OPTIMIZERS)
    assert OptimizerStudyConfig(optimizers=("all",)).optimizers == ALL_OPTIMIZERS


@pytest.mark.parametrize(
    "entry, heavy_ball",
    [
        ({"learning_rate": 0.02, "beta": 0.8}, False),  # the source's spellings: its EMA rule
        ({"lr": 0.02, "beta": 0.8}, False),
        ({"learning_rate": 0.02}, False),
        ({"lr": 0.02, "momentum": 0.8}, True),  # PyTorch's spellings: heavy ball
    ],
)
def test_the_momentum_entry_is_read_by_its_spelling(entry, heavy_ball):
    cfg = OptimizerStudyConfig.from_dict({"optimizer_params": {"momentum": entry}})
    moved = cfg.optimizer_params["momentum" if heavy_ball else "ema_momentum"]
    kept = cfg.optimizer_params["ema_momentum" if heavy_ball else "momentum"]
    assert moved["lr"] == 0.02
    assert kept == {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0}  # the preset, untouched


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {"optimizer_params": {"momentum": {"beta": 0.8, "momentum": 0.9}}},
            "gives both beta-style",
        ),
        (
            {"optimizer_params": {"momentum": {"beta": 0.8}, "ema_momentum": {"lr": 0.1}}},
            "give it once, under ema_momentum",
        ),
        (
            {"optimizers": ["sgd", "momentum"], "optimizer_params": {"momentum": {"beta": 0.8}}},
            "which optimizers does not list beside momentum",
        ),
    ],
)
def test_ambiguous_momentum_entries_are_one_line_errors(config, message):
    with pytest.raises(ConfigError) as info:
        OptimizerStudyConfig.from_dict(config)
    assert message in str(info.value) and "\n" not in str(info.value)
