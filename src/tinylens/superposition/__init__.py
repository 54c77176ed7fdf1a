"""Superposition and polysemanticity: toy models (Elhage et al., 2022) and sparse dictionaries."""

from tinylens.superposition.geometry import (
    FRACTIONS,
    NORM_THRESHOLD,
    PHASES,
    classify_phase,
    dimensionality,
    feature_angles,
    feature_norms,
    gram,
    nearest_fraction,
    neighbour_angles,
    represented,
    superposition,
)
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
from tinylens.superposition.toy import ToyModel, sample_features, train_toy_models

__all__ = [
    "AUX_COEF",
    "DEAD_FREQUENCY",
    "DENSE_FREQUENCY",
    "FRACTIONS",
    "NORM_THRESHOLD",
    "PHASES",
    "RESPONSE_FRACTION",
    "PlantedDictionary",
    "Polysemanticity",
    "SAEEvaluation",
    "SAETrainConfig",
    "SparseAutoencoder",
    "ToyModel",
    "activation_rows",
    "as_dataframe",
    "classify_phase",
    "compare_units",
    "dimensionality",
    "evaluate_sae",
    "feature_angles",
    "feature_norms",
    "fit_sae",
    "gram",
    "max_cosines",
    "mean_max_cosine",
    "nearest_fraction",
    "neighbour_angles",
    "planted_dictionary",
    "polysemanticity",
    "represented",
    "sae_loss_and_grads",
    "sample_features",
    "stream_activations",
    "superposition",
    "superposition_score",
    "train_sae",
    "train_toy_models",
]
