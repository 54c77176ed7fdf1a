"""Figures of the basis decomposition: ghosts over the network, partial sums in kink order, kink
trajectories and the width sweep.

Arrays in, matplotlib figures out (no pyplot). Laid out by fixed margins
(:func:`~tinylens.viz.figure.fixed_margins`): constrained layout was most of their drawing time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.figure import fixed_margins, new_axes, new_figure

__all__ = [
    "EXACT_FLOOR",
    "draw_ghosts",
    "plot_ghosts",
    "plot_kink_trajectories",
    "plot_partial_sums",
    "plot_width_sweep",
    "update_ghosts",
]

_DEAD = "0.65"


def draw_ghosts(
    ax: Any,
    x: np.ndarray,
    ghosts: np.ndarray,
    output: np.ndarray,
    *,
    target: np.ndarray | None = None,
    data: tuple[np.ndarray, np.ndarray] | None = None,
    kinks: Sequence[float | None] | None = None,
    dead: np.ndarray | None = None,
    title: str = "",
    ylim: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Draw ghost functions (one curve per neuron), the network and the target on ``ax``.

    ``x`` : (n,); ``ghosts`` : (n, n_neurons); ``output``, ``target`` : (n,); ``data`` : (X, y)
    of shapes (m,); ``kinks`` : per neuron (None for none); ``dead`` : bool per neuron (grey).
    Returns the artists, for :func:`update_ghosts` (fast animation frames).
    """
    n = ghosts.shape[1]
    if data is not None:
        ax.scatter(data[0], data[1], s=5, color="0.75", zorder=1, label="data")
    if target is not None:
        ax.plot(x, target, color="0.45", lw=1.5, ls="--", zorder=2, label="target")
    lines = [ax.plot(x, ghosts[:, j], lw=0.9, zorder=3)[0] for j in range(n)]
    out = ax.plot(x, output, color="k", lw=2.2, zorder=4, label="network = sum of ghosts + b_out")
    marks = [ax.axvline(0.0, lw=0.6, ls=":", zorder=0) for _ in range(n)]
    ax.axhline(0, color="0.8", lw=0.6, zorder=0)
    ax.set(xlabel="x", ylabel="y", xlim=(float(np.min(x)), float(np.max(x))))
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(loc="upper right", fontsize=8)
    artists = {"ax": ax, "x": x, "ghosts": lines, "output": out[0], "kinks": marks}
    update_ghosts(artists, ghosts, output, kinks=kinks, dead=dead, title=title)
    return artists


def update_ghosts(
    artists: dict[str, Any],
    ghosts: np.ndarray,
    output: np.ndarray,
    *,
    kinks: Sequence[float | None] | None = None,
    dead: np.ndarray | None = None,
    title: str = "",
) -> None:
    """Move the curves drawn by :func:`draw_ghosts` to new values (same number of neurons)."""
    x = artists["x"]
    colors = _neuron_colors(ghosts.shape[1])
    lo, hi = float(np.min(x)), float(np.max(x))
    for j, line in enumerate(artists["ghosts"]):
        is_dead = dead is not None and bool(dead[j])
        line.set_ydata(ghosts[:, j])
        line.set_color(_DEAD if is_dead else colors[j])
        line.set_alpha(0.5 if is_dead else 0.9)
        k = kinks[j] if kinks is not None else None
        mark = artists["kinks"][j]
        mark.set_visible(k is not None and lo <= k <= hi)
        if k is not None:
            mark.set_xdata([k, k])
        mark.set_color(colors[j])
    artists["output"].set_ydata(output)
    artists["ax"].set_title(title)


