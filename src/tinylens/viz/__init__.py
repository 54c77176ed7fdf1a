"""Figures: arrays in, matplotlib figures out (never shown, never global)."""

from tinylens.viz.decision import grid_2d, plot_decision_boundary, plot_regression_fit
from tinylens.viz.figure import new_axes, new_figure
from tinylens.viz.training import plot_history

__all__ = [
    "grid_2d",
    "new_axes",
    "new_figure",
    "plot_decision_boundary",
    "plot_history",
    "plot_regression_fit",
]
