"""Figures of optimizer comparisons: curves with bands over seeds, final scores with error bars,
paths on 2-D surfaces, step sizes, and learning-rate grids.

Every optimizer keeps one colour across all figures (:func:`optimizer_color`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from tinylens.viz.figure import (
    new_axes,
    new_axes_fixed,
    new_figure_fixed,
    plain_log_labels,
    text_width,
)

__all__ = [
    "optimizer_color",
    "plot_curve_bands",
    "plot_final_scores",
    "plot_lr_grid",
    "plot_paths",
    "plot_step_sizes",
]

_ORDER = ("sgd", "momentum", "nesterov", "ema_momentum", "adam", "adamw", "rmsprop", "adagrad")
_TAB10 = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#8c564b",
    "#d62728",
    "#9467bd",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
# Variants of a method are dashed, so a variant lying on top of its parent stays visible.
_DASHED = {"nesterov", "adamw", "ema_momentum"}


def optimizer_color(name: str) -> str:
    """A fixed colour per optimizer name (unknown names hash into the palette)."""
    if name in _ORDER:
        return _TAB10[_ORDER.index(name)]
    return _TAB10[sum(map(ord, name)) % len(_TAB10)]


def plot_curve_bands(
    curves: Mapping[str, np.ndarray],
    *,
    ylabel: str,
    band: str = "minmax",
    logy: bool = False,
    title: str = "",
    xlabel: str = "epoch",
    ax: Any = None,
) -> Figure:
    """Mean curve per optimizer with a band over seeds.

    Parameters
    ----------
    curves : dict of str -> array of shape (n_seeds, n_epochs)
        NaN entries (a run that diverged or stopped) are left out of that epoch's statistics.
    band : {"minmax", "std"}
        The band drawn: between the lowest and highest seed, or mean ± one standard deviation.
    """
    if band not in ("minmax", "std"):
        from tinylens.errors import ConfigError

        raise ConfigError(f"band must be 'minmax' or 'std', not {band!r}")
    fig, ax = new_axes(ax, 6.0, 4.0)
    for name, values in curves.items():
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        epochs = np.arange(1, values.shape[1] + 1)
        with np.errstate(all="ignore"):
            ok = np.isfinite(values).any(axis=0)
            vals = np.where(np.isfinite(values), values, np.nan)
            mean = np.full(values.shape[1], np.nan)
            lo, hi = mean.copy(), mean.copy()
            mean[ok] = np.nanmean(vals[:, ok], axis=0)
            if band == "minmax":
                lo[ok], hi[ok] = np.nanmin(vals[:, ok], axis=0), np.nanmax(vals[:, ok], axis=0)
            else:
                sd = np.nanstd(vals[:, ok], axis=0)
                lo[ok], hi[ok] = mean[ok] - sd, mean[ok] + sd
        color = optimizer_color(name)
        style = "--" if name in _DASHED else "-"
        ax.plot(epochs, mean, style, color=color, label=f"{name} (n={values.shape[0]})", lw=1.8)
        ax.fill_between(epochs, lo, hi, color=color, alpha=0.18, lw=0)
    if logy:
        ax.set_yscale("log")
        plain_log_labels(ax.yaxis)  # mathtext powers cost a third of the figure (issue 18)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title or f"{ylabel}: mean, band = {'min-max' if band == 'minmax' else '±1 sd'}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_final_scores(
    scores: Mapping[str, np.ndarray],
    *,
    ylabel: str,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Each seed as a dot, and mean ± one standard deviation as an error bar, per optimizer.

    Parameters
    ----------
    scores : dict of str -> array of shape (n_seeds,)
        NaN (a diverged run) is drawn as a cross at the bottom and left out of the mean.
    """
    title = title or f"{ylabel} per seed; bar = mean ± sd"
    # fixed margins (issue 18): room below for the names at 20 degrees, and wide enough for
    # the title over the axes (constrained layout cut a long one off at the figure's edge)
    width = max(4.0, 1.0 + 0.9 * len(scores), text_width([title], 12) + 1.1)
    fig, ax = new_axes_fixed(ax, width, 3.8, left=0.8, bottom=0.75)
    names = list(scores)
    finite_all = np.concatenate(
        [np.asarray(v, float)[np.isfinite(v)] for v in scores.values()] or [np.zeros(0)]
    )
    floor = float(finite_all.min()) if finite_all.size else 0.0
    for i, name in enumerate(names):
        v = np.asarray(scores[name], dtype=np.float64)
        ok = np.isfinite(v)
        color = optimizer_color(name)
        jitter = np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else np.zeros(len(v))
        ax.scatter(i + jitter[ok], v[ok], s=16, color=color, alpha=0.7, zorder=3)
        if (~ok).any():
            ax.scatter(i + jitter[~ok], np.full((~ok).sum(), floor), marker="x", color="k")
        if ok.any():
            ax.errorbar(
                i + 0.28,
                v[ok].mean(),
                yerr=v[ok].std(ddof=1) if ok.sum() > 1 else 0.0,
                fmt="o",
                color=color,
                capsize=4,
                ms=6,
                zorder=4,
            )
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set(ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, axis="y")
    return fig


