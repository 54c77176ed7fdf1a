"""What the toy models' weights say: feature norms, angles, interference, dimensionality, phases.

Every function reads ``W`` of shape ``(instances, m, n)`` (feature ``i``'s direction is the column
``W[k, :, i]``) and nothing else, so every figure of the study is a function of the weights.
Definitions follow Elhage et al. (2022), "Toy Models of Superposition":

- superposition of feature ``i``: ``sum_{j != i} (W_i_hat . W_j)^2``, how much the other features
  project onto its direction (the colour of the paper's feature-norm bars);
- dimensionality ``D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2`` (the paper's "feature
  dimensionality"; 1 for a dedicated dimension, 1/2 for an antipodal pair, 2/5 for a pentagon in
  two dimensions, 0 for a feature that is not represented).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tinylens.errors import ShapeError

__all__ = [
    "FRACTIONS",
    "NORM_THRESHOLD",
    "PHASES",
    "classify_phase",
    "dimensionality",
    "feature_angles",
    "feature_norms",
    "gram",
    "nearest_fraction",
    "neighbour_angles",
    "represented",
    "superposition",
]

#: A feature counts as represented when ``||W_i|| > 0.5`` (the paper's figures draw features of
#: norm near 1 against near 0; 0.5 is the midpoint, our choice).
NORM_THRESHOLD = 0.5

#: Where ``D_i`` sticks (the paper's Figure "feature dimensionality" marks 1, 3/4, 2/3, 1/2,
#: 2/5, 3/8, 1/3): the simple fractions a feature's dimensionality is rounded to.
FRACTIONS = (
    Fraction(1),
    Fraction(3, 4),
    Fraction(2, 3),
    Fraction(1, 2),
    Fraction(2, 5),
    Fraction(3, 8),
    Fraction(1, 3),
    Fraction(1, 4),
    Fraction(0),
)

#: The three phases of the ``n=2, m=1`` phase diagram, named for the second ("extra") feature.
PHASES = ("not represented", "dedicated dimension", "superposition")

_EPS = 1e-12  # below this a norm counts as zero (a direction is undefined)


def _check(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3:
        raise ShapeError(f"W has shape {W.shape}; expected (instances, n_hidden, n_features)")
    return W


def feature_norms(W: np.ndarray) -> np.ndarray:
    """``||W_i||`` per instance and feature: shape ``(instances, n)``."""
    return np.asarray(np.linalg.norm(_check(W), axis=1))


def represented(W: np.ndarray, threshold: float = NORM_THRESHOLD) -> np.ndarray:
    """The number of features with norm above ``threshold``, per instance: shape (instances,)."""
    return np.asarray((feature_norms(W) > threshold).sum(axis=1))


def gram(W: np.ndarray) -> np.ndarray:
    """``W^T W`` per instance: shape ``(instances, n, n)``."""
    W = _check(W)
    return np.asarray(W.transpose(0, 2, 1) @ W)


def _unit(W: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    return np.asarray(np.where(norms > _EPS, W / np.maximum(norms, _EPS), 0.0))


def superposition(W: np.ndarray) -> np.ndarray:
    """``sum_{j != i} (W_i_hat . W_j)^2`` per instance and feature: shape ``(instances, n)``."""
    W = _check(W)
    proj = _unit(W).transpose(0, 2, 1) @ W  # proj[k, i, j] = W_i_hat . W_j
    sq = proj**2
    return np.asarray(sq.sum(axis=2) - np.einsum("kii->ki", sq))


def dimensionality(W: np.ndarray) -> np.ndarray:
    """``D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2`` per instance and feature (0 where
    ``W_i = 0``): shape ``(instances, n)``."""
    W = _check(W)
    norms2 = (W**2).sum(axis=1)
    denom = ((_unit(W).transpose(0, 2, 1) @ W) ** 2).sum(axis=2)
    return np.asarray(np.where(denom > _EPS, norms2 / np.maximum(denom, _EPS), 0.0))


def nearest_fraction(d: float) -> Fraction:
    """The entry of :data:`FRACTIONS` nearest to ``d``.

    >>> str(nearest_fraction(0.41)), str(nearest_fraction(0.97))
    ('2/5', '1')
    """
    return min(FRACTIONS, key=lambda f: abs(float(f) - d))


def feature_angles(W: np.ndarray) -> np.ndarray:
    """Angles in degrees between every pair of feature directions: ``(instances, n, n)``
    (NaN where a feature's norm is zero)."""
    W = _check(W)
    U = _unit(W)
    cos = np.clip(U.transpose(0, 2, 1) @ U, -1.0, 1.0)
    ang = np.degrees(np.arccos(cos))
    zero = np.linalg.norm(W, axis=1) <= _EPS
    ang[zero[:, :, None] | zero[:, None, :]] = np.nan
    return np.asarray(ang)


def neighbour_angles(W: np.ndarray, threshold: float = NORM_THRESHOLD) -> list[list[float]]:
    """For ``m = 2``: per instance, the angles in degrees between consecutive represented
    features going around the plane (they sum to 360; a pentagon gives five times 72).
    One feature alone gives ``[360.0]``, none gives ``[]``."""
    W = _check(W)
    if W.shape[1] != 2:
        raise ShapeError(f"neighbour angles need n_hidden = 2, got {W.shape[1]}")
    out = []
    norms = feature_norms(W)
    for k in range(W.shape[0]):
        keep = norms[k] > threshold
        theta = np.sort(np.degrees(np.arctan2(W[k, 1, keep], W[k, 0, keep])) % 360.0)
        if theta.size == 0:
            out.append([])
            continue
        gaps = np.diff(np.concatenate([theta, [theta[0] + 360.0]]))
        out.append([float(g) for g in gaps])
    return out


def classify_phase(W: np.ndarray, threshold: float = NORM_THRESHOLD) -> list[str]:
    """The phase of each ``n=2, m=1`` instance, for its second ("extra") feature.

    The rule (ours, written from the paper's description of its Figure "phase diagram"):
    the extra feature is *not represented* when ``||W_2|| <= threshold``; it has a *dedicated
    dimension* when it is represented and the first feature is not (``||W_1|| <= threshold``);
    it is in *superposition* when both are represented (they then share the one dimension,
    antipodally: ``W_1 . W_2 < 0``).
    """
    W = _check(W)
    if W.shape[1:] != (1, 2):
        raise ShapeError(f"the phase diagram needs n=2, m=1 models; W has shape {W.shape[1:]}")
    norms = feature_norms(W)
    out = []
    for n1, n2 in norms:
        if n2 <= threshold:
            out.append(PHASES[0])
        elif n1 <= threshold:
            out.append(PHASES[1])
        else:
            out.append(PHASES[2])
    return out
