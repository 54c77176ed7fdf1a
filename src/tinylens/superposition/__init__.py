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
from tinylens.superposition.toy import ToyModel, sample_features, train_toy_models

__all__ = [
    "FRACTIONS",
    "NORM_THRESHOLD",
    "PHASES",
    "ToyModel",
    "classify_phase",
    "dimensionality",
    "feature_angles",
    "feature_norms",
    "gram",
    "nearest_fraction",
    "neighbour_angles",
    "represented",
    "sample_features",
    "superposition",
    "train_toy_models",
]
