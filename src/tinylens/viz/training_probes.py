"""Figures of a classifier followed through training and scaled unit by unit: test accuracy
per epoch, activation histograms per layer over training, and each bottleneck unit's per-class
scaling curve.

Arrays in, matplotlib figures out (never shown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tinylens.viz.figure import new_axes, new_axes_fixed, new_figure_fixed, plain_log_labels

__all__ = ["plot_activation_histograms", "plot_bottleneck_scaling", "plot_test_accuracy"]


def plot_test_accuracy(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    *,
    reference: float | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """One line per model: ``curves[name] = (epochs, test accuracies)``; ``reference`` is
    drawn as a dashed line (a published number)."""
    fig, ax = new_axes(ax, 5.5, 3.6)
    for name, (ep, acc) in curves.items():
        ax.plot(np.asarray(ep), np.asarray(acc, dtype=np.float64), marker="o", ms=2.5, label=name)
    if reference is not None:
        ax.axhline(reference, color="grey", ls="--", lw=1, label=f"reference {reference:.2%}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="test accuracy", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_activation_histograms(
    epochs: Sequence[int],
    edges: Mapping[str, np.ndarray],
    counts: Mapping[str, np.ndarray],
    *,
    max_lines: int = 6,
    title: str = "",
) -> Figure:
    """One panel per layer: the histogram of its activations at up to ``max_lines`` epochs
    (evenly spread, first and last included), darker for later epochs; counts on a log scale
    (a ReLU layer's spike at 0 would flatten the rest).

    ``edges[layer]`` (bins + 1,) and ``counts[layer]`` (epochs, bins), as in
    :class:`tinylens.probes.ActivationHistograms`.
    """
    names = list(counts)
    ep = np.asarray(epochs)
    pick = np.unique(np.linspace(0, len(ep) - 1, min(max_lines, len(ep))).round().astype(int))
    fig, grid = new_figure_fixed(
        4.2 * len(names), 3.4, 1, len(names), left=0.9, top=0.7 if title else 0.4
    )
    axes = grid[0]
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    for ax, name in zip(axes, names, strict=True):
        e = np.asarray(edges[name])
        for k, i in enumerate(pick):
            colour = cmap(k / max(1, len(pick) - 1))
            ax.stairs(counts[name][i], e, color=colour, lw=1.3, label=f"epoch {int(ep[i])}")
        ax.set_yscale("symlog", linthresh=1)
        plain_log_labels(ax.yaxis)
        ax.set(xlabel="activation", ylabel="count", title=name)
        ax.legend(fontsize=6)
    if title:
        fig.suptitle(title)
    return fig


def plot_bottleneck_scaling(
    entries: Sequence[Mapping[str, Any]],
    *,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """One line per (bottleneck unit, class it is the bottleneck of): that class's accuracy as
    the unit is scaled; dashed where the curve is not monotone. One axes (figures with many
    small axes cost most of a report's drawing time).

    ``entries`` as :meth:`tinylens.studies.mnist.ModelRun.bottleneck_scaling` returns them
    (``layer``, ``unit``, ``classes``, ``scales``, ``class_accuracy`` (scales, classes),
    ``monotone``).
    """
    fig, ax = new_axes_fixed(ax, 6.0, 3.8)
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for e in entries:
        s = np.asarray(e["scales"], dtype=np.float64)
        acc = np.asarray(e["class_accuracy"], dtype=np.float64)
        for c in e["classes"]:
            mono = e["monotone"][str(c)]
            ax.plot(
                s,
                acc[:, c],
                marker="o",
                ms=3,
                lw=1.6,
                ls="-" if mono else "--",
                color=cmap(c % 10),
                label=f"class {c}: {e['layer']}#{e['unit']}" + ("" if mono else " (not monotone)"),
            )
    ax.axvline(1.0, color="grey", lw=0.6, ls=":")
    ax.set(xlabel="scale of the bottleneck unit", ylabel="its class's accuracy", ylim=(-0.03, 1.03))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, ncol=2)
    return fig
