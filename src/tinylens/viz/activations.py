"""Figures and cards of an activation cache: each hook point's activations at a glance.

The engine's :class:`~tinylens.engine.ActivationCache` is NumPy-only; its ``plot``,
``_repr_html_`` and ``to_pandas`` load this module on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.display import html_card, to_pandas
from tinylens.viz.figure import new_axes

__all__ = ["activations_card", "activations_frame", "plot_activation_ranges"]


def plot_activation_ranges(
    table: dict[str, list[Any]], *, title: str = "activations by hook point", ax: Any = None
) -> Figure:
    """Each hook point's activation range (min to max, a thin line), mean ± sd (a thick bar)
    and the fraction of activations above zero (a second axis).

    ``table`` has the columns of ``ActivationCache.table()``: ``hook point``, ``mean``, ``std``,
    ``min``, ``max``, ``fraction > 0``.
    """
    names = list(table["hook point"])
    fig, ax = new_axes(ax, max(4.5, 0.6 * len(names) + 2.0), 3.4)
    x = np.arange(len(names))
    mean = np.asarray(table["mean"], dtype=np.float64)
    std = np.asarray(table["std"], dtype=np.float64)
    ax.vlines(x, table["min"], table["max"], color="0.6", lw=1, label="min to max")
    ax.errorbar(x, mean, yerr=std, fmt="o", capsize=4, lw=2.5, label="mean ± sd")
    ax.set_xticks(x, names, rotation=30 if len(names) > 4 else 0)
    ax.set(xlabel="hook point", ylabel="activation", title=title)
    ax.legend(fontsize=8, loc="upper left")
    twin = ax.twinx()
    twin.plot(x, table["fraction > 0"], "s--", color="C3", ms=4)
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("fraction > 0", color="C3")
    return fig


def activations_card(table: dict[str, list[Any]], batch: int, nbytes: int) -> str:
    """``_repr_html_`` of a cache: its size, the per-hook table and the ranges figure."""
    numbers = {"hook points": len(table["hook point"]), "batch": batch, "MB": nbytes / 1e6}
    figure = plot_activation_ranges(table) if table["hook point"] else None
    return html_card("ActivationCache", numbers, table, figure)


def activations_frame(table: dict[str, list[Any]]) -> Any:
    return to_pandas(table)
