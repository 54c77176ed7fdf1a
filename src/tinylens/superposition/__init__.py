"""Superposition and polysemanticity: toy models (Elhage et al., 2022) and sparse dictionaries."""

from tinylens.superposition.sae import (
    AUX_COEF,
    SAETrainConfig,
    SparseAutoencoder,
    activation_rows,
    fit_sae,
    sae_loss_and_grads,
    stream_activations,
    train_sae,
)
from tinylens.superposition.synthetic import (
    PlantedDictionary,
    max_cosines,
    mean_max_cosine,
    planted_dictionary,
)

__all__ = [
    "AUX_COEF",
    "PlantedDictionary",
    "SAETrainConfig",
    "SparseAutoencoder",
    "activation_rows",
    "fit_sae",
    "max_cosines",
    "mean_max_cosine",
    "planted_dictionary",
    "sae_loss_and_grads",
    "stream_activations",
    "train_sae",
]
