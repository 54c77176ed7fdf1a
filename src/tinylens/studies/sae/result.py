"""The SAE study's result: the trained SAE, its evaluation, and the polysemanticity of the
layer's neurons and of the latents, side by side."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.probes import InputMaps
from tinylens.studies.sae.config import SAEStudyConfig
from tinylens.superposition import (
    Polysemanticity,
    SAEEvaluation,
    SparseAutoencoder,
    compare_units,
)

__all__ = ["SAEStudyResult", "TopImages"]


@dataclass
class TopImages:
    """``images`` (n_units, k, h, w): each unit's top activating held-out images; ``labels``
    (n_units, k) their classes."""

    units: np.ndarray
    images: np.ndarray
    labels: np.ndarray


@dataclass
class SAEStudyResult:
    """What :func:`tinylens.studies.sae.run` measured.

    Attributes
    ----------
    sae : SparseAutoencoder
    evaluation : SAEEvaluation
        L0, FVE, MSE, spliced loss/accuracy, dead and dense latents on the held-out data.
    neurons, latents : Polysemanticity
        Per-unit class counts, selectivity and class entropy of the layer's units and of the
        SAE's latents.
    score : dict
        The layer's superposition score (features per dimension).
    polysemantic_units : array of int
        The most polysemantic neurons, most first.
    pixel_maps, saliency : InputMaps or None
        Single-pixel maps of every unit; saliency maps of the most polysemantic ones.
    top_images : dict
        ``{"neurons": TopImages, "latents": TopImages}``.
    """

    config: SAEStudyConfig
    sae: SparseAutoencoder
    evaluation: SAEEvaluation
    neurons: Polysemanticity
    latents: Polysemanticity
    score: dict[str, float]
    polysemantic_units: np.ndarray
    pixel_maps: InputMaps | None
    saliency: InputMaps | None
    top_images: dict[str, TopImages]
    image_shape: tuple[int, int]
    data_source: str
    n_train: int
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def metrics(self) -> dict[str, Any]:
        """Every number of the report, flat (``metrics.json``)."""
        out: dict[str, Any] = {
            "hook": self.config.hook,
            "data": self.data_source,
            "training samples": self.n_train,
            "d (units at the hook)": self.sae.d,
            "latents": self.sae.n_latents,
            "SAE steps": self.sae.steps_,
            **self.evaluation.metrics(),
            **self.score,
        }
        for group in (self.neurons, self.latents):
            for key, value in group.summary().items():
                out[f"{group.kind}s: {key}"] = value
        return out

    def table(self) -> dict[str, list[Any]]:
        """The side-by-side table: neurons against latents."""
        return compare_units(self.neurons, self.latents)

    def to_dict(self) -> dict[str, list[Any]]:
        return self.table()

    def to_pandas(self) -> Any:
        from tinylens.superposition import as_dataframe

        return as_dataframe(self.table())

    def __repr__(self) -> str:
        ev, n, lat = self.evaluation, self.neurons.summary(), self.latents.summary()
        return (
            f"SAEStudyResult({self.config.hook!r} of {self.data_source}: d={self.sae.d}, "
            f"latents={self.sae.n_latents}, L0={ev.l0_:.2f}, FVE={ev.fve_:.3f}, "
            f"mean classes neurons={n['mean classes responded to']} "
            f"latents={lat['mean classes responded to']})"
        )

    def _repr_html_(self) -> str:
        table = self.table()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in zip(*table.values(), strict=True)
        )
        key = self.evaluation.metrics()
        keys = ["L0 (mean active latents)", "fraction of variance explained", "spliced accuracy"]
        numbers = ", ".join(f"{k}: {key[k]}" for k in keys if k in key)
        return (
            f"<div><b>SAE at {html.escape(self.config.hook)}</b> ({self.sae.n_latents} latents, "
            f"{html.escape(self.sae.kind)}): {html.escape(numbers)}"
            f"<table><tr>{head}</tr>{rows}</table></div>"
        )

    def plot(self, ax: Any = None) -> Any:
        """Neurons against latents: the share of live units responding to 1, 2, ... classes."""
        from tinylens.viz.sae import plot_classes_responded

        return plot_classes_responded(
            self.neurons.n_classes_[~self.neurons.dead_],
            self.latents.n_classes_[~self.latents.dead_],
            n_classes=self.neurons.class_means_.shape[0],
            labels=(f"{self.neurons.kind}s", "latents"),
            title=f"{self.config.hook}: classes each live unit responds to",
            ax=ax,
        )
