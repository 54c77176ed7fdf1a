"""Sparse-feature data with a known (planted) dictionary: the ground truth an SAE should find.

As in the toy models of Elhage et al. (2022): ``n_features`` features, each zero with
probability ``1 - p_active`` and otherwise uniform in [0, 1], embedded in ``d < n_features``
dimensions along fixed unit directions. An SAE trained on ``X = codes @ features`` should
recover the rows of ``features`` as its decoder rows (up to order), measured by
:func:`mean_max_cosine`.

>>> import numpy as np
>>> data = planted_dictionary(200, n_features=6, d=4, p_active=0.2, rng=0)
>>> data.X.shape, data.features.shape
((200, 4), (6, 4))
>>> round(mean_max_cosine(data.features, data.features), 6)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, ShapeError

__all__ = ["PlantedDictionary", "max_cosines", "mean_max_cosine", "planted_dictionary"]


@dataclass(frozen=True)
class PlantedDictionary:
    """``X`` (n, d) = ``codes`` (n, n_features) @ ``features`` (n_features, d, unit rows)."""

    X: np.ndarray
    codes: np.ndarray
    features: np.ndarray


def planted_dictionary(
    n: int, *, n_features: int, d: int, p_active: float, rng: Any = 0
) -> PlantedDictionary:
    """``n`` samples of ``n_features`` sparse features in ``d`` dimensions (directions uniform
    on the sphere; each feature active with probability ``p_active``, then uniform [0, 1])."""
    if not 0 < p_active <= 1:
        raise ConfigError(f"p_active must lie in (0, 1], got {p_active}")
    if min(n, n_features, d) < 1:
        raise ConfigError(f"n, n_features and d must be >= 1, got {n}, {n_features}, {d}")
    gen = as_rng(rng)
    features = gen.normal(size=(n_features, d))
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    active = gen.random((n, n_features)) < p_active
    codes = np.where(active, gen.random((n, n_features)), 0.0)
    return PlantedDictionary(codes @ features, codes, features)


def max_cosines(learned: Any, true: Any) -> np.ndarray:
    """For each true direction (row of ``true``), its largest cosine with any row of ``learned``.

    Returns an array of shape (n_true,) in [-1, 1].
    """
    L = np.asarray(learned, dtype=np.float64)
    T = np.asarray(true, dtype=np.float64)
    if L.ndim != 2 or T.ndim != 2 or L.shape[1] != T.shape[1]:
        raise ShapeError(f"learned {L.shape} and true {T.shape} must be (rows, d) with the same d")
    Ln = L / np.maximum(np.linalg.norm(L, axis=1, keepdims=True), 1e-300)
    Tn = T / np.maximum(np.linalg.norm(T, axis=1, keepdims=True), 1e-300)
    return (Tn @ Ln.T).max(axis=1)


def mean_max_cosine(learned: Any, true: Any) -> float:
    """Mean over the true features of :func:`max_cosines` (1.0: every feature recovered)."""
    return float(max_cosines(learned, true).mean())