def plot_ghosts(
    x: np.ndarray,
    ghosts: np.ndarray,
    output: np.ndarray,
    *,
    importances: np.ndarray | None = None,
    kinks: Sequence[float | None] | None = None,
    dead: np.ndarray | None = None,
    target: np.ndarray | None = None,
    data: tuple[np.ndarray, np.ndarray] | None = None,
    title: str = "",
) -> Figure:
    """The basis: ghosts over the network (top) and each neuron's importance at its kink.

    ``importances`` : (n_neurons,) outgoing weights, drawn as stems at the kinks (bottom panel,
    kinkless neurons at the left edge, dead ones grey).
    """
    fig = new_figure(7.5, 6.2 if importances is not None else 4.2)
    if importances is None:
        ax = fig.subplots()
        draw_ghosts(ax, x, ghosts, output, target=target, data=data, kinks=kinks, dead=dead)
        ax.set_title(title)
        return fixed_margins(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=[2.2, 1])
    fixed_margins(fig, hspace=0.22)
    draw_ghosts(top, x, ghosts, output, target=target, data=data, kinks=kinks, dead=dead)
    top.set_title(title)
    top.set_xlabel("")
    colors = _neuron_colors(len(importances))
    lo, hi = float(np.min(x)), float(np.max(x))
    # every kink where it is (a dead neuron's kink usually lies outside the data): the panel's
    # x range grows to hold them all, the data range shaded; kinkless neurons at its left edge
    placed = [float(k) for k in (kinks or []) if k is not None]
    left, right = min([lo, *placed]), max([hi, *placed])
    pad = 0.03 * (right - left or 1.0)
    for j, w in enumerate(importances):
        k = kinks[j] if kinks is not None else None
        pos = left - pad if k is None else float(k)
        is_dead = dead is not None and bool(dead[j])
        color = _DEAD if is_dead else colors[j]
        bottom.vlines(pos, 0, w, color=color, lw=1.6)
        bottom.plot(pos, w, "o", color=color, ms=4, mfc="white" if k is None else color)
    bottom.axvspan(lo, hi, color="0.93", zorder=0, label="data range")
    bottom.axhline(0, color="0.6", lw=0.6)
    bottom.set_xlim(left - 2 * pad, right + pad)
    bottom.set(xlabel="kink position x = -b / w", ylabel="importance w_out")
    bottom.legend(fontsize=8, loc="upper right")
    return fig


