"""The optimizer study's settings (:class:`OptimizerStudyConfig`), read from the YAML layout of
msmrexe/interpretable-neural-basis-decomposition (see :mod:`.layout`) or built directly.

>>> cfg = OptimizerStudyConfig.from_dict({"optimizer_params": {"momentum": {"beta": 0.8}}})
>>> cfg.optimizer_params["ema_momentum"]["momentum"], cfg.optimizer_params["momentum"]["momentum"]
(0.8, 0.9)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tinylens.engine import ACTIVATIONS, OPTIMIZERS
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.studies.optimizers.hyper import (
    _normalise_hyper,
    resolved_hyperparameters,
    source_momentum,
)
from tinylens.studies.optimizers.layout import (
    _DATA,
    _MODEL,
    _TOP,
    _TRAINING,
    _YAML_NAMES,
    _check_keys,
    read_config_file,
)
from tinylens.training import TrainConfig

__all__ = ["ALL_OPTIMIZERS", "STUDY_DATASETS", "OptimizerStudyConfig"]

#: What ``--optimizer all`` runs: every preset but adagrad. Both momentum rules run, each named
#: for what it is: ``momentum`` is PyTorch's heavy ball, ``ema_momentum`` the rule
#: msmrexe/interpretable-neural-basis-decomposition calls "Momentum".
ALL_OPTIMIZERS = ("sgd", "momentum", "ema_momentum", "nesterov", "adam", "adamw", "rmsprop")
STUDY_DATASETS = ("mnist", "digits", "spiral", "sine")

# Per dataset: hidden widths, activation, default target loss (on the training loss), and why.
_DATASET_DEFAULTS: dict[str, tuple[tuple[int, ...], str, float]] = {
    "mnist": ((128, 64), "relu", 0.1),
    "digits": ((128, 64), "relu", 0.1),
    "spiral": ((128, 64), "relu", 0.3),
    "sine": ((64, 64), "tanh", 0.05),
}


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(
            f"{_YAML_NAMES.get(name, name)} must be a positive integer, got {value!r}"
        )


@dataclass(frozen=True)
class OptimizerStudyConfig:
    """What ``tinylens optimizers`` compares.

    The defaults are the settings of msmrexe/interpretable-neural-basis-decomposition's
    optimizer benchmark: a 784-128-64-10 ReLU MLP (64-128-64-10 on digits, 2-128-64-K on the
    spiral), batch 64, 20 epochs, SGD lr 0.01, Momentum lr 0.01 and beta 0.9, Adam lr 0.001,
    betas (0.9, 0.999), eps 1e-8 (the engine's presets). Its Momentum is ``ema_momentum``;
    heavy-ball ``momentum`` at the same lr and 0.9 is PyTorch's rule, run beside it. The
    digits, the sine and the other optimizers are tinylens' additions. Build it from the
    YAML layout with :meth:`from_dict`; :meth:`to_dict` gives that layout back, resolved.

    Parameters
    ----------
    dataset : {"mnist", "digits", "spiral", "sine"}
    optimizers : tuple of str
        Presets of :data:`tinylens.engine.OPTIMIZERS`; ``"all"`` is :data:`ALL_OPTIMIZERS`.
    seeds : int
        Seeds per optimizer: ``seed, seed + 1, ..., seed + seeds - 1``. Each seed fixes the
        initial weights and the minibatch order, the same for every optimizer.
    seed : int
        The first seed; also seeds the data splits.
    epochs, batch_size : int
    hidden : tuple of int, optional
        Hidden widths; None is (128, 64) for images and the spiral, (64, 64) for the sine.
    activation : str, optional
        None is ``relu``, ``tanh`` for the sine (a smooth target wants a smooth activation).
    mnist_train_size, digits_train_size : int, optional
        Use a stratified subset of this many training images (None: all).
    mnist_test_size : int
        Test images when only the MNIST test set is at hand and is split (2,000 of 10,000).
    spiral_points, spiral_classes, spiral_noise :
        The spiral: points *per class* (as in CS231n's ``N``), classes ``K`` and angle noise.
    sine_points, sine_noise :
        The sine: ``sin(x)`` on ``[0, 2π]`` plus Gaussian noise.
    test_fraction : float
        Held-out test fraction for the spiral and the sine.
    data_dir : str, optional
        A directory with the MNIST IDX files.
    download : bool
        Fetch MNIST from the standard mirrors (md5-checked) when it is not local.
    optimizer_params : dict
        Per optimizer: lr, momentum, betas, eps, weight_decay (the spellings of
        msmrexe/interpretable-neural-basis-decomposition, learning_rate, beta, beta1, beta2 and
        epsilon, work too; its ``momentum`` entry is read as ``ema_momentum``). Resolved on
        construction: it then holds every selected optimizer's full hyperparameters.
    target_loss : float, optional
        Training loss to reach (epoch mean); None picks one per dataset.
    tune : bool
        Run a learning-rate grid per optimizer on a validation split of the training data
        and compare each optimizer at its best rate.
    tune_factors : tuple of float
        The grid: each optimizer's lr times these factors.
    tune_seeds : int
        Seeds per grid point (scores are averaged).
    val_fraction : float
        Validation share of the training data when tuning.
    paths : bool
        Also trace the optimizers on the 2-D surfaces (Rosenbrock, Beale, a 2-parameter net).
    path_steps : int
    """

    dataset: str = "digits"
    optimizers: tuple[str, ...] = ALL_OPTIMIZERS
    seeds: int = 5
    seed: int = 0
    epochs: int = 20
    batch_size: int = 64
    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    mnist_train_size: int | None = None
    mnist_test_size: int = 2000
    digits_train_size: int | None = None
    spiral_points: int = 300
    spiral_classes: int = 3
    spiral_noise: float = 0.2
    sine_points: int = 2000
    sine_noise: float = 0.1
    test_fraction: float = 0.2
    data_dir: str | None = None
    download: bool = False
    optimizer_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    target_loss: float | None = None
    tune: bool = False
    tune_factors: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    tune_seeds: int = 2
    val_fraction: float = 0.2
    paths: bool = True
    path_steps: int = 500

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.dataset not in STUDY_DATASETS:
            raise UnknownNameError("dataset", self.dataset, STUDY_DATASETS)
        opts: Any = self.optimizers
        if isinstance(opts, str):
            opts = opts.split(",")
        if not isinstance(opts, (list, tuple)) or not all(isinstance(o, str) for o in opts):
            raise ConfigError(f"optimizers must be a list of names (or 'all'), not {opts!r}")
        groups = [ALL_OPTIMIZERS if o.strip() == "all" else (o.strip(),) for o in opts if o]
        names = tuple(dict.fromkeys(n for group in groups for n in group))
        if not names:
            raise ConfigError("optimizers is empty; name at least one (or 'all')")
        for n in names:
            if n not in OPTIMIZERS:
                raise UnknownNameError("optimizer", n, [*OPTIMIZERS, "all"])
        set_(self, "optimizers", names)
        for name in ("seeds", "epochs", "batch_size", "tune_seeds", "path_steps", "spiral_points"):
            _positive_int(name, getattr(self, name))
        for name in ("sine_points", "spiral_classes", "mnist_test_size"):
            _positive_int(name, getattr(self, name))
        if self.spiral_classes < 2:
            raise ConfigError(f"data.spiral.K must be at least 2, got {self.spiral_classes}")
        for name in ("mnist_train_size", "digits_train_size"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("test_fraction", "val_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
                raise ConfigError(f"{name} must be a number in (0, 1), got {value!r}")
        for name in ("spiral_noise", "sine_noise"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise ConfigError(
                    f"{_YAML_NAMES.get(name, name)} must be a finite number >= 0, got {value!r}"
                )
        for name in ("tune", "paths", "download"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"data_dir must be a path, not {self.data_dir!r}")
        hidden, act, target = _DATASET_DEFAULTS[self.dataset]
        widths = tuple(int(h) for h in (self.hidden or hidden))
        if any(h < 1 for h in widths):
            raise ConfigError(f"model.hidden must be positive widths, got {list(widths)}")
        set_(self, "hidden", widths)
        activation = self.activation or act
        if activation not in ACTIVATIONS:
            raise UnknownNameError("activation", activation, ACTIVATIONS)
        set_(self, "activation", activation)
        tl = target if self.target_loss is None else self.target_loss
        if not (isinstance(tl, (int, float)) and tl > 0 and math.isfinite(tl)):
            raise ConfigError(f"target_loss must be a positive number, got {tl!r}")
        set_(self, "target_loss", float(tl))
        factors = tuple(float(f) for f in self.tune_factors)
        if not factors or any(not (f > 0 and math.isfinite(f)) for f in factors):
            raise ConfigError(f"tune_factors must be positive numbers, got {list(factors)}")
        set_(self, "tune_factors", factors)
        given, from_source = source_momentum(
            _check_keys(self.optimizer_params, OPTIMIZERS, "optimizer_params")
        )
        if from_source and "momentum" in names and "ema_momentum" not in names:
            raise ConfigError(
                "optimizer_params.momentum is spelled as in msmrexe/interpretable-neural-basis-"
                "decomposition (learning_rate, beta): that is its rule v = beta v + (1 - beta) g, "
                "ema_momentum, which optimizers does not list beside momentum (PyTorch's heavy "
                "ball); add ema_momentum, or spell heavy-ball settings lr, momentum"
            )
        overrides = {n: _normalise_hyper(n, v) for n, v in given.items()}
        resolved = {n: resolved_hyperparameters(n, overrides.get(n)) for n in names}
        for n, hp in resolved.items():
            if not (hp["lr"] > 0 and math.isfinite(hp["lr"])):
                raise ConfigError(f"optimizer_params.{n}.lr must be positive, got {hp['lr']}")
        set_(self, "optimizer_params", resolved)

    # -- the YAML layout ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration in the YAML layout that :meth:`from_dict` reads."""
        data: dict[str, dict[str, Any]] = {}
        for ds, keys in _DATA.items():
            data[ds] = {k: getattr(self, attr) for k, attr in keys.items()}
        return {
            "dataset": self.dataset,
            "optimizers": list(self.optimizers),
            "seeds": self.seeds,
            "seed": self.seed,
            "target_loss": self.target_loss,
            "test_fraction": self.test_fraction,
            "data_dir": self.data_dir,
            "download": self.download,
            "tune": self.tune,
            "tune_factors": list(self.tune_factors),
            "tune_seeds": self.tune_seeds,
            "val_fraction": self.val_fraction,
            "paths": self.paths,
            "path_steps": self.path_steps,
            "data": data,
            "model": {"hidden": list(self.hidden or ()), "activation": self.activation},
            "training": {"epochs": self.epochs, "batch_size": self.batch_size},
            "optimizer_params": {n: dict(v) for n, v in self.optimizer_params.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> OptimizerStudyConfig:
        """Build from the YAML layout (msmrexe/interpretable-neural-basis-decomposition's keys
        included); unknown keys are an error.

        >>> OptimizerStudyConfig.from_dict({"training": {"epoch": 5}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinylens.errors.ConfigError: unknown config key 'training.epoch' (did you mean ...
        """
        top = _check_keys(d, _TOP, "")
        kwargs: dict[str, Any] = {}
        for key in _TOP:
            if key in top and key not in ("data", "model", "training"):
                kwargs[key] = top[key]
        data = _check_keys(top.get("data"), _DATA, "data")
        for ds, section in data.items():
            for k, v in _check_keys(section, _DATA[ds], f"data.{ds}").items():
                kwargs[_DATA[ds][k]] = v
        for k, v in _check_keys(top.get("model"), _MODEL, "model").items():
            kwargs[_MODEL[k]] = v
        for k, v in _check_keys(top.get("training"), _TRAINING, "training").items():
            kwargs[_TRAINING[k]] = v
        if kwargs.get("hidden") is not None:
            hidden = kwargs["hidden"]
            if isinstance(hidden, int):
                hidden = [hidden]
            try:
                kwargs["hidden"] = tuple(int(h) for h in hidden)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"model.hidden must be a list of widths, not {hidden!r}"
                ) from None
        if kwargs.get("optimizer_params") is None:
            kwargs.pop("optimizer_params", None)
        if "tune_factors" in kwargs:
            try:
                kwargs["tune_factors"] = tuple(float(f) for f in kwargs["tune_factors"])
            except (TypeError, ValueError):
                raise ConfigError(
                    f"tune_factors must be a list of numbers, not {kwargs['tune_factors']!r}"
                ) from None
        return cls(**kwargs)

    @classmethod
    def from_yaml(cls, path: str) -> OptimizerStudyConfig:
        """Read a YAML file in the layout of :meth:`from_dict` (e.g. that project's config)."""
        return cls.from_dict(read_config_file(path))

    def train_config(self, name: str, lr: float | None = None) -> TrainConfig:
        """The :class:`TrainConfig` optimizer ``name`` trains with (``lr`` overrides)."""
        hp = dict(self.optimizer_params[name])
        if lr is not None:
            hp["lr"] = lr
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=name,
            lr=hp["lr"],
            momentum=hp.get("momentum"),
            betas=tuple(hp["betas"]) if "betas" in hp else None,
            eps=hp.get("eps"),
            weight_decay=hp.get("weight_decay"),
        )
