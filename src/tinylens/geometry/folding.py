"""Depth as folding: push the input plane through each layer and watch it fold.

Each ReLU layer folds space along its units' hyperplanes (everything on the off side of a
unit is flattened onto its kink) and then the next affine map stretches and rotates the
result. A deep network classifies the spiral by folding its arms on top of each other until a
line separates them. This module measures that, layer by layer:

* :func:`fold_grid`: a grid of lines in the input box and the data, mapped through every layer
  and projected to 2-D by PCA when the layer is wider;
* :func:`linear_separability`: how well a linear classifier (scikit-learn's
  ``LogisticRegression``, a convex solver used here as a measuring instrument) separates the
  classes in each layer's representation;
* :func:`region_counts_per_layer`: the exact number of linear regions of the sub-network up to
  each layer (:func:`~tinylens.geometry.linear_regions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry._affine import NetLike, as_affine_net
from tinylens.geometry.regions import as_box, linear_regions
from tinylens.typing import Seed

__all__ = [
    "SEPARABILITY_C",
    "FoldedLayer",
    "Projection",
    "fold_grid",
    "grid_lines",
    "layer_representations",
    "linear_separability",
    "region_counts_per_layer",
]


SEPARABILITY_C = 100.0
"""Inverse regularisation strength of the separability probe's logistic regression."""


def layer_representations(net: NetLike, X: Any) -> list[np.ndarray]:
    """``[X, h1, h2, ..., output]``: the input and every layer's post-activation output.

    Parameters
    ----------
    X : array of shape (n_samples, n_inputs)

    Returns
    -------
    list of arrays of shape (n_samples, width_l)
    """
    return as_affine_net(net).to_float().trace(np.asarray(X, dtype=np.float64))


@dataclass(frozen=True)
class Projection:
    """A 2-D linear projection ``(H - mean) @ components.T``.

    ``components`` : array of shape (2, width); ``explained`` : fraction of the variance kept
    (1.0 for a layer of width <= 2, which is shown as it is).
    """

    mean: np.ndarray
    components: np.ndarray
    explained: float

    @classmethod
    def fit(cls, H: np.ndarray) -> Projection:
        """PCA to two components (identity for width 2, a zero second axis for width 1).

        Signs are fixed (each component's largest entry positive) so pictures are
        reproducible.
        """
        H = np.asarray(H, dtype=np.float64)
        width = H.shape[1]
        if width <= 2:
            comps = np.eye(2, width)
            return cls(np.zeros(width), comps, 1.0)
        mean = H.mean(axis=0)
        _, s, vt = np.linalg.svd(H - mean, full_matrices=False)
        comps = vt[:2]
        signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
        comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
        total = float((s**2).sum())
        explained = float((s[:2] ** 2).sum() / total) if total > 0 else 1.0
        return cls(mean, comps, explained)

    def __call__(self, H: np.ndarray) -> np.ndarray:
        return (np.asarray(H, dtype=np.float64) - self.mean) @ self.components.T


def grid_lines(box: Any, n_lines: int = 15, n_points: int = 200) -> list[np.ndarray]:
    """Lines of constant x1 and of constant x2 across a 2-D box, each of shape (n_points, 2)."""
    b = as_box(box, 2)
    if n_lines < 2 or n_points < 2:
        raise ConfigError(f"need at least 2 lines of 2 points, got {n_lines} and {n_points}")
    t = np.linspace(0.0, 1.0, n_points)
    lines = []
    for v in np.linspace(b[0, 0], b[0, 1], n_lines):
        lines.append(np.column_stack([np.full(n_points, v), b[1, 0] + t * (b[1, 1] - b[1, 0])]))
    for v in np.linspace(b[1, 0], b[1, 1], n_lines):
        lines.append(np.column_stack([b[0, 0] + t * (b[0, 1] - b[0, 0]), np.full(n_points, v)]))
    return lines


