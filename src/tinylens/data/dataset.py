"""The :class:`Dataset` container and the train/test split.

A dataset is a pair of arrays plus what a study needs to know about them:

* ``X`` : array of shape (n_samples, n_features), float32. Images are flattened
  (``(n, 784)`` for MNIST) and ``image_shape`` says how to fold them back.
* ``y`` : array of shape (n_samples,), int64 labels in ``[0, n_classes)`` for classification;
  array of shape (n_samples, n_outputs), float32 for regression (1-D targets become ``(n, 1)``).

Datasets are immutable in the sense that every operation (``subset``, ``split``, ``map_X``,
:func:`normalize`) returns a new one and never writes into the arrays it was given.

>>> import numpy as np
>>> ds = Dataset(np.zeros((6, 2)), np.array([0, 1, 2, 0, 1, 2]), "classification", "toy")
>>> ds
Dataset(name='toy', task='classification', n=6, n_features=2, n_classes=3)
>>> ds.X.dtype, ds.y.dtype, ds.default_loss
(dtype('float32'), dtype('int64'), 'cross_entropy')
>>> train, test = ds.split(test_size=3, rng=0)
>>> sorted(test.y.tolist()), len(train)
([0, 1, 2], 3)
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.typing import Seed

__all__ = ["TASKS", "Dataset", "normalize"]


TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Inputs, targets and what they mean.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Inputs; converted to float32. Must be finite.
    y : array of shape (n_samples,) or (n_samples, n_outputs)
        Classification: integer labels in ``[0, n_classes)`` (stored as int64, shape (n,)).
        Regression: targets stored as float32 of shape (n_samples, n_outputs); a 1-D ``y``
        becomes ``(n_samples, 1)``. Must be finite.
    task : {"classification", "regression"}
    name : str
        Used in error messages and reports.
    n_classes : int, optional
        Classification only; inferred as ``max(y) + 1`` when None.
    feature_names : tuple of str, optional
        One per feature, e.g. ``("x1", "x2")``.
    image_shape : (int, int), optional
        How a row of ``X`` folds into an image: ``(28, 28)`` for MNIST, ``(8, 8)`` for digits.
    input_range : (float, float), optional
        The range the inputs are meant to lie in, e.g. ``(0.0, 1.0)`` for pixel intensities.
    info : dict
        Provenance: generator parameters, seed, source files, split.

    Raises
    ------
    ConfigError
        ``task`` is not one of :data:`TASKS`, or a metadata field is malformed.
    ShapeError
        ``X`` is not 2-D, ``len(y) != len(X)``, or metadata does not match ``n_features``.
    DataError
        NaN or infinite values, or labels that are not integers in ``[0, n_classes)``.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str
    n_classes: int | None = None
    feature_names: tuple[str, ...] | None = None
    image_shape: tuple[int, int] | None = None
    input_range: tuple[float, float] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; validation is the one writer
        name = self.name
        if self.task not in TASKS:
            raise ConfigError(
                f"unknown task {self.task!r} for dataset {name!r}; "
                f"expected 'classification' or 'regression'"
            )
        X = _as_float32(self.X, name, "X")
        if X.ndim != 2:
            raise ShapeError(
                f"X of dataset {name!r} has shape {X.shape}; expected (n_samples, n_features) "
                f"(reshape 1-D inputs with X.reshape(-1, 1), flatten images)"
            )
        _check_finite(X, name, "X")
        if self.task == "classification":
            y, n_classes = _as_labels(self.y, self.n_classes, name)
        else:
            if self.n_classes is not None:
                raise ConfigError(
                    f"dataset {name!r} is a regression task; n_classes must be None, "
                    f"not {self.n_classes!r}"
                )
            y = _as_float32(self.y, name, "y")
            if y.ndim == 1:
                y = y.reshape(-1, 1)
            if y.ndim != 2:
                raise ShapeError(
                    f"y of regression dataset {name!r} has shape {y.shape}; "
                    f"expected (n_samples,) or (n_samples, n_outputs)"
                )
            _check_finite(y, name, "y")
            n_classes = None
        if len(y) != len(X):
            raise ShapeError(
                f"dataset {name!r} has {len(X)} rows in X but {len(y)} in y; "
                f"they must have one target per input"
            )
        set_(self, "X", X)
        set_(self, "y", y)
        set_(self, "n_classes", n_classes)
        set_(self, "feature_names", self._checked_feature_names(X.shape[1]))
        set_(self, "image_shape", self._checked_image_shape(X.shape[1]))
        set_(self, "input_range", self._checked_input_range())
        set_(self, "info", dict(self.info))

    # -- validation of the metadata fields ----------------------------------------------------

    def _checked_feature_names(self, n_features: int) -> tuple[str, ...] | None:
        if self.feature_names is None:
            return None
        names = tuple(str(f) for f in self.feature_names)
        if len(names) != n_features:
            raise ShapeError(
                f"dataset {self.name!r} has {n_features} features but {len(names)} "
                f"feature_names {names}; give one name per column of X"
            )
        return names

    def _checked_image_shape(self, n_features: int) -> tuple[int, int] | None:
        if self.image_shape is None:
            return None
        shape = tuple(int(s) for s in self.image_shape)
        if len(shape) != 2 or shape[0] * shape[1] != n_features:
            raise ShapeError(
                f"image_shape {shape} of dataset {self.name!r} does not match its "
                f"{n_features} features; expected (height, width) with height * width = "
                f"{n_features}"
            )
        return shape

    def _checked_input_range(self) -> tuple[float, float] | None:
        if self.input_range is None:
            return None
        try:
            lo, hi = (float(v) for v in self.input_range)
        except (TypeError, ValueError):
            raise ConfigError(
                f"input_range of dataset {self.name!r} must be (low, high), "
                f"not {self.input_range!r}"
            ) from None
        if not lo < hi:
            raise ConfigError(
                f"input_range of dataset {self.name!r} needs low < high, got ({lo}, {hi})"
            )
        return lo, hi

    # -- sizes ---------------------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features (784 for MNIST)."""
        return int(self.X.shape[1])

    @property
    def n_outputs(self) -> int:
        """Width of a network's output layer: ``n_classes``, or ``y.shape[1]`` for regression."""
        if self.task == "classification":
            return int(self.n_classes)  # type: ignore[arg-type]
        return int(self.y.shape[1])

    @property
    def default_loss(self) -> str:
        """``"cross_entropy"`` for classification, ``"mse"`` for regression."""
        return "cross_entropy" if self.task == "classification" else "mse"

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        extra = f", n_classes={self.n_classes}" if self.task == "classification" else ""
        if self.task == "regression":
            extra = f", n_outputs={self.n_outputs}"
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, n={self.n}, "
            f"n_features={self.n_features}{extra})"
        )

    # -- new datasets from this one ------------------------------------------------------------

    def subset(self, indices: np.ndarray | list[int]) -> Dataset:
        """The rows ``indices`` (integer positions or a boolean mask of length n), as a copy."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (self.n,):
                raise ShapeError(
                    f"boolean mask of shape {idx.shape} cannot select rows of dataset "
                    f"{self.name!r} with {self.n} samples; expected shape ({self.n},)"
                )
        elif idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ConfigError(
                f"subset indices of dataset {self.name!r} must be integers or a boolean mask, "
                f"not {idx.dtype}"
            )
        else:
            idx = idx.astype(np.intp).reshape(-1)
            if idx.size and (idx.min() < -self.n or idx.max() >= self.n):
                raise ConfigError(
                    f"subset index out of range for dataset {self.name!r} with {self.n} samples"
                )
        return dataclasses.replace(self, X=self.X[idx], y=self.y[idx])

    def split(
        self,
        test_fraction: float | None = None,
        *,
        test_size: int | None = None,
        rng: Seed,
        stratify: bool | np.ndarray | None = None,
    ) -> tuple[Dataset, Dataset]:
        """Shuffled ``(train, test)``; see :func:`train_test_split`."""
        from tinylens.data.splits import train_test_split

        return train_test_split(
            self, test_fraction, test_size=test_size, rng=rng, stratify=stratify
        )

    def map_X(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        *,
        input_range: tuple[float, float] | None = None,
        suffix: str = "",
    ) -> Dataset:
        """A new dataset with inputs ``fn(X)`` (same targets; ``fn`` must not write into ``X``).

        Parameters
        ----------
        fn : callable
            Maps X of shape (n_samples, n_features) to an array of shape (n_samples, k).
        input_range : (float, float), optional
            The range of the new inputs; None means unknown (the old range no longer applies).
        suffix : str
            Appended to the name, e.g. ``"-normalized"``.

        ``feature_names`` and ``image_shape`` are kept when the number of features is unchanged.
        The transformation is recorded in ``info["transforms"]``.
        """
        new_X = np.asarray(fn(self.X))
        same_width = new_X.ndim == 2 and new_X.shape[1] == self.n_features
        transform = getattr(fn, "__name__", type(fn).__name__)
        info = {**self.info, "transforms": [*self.info.get("transforms", []), transform]}
        return dataclasses.replace(
            self,
            X=new_X,
            name=self.name + suffix,
            input_range=input_range,
            feature_names=self.feature_names if same_width else None,
            image_shape=self.image_shape if same_width else None,
            info=info,
        )


def normalize(ds: Dataset, mean: float | np.ndarray, std: float | np.ndarray) -> Dataset:
    """``(X - mean) / std`` as a new dataset, recorded in ``info["normalization"]``.

    ``mean`` and ``std`` are scalars or arrays of shape (n_features,). The usual MNIST
    constants are ``mean=0.1307, std=0.3081`` (:data:`tinylens.data.mnist.MNIST_MEAN` /
    ``MNIST_STD``). A known scalar ``input_range`` is mapped along.

    >>> import numpy as np
    >>> ds = Dataset(np.array([[0.0], [1.0]]), np.array([0, 1]), "classification", "px",
    ...              input_range=(0.0, 1.0))
    >>> nd = normalize(ds, 0.5, 0.25)
    >>> nd.X.ravel().tolist(), nd.input_range, nd.info["normalization"]
    ([-2.0, 2.0], (-2.0, 2.0), {'mean': 0.5, 'std': 0.25})
    """
    mean_arr = np.asarray(mean, dtype=np.float64)
    std_arr = np.asarray(std, dtype=np.float64)
    for label, arr in (("mean", mean_arr), ("std", std_arr)):
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (ds.n_features,)):
            raise ShapeError(
                f"normalize {label} of shape {arr.shape} does not fit dataset {ds.name!r} "
                f"with {ds.n_features} features; give a scalar or shape ({ds.n_features},)"
            )
        if not np.all(np.isfinite(arr)):
            raise ConfigError(f"normalize {label} must be finite, got {arr.tolist()}")
    if not np.all(std_arr > 0):
        raise ConfigError(f"normalize std must be > 0, got {std_arr.tolist()}")

    input_range = None
    if ds.input_range is not None and mean_arr.ndim == 0 and std_arr.ndim == 0:
        m, s = float(mean_arr), float(std_arr)
        input_range = ((ds.input_range[0] - m) / s, (ds.input_range[1] - m) / s)

    def normalized(X: np.ndarray) -> np.ndarray:
        # NOTE: computed in float64 and rounded once, so the result does not depend on whether
        # mean/std arrive as Python floats or float32 arrays.
        return ((X.astype(np.float64) - mean_arr) / std_arr).astype(np.float32)

    out = ds.map_X(normalized, input_range=input_range)
    out.info["normalization"] = {"mean": mean_arr.tolist(), "std": std_arr.tolist()}
    return out


def _as_float32(values: object, name: str, what: str) -> np.ndarray:
    try:
        # NOTE: a finite float64 beyond float32's range becomes inf here, and is then reported
        # by _check_finite; silence the cast warning so the DataError is what the user sees.
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{what} of dataset {name!r} cannot be converted to float32 ({exc}); "
            f"pass a numeric array"
        ) from None


def _check_finite(arr: np.ndarray, name: str, what: str) -> None:
    finite = np.isfinite(arr)
    if finite.all():
        return
    n_nan = int(np.isnan(arr).sum())
    n_inf = int((~finite).sum()) - n_nan
    rows = int((~finite.reshape(len(arr), -1)).any(axis=1).sum()) if arr.ndim else 1
    raise DataError(
        f"dataset {name!r} has {n_nan + n_inf} non-finite values in {what} ({n_nan} NaN, "
        f"{n_inf} inf or beyond float32) in {rows} rows; drop or impute those rows before "
        f"building the Dataset"
    )


def _as_labels(values: object, n_classes: int | None, name: str) -> tuple[np.ndarray, int]:
    y = np.asarray(values)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ShapeError(
            f"labels of classification dataset {name!r} have shape {y.shape}; expected "
            f"(n_samples,) integer class indices (not one-hot)"
        )
    if y.dtype == bool:
        y = y.astype(np.int64)
    elif not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.number):
            raise DataError(
                f"labels of dataset {name!r} have dtype {y.dtype}; expected integers "
                f"0..n_classes-1 (encode class names first)"
            )
        yf = y.astype(np.float64)
        _check_finite(yf, name, "y")
        if np.any(yf != np.round(yf)):
            raise DataError(
                f"labels of dataset {name!r} are not whole numbers; classification needs "
                f"integer class indices (use task='regression' for real-valued targets)"
            )
        y = yf
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise DataError(
            f"dataset {name!r} has negative labels (min {int(y.min())}); labels must be "
            f"0..n_classes-1"
        )
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size else 0
    else:
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
            raise ConfigError(f"n_classes of dataset {name!r} must be an int, not {n_classes!r}")
        n_classes = int(n_classes)
        if y.size and y.max() >= n_classes:
            raise DataError(
                f"dataset {name!r} has label {int(y.max())} but n_classes={n_classes}; "
                f"labels must be 0..{n_classes - 1} (or raise n_classes)"
            )
    return y, n_classes
