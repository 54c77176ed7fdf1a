"""Decision boundaries of 2-D classifiers and fits of 1-D regressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinylens.viz.figure import new_axes

__all__ = ["grid_2d", "plot_decision_boundary", "plot_regression_fit"]


def grid_2d(X: np.ndarray, resolution: int = 300, margin: float = 0.1) -> tuple[np.ndarray, ...]:
    """``(xx, yy, points)``: a grid covering the data with a margin; points of shape (r*r, 2)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    title: str = "",
    ax: Any = None,
    resolution: int = 300,
) -> Figure:
    """Colour the plane by predicted class and overlay the data.

    ``predict`` maps points of shape (n, 2) to scores of shape (n, classes); X is (n, 2).
    """
    fig, ax = new_axes(ax, 5.0, 4.6)
    xx, yy, pts = grid_2d(X, resolution)
    classes = predict(pts).argmax(axis=1).reshape(xx.shape)
    k = int(max(classes.max(), y.max())) + 1
    cmap = "tab10" if k <= 10 else "tab20"
    ax.contourf(
        xx,
        yy,
        classes,
        levels=np.arange(k + 1) - 0.5,
        cmap=cmap,
        alpha=0.35,
        vmin=-0.5,
        vmax=9.5 if k <= 10 else 19.5,
    )
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        cmap=cmap,
        s=8,
        vmin=-0.5,
        vmax=9.5 if k <= 10 else 19.5,
        edgecolors="k",
        linewidths=0.2,
    )
    # plain Unicode x₁, x₂: "$x_1$" would start matplotlib's mathtext parser (issue 18)
    ax.set(xlabel="x\u2081", ylabel="x\u2082", title=title)
    ax.set_aspect("equal", adjustable="box")
    return fig


def plot_regression_fit(
    x: np.ndarray,
    y: np.ndarray,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Data points and the model's curve for a 1-D regression (x, y of shape (n, 1) or (n,))."""
    fig, ax = new_axes(ax, 5.5, 3.8)
    x = np.asarray(x).reshape(-1)
    grid = np.linspace(x.min(), x.max(), 800).reshape(-1, 1)
    ax.scatter(x, np.asarray(y).reshape(-1), s=6, color="0.5", label="data")
    ax.plot(grid[:, 0], predict(grid).reshape(-1), color="C3", lw=2, label="network")
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.legend()
    return fig
