"""The settings of the SAE study (``tinylens sae``): which model, data and hook point, and how
the sparse autoencoder is trained (one nested :class:`~tinylens.superposition.SAETrainConfig`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tinylens.data import IMAGE_DATASETS
from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys
from tinylens.superposition import SAETrainConfig

__all__ = ["SAEStudyConfig"]


@dataclass(frozen=True)
class SAEStudyConfig:
    """What ``tinylens sae`` measures.

    Parameters
    ----------
    model : str
        A tinylens weights file (``tinylens train`` / ``tinylens mnist`` write one); may be
        empty when :func:`~tinylens.studies.sae.run` is given ``model=``.
    data : {"mnist", "digits"}
        Found as ``tinylens mnist`` finds it (:func:`tinylens.data.load_image_split`): the SAE
        trains on the training part and is measured on the held-out part.
    data_dir : str, optional
        MNIST IDX files.
    hook : str
        The hook point (a ReLU output, so that neurons are non-negative like latents).
    sae : SAETrainConfig
        Latents, TopK ``k`` or L1, steps, batch size, learning rate.
    top_images : int
        Top activating held-out images kept per unit and latent.
    maps : int
        How many of the most polysemantic neurons get single-pixel and saliency maps, and how
        many neurons and latents get their top images drawn.
    seed : int
        SAE initialisation, batch order, data split, saliency subsample.
    """

    model: str = ""
    data: str = "digits"
    data_dir: str | None = None
    hook: str = "layers.1"
    sae: SAETrainConfig = field(default_factory=SAETrainConfig)
    top_images: int = 9
    maps: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in IMAGE_DATASETS:
            raise UnknownNameError("image dataset", self.data, IMAGE_DATASETS)
        if self.top_images < 1 or self.maps < 0:
            raise ConfigError(
                f"top_images must be >= 1 and maps >= 0, got {self.top_images} and {self.maps}"
            )

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["sae"] = self.sae.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SAEStudyConfig:
        """Build from :meth:`to_dict`'s layout (a YAML file); an unknown key is an error.

        >>> SAEStudyConfig.from_dict({"data": "digits", "sae": {"n_latents": 32}}).sae.n_latents
        32
        """
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)]
        reject_unknown_keys(d, known, "SAE-study setting", "known settings")
        sae = d.get("sae")
        if isinstance(sae, dict):
            d["sae"] = SAETrainConfig.from_dict(sae)
        elif sae is None:
            d.pop("sae", None)
        elif not isinstance(sae, SAETrainConfig):
            raise ConfigError(f"sae must be a mapping of SAE training settings, not {sae!r}")
        return cls(**d)
