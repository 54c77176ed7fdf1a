"""Figures of the SAE study: arrays in, matplotlib figures out.

A figure made here (no ``ax`` given) is laid out by fixed margins
(:func:`~tinylens.viz.figure.fixed_margins`), sized for these labels: constrained layout measured
every tick label and was most of drawing them (issue 18).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.figure import new_axes_fixed

__all__ = ["plot_classes_responded", "plot_entropy_selectivity"]


_COLOURS = ("#4477aa", "#ee6677")


def plot_classes_responded(
    *counts: Any,
    n_classes: int,
    labels: Sequence[str],
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Side-by-side bars: the share of live units (of each group) responding to 1, 2, ...,
    ``n_classes`` classes.

    Parameters
    ----------
    counts : arrays of int, one per group
        Classes responded to, per live unit.
    n_classes : int
    labels : one per group
    """
    fig, ax = new_axes_fixed(ax, 6.0, 3.4)
    width = 0.8 / len(counts)
    x = np.arange(1, n_classes + 1)
    for i, (c, label) in enumerate(zip(counts, labels, strict=True)):
        c = np.asarray(c, dtype=int)
        share = np.bincount(c, minlength=n_classes + 1)[1:] / max(len(c), 1)
        ax.bar(
            x + (i - (len(counts) - 1) / 2) * width,
            share,
            width,
            label=f"{label} ({len(c)} live, mean {c.mean() if len(c) else float('nan'):.2f})",
            color=_COLOURS[i % len(_COLOURS)],
        )
    ax.set_xticks(x)
    ax.set(xlabel="classes responded to (half-maximum rule)", ylabel="share of live units")
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def plot_entropy_selectivity(
    groups: Sequence[tuple[Any, Any]],
    labels: Sequence[str],
    *,
    max_entropy: float | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Each live unit as a point: its class entropy (bits) against its largest selectivity.

    Parameters
    ----------
    groups : sequence of (entropy, max_selectivity) array pairs, one per group
    labels : one per group
    max_entropy : float, optional
        ``log2(n_classes)``, drawn as a dashed line.
    """
    fig, ax = new_axes_fixed(ax, 5.5, 4.0)
    for i, ((h, s), label) in enumerate(zip(groups, labels, strict=True)):
        ax.scatter(s, h, s=10, alpha=0.6, label=label, color=_COLOURS[i % len(_COLOURS)])
    if max_entropy is not None:
        ax.axhline(max_entropy, color="0.5", lw=1, ls="--")
    ax.set(xlabel="largest class selectivity S", ylabel="class entropy (bits)", title=title)
    ax.legend(frameon=False)
    return fig
