"""The optimizer study behind ``tinylens optimizers``: SGD, Momentum, Adam (and more) compared
over several seeds, with error bars, times to a target loss, the update rules, an optional
learning-rate grid per optimizer, and the optimizers' paths on 2-D surfaces.

Every optimizer of a seed starts from the same initial weights and sees the same minibatches,
so differences between optimizers are paired, not confounded with initialisation.

>>> from tinylens.studies.optimizers import OptimizerStudyConfig, run_optimizers
>>> cfg = OptimizerStudyConfig.from_dict({
...     "dataset": "spiral", "optimizers": ["sgd", "adam"], "seeds": 2, "paths": False,
...     "data": {"spiral": {"n_points": 60}}, "training": {"epochs": 3}})
>>> result = run_optimizers(cfg, quiet=True)
>>> sorted(result.summary()), result.curves("train_loss")["adam"].shape
(['adam', 'sgd'], (2, 3))
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.data import Dataset, load_image_split, sine, spiral
from tinylens.engine import ACTIVATIONS, MLP, OPTIMIZERS, Sequential
from tinylens.errors import ConfigError, DivergenceError, UnknownNameError, close_matches
from tinylens.io import RunDir
from tinylens.progress import progress
from tinylens.studies.optimizer_paths import SURFACES, OptimizerPath, optimizer_paths
from tinylens.studies.update_rules import update_rule_text
from tinylens.training import History, TrainConfig, fit
from tinylens.training.threads import limit_blas_threads

__all__ = [
    "ALL_OPTIMIZERS",
    "STUDY_DATASETS",
    "OptimizerRun",
    "OptimizerStudyConfig",
    "OptimizerStudyResult",
    "StudyData",
    "load_study_data",
    "read_config_file",
    "resolved_hyperparameters",
    "run_optimizers",
]

#: What ``--optimizer all`` runs (every preset but the two that are not in the issue).
ALL_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
STUDY_DATASETS = ("mnist", "digits", "spiral", "sine")

# Per dataset: hidden widths, activation, default target loss (on the training loss), and why.
_DATASET_DEFAULTS: dict[str, tuple[tuple[int, ...], str, float]] = {
    "mnist": ((128, 64), "relu", 0.1),
    "digits": ((128, 64), "relu", 0.1),
    "spiral": ((128, 64), "relu", 0.3),
    "sine": ((64, 64), "tanh", 0.05),
}

# The hyperparameters a study may set per optimizer (those TrainConfig passes on), and the
# spellings of our source projects that mean them.
_HYPER = ("lr", "momentum", "betas", "eps", "weight_decay")
_ALIASES = {
    "lr": "lr",
    "learning_rate": "lr",
    "momentum": "momentum",
    "beta": "momentum",
    "betas": "betas",
    "beta1": "beta1",
    "beta2": "beta2",
    "eps": "eps",
    "epsilon": "eps",
    "weight_decay": "weight_decay",
}

# The YAML layout: the source's keys (data.mnist.train_size, data.spiral.{n_points, K, sigma},
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


def _allowed_hyper(name: str) -> tuple[str, ...]:
    cls, _ = OPTIMIZERS[name]
    params = inspect.signature(cls.__init__).parameters
    return tuple(k for k in _HYPER if k in params)


def resolved_hyperparameters(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The hyperparameters preset ``name`` runs with: class defaults < preset < ``overrides``.

    Only those a :class:`~tinylens.training.TrainConfig` can set (lr, momentum, betas, eps,
    weight_decay, as the optimizer accepts them).

    >>> resolved_hyperparameters("adam")
    {'lr': 0.001, 'betas': [0.9, 0.999], 'eps': 1e-08, 'weight_decay': 0.0}
    """
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    cls, preset = OPTIMIZERS[name]
    params = inspect.signature(cls.__init__).parameters
    out: dict[str, Any] = {}
    for key in _allowed_hyper(name):
        value = (overrides or {}).get(key, preset.get(key, params[key].default))
        if key == "betas":
            value = [float(v) for v in value]
        elif value is not None:
            value = float(value)
        out[key] = value
    return out


