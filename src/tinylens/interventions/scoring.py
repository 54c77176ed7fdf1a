"""Scores of stacked outputs: per-sample correctness and per-class accuracy of every edit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.engine import Sequential
from tinylens.errors import DataError, ShapeError
from tinylens.hooks import evaluating
from tinylens.interventions.batched import _as_numpy, _no_grad, batched_scores
from tinylens.interventions.edits import Edit
from tinylens.typing import ModelLike

__all__ = ["class_accuracy", "correct_predictions"]

# Labels in at most this many runs of equal values are scored by slices (see
# correct_predictions.stacked).
_MAX_LABEL_RUNS = 256


def class_accuracy(outputs: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class accuracy of stacked outputs.

    Parameters
    ----------
    outputs : array of shape (k, n_samples, n_outputs)
        Logits (argmax decides), or one logit per sample (> 0 decides class 1).
    y : array of shape (n_samples,)
    n_classes : int

    Returns
    -------
    array of shape (k, n_classes + 1): per-class accuracy, then overall accuracy (last column);
    NaN for a class without samples.
    """
    if outputs.shape[-1] == 1:
        pred = (outputs[..., 0] > 0).astype(np.int64)
    else:
        pred = outputs.argmax(axis=-1)
    return _per_class((pred == y).astype(np.float64), y, n_classes)


