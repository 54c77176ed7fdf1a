"""What every probe accepts as data: a classification Dataset or an ``(X, y)`` pair."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError, ShapeError

__all__ = ["classification_arrays", "image_shape_of"]


def classification_arrays(data: Any, what: str = "data") -> tuple[np.ndarray, np.ndarray, int]:
    """``(X, y, n_classes)`` from a classification Dataset or an ``(X, y)`` pair.

    ``X`` keeps its shape and dtype; ``y`` is int64 of shape (n_samples,).
    """
    if hasattr(data, "X") and hasattr(data, "y"):
        if getattr(data, "task", "classification") != "classification":
            raise DataError(f"{what} must be a classification dataset (class labels)")
        X, y = np.asarray(data.X), np.asarray(data.y)
        k = getattr(data, "n_classes", None)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X, y, k = np.asarray(data[0]), np.asarray(data[1]), None
    else:
        raise ConfigError(
            f"{what} must be a classification Dataset or an (X, y) pair, not {type(data).__name__}"
        )
    if y.ndim != 1 or len(y) != len(X):
        raise ShapeError(f"{what}: y has shape {y.shape}; expected ({len(X)},), one label per row")
    if len(y) == 0:
        raise DataError(f"{what} is empty")
    if y.dtype.kind not in "iu" or y.min() < 0:
        raise DataError(f"{what}: labels must be non-negative integer class indices")
    y = y.astype(np.int64, copy=False)
    n_classes = int(k) if k else int(y.max()) + 1
    return X, y, n_classes


def image_shape_of(data: Any, n_features: int | None = None) -> tuple[int, int]:
    """``data.image_shape``, or a square side for a flat count, or a ShapeError."""
    shape = getattr(data, "image_shape", None)
    if shape is not None:
        return (int(shape[0]), int(shape[1]))
    if n_features is not None:
        side = round(n_features**0.5)
        if side * side == n_features:
            return (side, side)
    raise ShapeError(
        f"cannot fold {n_features} input features into an image; pass image_shape=(h, w)"
    )