@dataclass(frozen=True)
class FoldedLayer:
    """One layer's picture of the input plane.

    ``name`` ("input", "layer 1", ...), ``width``; ``lines``: the grid lines projected to 2-D
    (list of arrays of shape (n_points, 2)); ``points``: the data projected, shape (n, 2) or
    None; ``projection``: the PCA used (fitted on the grid's image).
    """

    name: str
    width: int
    lines: list[np.ndarray]
    points: np.ndarray | None
    projection: Projection
    extra: dict[str, Any] = field(default_factory=dict)


def fold_grid(
    net: NetLike,
    box: Any,
    *,
    X: Any = None,
    n_lines: int = 15,
    n_points: int = 200,
    include_output: bool = False,
) -> list[FoldedLayer]:
    """The input grid (and data ``X``) pushed through every hidden layer of a 2-input net.

    Returns one :class:`FoldedLayer` for the input and each hidden layer (and the output with
    ``include_output``), each projected to 2-D by PCA fitted on the grid's image.
    """
    affine = as_affine_net(net).to_float()
    if affine.n_inputs != 2:
        raise ShapeError(f"folding pictures need 2 inputs; the network has {affine.n_inputs}")
    lines = grid_lines(box, n_lines, n_points)
    flat = np.concatenate(lines)
    reps = affine.trace(flat)
    data_reps = affine.trace(np.asarray(X, dtype=np.float64)) if X is not None else None
    last = len(reps) if include_output else len(reps) - 1
    out = []
    for i in range(last):
        proj = Projection.fit(reps[i])
        pts = proj(reps[i])
        pieces = np.split(pts, len(lines))
        name = "input" if i == 0 else ("output" if i == len(reps) - 1 else f"layer {i}")
        out.append(
            FoldedLayer(
                name,
                int(reps[i].shape[1]),
                pieces,
                proj(data_reps[i]) if data_reps is not None else None,
                proj,
            )
        )
    return out


def linear_separability(
    representations: list[np.ndarray],
    y: Any,
    *,
    test_fraction: float = 0.3,
    rng: Seed = 0,
) -> list[dict[str, float]]:
    """The accuracy of a logistic regression on each representation.

    Parameters
    ----------
    representations : list of arrays of shape (n_samples, width_l)
        E.g. from :func:`layer_representations`.
    y : int array of shape (n_samples,)
    test_fraction : float
        Held out (stratified) to measure generalisation as well as separability.

    Returns
    -------
    list of {"train_accuracy", "test_accuracy"}, one per representation
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from tinylens.engine.init import as_rng

    y = np.asarray(y)
    seed = int(as_rng(rng).integers(2**31))
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=test_fraction, random_state=seed, stratify=y
    )
    out = []
    for H in representations:
        H = np.asarray(H, dtype=np.float64)
        if len(H) != len(y):
            raise ShapeError(f"a representation has {len(H)} rows but y has {len(y)}")
        scaler = StandardScaler().fit(H[idx_train])
        # weak regularisation (C = 100): separability asks whether *some* hyperplane separates
        # the classes; the default C = 1 would trade training accuracy for small weights
        clf = LogisticRegression(C=SEPARABILITY_C, max_iter=5000)
        clf.fit(scaler.transform(H[idx_train]), y[idx_train])
        out.append(
            {
                "train_accuracy": float(clf.score(scaler.transform(H[idx_train]), y[idx_train])),
                "test_accuracy": float(clf.score(scaler.transform(H[idx_test]), y[idx_test])),
            }
        )
    return out


def region_counts_per_layer(net: NetLike, box: Any) -> list[int]:
    """Exact linear regions of the sub-network up to each hidden layer, inside ``box``.

    Entry ``l`` counts the activation regions of layers 1..l+1 (exact in any dimension; fast
    in 2-D, see :func:`~tinylens.geometry.linear_regions`).
    """
    return list(linear_regions(net, box).counts_per_layer)
