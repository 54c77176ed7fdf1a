"""Figures of the circuit-recovery study: losses across seeds, outcomes, success rates, fits.

A figure made here (no ``ax`` given) is laid out by fixed margins
(:func:`~tinylens.viz.figure.fixed_margins`): constrained layout measured every tick label and
was two thirds of drawing them (issue 18); the margins are sized for these labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.figure import fixed_margins, new_axes_fixed, new_figure, plain_log_labels

__all__ = [
    "outcome_colors",
    "plot_example_fits",
    "plot_loss_curves",
    "plot_loss_distribution",
    "plot_success_rates",
]

_PALETTE = [
    "#2a9d8f",
    "#8ab17d",
    "#e76f51",
    "#f4a261",
    "#6d597a",
    "#b56576",
    "#457b9d",
    "#e9c46a",
    "#264653",
    "#9e9e9e",
]


def outcome_colors(outcomes: Sequence[str]) -> dict[str, str]:
    """A stable colour per outcome name, in the given order."""
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(outcomes)}


def plot_loss_distribution(
    losses: np.ndarray,
    outcomes: np.ndarray,
    order: Sequence[str],
    *,
    tol: float,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Histogram of log10(final loss) over seeds, stacked by outcome, with the success line.

    losses : array of shape (n_seeds,); outcomes : array of str, shape (n_seeds,).
    """
    fig, ax = new_axes_fixed(ax, 7.0, 3.8)
    finite = np.isfinite(losses)
    logs = np.log10(np.maximum(losses[finite], 1e-16))
    if logs.size:
        lo, hi = float(np.floor(logs.min())), float(np.ceil(logs.max()))
        bins = np.linspace(lo, max(hi, lo + 1), 40)
        colors = outcome_colors(order)
        data, labels, cols = [], [], []
        for name in order:
            sel = outcomes[finite] == name
            if sel.any():
                data.append(logs[sel])
                labels.append(f"{name} ({int(sel.sum())})")
                cols.append(colors[name])
        ax.hist(data, bins=bins, stacked=True, color=cols, label=labels)
        ax.axvline(np.log10(tol), color="k", ls="--", lw=1)
        ax.text(np.log10(tol), ax.get_ylim()[1] * 0.95, f" loss < {tol:g}", va="top", fontsize=8)
        ax.legend(fontsize=8, loc="upper right")
    ax.set(xlabel="log10 final loss (MSE on the evaluation set)", ylabel="seeds", title=title)
    return fig


def plot_success_rates(
    rows: Sequence[Mapping[str, Any]], *, title: str = "", ax: Any = None
) -> Figure:
    """Grouped bars: success rate (and solved-any-structure rate) per optimizer and init.

    rows : dicts with keys ``optimizer``, ``init``, ``success_rate``, ``solved_rate``.
    """
    fig, ax = new_axes_fixed(ax, 7.0, 3.6)
    optimizers = list(dict.fromkeys(r["optimizer"] for r in rows))
    inits = list(dict.fromkeys(r["init"] for r in rows))
    width = 0.8 / max(len(inits), 1)
    x = np.arange(len(optimizers))
    for j, init in enumerate(inits):
        succ = [
            next(
                (r["success_rate"] for r in rows if r["optimizer"] == o and r["init"] == init),
                np.nan,
            )
            for o in optimizers
        ]
        solved = [
            next(
                (r["solved_rate"] for r in rows if r["optimizer"] == o and r["init"] == init),
                np.nan,
            )
            for o in optimizers
        ]
        pos = x - 0.4 + width * (j + 0.5)
        ax.bar(pos, solved, width * 0.9, color=_PALETTE[j], alpha=0.35)
        ax.bar(pos, succ, width * 0.9, color=_PALETTE[j], label=f"init {init}")
    ax.set_xticks(x, optimizers)
    ax.set(ylim=(0, 1.05), ylabel="fraction of seeds", title=title)
    ax.legend(
        fontsize=8,
        title="solid: the known circuit\npale: loss < tol, any structure",
        title_fontsize=7,
    )
    return fig


def plot_loss_curves(
    steps: np.ndarray,
    curves: np.ndarray,
    outcomes: np.ndarray,
    order: Sequence[str],
    *,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Median and 10-90% band of the loss over training, per outcome.

    steps : array of shape (n_points,); curves : array of shape (n_points, n_seeds).
    """
    fig, ax = new_axes_fixed(ax, 7.0, 3.8, left=0.8)
    colors = outcome_colors(order)
    for name in order:
        sel = outcomes == name
        if not sel.any():
            continue
        c = np.maximum(curves[:, sel], 1e-16)
        med = np.median(c, axis=1)
        ax.plot(steps, med, color=colors[name], label=f"{name} ({int(sel.sum())})")
        if sel.sum() > 2:
            ax.fill_between(
                steps,
                np.quantile(c, 0.1, axis=1),
                np.quantile(c, 0.9, axis=1),
                color=colors[name],
                alpha=0.15,
            )
    ax.set_yscale("log")
    plain_log_labels(ax.yaxis)
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.legend(fontsize=8)
    return fig


def plot_example_fits(
    x: np.ndarray,
    y: np.ndarray,
    examples: Mapping[str, np.ndarray],
    order: Sequence[str],
    *,
    title: str = "",
) -> Figure:
    """One panel per outcome: the target and one seed's function, for one-input targets.

    x, y : arrays of shape (n_points,); examples : outcome -> outputs of shape (n_points,).
    """
    names = [n for n in order if n in examples]
    fig = new_figure(3.0 * max(len(names), 1), 2.8)
    axes = fig.subplots(1, max(len(names), 1), squeeze=False)[0]
    fixed_margins(fig, left=0.45, right=0.1, top=0.65 if title else 0.35, wspace=0.22)
    colors = outcome_colors(order)
    for ax, name in zip(axes, names, strict=False):
        ax.plot(x, y, color="0.6", lw=3, label="target")
        ax.plot(x, examples[name], color=colors[name], lw=1.5, label="network")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("x")
    if names:
        axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