def plot_partial_sums(
    x: np.ndarray,
    partial: np.ndarray,
    *,
    target: np.ndarray | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """The curve being built: ``partial`` of shape (n_neurons + 1, n), light to dark."""
    own = ax is None
    fig, ax = new_axes(ax, 7.0, 4.2)
    if own:
        fixed_margins(fig, right=0.2)
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    k = len(partial)
    for i, curve in enumerate(partial):
        ax.plot(x, curve, color=cmap(i / max(k - 1, 1)), lw=1.0 if i < k - 1 else 2.4)
    if target is not None:
        ax.plot(x, target, color="0.3", ls="--", lw=1.2, label="target")
        ax.legend(loc="upper right", fontsize=8)
    ax.set(xlabel="x", ylabel="b_out + first k ghosts", title=title)
    sm = _scalar_mappable(cmap, 0, k - 1)
    fig.colorbar(sm, ax=ax, label="ghosts added (in kink order)")
    return fig


def plot_width_sweep(
    widths: Sequence[int],
    errors: Mapping[str, np.ndarray],
    *,
    least_squares: Mapping[str, np.ndarray] | None = None,
    interpolation: Mapping[str, np.ndarray] | None = None,
    rate: Mapping[str, np.ndarray] | None = None,
    title: str = "",
    ylabel: str = "RMSE on the target",
    ax: Any = None,
) -> Figure:
    """Error against hidden width, one panel per target (all in ``ax`` when given).

    ``errors[name]`` of shape (n_widths, n_seeds): the trained networks, median over seeds
    (one unlucky seed does not drag it) with the range shaded. ``least_squares``,
    ``interpolation`` and ``rate`` (each ``{name: (n_widths,)}``, optional): the best network
    with evenly placed kinks, the interpolant at those knots, and the ``1/width^2`` rate. Values
    at or below ``EXACT_FLOOR`` (an exact fit) are drawn on it, marked in the legend.
    """
    names = list(errors)
    if ax is not None:
        fig, axes = ax.figure, [ax] * len(names)
    else:
        cols = min(2, len(names))
        rows = -(-len(names) // cols)
        fig = new_figure(5.0 * cols, 3.6 * rows)
        axes = list(np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel())
        fixed_margins(fig, top=0.7 if title else 0.4, hspace=0.45, wspace=0.28)
        for extra in axes[len(names) :]:
            extra.set_visible(False)
    w = np.asarray(widths, dtype=float)
    floor = EXACT_FLOOR
    for i, name in enumerate(names):
        a = axes[i]
        err = np.maximum(np.asarray(errors[name], dtype=float), floor)
        color = f"C{i}"
        a.plot(w, np.median(err, axis=1), "o-", color=color, label=f"{name}: trained (median)")
        a.fill_between(w, err.min(axis=1), err.max(axis=1), color=color, alpha=0.18)
        for values, style, label in (
            (least_squares, "s--", "least squares, even kinks"),
            (interpolation, "^:", "interpolant at the kinks"),
        ):
            if values is not None and name in values:
                v = np.asarray(values[name], dtype=float)
                exact = " (exact: on the floor)" if (v <= floor).any() else ""
                a.plot(w, np.maximum(v, floor), style, color=color, alpha=0.75, ms=4,
                       label=label + exact)  # fmt: skip
        if rate is not None and name in rate:
            a.plot(w, rate[name], "-", color="0.35", lw=1.0, label="1/width^2 rate")
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_xticks(w, [str(int(v)) for v in w])
        a.set(xlabel="hidden width", ylabel=ylabel, title=name if ax is None else title)
        a.legend(fontsize=7)
    if ax is None and title:
        fig.suptitle(title)
    return fig


EXACT_FLOOR = 1e-6
"""Where :func:`plot_width_sweep` draws errors at or below it (a log axis has no 0)."""


def plot_kink_trajectories(
    epochs: np.ndarray,
    kinks: np.ndarray,
    domain: tuple[float, float],
    *,
    importances: np.ndarray | None = None,
    dead: np.ndarray | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Each neuron's kink over training: ``kinks`` of shape (n_frames, n_neurons), NaN where a
    neuron has no kink; line width grows with the final ``|importance|`` (same shape) when
    given; neurons flagged in ``dead`` (shape (n_neurons,)) are grey."""
    own = ax is None
    fig, ax = new_axes(ax, 6.5, 4.2)
    if own:
        fixed_margins(fig)
    colors = _neuron_colors(kinks.shape[1])
    scale = None
    if importances is not None:
        scale = np.abs(importances) / max(float(np.abs(importances).max()), 1e-12)
    span = domain[1] - domain[0]
    xlim = (domain[0] - 0.25 * span, domain[1] + 0.25 * span)
    # a kink leaving the picture (its slope crossing zero sends it to infinity) breaks the line
    # instead of drawing a horizontal streak across the plot
    shown = np.where((kinks >= xlim[0]) & (kinks <= xlim[1]), kinks, np.nan)
    for j in range(kinks.shape[1]):
        lw = 0.6 + 2.4 * float(scale[-1, j]) if scale is not None else 1.2
        color = _DEAD if dead is not None and bool(dead[j]) else colors[j]
        ax.plot(shown[:, j], epochs, color=color, lw=lw)
    ax.axvspan(domain[0], domain[1], color="0.93", zorder=0, label="data range")
    ax.set(
        xlim=xlim,
        xlabel="kink position",
        ylabel="epoch",
        title=title,
    )
    ax.legend(fontsize=8, loc="upper right")
    return fig


def _neuron_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"] if n > 10 else colormaps["tab10"]
    return [cmap(j % cmap.N) for j in range(n)]


def _scalar_mappable(cmap: Any, lo: float, hi: float) -> Any:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    return ScalarMappable(norm=Normalize(lo, max(hi, lo + 1)), cmap=cmap)
