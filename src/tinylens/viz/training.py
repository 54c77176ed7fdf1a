"""Training curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from tinylens.viz.figure import new_figure_fixed, plain_log_labels

__all__ = ["plot_history"]


def plot_history(history: Mapping[str, Sequence[float]], title: str = "", ax: Any = None) -> Figure:
    """Loss (log scale) and, when present, accuracy per epoch.

    ``history`` has keys ``epoch``, ``train_loss`` and optionally ``val_loss``,
    ``train_accuracy``, ``val_accuracy`` (what :meth:`History.to_dict` returns). Given ``ax``,
    only the loss is drawn, on that axes.
    """
    has_acc = ax is None and bool(history.get("train_accuracy") or history.get("val_accuracy"))
    if ax is not None:
        fig, axes = ax.figure, [ax]
    else:
        fig, grid = new_figure_fixed(
            9.0 if has_acc else 5.5,
            3.6,
            1,
            2 if has_acc else 1,
            left=0.8,
            top=0.7 if title else 0.4,
        )
        axes = list(grid[0])
    epochs = history["epoch"]
    ax = axes[0]
    ax.plot(epochs, history["train_loss"], label="train")
    if history.get("val_loss"):
        ax.plot(epochs, history["val_loss"], label="validation")
    ax.set_yscale("log")
    plain_log_labels(ax.yaxis)
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    ax.legend()
    if has_acc:
        ax = axes[1]
        if history.get("train_accuracy"):
            ax.plot(epochs, history["train_accuracy"], label="train")
        if history.get("val_accuracy"):
            ax.plot(epochs, history["val_accuracy"], label="validation")
        ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig
