"""Figures of the toy models of superposition: arrays in, a matplotlib figure out.

Each function draws what Elhage et al. (2022) draw: the columns of ``W`` in the plane, ``W^T W``,
feature norms coloured by superposition, dimensionality against sparsity, the phase diagram.

The study's figures (made here, no ``ax`` given) are laid out by fixed margins
(:func:`~tinylens.viz.figure.fixed_margins`), sized for their labels: constrained layout measured
every tick label and was most of drawing them (issue 18).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap

from tinylens.viz.figure import fixed_margins, new_axes, new_figure, plain_log_labels

__all__ = [
    "plot_columns",
    "plot_columns_grid",
    "plot_dimensionality",
    "plot_feature_norms",
    "plot_gram",
    "plot_phase_diagram",
]

# The paper's fraction lines (see tinylens.superposition.geometry.FRACTIONS)
_FRACTION_LINES = {"1": 1.0, "3/4": 3 / 4, "2/3": 2 / 3, "1/2": 1 / 2, "2/5": 2 / 5, "1/3": 1 / 3}
# not represented, dedicated dimension, superposition (the paper: blue, red, white-ish)
_PHASE_COLOURS = ("#4c72b0", "#c44e52", "#f2f2f2")


def plot_columns(
    W: np.ndarray, importance: Sequence[float] | None = None, *, ax: Any = None, title: str = ""
) -> Any:
    """The columns ``W_i`` of one ``(2, n)`` matrix as arrows from the origin, coloured by
    feature importance (darker: more important)."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != 2:
        raise ValueError(f"plot_columns needs W of shape (2, n), got {W.shape}")
    fig, ax = new_axes(ax, 3.2, 3.2)
    n = W.shape[1]
    imp = np.ones(n) if importance is None else np.asarray(importance, dtype=float)
    shade = 0.25 + 0.75 * (imp - imp.min()) / max(float(np.ptp(imp)), 1e-12)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for i in range(n):
        c = cmap(1.0 - shade[i])
        ax.plot([0, W[0, i]], [0, W[1, i]], color=c, lw=1.5)
        ax.scatter([W[0, i]], [W[1, i]], color=c, s=14, zorder=3)
    lim = max(1.3, float(np.abs(W).max()) * 1.15)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_columns_grid(
    Ws: np.ndarray, importance_decay: Sequence[float], titles: Sequence[str]
) -> Any:
    """:func:`plot_columns` for a stack ``Ws`` of shape ``(K, 2, n)``, one panel each."""
    Ws = np.asarray(Ws)
    fig = new_figure(2.4 * len(Ws), 2.7)
    axes = np.atleast_1d(fig.subplots(1, len(Ws)))
    fixed_margins(fig, left=0.1, right=0.1, bottom=0.1, top=0.3, wspace=0.08)
    n = Ws.shape[2]
    for ax, W, r, t in zip(axes, Ws, importance_decay, titles, strict=True):
        plot_columns(W, float(r) ** np.arange(n), ax=ax, title=t)
    return fig


def plot_gram(
    G: np.ndarray,
    *,
    ax: Any = None,
    title: str = "W^T W",
    vmax: float | None = None,
    colorbar: bool = True,
) -> Any:
    """``W^T W`` as a heat map on a symmetric colour scale ``[-vmax, vmax]`` (red +, blue -;
    ``vmax`` defaults to the largest ``|entry|``; several panels share one with ``vmax``)."""
    G = np.asarray(G, dtype=float)
    fig, ax = new_axes(ax, 3.0, 3.0)
    v = max(float(np.abs(G).max()) if vmax is None else float(vmax), 1e-12)
    im = ax.imshow(G, cmap="RdBu_r", vmin=-v, vmax=v)
    ax.set(xticks=range(len(G)), yticks=range(len(G)), title=title)
    ax.title.set_fontsize(9)
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.7)
    return fig