def plot_paths(
    X: np.ndarray,
    Y: np.ndarray,
    Z: np.ndarray,
    paths: Mapping[str, np.ndarray],
    *,
    minima: Sequence[Sequence[float]] = (),
    labels: Mapping[str, str] | None = None,
    log_levels: bool = True,
    title: str = "",
    xlabel: str = "x",
    ylabel: str = "y",
    ax: Any = None,
) -> Figure:
    """Contours of a 2-D surface with one optimizer path per entry.

    Parameters
    ----------
    X, Y, Z : arrays of shape (n, n)
        The grid and the surface's values on it (``Surface.grid()``).
    paths : dict of str -> array of shape (n_points, 2)
        Points visited, start first.
    minima : sequence of (x, y)
        Marked with a star.
    labels : dict of str -> str, optional
        Legend text per path (default: the key).
    log_levels : bool
        Contour levels spaced logarithmically (for surfaces spanning many decades).
    """
    fig, ax = new_axes_fixed(ax, 6.4, 5.2, top=0.4 + 0.22 * title.count("\n"))
    Z = np.asarray(Z, dtype=np.float64)
    if log_levels:
        zmin = max(float(np.nanmin(Z[Z > 0])) if (Z > 0).any() else 1e-6, 1e-8)
        levels = np.logspace(np.log10(zmin), np.log10(float(np.nanmax(Z))), 30)
        ax.contourf(X, Y, Z, levels=levels, norm=LogNorm(), cmap="Greys", alpha=0.55)
        ax.contour(X, Y, Z, levels=levels, norm=LogNorm(), colors="0.45", linewidths=0.4)
    else:
        ax.contourf(X, Y, Z, levels=30, cmap="Greys", alpha=0.55)
        ax.contour(X, Y, Z, levels=30, colors="0.45", linewidths=0.4)
    for name, pts in paths.items():
        pts = np.asarray(pts)
        color = optimizer_color(name)
        label = (labels or {}).get(name, name)
        style = "--" if name in _DASHED else "-"
        ax.plot(pts[:, 0], pts[:, 1], style, color=color, lw=1.6, label=label, alpha=0.9)
        ax.plot(pts[-1, 0], pts[-1, 1], "o", color=color, ms=5, mec="k", mew=0.5)
    if paths:
        first = np.asarray(next(iter(paths.values())))[0]
        ax.plot(first[0], first[1], "s", color="k", ms=6, label="start")
    for m in minima:
        ax.plot(m[0], m[1], "*", color="gold", mec="k", ms=14, zorder=5)
    ax.set_xlim(float(X.min()), float(X.max()))
    ax.set_ylim(float(Y.min()), float(Y.max()))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=7.5, loc="best", framealpha=0.85)
    return fig


