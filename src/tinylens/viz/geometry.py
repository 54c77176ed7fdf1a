"""Figures of network geometry: ghosts and partial sums, linear regions, folding, lifting.

Arrays in, matplotlib figures out (no pyplot); :func:`write_animation` writes a GIF (or an MP4
when ffmpeg is installed) from a figure and a per-frame drawing function.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from tinylens.viz.figure import fixed_margins, new_axes, new_figure

__all__ = [
    "draw_ghosts",
    "plot_folding",
    "plot_ghosts",
    "plot_kink_trajectories",
    "plot_partial_sums",
    "plot_pieces_1d",
    "plot_regions_2d",
    "plot_separability",
    "plot_width_sweep",
    "update_ghosts",
    "write_animation",
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


def plot_regions_2d(
    vertices: Sequence[np.ndarray],
    box: np.ndarray,
    *,
    values: np.ndarray | None = None,
    title: str = "",
    edges: bool = True,
    ax: Any = None,
    seed: int = 0,
) -> Figure:
    """Linear regions as polygons, each in its own colour (or coloured by ``values``, one per
    region), with the kinks (region edges) drawn.

    ``vertices`` : list of arrays of shape (k_i, 2); ``box`` : array of shape (2, 2).
    """
    fig, ax = new_axes(ax, 5.6, 5.2)
    n = len(vertices)
    if values is None:
        from matplotlib import colormaps

        # neighbouring regions get unrelated colours: a fixed random permutation of a cycle
        order = np.random.default_rng(seed).permutation(n)
        facecolors = colormaps["tab20"](order % 20 / 20)
        coll = PolyCollection(vertices, facecolors=facecolors, alpha=0.85)
    else:
        coll = PolyCollection(vertices, array=np.asarray(values), cmap="viridis")
    if edges:
        coll.set_edgecolor("k")
        coll.set_linewidth(0.25 if n > 300 else 0.5)
    ax.add_collection(coll)
    if values is not None:
        fig.colorbar(coll, ax=ax)
    ax.set(xlim=tuple(box[0]), ylim=tuple(box[1]), xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.set_aspect("equal", adjustable="box")
    return fig


def plot_pieces_1d(
    x: np.ndarray,
    y: np.ndarray,
    breakpoints: Sequence[float],
    *,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """A one-input network's function (``y`` of shape (n, n_outputs)) with its breakpoints."""
    fig, ax = new_axes(ax, 6.5, 3.8)
    y = np.asarray(y).reshape(len(x), -1)
    for k in range(y.shape[1]):
        ax.plot(x, y[:, k], lw=2, color=f"C{k}", label=f"output {k}" if y.shape[1] > 1 else None)
    for b in breakpoints:
        ax.axvline(float(b), color="0.5", lw=0.6, ls=":")
    ax.set(xlabel="x", ylabel="network", title=title)
    if y.shape[1] > 1:
        ax.legend(fontsize=8)
    return fig


