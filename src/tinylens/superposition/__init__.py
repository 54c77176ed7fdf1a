"""Superposition and polysemanticity: toy models (Elhage et al., 2022) and sparse dictionaries."""

from tinylens.superposition.polysemanticity import (
    RESPONSE_FRACTION,
    Polysemanticity,
    compare_units,
    polysemanticity,
    superposition_score,
)
from tinylens.superposition.sae import (
    AUX_COEF,
    SparseAutoencoder,
    activation_rows,
    as_dataframe,
    sae_loss_and_grads,
)
from tinylens.superposition.sae_metrics import (
    DEAD_FREQUENCY,
    DENSE_FREQUENCY,
    SAEEvaluation,
    evaluate_sae,
)
from tinylens.superposition.sae_training import (
    SAETrainConfig,
    fit_sae,
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
    "DEAD_FREQUENCY",
    "DENSE_FREQUENCY",
    "RESPONSE_FRACTION",
    "PlantedDictionary",
    "Polysemanticity",
    "SAEEvaluation",
    "SAETrainConfig",
    "SparseAutoencoder",
    "activation_rows",
    "as_dataframe",
    "compare_units",
    "evaluate_sae",
    "fit_sae",
    "max_cosines",
    "mean_max_cosine",
    "planted_dictionary",
    "polysemanticity",
    "sae_loss_and_grads",
    "stream_activations",
    "superposition_score",
    "train_sae",
]
