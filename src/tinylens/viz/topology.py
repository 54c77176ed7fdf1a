"""Figures of the topology study: lifting against depth on the spiral.

>>> import numpy as np
>>> fig = plot_degree_sweep({3: [0.4, 0.7, 1.0]}, mlp={3: 1.0})
>>> len(fig.axes[0].lines)
2
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.decision import plot_decision_boundary
from tinylens.viz.figure import new_axes_fixed, new_figure_fixed

__all__ = ["plain_axis_labels", "plain_log_ticks", "plot_boundary_grid", "plot_degree_sweep"]

# The input axes as plain Unicode: "$x_1$" would start matplotlib's mathtext parser, whose
# first use costs a few hundred milliseconds (issue 18), for the same two characters.
X1, X2 = "x\u2081", "x\u2082"


def plain_axis_labels(fig: Figure) -> Figure:
    """Every axes of ``fig`` labelled x\u2081, x\u2082 (in place of mathtext ``$x_1$``)."""
    for ax in fig.axes:
        ax.set(xlabel=X1, ylabel=X2)
    return fig


def plain_log_ticks(ax: Any) -> None:
    """Label a log-scaled y axis with plain numbers (2,000 rather than 2x10^3): matplotlib's
    default log labels are mathtext, whose parser costs more than the rest of a small figure
    (issue 18). Minor ticks are labelled only when the axis spans less than a decade (then no
    major tick may fall inside it), as matplotlib does."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    lo, hi = ax.get_ylim()
    plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain if hi < 10 * lo else NullFormatter())


def plot_degree_sweep(
    sweeps: Mapping[int, Sequence[float]],
    *,
    mlp: Mapping[int, float] | None = None,
    ax: Any = None,
) -> Figure:
    """Held-out accuracy of the lifted classifier against its degree, one line per spiral K
    (``sweeps[K][p - 1]`` at degree p), the MLP's accuracy dashed in the same colour."""
    fig, ax = new_axes_fixed(ax, 5.5, 3.8)
    _draw_degree_sweep(ax, sweeps, mlp)
    return fig


def _draw_degree_sweep(
    ax: Any, sweeps: Mapping[int, Sequence[float]], mlp: Mapping[int, float] | None
) -> None:
    for i, (k, sweep) in enumerate(sweeps.items()):
        ax.plot(range(1, len(sweep) + 1), sweep, "o-", color=f"C{i}", label=f"K={k}")
        if mlp is not None and k in mlp:
            ax.axhline(mlp[k], color=f"C{i}", ls="--", lw=0.8)
    ax.set(
        xlabel="lifting degree P",
        ylabel="held-out accuracy",
        ylim=(0, 1.02),
        title="lifting: accuracy against degree (dashed: the MLP)",
    )
    ax.legend(fontsize=8)


def plot_boundary_grid(
    rows: Sequence[tuple[tuple[Callable[[np.ndarray], np.ndarray], str], ...]],
    X: Sequence[np.ndarray],
    y: Sequence[np.ndarray],
    *,
    resolution: int = 200,
) -> Figure:
    """One row per spiral: each ``(predict, title)`` of ``rows[i]`` drawn as a decision map
    with the points ``X[i]``, ``y[i]`` (:func:`~tinylens.viz.plot_decision_boundary`)."""
    ncols = max(len(r) for r in rows)
    fig, axes = new_figure_fixed(4.8 * ncols, 4.4 * len(rows), len(rows), ncols)
    for row_axes, models, Xi, yi in zip(axes, rows, X, y, strict=True):
        for ax, (predict, title) in zip(row_axes, models, strict=False):
            plot_decision_boundary(predict, Xi, yi, ax=ax, title=title, resolution=resolution)
            ax.title.set_fontsize(9)
    return plain_axis_labels(fig)
