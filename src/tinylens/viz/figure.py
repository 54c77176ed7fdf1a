"""Figure creation without pyplot: no global state, no display, safe in threads and servers."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

__all__ = ["fixed_margins", "new_axes", "new_axes_fixed", "new_figure", "plain_log_labels"]


def new_figure(width: float = 6.0, height: float = 4.0) -> Figure:
    """A matplotlib Figure not registered with pyplot (saved by ``savefig``, never shown)."""
    return Figure(figsize=(width, height), layout="constrained")


def new_axes(ax: Any = None, width: float = 6.0, height: float = 4.0) -> tuple[Figure, Any]:
    """``(figure, axes)``: the given axes and its figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(width, height)
    return fig, fig.subplots()


def fixed_margins(
    fig: Figure,
    *,
    left: float = 0.7,
    right: float = 0.15,
    bottom: float = 0.55,
    top: float = 0.4,
    hspace: float = 0.35,
    wspace: float = 0.3,
) -> Figure:
    """Lay ``fig`` out by fixed margins (in inches; ``hspace``/``wspace`` as fractions of an
    axes) instead of constrained layout, and return it.

    NOTE: constrained layout measures every tick label twice per save, which was two thirds of
    drawing the basis study's figures (issue 18). Figures whose labels are known to fit use
    this; the placeholder engine keeps :func:`tinylens.io.save_figure` drawing them once.
    """
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    fig.set_layout_engine(PlaceHolderLayoutEngine(adjust_compatible=True, colorbar_gridspec=True))
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w,
        right=1 - right / w,
        bottom=bottom / h,
        top=1 - top / h,
        hspace=hspace,
        wspace=wspace,
    )
    return fig


def new_axes_fixed(
    ax: Any = None, width: float = 6.0, height: float = 4.0, **margins: float
) -> tuple[Figure, Any]:
    """:func:`new_axes`, laid out by :func:`fixed_margins` (``margins`` passed on) when the
    figure is made here; a caller's axes keep their figure's layout."""
    fig, axes = new_axes(ax, width, height)
    if ax is None:
        fixed_margins(fig, **margins)
    return fig, axes


def plain_log_labels(axis: Any) -> Any:
    """Label a log-scale ``axis`` (``ax.xaxis`` or ``ax.yaxis``) in plain text (``1e-06``,
    ``10``, ``0.5``) instead of mathtext powers, and return it.

    NOTE: mathtext labels were a third of drawing a figure with a log axis (issue 18); the
    ticks and the values they show are the same.
    """
    from matplotlib.ticker import LogFormatter

    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
    return axis