def _normalise_hyper(name: str, given: Any) -> dict[str, Any]:
    where = f"optimizer_params.{name}"
    given = _check_keys(given, _ALIASES, where)
    allowed = _allowed_hyper(name)
    out: dict[str, Any] = {}
    for key, value in given.items():
        canon = _ALIASES[key]
        target = "betas" if canon in ("beta1", "beta2") else canon
        if target not in allowed:
            accepted = [
                k
                for k, c in _ALIASES.items()
                if c in allowed or (c in ("beta1", "beta2") and "betas" in allowed)
            ]
            raise ConfigError(
                f"{where}.{key}: {name} has no {target}; it takes {', '.join(sorted(accepted))}"
            )
        try:
            if canon == "betas":
                b = [float(v) for v in value]
                if len(b) != 2:
                    raise ValueError
                out["betas"] = b
            elif canon in ("beta1", "beta2"):
                b = out.get("betas") or list(resolved_hyperparameters(name)["betas"])
                b[0 if canon == "beta1" else 1] = float(value)
                out["betas"] = b
            else:
                out[canon] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}.{key} must be a number (betas: two), not {value!r}"
            ) from None
    return out


@dataclass(frozen=True)
class OptimizerStudyConfig:
    """What ``tinylens optimizers`` compares.

    The defaults are the source's settings: a 784-128-64-10 ReLU MLP (64-128-64-10 on digits,
    2-128-64-K on the spiral), batch 64, 20 epochs, SGD lr 0.01, Momentum lr 0.01 and 0.9,
    Adam lr 0.001, betas (0.9, 0.999), eps 1e-8 (the engine's presets). Build it from the
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
        Per optimizer: lr, momentum, betas, eps, weight_decay (the source's spellings
        learning_rate, beta, beta1, beta2 and epsilon work too). Resolved on construction: it
        then holds every selected optimizer's full hyperparameters.
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
        given = _check_keys(self.optimizer_params, OPTIMIZERS, "optimizer_params")
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
        """Build from the YAML layout (the source's keys included); unknown keys are an error.

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
        """Read a YAML file in the layout of :meth:`from_dict` (e.g. the source's config)."""
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


# -- data -----------------------------------------------------------------------------------------


@dataclass
class StudyData:
    """The train and test sets of a study, and what was really used (``source``, ``notes``)."""

    train: Dataset
    test: Dataset
    source: str
    notes: list[str]
    sizes: list[int]

    @property
    def task(self) -> str:
        return self.train.task


def load_study_data(config: OptimizerStudyConfig) -> StudyData:
    """The data and the network widths of ``config`` (images via ``load_image_split``)."""
    c = config
    notes: list[str] = []
    if c.dataset in ("mnist", "digits"):
        split = load_image_split(
            c.dataset, c.data_dir, seed=c.seed, download=c.download, test_size=c.mnist_test_size
        )
        train, test, source = split.train, split.test, split.source
        notes += split.notes
        size = c.digits_train_size if c.dataset == "digits" else c.mnist_train_size
        if size is not None and size < train.n:
            train, _ = train.split(test_size=train.n - size, rng=c.seed)
            notes.append(f"Trained on a stratified subset of {train.n} training images.")
    elif c.dataset == "spiral":
        data = spiral(
            c.spiral_points * c.spiral_classes, c.spiral_classes, c.spiral_noise, rng=c.seed
        )
        train, test = data.split(c.test_fraction, rng=c.seed)
        source = "spiral"
    else:
        data = sine(c.sine_points, c.sine_noise, rng=c.seed)
        train, test = data.split(c.test_fraction, rng=c.seed)
        source = "sine"
        notes.append(
            f"Sine regression: a 1-{'-'.join(map(str, c.hidden or ()))}-1 {c.activation} MLP "
            "(a smooth activation for a smooth target), mean squared error; accuracy is not "
            "defined, so the tables report test MSE."
        )
    sizes = [train.n_features, *(c.hidden or ()), train.n_outputs]
    return StudyData(train, test, source, notes, sizes)


# -- running --------------------------------------------------------------------------------------


@dataclass
class OptimizerRun:
    """One optimizer trained from one seed.

    ``history`` holds train loss/accuracy and test (``val_*``) loss/accuracy per epoch;
    ``diverged`` is the one-line reason when training diverged (history then stops there).
    """

    optimizer: str
    seed: int
    hyperparameters: dict[str, Any]
    history: History
    seconds: float
    diverged: str | None = None
    net: Sequential | None = field(default=None, repr=False)


def _train_one(
    data: StudyData,
    cfg: OptimizerStudyConfig,
    name: str,
    seed: int,
    lr: float,
    train: Dataset,
    val: Dataset,
) -> OptimizerRun:
    # NOTE: one generator per seed, used for the weights and then the shuffling: every
    # optimizer of this seed starts from the same weights and sees the same minibatches.
    rng = np.random.default_rng(seed)
    net = MLP(data.sizes, cfg.activation or "relu", rng=rng)  # resolved in the config
    tc = cfg.train_config(name, lr)
    t0 = time.perf_counter()
    diverged = None
    try:
        history = fit(net, train, tc, rng=rng, val=val, quiet=True)
    except DivergenceError as exc:
        history = exc.history if isinstance(exc.history, History) else History()
        diverged = str(exc)
    hp = {**cfg.optimizer_params[name], "lr": lr}
    return OptimizerRun(name, seed, hp, history, time.perf_counter() - t0, diverged, net)


def _tune(
    cfg: OptimizerStudyConfig, data: StudyData, bar: Any
) -> tuple[dict[str, float], dict[str, Any]]:
    """Best lr per optimizer on a validation split of the training data (never the test set)."""
    fit_part, val_part = data.train.split(cfg.val_fraction, rng=cfg.seed)
    chosen: dict[str, float] = {}
    grid: dict[str, Any] = {}
    for name in cfg.optimizers:
        base = cfg.optimizer_params[name]["lr"]
        lrs = [base * f for f in cfg.tune_factors]
        scores = []
        for lr in lrs:
            losses = []
            for s in range(cfg.seed, cfg.seed + cfg.tune_seeds):
                run = _train_one(data, cfg, name, s, lr, fit_part, val_part)
                ok = run.diverged is None and run.history.val_loss
                losses.append(run.history.val_loss[-1] if ok else math.inf)
                bar.advance()
            scores.append(float(np.mean(losses)))
        best = int(np.argmin(scores)) if np.isfinite(scores).any() else lrs.index(base)
        chosen[name] = lrs[best]
        grid[name] = {"lrs": lrs, "val_loss": scores, "chosen": lrs[best], "preset": base}
    info = {
        "grid": grid,
        "factors": list(cfg.tune_factors),
        "seeds": cfg.tune_seeds,
        "n_fit": fit_part.n,
        "n_val": val_part.n,
        "score": "final validation loss, mean over seeds (diverged: inf)",
    }
    return chosen, info


def run_optimizers(
    config: OptimizerStudyConfig, *, quiet: bool = False, blas_threads: int | None = 1
) -> OptimizerStudyResult:
    """Train every optimizer from every seed (after tuning, with ``config.tune``); trace paths.

    ``blas_threads`` limits BLAS while training (see :mod:`tinylens.training.threads`: small
    matrices run faster on one thread, and the results do not depend on it); None leaves it.
    """
    cfg = config
    data = load_study_data(cfg)
    n_runs = len(cfg.optimizers) * cfg.seeds
    n_tune = len(cfg.optimizers) * len(cfg.tune_factors) * cfg.tune_seeds if cfg.tune else 0
    lrs = {n: cfg.optimizer_params[n]["lr"] for n in cfg.optimizers}
    tuning = None
    runs: list[OptimizerRun] = []
    with (
        limit_blas_threads(blas_threads),
        progress(n_runs + n_tune, f"optimizers on {cfg.dataset}", quiet=quiet) as bar,
    ):
        if cfg.tune:
            lrs, tuning = _tune(cfg, data, bar)
        for name in cfg.optimizers:
            for s in range(cfg.seed, cfg.seed + cfg.seeds):
                runs.append(_train_one(data, cfg, name, s, lrs[name], data.train, data.test))
                bar.advance()
    paths = None
    if cfg.paths:
        paths = {
            surface: optimizer_paths(surface, cfg.optimizers, steps=cfg.path_steps)
            for surface in SURFACES
        }
    return OptimizerStudyResult(cfg, data, runs, lrs, tuning, paths)


# -- results --------------------------------------------------------------------------------------


def _mean_sd(values: list[float] | np.ndarray) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


@dataclass
class OptimizerStudyResult:
    """Everything the study measured.

    Attributes
    ----------
    config : OptimizerStudyConfig
    data : StudyData
    runs : list of OptimizerRun
        Optimizer-major, seed-minor.
    lrs : dict of str -> float
        The learning rate each optimizer was compared at (tuned or preset).
    tuning : dict, optional
        The grid, scores and choices when ``config.tune``.
    paths : dict of surface -> dict of optimizer -> OptimizerPath, optional
    """

    config: OptimizerStudyConfig
    data: StudyData
    runs: list[OptimizerRun]
    lrs: dict[str, float]
    tuning: dict[str, Any] | None = None
    paths: dict[str, dict[str, OptimizerPath]] | None = None

    @property
    def classification(self) -> bool:
        return self.data.task == "classification"

    def curves(self, key: str) -> dict[str, np.ndarray]:
        """Per optimizer, array of shape (n_seeds, epochs) of a History field, e.g.
        ``"train_loss"``, ``"val_loss"`` (the test set), ``"val_accuracy"``; NaN-padded."""
        out: dict[str, np.ndarray] = {}
        for name in self.config.optimizers:
            rows = [r for r in self.runs if r.optimizer == name]
            arr = np.full((len(rows), self.config.epochs), np.nan)
            for i, r in enumerate(rows):
                values = getattr(r.history, key)
                arr[i, : len(values)] = values
            out[name] = arr
        return out

    def _reach(self, run: OptimizerRun) -> tuple[int | None, float | None]:
        """(epoch, seconds) at which the epoch-mean training loss first reached the target."""
        target = self.config.target_loss
        elapsed = 0.0
        for epoch, loss, secs in zip(
            run.history.epoch, run.history.train_loss, run.history.seconds, strict=False
        ):
            elapsed += secs
            if loss <= target:  # type: ignore[operator]
                return int(epoch), elapsed
        return None, None

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per optimizer: final test metrics (mean, sd, min, max over seeds), time to target."""
        out: dict[str, dict[str, Any]] = {}
        for name in self.config.optimizers:
            rows = [r for r in self.runs if r.optimizer == name]
            final = [
                r.history.val_loss[-1] if r.diverged is None and r.history.val_loss else math.nan
                for r in rows
            ]
            s: dict[str, Any] = {"lr": self.lrs[name], "seeds": len(rows)}
            s["test_loss_mean"], s["test_loss_sd"] = _mean_sd(final)
            tl = [r.history.train_loss[-1] if r.diverged is None else math.nan for r in rows]
            s["train_loss_mean"], s["train_loss_sd"] = _mean_sd(tl)
            if self.classification:
                acc = np.array(
                    [r.history.val_accuracy[-1] if r.diverged is None else math.nan for r in rows]
                )
                s["test_accuracy_mean"], s["test_accuracy_sd"] = _mean_sd(acc)
                finite = acc[np.isfinite(acc)]
                s["test_accuracy_min"] = float(finite.min()) if finite.size else math.nan
                s["test_accuracy_max"] = float(finite.max()) if finite.size else math.nan
            reach = [self._reach(r) for r in rows]
            epochs = [e for e, _ in reach if e is not None]
            secs = [t for _, t in reach if t is not None]
            s["reached_target"] = len(epochs)
            s["epochs_to_target_mean"], s["epochs_to_target_sd"] = _mean_sd(epochs)
            s["seconds_to_target_mean"], s["seconds_to_target_sd"] = _mean_sd(secs)
            s["seconds_per_run"] = float(np.mean([r.seconds for r in rows]))
            s["diverged"] = sum(r.diverged is not None for r in rows)
            out[name] = s
        return out

    @property
    def metrics(self) -> dict[str, float]:
        """Flat scalars ``"<optimizer>.<measure>"`` (what a sweep collects)."""
        flat: dict[str, float] = {}
        for name, s in self.summary().items():
            for k, v in s.items():
                if isinstance(v, (int, float)):
                    flat[f"{name}.{k}"] = float(v)
        return flat

    def update_rules(self) -> dict[str, str]:
        return {
            n: update_rule_text(n, {**self.config.optimizer_params[n], "lr": self.lrs[n]})
            for n in self.config.optimizers
        }

    def notes(self) -> list[str]:
        """Caveats for the report: substituted data, untuned rates, grid edges, divergence."""
        notes = list(self.data.notes)
        cfg = self.config
        if not cfg.tune:
            rates = ", ".join(f"{n} {self.lrs[n]:g}" for n in cfg.optimizers)
            notes.append(
                "Unfair by construction: learning rates were not tuned per optimizer; each ran "
                f"at its preset ({rates}). A ranking at untuned rates measures the rates as much "
                "as the methods. Run with --tune to compare each optimizer at its best rate "
                "from a grid (chosen on a validation split of the training data, not the test set)."
            )
        else:
            assert self.tuning is not None
            edge = [
                n
                for n, g in self.tuning["grid"].items()
                if g["chosen"] in (min(g["lrs"]), max(g["lrs"]))
            ]
            if edge:
                notes.append(
                    f"The best rate of {', '.join(edge)} lies at the edge of the grid; the true "
                    "optimum may lie beyond it (widen tune_factors)."
                )
        bad = [r for r in self.runs if r.diverged]
        if bad:
            notes.append(
                f"{len(bad)} run(s) diverged and are left out of the means: "
                + "; ".join(f"{r.optimizer} seed {r.seed}" for r in bad[:5])
            )
        if cfg.seeds < 3:
            notes.append(f"Only {cfg.seeds} seed(s) per optimizer: the error bars are weak.")
        return notes

    # -- saving ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.config.dataset,
            "data_source": self.data.source,
            "data_notes": self.data.notes,
            "n_train": self.data.train.n,
            "n_test": self.data.test.n,
            "model": self.data.sizes,
            "activation": self.config.activation,
            "target_loss": self.config.target_loss,
            "tuned": self.config.tune,
            "lrs": self.lrs,
            "summary": self.summary(),
            "update_rules": self.update_rules(),
            "tuning": self.tuning,
            "notes": self.notes(),
            "runs": [
                {
                    "optimizer": r.optimizer,
                    "seed": r.seed,
                    "hyperparameters": r.hyperparameters,
                    "seconds": r.seconds,
                    "diverged": r.diverged,
                    "history": r.history.to_dict(),
                }
                for r in self.runs
            ],
            "paths": {
                s: {n: p.to_dict() for n, p in ps.items()} for s, ps in (self.paths or {}).items()
            },
        }

    def save(self, run: RunDir) -> None:
        """Write config, metrics, curves, weights, figures and the report section into ``run``."""
        from tinylens.studies._optimizers_report import write_report

        cfg = self.config
        run.write_yaml("config.yaml", cfg.to_dict())
        run.write_json("metrics.json", self.to_json())
        header = ["optimizer", "seed", *History.COLUMNS]
        rows = [[r.optimizer, r.seed, *row] for r in self.runs for row in r.history.rows()]
        run.write_csv("curves.csv", rows, header)
        for name in cfg.optimizers:
            first = next(r for r in self.runs if r.optimizer == name)
            if first.net is not None and first.diverged is None:
                run.save_weights(
                    f"weights/{name}_seed{first.seed}.safetensors",
                    first.net,
                    info={"study": "optimizers", "optimizer": name, "seed": first.seed},
                )
        write_report(self, run)
