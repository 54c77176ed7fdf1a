"""The optimizer study's YAML layout: the keys of msmrexe/interpretable-neural-basis-decomposition's
``configs/default_config.yaml`` (``data.mnist.train_size``, ``data.spiral.{n_points, K, sigma}``,
``training.{epochs, batch_size}``, ``optimizer_params.<name>.*``) plus tinylens' own, and the
one-line errors for keys that are not in it."""

from __future__ import annotations

from typing import Any

from tinylens.errors import ConfigError, close_matches

__all__ = ["read_config_file"]

# The YAML layout: msmrexe's keys (data.mnist.train_size, data.spiral.{n_points, K, sigma},
# training.{epochs, batch_size}, optimizer_params.<name>.*) plus tinylens' own.
_TOP = (
    "dataset",
    "optimizers",
    "seeds",
    "seed",
    "target_loss",
    "test_fraction",
    "data_dir",
    "download",
    "tune",
    "tune_factors",
    "tune_seeds",
    "val_fraction",
    "paths",
    "path_steps",
    "data",
    "model",
    "training",
    "optimizer_params",
)
_DATA = {
    "mnist": {"train_size": "mnist_train_size", "test_size": "mnist_test_size"},
    "digits": {"train_size": "digits_train_size"},
    "spiral": {"n_points": "spiral_points", "K": "spiral_classes", "sigma": "spiral_noise"},
    "sine": {"n_points": "sine_points", "noise": "sine_noise"},
}
_MODEL = {"hidden": "hidden", "activation": "activation"}
_TRAINING = {"epochs": "epochs", "batch_size": "batch_size"}


def _leaf_paths() -> dict[str, list[str]]:
    """Nested keys by their last part: ``{"epochs": ["training.epochs"], ...}``."""
    leaves: dict[str, list[str]] = {}
    for ds, keys in _DATA.items():
        for k in keys:
            leaves.setdefault(k, []).append(f"data.{ds}.{k}")
    for section, keys in (("model", _MODEL), ("training", _TRAINING)):
        for k in keys:
            leaves.setdefault(k, []).append(f"{section}.{k}")
    return leaves


def _check_keys(mapping: Any, known: Any, where: str) -> dict[str, Any]:
    """``mapping`` as a dict, or ConfigError naming the first unknown key (dotted) and the known."""
    prefix = f"{where}." if where else ""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where or 'the config'} must be a mapping, not {mapping!r}")
    for key in mapping:
        if key not in known:
            near = [f"{prefix}{n}" for n in close_matches(str(key), [str(k) for k in known])]
            if not where:  # a nested key given at the top: point to where it lives
                leaves = _leaf_paths()
                near += [p for n in close_matches(str(key), list(leaves)) for p in leaves[n]]
            hint = f" (did you mean {' or '.join(repr(n) for n in near[:3])}?)" if near else ""
            raise ConfigError(
                f"unknown config key {prefix + str(key)!r}{hint}; known keys"
                f"{' under ' + where if where else ''}: {', '.join(sorted(map(str, known)))}"
            )
    return dict(mapping)


def read_config_file(path: str) -> dict[str, Any]:
    """The mapping in a YAML file (empty file: {}); ConfigError if missing or malformed."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            d = yaml.safe_load(fh)
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, not {d!r}")
    return d


# Field -> its key in the YAML layout, so messages name what the user wrote.
_YAML_NAMES = {
    **{attr: f"data.{ds}.{k}" for ds, keys in _DATA.items() for k, attr in keys.items()},
    **{attr: f"model.{k}" for k, attr in _MODEL.items()},
    **{attr: f"training.{k}" for k, attr in _TRAINING.items()},
}


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(
            f"{_YAML_NAMES.get(name, name)} must be a positive integer, got {value!r}"
        )
