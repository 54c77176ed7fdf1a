"""Figures of interventions: ablation tables, scaling curves, pair interactions.

Arrays in, matplotlib figures out (never shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.figure import new_axes, new_axes_fixed, side_colorbar, text_width

__all__ = ["plot_ablation_heatmap", "plot_pair_matrix", "plot_scaling_curves"]


def plot_ablation_heatmap(
    class_drop: np.ndarray,
    unit_labels: Sequence[str],
    *,
    class_labels: Sequence[str] | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Per-class accuracy lost when each unit is ablated.

    Parameters
    ----------
    class_drop : array of shape (n_units, n_classes)
        Baseline minus ablated accuracy, per class (positive: the unit helps that class).
    unit_labels : sequence of str, one per row
    class_labels : sequence of str, optional
    """
    drop = np.asarray(class_drop, dtype=np.float64)
    k, c = drop.shape
    step = max(1, k // 32)
    shown = [unit_labels[i] for i in range(0, k, step)]
    fig, ax = new_axes_fixed(
        ax,
        max(4.5, 0.45 * c + 2.0),
        max(3.0, 0.22 * k + 1.4),
        left=text_width(shown) + 0.45,
        right=0.9,
    )
    bound = float(np.nanmax(np.abs(drop))) if drop.size and np.isfinite(drop).any() else 1.0
    bound = bound or 1.0
    image = ax.imshow(drop, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(
        range(c), class_labels if class_labels is not None else [str(i) for i in range(c)]
    )
    ax.set_yticks(range(0, k, step), shown)
    ax.set(xlabel="class", ylabel="ablated unit", title=title)
    side_colorbar(image, ax, label="accuracy drop")
    return fig


def plot_scaling_curves(
    scales: np.ndarray,
    accuracy: np.ndarray,
    baseline: float,
    unit_labels: Sequence[str],
    *,
    highlight: int = 5,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Accuracy as each unit is multiplied by each factor.

    Parameters
    ----------
    scales : array of shape (n_scales,)
    accuracy : array of shape (n_units, n_scales)
    baseline : float
        Unedited accuracy (a dashed line).
    highlight : int
        This many units with the largest effect are coloured and labelled; the rest are grey.
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    x = np.asarray(scales, dtype=np.float64)
    fig, ax = new_axes_fixed(ax, 6.0, 4.0)
    order = np.argsort(x)
    effect = np.nanmax(np.abs(acc - baseline), axis=1) if acc.size else np.zeros(0)
    top = set(np.argsort(-effect)[:highlight].tolist())
    for i, row in enumerate(acc):
        if i not in top:
            ax.plot(x[order], row[order], color="0.75", lw=0.8)
    for n, i in enumerate(sorted(top, key=lambda j: -effect[j])):
        ax.plot(x[order], acc[i][order], marker="o", lw=1.8, color=f"C{n}", label=unit_labels[i])
    ax.axhline(baseline, color="k", ls="--", lw=1, label="unedited")
    ax.set(xlabel="scale factor", ylabel="accuracy", title=title)
    ax.legend(fontsize=8)
    return fig


def plot_pair_matrix(
    matrix: np.ndarray,
    unit_labels: Sequence[str],
    baseline: float,
    *,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Accuracy lost when both units of a pair are ablated.

    ``matrix`` is the accuracy of shape (n_units, n_units), symmetric; its diagonal may hold
    each unit ablated alone (NaN entries are left blank).
    """
    drop = baseline - np.asarray(matrix, dtype=np.float64)
    k = len(drop)
    fig, ax = new_axes(ax, max(4.0, 0.18 * k + 2.0), max(3.5, 0.18 * k + 1.5))
    image = ax.imshow(drop, cmap="magma_r", aspect="equal")
    step = max(1, k // 24)
    ax.set_xticks(range(0, k, step), [unit_labels[i] for i in range(0, k, step)], rotation=90)
    ax.set_yticks(range(0, k, step), [unit_labels[i] for i in range(0, k, step)])
    ax.set(title=title)
    fig.colorbar(image, ax=ax, label="accuracy drop")
    return fig