class correct_predictions:
    """A :func:`batched_scores` score: 1.0 where the predicted class equals the label ``y[row]``.

    The prediction is the argmax of the outputs (the first maximum on a tie, as NumPy and
    torch pick it), or ``logit > 0`` for a single output.
    """

    def __init__(self, y: np.ndarray) -> None:
        self.y = np.asarray(y)
        self._masks: dict[tuple[int, Any], tuple[np.ndarray, np.ndarray]] = {}
        # Runs of equal labels (label, start, stop): a few when the samples come sorted by
        # label, as the per-class tables pass them; then the labels' logits are slices.
        cuts = np.flatnonzero(np.diff(self.y)) + 1 if self.y.size else np.array([], dtype=int)
        starts = np.concatenate([[0], cuts]).astype(int)
        stops = np.concatenate([cuts, [self.y.size]]).astype(int)
        self._runs = (
            [(int(self.y[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
            if self.y.size and len(starts) <= _MAX_LABEL_RUNS
            else None
        )

    def __call__(self, outputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if outputs.shape[-1] == 1:
            pred = (outputs[..., 0] > 0).astype(np.int64)
        else:
            pred = outputs.argmax(axis=-1)
        return (pred == self.y[rows]).astype(np.float64)

    def _label_masks(self, n_outputs: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """(one-hot of the labels, -inf at the labels) of shape (n_outputs, n_samples)."""
        key = (n_outputs, np.dtype(dtype))
        if key not in self._masks:
            onehot = np.zeros((n_outputs, len(self.y)), dtype=dtype)
            onehot[self.y, np.arange(len(self.y))] = 1
            hide = np.where(onehot == 1, -np.inf, 0).astype(dtype)
            self._masks[key] = (onehot, hide)
        return self._masks[key]

    def stacked(self, outputs_t: np.ndarray) -> np.ndarray:
        """Scores of shape (k, n) from outputs of every sample k times, feature-major: shape
        (n_outputs, k, n). The outputs are overwritten (sweeps pass scratch arrays).

        NOTE: NumPy's argmax over rows of 10 logits costs ~25 ns a row; here the label's logit
        and the best other logit come from whole-row passes (the label's logit copied out and
        hidden, then a max), several times faster. With the samples sorted by label, the
        label's logits are one slice per class; otherwise an einsum with the one-hot labels
        (the slices made the MNIST ablation sweep 1.2x faster on torch).
        """
        if outputs_t.shape[0] == 1:
            return ((outputs_t[0] > 0) == (self.y > 0)).astype(np.float64)
        if self._runs is not None and all(0 <= c < len(outputs_t) for c, _, _ in self._runs):
            own = np.empty(outputs_t.shape[1:], dtype=outputs_t.dtype)
            for c, a, b in self._runs:  # samples a:b all have label c
                own[:, a:b] = outputs_t[c, :, a:b]
                outputs_t[c, :, a:b] = -np.inf  # the label's own logit
        else:
            onehot, hide = self._label_masks(outputs_t.shape[0], outputs_t.dtype)
            own = np.einsum("ckn,cn->kn", outputs_t, onehot)  # exact: one term is not zero
            outputs_t += hide[:, None, :]  # the label's own logit becomes -inf
        other = np.maximum.reduce(outputs_t, axis=0)  # the best other class
        ok = own > other
        # A tie with another class goes to the first maximum, as argmax decides: the label wins
        # only if every tied class comes after it.
        tied_k, tied_n = np.nonzero(own == other)
        if len(tied_k):
            tied = outputs_t[:, tied_k, tied_n] == other[tied_k, tied_n]
            ok[tied_k, tied_n] = self.y[tied_n] < tied.argmax(axis=0)
        return ok.astype(np.float64)


def _per_class(scores: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(k, n) per-sample correctness -> (k, n_classes + 1) per-class and overall accuracy.

    NOTE: per-class sums by index, not as ``scores @ onehot``: that matrix product would wake
    OpenBLAS's thread pool between torch's kernels, and the two pools spinning against each
    other made torch sweeps 3x slower on two cores.
    """
    order = np.argsort(y, kind="stable")
    counts = np.bincount(y, minlength=n_classes)
    present = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
    per_class = np.full((len(scores), n_classes), np.nan)
    sums = np.add.reduceat(scores[:, order], starts, axis=1)  # one pass, class by class
    per_class[:, present] = sums / counts[present]
    return np.concatenate([per_class, scores.mean(axis=1, keepdims=True)], axis=1)


def _class_accuracy_table(
    model: ModelLike,
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    edits: Sequence[Edit],
    cache: Any,
    quiet: bool,
    max_elements: int,
) -> np.ndarray:
    """(1 + len(edits), n_classes + 1): per-class and overall accuracy, unedited row first.

    The samples are processed in label order (a permutation of the activation at the hook
    point, or of X when the model must be run whole), so that per-class sums are contiguous
    runs of the score matrix: no gather of the k x n scores.
    """
    name = edits[0].name
    order = np.argsort(y, kind="stable")
    act = cache[name] if cache is not None and name in cache else None
    if act is not None and len(act) != len(X):
        raise ShapeError(
            f"the cache holds {len(act)} samples at {name}; X has {len(X)} (the cache must "
            "come from these inputs)"
        )
    if act is None:
        with evaluating(model) as h, _no_grad(h):
            chain = isinstance(h, Sequential) or (
                name in h.hook_names and h.suffix(name) is not None
            )
            if chain:  # the prefix is needed anyway: compute it once, then reorder it
                act = _as_numpy(
                    h.forward_to(h.as_tensor(X) if not isinstance(h, Sequential) else X, name)
                )
    if act is not None:
        X_run, cache_run = X, {name: np.asarray(act)[order]}
    else:
        X_run, cache_run = X[order], None
    ys = y[order]
    scores = batched_scores(
        model,
        X_run,
        edits,
        correct_predictions(ys),
        baseline=True,
        cache=cache_run,
        quiet=quiet,
        max_elements=max_elements,
    )
    counts = np.bincount(ys, minlength=n_classes)
    present = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
    per_class = np.full((len(scores), n_classes), np.nan)
    per_class[:, present] = np.add.reduceat(scores, starts, axis=1) / counts[present]
    return np.concatenate([per_class, scores.mean(axis=1, keepdims=True)], axis=1)


def _classification_data(data: Any) -> tuple[np.ndarray, np.ndarray, int]:
    from tinylens.training import as_xy

    if hasattr(data, "X") and hasattr(data, "task"):  # a Dataset: checked when it was built
        X, y, task = data.X, data.y, data.task
    else:
        X, y, task = as_xy(data, "sweep data")
    if task == "regression" or y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError("accuracy sweeps need classification data: integer labels of shape (n,)")
    n_classes = int(getattr(data, "n_classes", None) or (int(y.max()) + 1))
    return X, y.astype(np.int64), n_classes
