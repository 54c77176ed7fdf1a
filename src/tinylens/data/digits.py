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
    data, target = _digits_arrays()
    X = np.asarray(data, dtype=np.float64) / 16.0
    return Dataset(
        X=X,
        y=np.asarray(target, dtype=np.int64),
        task="classification",
        name="digits",
        n_classes=10,
        image_shape=(8, 8),
        input_range=(0.0, 1.0),
        info={"source": "sklearn.datasets.load_digits", "scale": "pixel counts 0..16 / 16"},
    )


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(pixel counts (1797, 64), labels (1797,)) as ``sklearn.datasets.load_digits`` gives them.

    NOTE: read from the CSV file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``,
    parsed as ``load_digits`` parses it) rather than through ``sklearn.datasets``, whose import
    cost 1 to 2.5 s of the demo's probing and SAE parts (issue 18); finding the package does not
    import it. A scikit-learn without that file falls back to ``load_digits`` itself.
    """
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as f:
                table = np.loadtxt(f, delimiter=",")
            return table[:, :-1], table[:, -1].astype(int, copy=False)
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]

    bunch = load_digits()
    return bunch.data, bunch.target
