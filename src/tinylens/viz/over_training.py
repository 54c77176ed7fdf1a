"""Figures of the partition over training: local complexity over epochs, and one plane's
regions at a few epochs (small multiples)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinylens.viz.figure import new_axes, new_figure

__all__ = ["plot_local_complexity", "plot_plane_snapshots"]

_STYLES = {"train": "-", "test": "--", "far": ":"}


def plot_local_complexity(
    epochs: Sequence[int], means: Mapping[str, np.ndarray], *, radius: float, ax: Any = None
) -> Any:
    """Mean regions per square over epochs; ``means[name]`` is (n_epochs, n_layers): one line
    per layer (colour) and point set (line style)."""
    fig, ax = new_axes(ax, 6.4, 4.0)
    for name, m in means.items():
        for layer in range(m.shape[1]):
            ax.plot(
                epochs,
                m[:, layer],
                _STYLES.get(name, "-"),
                color=f"C{layer}",
                marker="o",
                markersize=3,
                label=f"{name}, layer {layer + 1}",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"regions meeting a square of half-width {radius:g}")
    ax.set_title("Local complexity over training")
    ax.legend(fontsize=7, ncol=len(means))
    return fig


def plot_plane_snapshots(epochs: Sequence[int], regions: Sequence[Any]) -> Any:
    """The regions of one plane coloured by predicted class, one panel per epoch."""
    from tinylens.viz.geometry import plot_slice_regions

    n = len(epochs)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = new_figure(3.2 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, epoch, r in zip(axes.ravel(), epochs, regions, strict=False):
        plot_slice_regions(
            r.vertices,
            r.predicted_class,
            r.box,
            anchors=r.slice.anchors,
            title=f"epoch {epoch}: {r.count} regions",
            ax=ax,
        )
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return fig
