"""Per-class accuracy and the confusion matrix of a classifier.

>>> import numpy as np
>>> confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
array([[1, 1, 0],
       [0, 1, 0],
       [1, 0, 1]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.hooks import evaluating
from tinylens.probes._data import classification_arrays
from tinylens.typing import DataLike, ModelLike

__all__ = ["Confusion", "confusion", "confusion_matrix", "predict_classes"]


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts of shape (n_classes, n_classes): row = true class, column = predicted class."""
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1:
        raise ShapeError(f"y_true {t.shape} and y_pred {p.shape} must be equal 1-D shapes")
    if len(t) and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ConfigError(f"labels must lie in 0..{n_classes - 1}")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def predict_classes(model: ModelLike, X: Any, *, batch_size: int = 8192) -> np.ndarray:
    """Predicted classes (argmax of the outputs; ``> 0`` for one output), evaluation mode.

    Returns an int64 array of shape (n_samples,).
    """
    with evaluating(model) as h:
        parts = []
        for start in range(0, len(X), batch_size):
            out = h.forward(X[start : start + batch_size])
            out = out if isinstance(out, np.ndarray) else out.detach().cpu().numpy()
            parts.append(
                (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)
            )
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class Confusion:
    """A classifier's errors on one dataset.

    Attributes
    ----------
    matrix_ : array of int of shape (n_classes, n_classes)
        Row = true class, column = predicted class.
    predictions_ : array of int of shape (n_samples,)
    """

    matrix_: np.ndarray
    predictions_: np.ndarray

    @property
    def accuracy_(self) -> float:
        total = self.matrix_.sum()
        return float(np.trace(self.matrix_) / total) if total else float("nan")

    @property
    def class_counts_(self) -> np.ndarray:
        return self.matrix_.sum(axis=1)

    @property
    def per_class_accuracy_(self) -> np.ndarray:
        """Shape (n_classes,): recall of each class (NaN for a class without samples)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.matrix_) / self.class_counts_

    def most_confused(self, n: int = 5) -> list[tuple[int, int, int]]:
        """The ``n`` largest off-diagonal entries as (true, predicted, count), largest first."""
        m = self.matrix_.copy()
        np.fill_diagonal(m, 0)
        order = np.argsort(-m, axis=None, kind="stable")[:n]
        return [
            (int(i), int(j), int(m[i, j]))
            for i, j in zip(*np.unravel_index(order, m.shape), strict=False)
            if m[i, j]
        ]


def confusion(model: ModelLike, data: DataLike, *, batch_size: int = 8192) -> Confusion:
    """The confusion matrix and per-class accuracy of ``model`` on ``data``.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    """
    X, y, n_classes = classification_arrays(data)
    pred = predict_classes(model, X, batch_size=batch_size)
    k = max(n_classes, int(pred.max()) + 1 if len(pred) else 0)
    return Confusion(confusion_matrix(y, pred, k), pred)
