"""Figure creation without pyplot: no global state, no display, safe in threads and servers."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

__all__ = [
    "fixed_margins",
    "new_axes",
    "new_axes_fixed",
    "new_figure",
    "new_figure_fixed",
    "plain_log_labels",
    "side_colorbar",
    "text_width",
]


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


def new_figure_fixed(
    width: float, height: float, nrows: int = 1, ncols: int = 1, **kw: Any
) -> tuple[Figure, Any]:
    """``(figure, axes)``: a new figure laid out by :func:`fixed_margins` with a grid of
    ``nrows x ncols`` axes (always a 2-D array). Keywords that :func:`fixed_margins` takes
    are margins; the rest go to ``Figure.subplots`` (``width_ratios``, ``sharey``, ...)."""
    names = ("left", "right", "bottom", "top", "hspace", "wspace")
    margins = {k: kw.pop(k) for k in names if k in kw}
    fig = fixed_margins(new_figure(width, height), **margins)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kw)


def side_colorbar(
    mappable: Any, ax: Any, *, label: str = "", width: float = 0.15, gap: float = 0.15, **kw: Any
) -> Any:
    """A colorbar ``width`` inches wide, ``gap`` inches right of ``ax`` (narrowed to make room),
    as tall as the drawn axes; the figure's right margin holds its ticks and label.

    On a figure with a layout engine that places colorbars itself (constrained layout: a
    caller's axes) this is ``fig.colorbar(mappable, ax=ax)``. NOTE: in inches, not a fraction
    of the axes, so a 30 in wide heatmap does not get a 1.5 in bar; and placed here, so no
    layout pass has to measure anything (issue 18).
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = ax.figure
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return fig.colorbar(mappable, ax=ax, label=label, **kw)
    w = fig.get_size_inches()[0]
    box = ax.get_position()
    ax.set_position([box.x0, box.y0, box.width - (width + gap) / w, box.height])
    ax.apply_aspect()  # an equal-aspect image shrinks inside its box: the bar follows it
    drawn = ax.get_position()
    shrink = float(kw.pop("shrink", 1.0))
    h = drawn.height * shrink
    cax = fig.add_axes([drawn.x1 + gap / w, drawn.y0 + (drawn.height - h) / 2, width / w, h])
    return fig.colorbar(mappable, cax=cax, label=label, **kw)


def text_width(strings: Any, fontsize: float = 10.0) -> float:
    """The width in inches of the widest of ``strings`` in the default font at ``fontsize``
    (plain text): to size a margin for tick labels not known in advance."""
    from matplotlib.font_manager import FontProperties

    renderer = _text_renderer()
    prop = FontProperties(size=fontsize)
    widths = [
        renderer.get_text_width_height_descent(str(s), prop, ismath=False)[0] for s in strings
    ]
    return max(widths, default=0.0) / 72.0


_RENDERER: list[Any] = []


def _text_renderer() -> Any:
    if not _RENDERER:
        from matplotlib.backends.backend_agg import RendererAgg

        _RENDERER.append(RendererAgg(1, 1, 72))  # points at 72 dpi: widths in points
    return _RENDERER[0]


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
