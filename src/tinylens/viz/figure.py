"""Figure creation without pyplot: no global state, no display, safe in threads and servers."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

__all__ = ["new_axes", "new_figure"]


def new_figure(width: float = 6.0, height: float = 4.0) -> Figure:
    """A matplotlib Figure not registered with pyplot (saved by ``savefig``, never shown)."""
    return Figure(figsize=(width, height), layout="constrained")


def new_axes(ax: Any = None, width: float = 6.0, height: float = 4.0) -> tuple[Figure, Any]:
    """``(figure, axes)``: the given axes and its figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(width, height)
    return fig, fig.subplots()
