"""The settings of the ablation study (``tinylens ablate``): which network, which data, which
hook points, and which sweeps (single units, pairs, scaling)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tinylens.errors import ConfigError, reject_unknown_keys

__all__ = ["AblateConfig"]


@dataclass(frozen=True)
class AblateConfig:
    """What ``tinylens ablate`` measures.

    Parameters
    ----------
    model : str
        A tinylens weights file; may be empty when :func:`~tinylens.studies.ablate.run` is
        given ``model=``.
    data : str
        A dataset name from :data:`tinylens.data.DATASETS`; ``mnist`` and ``digits`` use the
        held-out part of :func:`tinylens.data.load_image_split`.
    data_params : dict
    data_dir : str, optional
        MNIST IDX files.
    layers : tuple of str, optional
        Hook points or globs; by default every hidden activation (see
        :func:`~tinylens.studies.ablate.run.default_layers`).
    pairs : bool
        Also ablate every pair of units of each layer.
    scales : tuple of float
        Factors of the scaling sweep (empty: none); 0 to 3 by default, our own choice.
    kind : {"zero", "mean"}
    seed : int
    """

    model: str = ""
    data: str = "digits"
    data_params: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None
    layers: tuple[str, ...] | None = None
    pairs: bool = False
    scales: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0)
    kind: str = "zero"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("zero", "mean"):
            raise ConfigError(f"ablation kind must be 'zero' or 'mean', not {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "data_params": dict(self.data_params),
            "data_dir": self.data_dir,
            "layers": list(self.layers) if self.layers else None,
            "pairs": self.pairs,
            "scales": list(self.scales),
            "kind": self.kind,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> AblateConfig:
        """Build from :meth:`to_dict`'s layout (a YAML file); an unknown key is an error.

        >>> AblateConfig.from_dict({"model": "m.safetensors", "scales": [0, 2]}).scales
        (0.0, 2.0)
        >>> AblateConfig.from_dict({"pair": True})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinylens.errors.ConfigError: unknown ablation setting 'pair' (did you mean 'pairs'?)...
        """
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)]
        reject_unknown_keys(d, known, "ablation setting", "known settings")
        if d.get("data_params") is None:
            d.pop("data_params", None)
        elif not isinstance(d["data_params"], dict):
            raise ConfigError(f"data_params must be a mapping, not {d['data_params']!r}")
        try:
            if d.get("layers") is not None:
                d["layers"] = tuple(str(x) for x in d["layers"])
            if d.get("scales") is not None:
                d["scales"] = tuple(float(x) for x in d["scales"])
        except (TypeError, ValueError):
            raise ConfigError(
                f"layers and scales must be lists, not {d.get('layers')!r}, {d.get('scales')!r}"
            ) from None
        return cls(**d)