def plot_feature_norms(
    norms: np.ndarray, superposition: np.ndarray, *, ax: Any = None, title: str = ""
) -> Any:
    """Feature norms ``||W_i||`` as horizontal bars (feature 0 on top), coloured by how much
    of their dimension they share, ``sum_{j != i} (W_i_hat . W_j)^2`` (black: alone,
    yellow: fully shared; the scale is clipped at 1)."""
    import matplotlib

    norms, sup = np.asarray(norms, dtype=float), np.asarray(superposition, dtype=float)
    fig, ax = new_axes(ax, 3.0, 2.4)
    cmap = matplotlib.colormaps["inferno"]
    y = np.arange(len(norms))
    ax.barh(y, norms, color=[cmap(min(float(s), 1.0) * 0.9) for s in sup], edgecolor="0.4")
    ax.set(yticks=y, xlim=(0, max(1.2, float(norms.max()) * 1.05)), xlabel="||W_i||")
    ax.invert_yaxis()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_dimensionality(
    sparsity: np.ndarray,
    dimensionality: np.ndarray,
    *,
    dims_per_feature: np.ndarray | None = None,
    ax: Any = None,
) -> Any:
    """Per-feature dimensionality ``D_i`` (dots) against ``1 / (1 - S)`` (log scale), with the
    fractions where features stick (dotted) and ``m / ||W||_F^2`` (the line), as in the paper.

    sparsity : array of shape (K,); dimensionality : array of shape (K, n)."""
    S = np.asarray(sparsity, dtype=float)
    D = np.asarray(dimensionality, dtype=float)
    own = ax is None
    fig, ax = new_axes(ax, 5.0, 3.4)
    if own:  # the legend sits right of the axes
        fixed_margins(fig, left=0.6, right=1.35, bottom=0.5, top=0.3)
    x = 1.0 / (1.0 - S)
    for label, f in _FRACTION_LINES.items():
        ax.axhline(f, color="0.75", lw=0.7, ls=":")
        ax.text(1.01, f, label, fontsize=7, va="center", color="0.4",
                transform=ax.get_yaxis_transform())  # fmt: skip
    for i in range(D.shape[1]):
        ax.scatter(x, D[:, i], s=16, color=f"C{i % 10}", label=f"feature {i}", zorder=3)
    if dims_per_feature is not None:
        order = np.argsort(x)
        ax.plot(x[order], np.asarray(dims_per_feature)[order], "k-", lw=1, label="m / ||W||_F^2")
    if x.min() == x.max():  # one sparsity: a log axis needs a range around it
        ax.set_xlim(x.min() / 2, x.max() * 2)
    ax.set(
        xscale="log",
        xlabel="1 / (1 - S)",
        ylabel="dimensionality D_i",
        ylim=(-0.05, 1.1),
        title="dimensions per feature against sparsity",
    )
    plain_log_labels(ax.xaxis)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.07, 1.0))
    return fig


def plot_phase_diagram(
    densities: np.ndarray,
    relative_importance: np.ndarray,
    phase_index: np.ndarray,
    *,
    ax: Any = None,
) -> Any:
    """The ``n=2, m=1`` phase diagram: ``phase_index[row, col]`` (0 not represented, 1 dedicated
    dimension, 2 superposition) at relative importance ``row``, density ``col`` (log axes)."""
    from matplotlib.patches import Patch

    d = np.asarray(densities, dtype=float)
    r = np.asarray(relative_importance, dtype=float)
    idx = np.asarray(phase_index)
    fig, ax = new_axes(ax, 4.6, 3.8)

    # cell edges half-way between grid points in log space
    def edges(v: np.ndarray) -> np.ndarray:
        lv = np.log10(np.sort(v))
        if len(lv) == 1:
            return 10 ** np.array([lv[0] - 0.5, lv[0] + 0.5])
        mid = (lv[1:] + lv[:-1]) / 2
        return 10 ** np.concatenate([[2 * lv[0] - mid[0]], mid, [2 * lv[-1] - mid[-1]]])

    dord, rord = np.argsort(d), np.argsort(r)
    ax.pcolormesh(
        edges(d),
        edges(r),
        idx[np.ix_(rord, dord)],
        cmap=ListedColormap(_PHASE_COLOURS),
        vmin=-0.5,
        vmax=2.5,
        edgecolors="0.6",
        linewidth=0.3,
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="feature density 1 - S",
        ylabel="relative importance of feature 2",
        title="n=2, m=1: what happens to the extra feature",
    )
    ax.invert_xaxis()
    ax.title.set_fontsize(9)
    names = ("not represented", "dedicated dimension", "superposition")
    ax.legend(
        handles=[
            Patch(facecolor=c, edgecolor="0.5", label=n)
            for c, n in zip(_PHASE_COLOURS, names, strict=True)
        ],
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=3,
    )
    return fig