def plot_folding(
    layers: Sequence[Any],
    *,
    labels: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """One panel per layer: the input grid's image (lines coloured by their input position)
    and the data (coloured by class).

    ``layers`` : :class:`~tinylens.geometry.folding.FoldedLayer` objects (``name``, ``width``,
    ``lines``, ``points``, ``projection``).
    """
    n = len(layers)
    fig = new_figure(3.6 * n, 3.8)
    axes = np.atleast_1d(fig.subplots(1, n))
    from matplotlib import colormaps

    cmap = colormaps["coolwarm"]
    for ax, layer in zip(axes, layers, strict=True):
        k = len(layer.lines)
        half = k // 2
        segs = list(layer.lines)
        colors = [cmap(i / max(half - 1, 1)) for i in range(half)]
        colors += [colormaps["PiYG"](i / max(k - half - 1, 1)) for i in range(k - half)]
        ax.add_collection(LineCollection(segs, colors=colors, linewidths=0.7, alpha=0.8))
        if layer.points is not None:
            ax.scatter(
                layer.points[:, 0],
                layer.points[:, 1],
                c=labels,
                cmap="tab10",
                vmin=-0.5,
                vmax=9.5,
                s=4,
                zorder=3,
            )
        ax.autoscale()
        note = "" if layer.width <= 2 else f", PCA {layer.projection.explained:.0%}"
        ax.set_title(f"{layer.name} (width {layer.width}{note})", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def plot_separability(
    names: Sequence[str],
    accuracies: Mapping[str, Sequence[float]],
    *,
    region_counts: Mapping[str, Sequence[int]] | None = None,
    title: str = "",
) -> Figure:
    """Linear separability per layer (left) and exact region counts per layer (right).

    ``accuracies[label]`` : one test accuracy per entry of ``names``; ``region_counts[label]``
    : one count per hidden layer (``names[1:]``).
    """
    fig = new_figure(10.0 if region_counts else 5.5, 3.8)
    axes = np.atleast_1d(fig.subplots(1, 2 if region_counts else 1))
    pos = np.arange(len(names))
    for i, (label, acc) in enumerate(accuracies.items()):
        axes[0].plot(pos, acc, "o-", color=f"C{i}", label=label)
    axes[0].set_xticks(pos, list(names))
    axes[0].set(ylabel="logistic-regression accuracy (held out)", ylim=(0, 1.02))
    axes[0].set_title("linear separability per layer")
    axes[0].legend(fontsize=8)
    if region_counts:
        n_counts = max(len(c) for c in region_counts.values())
        for i, (label, counts) in enumerate(region_counts.items()):
            axes[1].plot(pos[1 : len(counts) + 1], counts, "s-", color=f"C{i}", label=label)
        axes[1].set_xticks(pos[1 : n_counts + 1], list(names[1 : n_counts + 1]))
        axes[1].set_xlim(pos[1] - 0.5, pos[n_counts] + 0.5)
        axes[1].set_yscale("log")
        axes[1].set(ylabel="exact linear regions in the box")
        axes[1].set_title("regions of the network up to each layer")
        axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def write_animation(
    fig: Figure,
    draw: Callable[[int], None],
    n_frames: int,
    path: str | Path,
    *,
    fps: float = 8,
    dpi: int = 90,
) -> Path:
    """Render ``draw(i)`` for each frame and write an animation to ``path``.

    The figure's layout is computed once, on the first frame, and then frozen: constrained
    layout on every frame would cost most of the time and make the axes jitter.

    ``.gif`` uses matplotlib's ``PillowWriter`` (always available); ``.mp4`` needs the ffmpeg
    program (``FFMpegWriter``) and raises ConfigError when it is missing.
    """
    from matplotlib.animation import FFMpegWriter, PillowWriter

    from tinylens.errors import ConfigError

    path = Path(path)
    if path.suffix.lower() == ".mp4":
        if shutil.which("ffmpeg") is None:
            raise ConfigError("writing MP4 needs ffmpeg on the PATH; install it or write a .gif")
        writer: Any = FFMpegWriter(fps=fps)
    elif path.suffix.lower() == ".gif":
        writer = PillowWriter(fps=fps)
    else:
        raise ConfigError(f"animation file must end in .gif or .mp4, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer.saving(fig, str(path), dpi):
        for i in range(n_frames):
            draw(i)
            writer.grab_frame()
            if i == 0:
                fig.set_layout_engine("none")
    return path


def _neuron_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"] if n > 10 else colormaps["tab10"]
    return [cmap(j % cmap.N) for j in range(n)]


def _scalar_mappable(cmap: Any, lo: float, hi: float) -> Any:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    return ScalarMappable(norm=Normalize(lo, max(hi, lo + 1)), cmap=cmap)


def plot_slice_regions(
    vertices: Sequence[np.ndarray],
    classes: np.ndarray,
    box: np.ndarray,
    *,
    segments: np.ndarray | None = None,
    anchors: np.ndarray | None = None,
    images: Sequence[np.ndarray] | None = None,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """The regions of a 2-D slice coloured by predicted class, the decision boundary on top
    (black), and the inputs the slice passes through at their slice coordinates (``images``:
    one (h, w) array per anchor, drawn as small insets there).

    ``vertices`` : list of arrays (k_i, 2); ``classes`` : (count,) ints; ``box`` : (2, 2);
    ``segments`` : (n, 2, 2); ``anchors`` : (p, 2).
    """
    from matplotlib import colormaps

    fig, ax = new_axes(ax, 6.0, 5.6)
    colours = colormaps["tab10"](np.asarray(classes) % 10)
    coll = PolyCollection(vertices, facecolors=colours, alpha=0.55)
    coll.set_edgecolor((0, 0, 0, 0.35))
    coll.set_linewidth(0.2 if len(vertices) > 300 else 0.4)
    ax.add_collection(coll)
    if segments is not None and len(segments):
        ax.add_collection(LineCollection(segments, colors="k", linewidths=1.6))
    pad = 0.08 * float(np.ptp(box, axis=1).max())
    if anchors is not None and len(anchors):
        ax.scatter(anchors[:, 0], anchors[:, 1], c="k", s=18, zorder=3)
        for i, (x, y) in enumerate(anchors):
            if images is not None and i < len(images):
                inset = ax.inset_axes(
                    [x - pad, y - pad, 2 * pad, 2 * pad], transform=ax.transData, zorder=4
                )
                inset.imshow(images[i], cmap="gray_r")
                inset.set_xticks([])
                inset.set_yticks([])
    handles = [
        plt_patch(colormaps["tab10"](k % 10), f"class {k}") for k in sorted(set(classes.tolist()))
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.8)
    ax.set(
        xlim=(box[0, 0] - pad, box[0, 1] + pad),
        ylim=(box[1, 0] - pad, box[1, 1] + pad),
        xlabel="s",
        ylabel="t",
        title=title,
    )
    ax.set_aspect("equal", adjustable="box")
    return fig


def plt_patch(colour: Any, label: str) -> Any:
    """A legend entry: a filled square of ``colour``."""
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, alpha=0.55, label=label)