def plot_step_sizes(
    grad_norms: Mapping[str, np.ndarray],
    step_norms: Mapping[str, np.ndarray],
    *,
    lrs: Mapping[str, float] | None = None,
    momentum: Mapping[str, float] | None = None,
    title: str = "",
) -> Figure:
    """How first and second moments change the step: two panels, per optimizer and step.

    Left: gradient norm |g| (dashed) and step length |Δθ| (solid). Right: the effective
    learning rate |Δθ| / |g|; SGD's is its lr, momentum's climbs toward lr / (1 - μ) on a
    steady slope, Adam's and RMSProp's grow where the gradient is small (normalised steps).

    Parameters
    ----------
    grad_norms, step_norms : dict of str -> array of shape (n_steps,)
    lrs : dict of str -> float, optional
        Drawn as a dotted reference line on the right panel.
    momentum : dict of str -> float, optional
        Momentum coefficients μ; ``lr / (1 - μ)``, the effective rate on a steady slope, is
        drawn as a dash-dotted line.
    """
    fig, grid = new_figure_fixed(11.0, 4.0, 1, 2, left=0.8, top=0.7 if title else 0.4)
    left, right = grid[0]
    for name in step_norms:
        color = optimizer_color(name)
        g = np.asarray(grad_norms[name], dtype=np.float64)
        s = np.asarray(step_norms[name], dtype=np.float64)
        t = np.arange(1, len(s) + 1)
        left.plot(t, s, color=color, lw=1.4, label=f"{name} |Δθ|")
        left.plot(t, g, color=color, lw=0.9, ls="--", alpha=0.7)
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(g > 0, s / g, np.nan)
        right.plot(t, eff, color=color, lw=1.4, label=name)
        if lrs and name in lrs:
            right.axhline(lrs[name], color=color, lw=0.8, ls=":")
            mu = (momentum or {}).get(name)
            if mu:
                right.axhline(lrs[name] / (1.0 - mu), color=color, lw=0.8, ls="-.")
    for a in (left, right):
        a.set_yscale("log")
        plain_log_labels(a.yaxis)
    left.set(xlabel="step", ylabel="length", title="step |Δθ| (solid) and gradient |g| (dashed)")
    right.set(
        xlabel="step", ylabel="|Δθ| / |g|", title="effective rate (dotted: lr; dash-dot: lr/(1−μ))"
    )
    left.legend(fontsize=7.5)
    right.legend(fontsize=7.5)
    for a in (left, right):
        a.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def plot_lr_grid(
    grid: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    chosen: Mapping[str, float] | None = None,
    ylabel: str = "validation loss",
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Score against learning rate (log axis) per optimizer, the chosen rate circled.

    Parameters
    ----------
    grid : dict of str -> (lrs, scores), arrays of shape (n_lrs,)
        Scores may be inf or NaN (diverged); they are drawn as crosses at the top.
    """
    fig, ax = new_axes(ax, 6.0, 4.0)
    finite = [np.asarray(s, float)[np.isfinite(s)] for _, s in grid.values()]
    values = np.concatenate(finite) if finite else np.zeros(0)
    top = float(values.max()) * 1.1 if values.size else 1.0
    for name, (lrs, scores) in grid.items():
        lrs, scores = np.asarray(lrs, float), np.asarray(scores, float)
        ok = np.isfinite(scores)
        color = optimizer_color(name)
        ax.plot(lrs[ok], scores[ok], "o-", color=color, label=name, ms=4)
        if (~ok).any():
            ax.plot(lrs[~ok], np.full((~ok).sum(), top), "x", color=color, ms=7)
        if chosen and name in chosen:
            i = int(np.argmin(np.abs(np.log(lrs) - np.log(chosen[name]))))
            ax.plot(lrs[i], scores[i], "o", mfc="none", mec=color, ms=12, mew=1.6)
    ax.set_xscale("log")
    if values.size and values.min() > 0:
        ax.set_yscale("log")
    ax.set(xlabel="learning rate", ylabel=ylabel, title=title or "learning-rate grid (x: diverged)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
