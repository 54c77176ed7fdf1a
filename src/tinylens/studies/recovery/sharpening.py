"""The sigmoid step's solution: the threshold found, then the sharpness ``M`` growing.

One sigmoid unit ``sigmoid(w x + b) = sigmoid(M (c - x))`` with ``M = -w`` and ``c = -b / w``
puts every integer on its side of 0.5 once ``9 < c < 10``; the squared error then falls
towards 0 only as ``M`` grows without bound. The gentle-introduction article ("A gentle
introduction to mechanistic interpretability through simple algorithmic examples") shows
training do exactly that: ``M`` climbing with the threshold near 9.5. A loss threshold alone
calls these seeds "not converged"; here a seed succeeds when it has the step's structure and
its ``M`` was still growing over the last quarter of training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_sharpening", "sharpness", "still_sharpening", "threshold"]

LATE_FRACTION = 0.75
"""Where "the last quarter of training" starts (our choice)."""


def sharpness(trace: np.ndarray) -> np.ndarray:
    """``M = -w`` of a one-unit network ``sigmoid(w x + b)`` from a parameter trace of shape
    (points, K, 2) (``[w, b]``, as :class:`~tinylens.studies.recovery.VariantResult` records
    it): array of shape (points, K)."""
    return -trace[:, :, 0]


def threshold(trace: np.ndarray) -> np.ndarray:
    """The step's position ``c = -b / w`` (where the unit outputs 0.5), shape (points, K);
    NaN where ``w = 0``."""
    w, b = trace[:, :, 0], trace[:, :, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w != 0, -b / np.where(w != 0, w, 1.0), np.nan)


def still_sharpening(steps: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Seeds whose ``M`` (shape (points, K)) at the end is larger than at the recorded step
    nearest :data:`LATE_FRACTION` of training: array of bool, shape (K,)."""
    late = int(np.argmin(np.abs(steps - LATE_FRACTION * steps[-1])))
    if late == len(steps) - 1:
        late = max(0, late - 1)
    return M[-1] > M[late]


def plot_sharpening(
    steps: np.ndarray,
    M: np.ndarray,
    outcomes: np.ndarray,
    *,
    title: str = "",
    ax: Any = None,
) -> Any:
    """``M`` over training: the median and 10-90% band of the seeds of each outcome.

    steps : array of shape (points,); M : array of shape (points, K); outcomes : (K,) str.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    else:
        fig = ax.figure
    for outcome in dict.fromkeys(outcomes.tolist()):
        sel = M[:, outcomes == outcome]
        lo, mid, hi = np.percentile(sel, [10, 50, 90], axis=1)
        line = ax.plot(steps, mid, label=f"{outcome} ({sel.shape[1]} seeds)")[0]
        ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("training step")
    ax.set_ylabel("sharpness M = -w")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig
