"""Figures of network geometry: linear regions, folding, lifting (the basis study's ghosts and
partial sums are in :mod:`tinylens.viz.basis`).

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

from tinylens.viz.figure import new_axes, new_figure

__all__ = [
    "plot_folding",
    "plot_pieces_1d",
    "plot_regions_2d",
    "plot_separability",
    "write_animation",
]


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
    # one collection for all breakpoints: a CNN's segment has thousands (one artist each took
    # seconds to draw)
    ax.vlines(
        np.asarray(breakpoints, dtype=float),
        0,
        1,
        transform=ax.get_xaxis_transform(),
        color="0.5",
        lw=0.6,
        ls=":",
    )
    ax.set(xlabel="x", ylabel="network", title=title)
    if y.shape[1] > 1:  # a fixed place: "best" searches every point of every line (slow)
        ax.legend(fontsize=8, loc="upper right")
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
    one (h, w) array per anchor, drawn as small insets there); anchors outside ``box`` (a
    triangle shrunk about its centroid) are left out.

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
    if anchors is not None and len(anchors):  # those in the box (a shrunk triangle has none)
        inside = np.all((anchors >= box[:, 0]) & (anchors <= box[:, 1]), axis=1)
        if images is not None:
            images = [im for im, ok in zip(images, inside, strict=False) if ok]
        anchors = anchors[inside]
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
