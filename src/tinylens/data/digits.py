"""scikit-learn's bundled 8x8 handwritten digits: a small, offline stand-in for MNIST."""

from __future__ import annotations

import numpy as np

from tinylens.data.dataset import Dataset

__all__ = ["digits"]


def digits() -> Dataset:
    """The 1,797 8x8 digit images shipped with scikit-learn (no download).

    Returns
    -------
    Dataset
        X : array of shape (1797, 64), float32 in [0, 1] (the 0..16 counts divided by 16);
        y : array of shape (1797,), int64 in 0..9; ``image_shape=(8, 8)``,
        ``input_range=(0.0, 1.0)``.

    >>> ds = digits()
    >>> ds.X.shape, ds.n_classes, ds.image_shape
    ((1797, 64), 10, (8, 8))
    """
    # scikit-learn is imported here, not at module level: importing tinylens.data stays cheap.
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    return Dataset(
        X=X,
        y=np.asarray(bunch.target, dtype=np.int64),
        task="classification",
        name="digits",
        n_classes=10,
        image_shape=(8, 8),
        input_range=(0.0, 1.0),
        info={"source": "sklearn.datasets.load_digits", "scale": "pixel counts 0..16 / 16"},
    )
