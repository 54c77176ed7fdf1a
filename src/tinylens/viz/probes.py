"""Figures of probes: selectivity, dead-unit lifecycles, drift, confusion, embeddings, input maps,
pruning and variant comparisons.

Arrays in, matplotlib figures out (never shown). Grids of small pictures are drawn as one
mosaic image (one ``imshow``), which is many times faster than one axes per picture. The
figures the reports save are laid out by fixed margins (:func:`tinylens.viz.figure.fixed_margins`)
and their colorbars placed in inches: constrained layout measured every tick label of them
twice per save, most of their drawing time (issue 18).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tinylens.viz.figure import (
    new_axes,
    new_axes_fixed,
    new_figure,
    new_figure_fixed,
    plain_log_labels,
    side_colorbar,
    text_width,
)

__all__ = [
    "mosaic",
    "plot_confusion",
    "plot_drift",
    "plot_embeddings",
    "plot_feature_maps",
    "plot_image_grid",
    "plot_lifecycle",
    "plot_pruning",
    "plot_selectivity",
    "plot_subspace_embeddings",
    "plot_subspaces",
    "plot_variant_curves",
]

_CLASS_COLOURS = "tab10"


def plot_selectivity(
    selectivity: np.ndarray,
    *,
    dead: np.ndarray | None = None,
    unit_label: str = "neuron",
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Heatmap of selectivity (rows: classes, columns: units), -1 (blue) to 1 (red).

    Parameters
    ----------
    selectivity : array of shape (n_classes, n_units)
    dead : array of bool of shape (n_units,), optional
        Dead units get a grey "x" under their column.
    """
    S = np.asarray(selectivity, dtype=np.float64)
    c, u = S.shape
    fig, ax = new_axes_fixed(ax, max(4.0, 0.22 * u + 2.2), max(2.8, 0.3 * c + 1.2), right=0.9)
    image = ax.imshow(S, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    step = max(1, u // 32)
    ax.set_xticks(range(0, u, step), [str(i) for i in range(0, u, step)], fontsize=7)
    ax.set_yticks(range(c), [str(i) for i in range(c)])
    if dead is not None:
        for i in np.flatnonzero(np.asarray(dead, dtype=bool)):
            ax.text(i, c - 0.5 + 0.35, "x", ha="center", va="top", color="0.4", fontsize=8)
    ax.set(xlabel=unit_label, ylabel="class", title=title)
    side_colorbar(image, ax, label="selectivity S")
    return fig


def plot_lifecycle(
    epochs: np.ndarray,
    dead: np.ndarray,
    *,
    frac_active: np.ndarray | None = None,
    events: Sequence[Any] = (),
    unit_label: str = "neuron",
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Raster of units (rows) over statistics passes (columns): black when dead, otherwise the
    fraction of samples the unit is active on; births (green triangles), deaths (red crosses)
    and revivals (blue circles) marked.

    Parameters
    ----------
    epochs : array of shape (n_passes,)
    dead : array of bool of shape (n_passes, n_units)
    frac_active : array of shape (n_passes, n_units), optional
    events : sequence of objects with ``epoch``, ``unit`` and ``kind``
    """
    d = np.asarray(dead, dtype=bool)
    e = np.asarray(epochs)
    n_pass, n_units = d.shape
    width, height = max(4.5, 0.22 * n_pass + 2.5), max(2.8, 0.14 * n_units + 1.2)
    fig, ax = new_axes_fixed(ax, width, height, right=0.9)
    base = np.ones_like(d, dtype=np.float64) if frac_active is None else np.asarray(frac_active)
    shown = np.ma.masked_array(base.T, mask=d.T)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="black")
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    col = {int(v): i for i, v in enumerate(e)}
    styles = {"birth": ("^", "limegreen"), "death": ("x", "red"), "revival": ("o", "deepskyblue")}
    for kind, (marker, colour) in styles.items():
        pts = [(col[ev.epoch], ev.unit) for ev in events if ev.kind == kind and ev.epoch in col]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.scatter(xs, ys, marker=marker, s=22, c=colour, label=kind, linewidths=1.4)
    step = max(1, n_pass // 20)
    ax.set_xticks(range(0, n_pass, step), [str(int(v)) for v in e[::step]])
    ax.set(xlabel="epoch (statistics pass)", ylabel=unit_label, title=title)
    if events:
        ax.legend(fontsize=7, loc="upper right", framealpha=0.8)
    side_colorbar(image, ax, label="fraction active (black: dead)")
    return fig


def plot_drift(
    epochs: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    ylabel: str = "",
    title: str = "",
    log: bool = False,
    ax: Any = None,
) -> Figure:
    """One line per series against ``epochs`` (a series may be one shorter: plotted at the
    later epochs, as changes between consecutive passes are)."""
    fig, ax = new_axes_fixed(ax, 5.6, 3.6, left=0.8)
    e = np.asarray(epochs)
    for label, values in series.items():
        v = np.asarray(values, dtype=np.float64)
        x = e[-len(v) :]
        ax.plot(x, v, marker="o", ms=2.5, lw=1.5, label=label)
    if log:
        ax.set_yscale("log")
        plain_log_labels(ax.yaxis)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return fig


def plot_confusion(matrix: np.ndarray, *, title: str = "", ax: Any = None) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted), coloured by the fraction of the
    row, with counts written in; each row's accuracy is in its label."""
    m = np.asarray(matrix, dtype=np.float64)
    k = len(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = m / m.sum(axis=1, keepdims=True)
    rows = [f"{i} ({100 * frac[i, i]:.1f}%)" for i in range(k)]
    fig, ax = new_axes_fixed(
        ax,
        max(4.5, 0.5 * k + 2),
        max(4.0, 0.45 * k + 1.6),
        left=text_width(rows, 8) + 0.45,
        right=0.9,
    )
    image = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                colour = "white" if frac[i, j] > 0.6 else "black"
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=7, c=colour)
    ax.set_xticks(range(k), [str(i) for i in range(k)])
    ax.set_yticks(range(k), rows, fontsize=8)
    ax.set(xlabel="predicted class", ylabel="true class (accuracy)", title=title)
    side_colorbar(image, ax, label="fraction of the true class")
    return fig


def plot_embeddings(embeddings: Sequence[Any], *, title: str = "") -> Figure:
    """Scatter plots of 2-D embeddings coloured by class: rows are spaces, columns methods.

    ``embeddings`` are objects with ``space``, ``method``, ``points`` (n, 2), ``labels`` (n,),
    ``silhouette_`` and ``silhouette_full_`` (:class:`tinylens.probes.Embedding`).
    """
    spaces = list(dict.fromkeys(e.space for e in embeddings))
    methods = list(dict.fromkeys(e.method for e in embeddings))
    fig = new_figure(3.0 * len(methods) + 0.8, 2.9 * len(spaces))
    axes = fig.subplots(len(spaces), len(methods), squeeze=False)
    by_key = {(e.space, e.method): e for e in embeddings}
    for i, s in enumerate(spaces):
        for j, m in enumerate(methods):
            ax = axes[i, j]
            e = by_key.get((s, m))
            ax.set_xticks([])
            ax.set_yticks([])
            if e is None:
                ax.set_visible(False)
                continue
            sc = ax.scatter(
                e.points[:, 0],
                e.points[:, 1],
                c=e.labels,
                cmap=_CLASS_COLOURS,
                vmin=-0.5,
                vmax=9.5,
                s=4,
                alpha=0.8,
                linewidths=0,
            )
            ax.set_title(
                f"{s} · {m}\nsilhouette {e.silhouette_:.2f} (full space {e.silhouette_full_:.2f})",
                fontsize=8,
            )
    fig.colorbar(sc, ax=axes, ticks=range(10), label="class", shrink=0.6)
    if title:
        fig.suptitle(title)
    return fig


def plot_subspaces(
    top: np.ndarray, random: np.ndarray, *, k: int, title: str = "", ax: Any = None
) -> Figure:
    """Per class: the silhouette of its top-``k`` selective subspace (red diamond) against
    random ``k``-subsets (grey dots and their mean, a grey bar).

    Parameters
    ----------
    top : array of shape (n_classes,)
    random : array of shape (n_classes, n_random)
    """
    t, r = np.asarray(top), np.asarray(random)
    c = len(t)
    fig, ax = new_axes(ax, max(4.5, 0.45 * c + 1.8), 3.4)
    jitter = np.random.default_rng(0).uniform(-0.18, 0.18, size=r.shape)  # layout only
    for i in range(c):
        ax.scatter(i + jitter[i], r[i], s=9, color="0.6", linewidths=0)
        if r.shape[1]:
            ax.plot([i - 0.25, i + 0.25], [np.nanmean(r[i])] * 2, color="0.35", lw=2)
    ax.scatter(range(c), t, marker="D", s=36, color="crimson", label=f"top-{k} selective", zorder=3)
    ax.scatter([], [], s=9, color="0.6", label=f"random {k}-subsets")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(range(c), [str(i) for i in range(c)])
    ax.set(xlabel="class", ylabel="silhouette (class vs rest)", title=title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return fig


def plot_subspace_embeddings(
    points: np.ndarray,
    labels: np.ndarray,
    *,
    top_units: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """For each class c, its top selective subspace in 2-D: class c in colour, the rest grey.

    Parameters
    ----------
    points : array of shape (n_classes, n_samples, 2)
        E.g. :attr:`tinylens.probes.SubspaceSilhouettes.points_` (PCA of each subspace).
    labels : array of shape (n_samples,)
    top_units : array of shape (n_classes, k), optional
        Written in each panel's title.
    """
    import matplotlib

    p = np.asarray(points, dtype=np.float64)
    y = np.asarray(labels)
    c = p.shape[0]
    ncols = min(5, c)
    nrows = -(-c // ncols)
    fig = new_figure(2.2 * ncols, 2.2 * nrows + (0.4 if title else 0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    colours = matplotlib.colormaps[_CLASS_COLOURS]
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= c:
            ax.set_visible(False)
            continue
        mine = y == k
        ax.scatter(p[k, ~mine, 0], p[k, ~mine, 1], s=3, color="0.78", linewidths=0)
        ax.scatter(p[k, mine, 0], p[k, mine, 1], s=5, color=colours(k), linewidths=0)
        units = "" if top_units is None else " (" + ", ".join(map(str, top_units[k])) + ")"
        ax.set_title(f"class {k}{units}", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def mosaic(images: np.ndarray, ncols: int, *, pad: int = 1, normalize: bool = True) -> np.ndarray:
    """Tile ``images`` (n, h, w) into one array, NaN between tiles; each tile scaled to [-1, 1]
    by its own largest magnitude when ``normalize``."""
    imgs = np.asarray(images, dtype=np.float64)
    n, h, w = imgs.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i, img in enumerate(imgs):
        if normalize:
            peak = np.nanmax(np.abs(img))
            img = img / peak if peak > 0 else img
        r, c = divmod(i, ncols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return out


def plot_image_grid(
    images: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    signed: bool = True,
    normalize: bool = True,
    title: str = "",
    cbar_label: str = "",
) -> Figure:
    """Small pictures (n, h, w) in a grid: diverging colours around 0 (``signed``) or a
    sequential map; each tile scaled by its own peak when ``normalize`` (shapes compare, not
    magnitudes). ``labels`` are written above the tiles."""
    imgs = np.asarray(images, dtype=np.float64)
    n, h, w = imgs.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    pad = max(1, h // 7)
    tile = mosaic(imgs, ncols, pad=pad, normalize=normalize)
    if not normalize:
        tile = tile / (np.nanmax(np.abs(tile)) or 1.0)
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r" if signed else "magma"].with_extremes(bad="white")
    fig, ax = new_axes_fixed(
        None,
        1.05 * ncols + 0.9,
        1.15 * nrows + (0.5 if title else 0.2),
        left=0.1,
        right=0.75,
        bottom=0.1,
        top=0.55 if title else 0.25,
    )
    image = ax.imshow(tile, cmap=cmap, vmin=-1 if signed else 0, vmax=1, interpolation="nearest")
    if labels is not None:
        for i, text in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(
                c * (w + pad) + w / 2 - 0.5,
                r * (h + pad) - 0.6,
                text,
                ha="center",
                va="bottom",
                fontsize=6.5,
            )
    ax.set_axis_off()
    if title:
        ax.set_title(title, pad=12)
    bar = side_colorbar(image, ax, shrink=0.6, width=0.12, gap=0.12)
    # one row of tiles is about 1 in tall: a 10 pt label along its bar would not fit
    label = cbar_label or ("each tile / its peak" if normalize else "")
    bar.set_label(label, fontsize=10 if nrows > 1 else 7)
    return fig


def plot_feature_maps(
    inputs: np.ndarray,
    maps: np.ndarray,
    *,
    input_labels: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """A CNN's feature maps for a few inputs: each row is one input (left) and its channels
    (right, channel 0 first), the channels of a row sharing one colour scale.

    Parameters
    ----------
    inputs : array of shape (n_inputs, h, w)
    maps : array of shape (n_inputs, n_channels, h2, w2)
        Activations of one conv stage (after its ReLU).
    """
    x = np.asarray(inputs, dtype=np.float64)
    m = np.asarray(maps, dtype=np.float64)
    n, c = m.shape[:2]
    fig = new_figure(1.0 + 0.75 * c + 0.6, 0.95 * n + (0.5 if title else 0.25))
    axes = fig.subplots(n, 2, squeeze=False, width_ratios=[1.0, 0.75 * c])
    for i in range(n):
        axes[i, 0].imshow(x[i], cmap="gray_r", interpolation="nearest")
        peak = float(np.max(m[i])) or 1.0
        tiles = mosaic(m[i] / peak, c, pad=max(1, m.shape[2] // 7), normalize=False)
        import matplotlib

        cmap = matplotlib.colormaps["magma"].with_extremes(bad="white")
        axes[i, 1].imshow(tiles, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        label = input_labels[i] if input_labels is not None else f"input {i}"
        axes[i, 0].set_ylabel(label, fontsize=7)
    axes[0, 1].set_title(f"channels 0..{c - 1} (each row / its peak)", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def plot_pruning(
    n_kept: np.ndarray,
    accuracy: np.ndarray,
    random_accuracy: np.ndarray,
    baseline: float,
    *,
    ks: Sequence[int] | None = None,
    n_units: int | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Accuracy against the number of units kept: by selectivity (line), random keep-sets of
    the same size (mean and ±1 sd band, grey), and the unpruned network (dashed).

    Parameters
    ----------
    n_kept : array of shape (n_k,)
    accuracy : array of shape (n_k,)
    random_accuracy : array of shape (n_k, n_random)
    baseline : float
    ks : sequence of int, optional
        Annotate each point with its ``k``.
    """
    fig, ax = new_axes_fixed(ax, 5.6, 3.8)
    x = np.asarray(n_kept, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    r = np.asarray(random_accuracy, dtype=np.float64)
    if r.size:
        mean, sd = r.mean(axis=1), r.std(axis=1)
        ax.fill_between(x[order], (mean - sd)[order], (mean + sd)[order], color="0.8")
        ax.plot(x[order], mean[order], color="0.45", lw=1.4, label="random units (mean ± sd)")
    ax.plot(
        x[order],
        np.asarray(accuracy)[order],
        marker="o",
        color="crimson",
        lw=1.8,
        label="top-k selective per class",
    )
    if ks is not None:
        for xi, yi, k in zip(x, accuracy, ks, strict=True):
            ax.annotate(f"k={k}", (xi, yi), textcoords="offset points", xytext=(3, -10), fontsize=7)
    ax.axhline(baseline, color="k", ls="--", lw=1, label="unpruned")
    label = "units kept" + (f" (of {n_units})" if n_units else "")
    ax.set(xlabel=label, ylabel="accuracy", title=title, ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_variant_curves(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    keys: Sequence[tuple[str, str]] = (
        ("val_accuracy", "test accuracy"),
        ("dead", "dead units"),
        ("selectivity", "mean selectivity"),
    ),
    title: str = "",
) -> Figure:
    """Side-by-side panels, one per ``(key, label)`` of ``keys``, one line per variant.

    ``curves[variant]`` maps ``"epoch"`` and each key to a sequence (``"epoch"`` may be one
    longer, starting at 0, for per-pass statistics: shorter series align to the end).
    """
    keys = [(k, label) for k, label in keys if any(k in c for c in curves.values())]
    fig, grid = new_figure_fixed(4.4 * len(keys), 3.5, 1, len(keys), top=0.7 if title else 0.4)
    axes = grid[0]
    for ax, (key, label) in zip(axes, keys, strict=True):
        for name, c in curves.items():
            if key not in c:
                continue
            v = np.asarray(c[key], dtype=np.float64)
            ep = np.asarray(c.get(f"{key}_epoch", c["epoch"]))
            ax.plot(ep[-len(v) :], v, marker="o", ms=2.5, lw=1.5, label=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if key == "dead":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel=label, title=label)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig
