"""The settings of ``tinylens inspect``: which weights file, and (optionally) which data to
measure activation statistics on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tinylens.errors import ConfigError, reject_unknown_keys

__all__ = ["InspectConfig"]


@dataclass(frozen=True)
class InspectConfig:
    """What ``tinylens inspect`` describes.

    Parameters
    ----------
    model : str
        A tinylens weights file; may be empty when :func:`~tinylens.studies.inspect.run` is
        given ``model=``.
    data : str, optional
        A dataset to measure activations on (image data: its held-out part); None: shapes only.
    data_params : dict
        Parameters of the dataset factory (only with ``data``).
    data_dir : str, optional
        MNIST IDX files.
    seed : int
        Seeds generated data and splits.
    batch_size : int
        Samples per forward pass of the streaming statistics (2048: our own choice, a few MB
        of activations for MNIST-sized layers).
    """

    model: str = ""
    data: str | None = None
    data_params: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None
    seed: int = 0
    batch_size: int = 2048

    def __post_init__(self) -> None:
        if self.data_params and not self.data:
            raise ConfigError(
                "--data-param is read only with --data NAME; add --data or leave it out"
            )
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, not {self.batch_size!r}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> InspectConfig:
        """Build from :meth:`to_dict`'s layout; an unknown key is an error.

        >>> InspectConfig.from_dict({"model": "m.safetensors", "data": "digits"}).batch_size
        2048
        """
        d = dict(d or {})
        reject_unknown_keys(d, [f.name for f in dataclasses.fields(cls)], "inspect setting")
        if d.get("data_params") is None:
            d.pop("data_params", None)
        elif not isinstance(d["data_params"], dict):
            raise ConfigError(f"data_params must be a mapping, not {d['data_params']!r}")
        return cls(**d)
