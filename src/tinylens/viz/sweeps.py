"""Figures of sweeps: a metric against one grid parameter, one line per group, error bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.engine import OPTIMIZERS
from tinylens.viz.figure import new_axes
from tinylens.viz.optimizers import optimizer_color

__all__ = ["plot_sweep_metric"]


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_sweep_metric(
    series: Mapping[str, tuple[Sequence[Any], Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Mean ± sd of a metric against a parameter, one line per group.

    Parameters
    ----------
    series : dict of label -> (x values, means, sds)
        Each a sequence of the same length; x values numeric (a log axis when all are positive
        and span a factor of 10 or more) or categorical (strings, in first-seen order).
        NaN sds (a single seed) draw no bar.
    """
    fig, ax = new_axes(ax, 6.0, 4.0)
    all_x = [x for xs, _, _ in series.values() for x in xs]
    numeric = _numeric(all_x)
    categories: list[str] = []
    if not numeric:
        for x in all_x:
            if str(x) not in categories:
                categories.append(str(x))
    for label, (xs, means, sds) in series.items():
        pos = np.array(xs, dtype=np.float64) if numeric else [categories.index(str(x)) for x in xs]
        pos = np.asarray(pos, dtype=np.float64)
        order = np.argsort(pos, kind="stable")
        m = np.asarray(means, dtype=np.float64)[order]
        s = np.asarray(sds, dtype=np.float64)[order]
        # An optimizer keeps its colour from the optimizer study's figures.
        color = optimizer_color(label) if label in OPTIMIZERS else None
        ax.errorbar(
            pos[order],
            m,
            yerr=np.where(np.isfinite(s), s, 0.0),
            fmt="o-",
            capsize=3,
            ms=4,
            label=label,
            color=color,
        )
    if numeric and all_x:
        arr = np.array(all_x, dtype=np.float64)
        if (arr > 0).all() and arr.max() / arr.min() >= 10:
            ax.set_xscale("log")
    elif categories:
        ax.set_xticks(range(len(categories)), categories, rotation=20)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
