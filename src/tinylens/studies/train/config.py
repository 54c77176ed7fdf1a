"""The settings of the plain training study (``tinylens train``): the data by name, the network
(its ``hidden`` widths, the project's one name for layer widths) and one nested
:class:`~tinylens.training.TrainConfig`.

``arch`` (full widths from input to output, ``2,64,32,3``) is accepted as an alias, by the
constructor, :meth:`TrainStudyConfig.from_dict` and ``tinylens train --arch``: its inner widths
become ``hidden`` and its ends ``inputs`` and ``outputs``, which the data must then match.

>>> cfg = TrainStudyConfig(arch=(2, 32, 3))
>>> cfg.hidden, cfg.inputs, cfg.outputs
((32,), 2, 3)
>>> TrainStudyConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

from tinylens.errors import ConfigError, reject_unknown_keys
from tinylens.training import TrainConfig

__all__ = ["ALIASES", "TrainStudyConfig"]

ALIASES = ("arch",)
"""Settings read by :meth:`TrainStudyConfig.from_dict` besides the fields (not stored)."""


def _widths(name: str, value: Any) -> tuple[int, ...]:
    try:
        widths = tuple(int(a) for a in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of widths, not {value!r}") from None
    if any(w < 1 for w in widths):
        raise ConfigError(f"{name} widths must be positive, got {list(widths)}")
    return widths


@dataclass(frozen=True)
class TrainStudyConfig:
    """What ``tinylens train`` trains.

    Parameters
    ----------
    data : str
        A dataset name from :data:`tinylens.data.DATASETS`.
    data_params : dict
        Parameters of the dataset factory (``{"n": 1000, "noise": 0.2}``).
    hidden : tuple of int
        The MLP's hidden widths, (64, 32) by default (``tinylens train``'s own choice); the input
        and output widths come from the data.
    inputs, outputs : int, optional
        The widths the network must start and end with (set by ``arch``); None: the data's.
    activation : str
    train : TrainConfig
        Default: 100 epochs of Adam (its default rate), batches of 64 (``tinylens train``'s).
    val_fraction : float
        Held-out fraction (stratified for classification); 0 trains on everything.
    seed : int
        Seeds the data, the initial weights and the shuffling.
    backend : str
        ``engine`` (NumPy) or ``torch``.
    data_dir : str, optional
        For MNIST: a directory holding the IDX files.
    model : {"mlp", "cnn"}
        ``cnn`` builds :func:`tinylens.engine.small_cnn` (image data only; ``hidden`` and
        ``activation`` then do not apply) with ``channels`` per conv-pool stage.
    channels : tuple of int
    arch : tuple of int, optional
        Alias: full widths from input to output (not stored; see the module docstring).
    """

    data: str = "spiral"
    data_params: dict[str, Any] = field(default_factory=dict)
    hidden: tuple[int, ...] = (64, 32)
    inputs: int | None = None
    outputs: int | None = None
    activation: str = "relu"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=100, optimizer="adam"))
    val_fraction: float = 0.2
    seed: int = 0
    backend: str = "engine"
    data_dir: str | None = None
    model: str = "mlp"
    channels: tuple[int, ...] = (8, 16)
    arch: InitVar[Sequence[int] | None] = None

    def __post_init__(self, arch: Sequence[int] | None) -> None:
        if arch is not None:
            widths = _widths("arch", arch)
            if len(widths) < 2:
                raise ConfigError(
                    f"arch needs at least an input and an output width, got {list(widths)}"
                )
            object.__setattr__(self, "hidden", widths[1:-1])
            object.__setattr__(self, "inputs", widths[0])
            object.__setattr__(self, "outputs", widths[-1])
        object.__setattr__(self, "hidden", _widths("hidden", self.hidden))
        object.__setattr__(self, "channels", _widths("channels", self.channels))
        for end in (self.inputs, self.outputs):
            if end is not None and (not isinstance(end, int) or end < 1):
                raise ConfigError(f"inputs and outputs must be positive widths, not {end!r}")
        if self.model not in ("mlp", "cnn"):
            raise ConfigError(f"model must be 'mlp' or 'cnn', not {self.model!r}")
        if self.backend not in ("engine", "torch"):
            raise ConfigError(f"backend must be 'engine' or 'torch', not {self.backend!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")

    def sizes(self, features: int, outputs: int) -> list[int]:
        """The MLP's widths from input to output, for data of ``features`` and ``outputs``."""
        return [features, *self.hidden, outputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "data_params": dict(self.data_params),
            "hidden": list(self.hidden),
            "inputs": self.inputs,
            "outputs": self.outputs,
            "activation": self.activation,
            "train": self.train.to_dict(),
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "backend": self.backend,
            "data_dir": self.data_dir,
            "model": self.model,
            "channels": list(self.channels),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TrainStudyConfig:
        """Build from the layout of :meth:`to_dict` (a YAML file); unknown keys are an error.
        ``arch`` is read as an alias (full widths); with ``hidden`` as well, it is an error.

        >>> TrainStudyConfig.from_dict({"data": "xor", "train": {"epochs": 3}}).train.epochs
        3
        >>> TrainStudyConfig.from_dict({"arch": [2, 8, 8, 3]}).hidden
        (8, 8)
        >>> TrainStudyConfig.from_dict({"dta": "xor"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinylens.errors.ConfigError: unknown training-study setting 'dta' (did you mean 'data'?)...
        """
        d = dict(d or {})
        known = sorted([f.name for f in dataclasses.fields(cls)] + list(ALIASES))
        reject_unknown_keys(d, known, "training-study setting", "known settings")
        if d.get("arch") is not None and d.get("hidden") is not None:
            raise ConfigError("give the widths once: hidden (inner widths) or arch (all of them)")
        if d.get("arch") is not None:
            for key in ("hidden", "inputs", "outputs"):
                d.pop(key, None)  # None there: the alias says them
        train = d.get("train")
        if isinstance(train, dict):
            d["train"] = TrainConfig.from_dict(train)
        elif train is None:
            d.pop("train", None)
        elif not isinstance(train, TrainConfig):
            raise ConfigError(f"train must be a mapping of training settings, not {train!r}")
        for key in ("hidden", "channels", "arch"):
            if d.get(key) is None:
                d.pop(key, None)
        if d.get("data_params") is None:
            d.pop("data_params", None)
        elif not isinstance(d["data_params"], dict):
            raise ConfigError(f"data_params must be a mapping, not {d['data_params']!r}")
        return cls(**d)
