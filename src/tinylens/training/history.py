"""The record of a training run: metrics per epoch and weight snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["History"]


@dataclass(repr=False)
class History:
    """Per-epoch metrics of one ``fit``.

    Attributes
    ----------
    epoch : list of int
        1-based epoch numbers.
    train_loss : list of float
        Mean minibatch loss over the epoch (weights change within the epoch, as usual).
    train_accuracy : list of float
        Fraction of training samples classified right during the epoch (classification only).
    val_loss, val_accuracy : list of float
        On the validation data, after the epoch (empty without validation data).
    seconds : list of float
        Wall time of each epoch (training and validation).
    snapshots : list of (int, dict)
        ``(epoch, state_dict)`` every ``snapshot_every`` epochs; epoch 0 is the initial weights.
    stopped_early : bool
    best_epoch : int or None
        The epoch whose weights the network ends with when early stopping restored them.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, np.ndarray]]] = field(default_factory=list, repr=False)
    stopped_early: bool = False
    best_epoch: int | None = None

    def record(self, **metrics: float) -> None:
        for key, value in metrics.items():
            getattr(self, key).append(value)

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's metrics."""
        out: dict[str, float] = {}
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            values = getattr(self, key)
            if values:
                out[key] = values[-1]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Metrics as plain lists (JSON-ready); snapshots are listed by epoch only."""
        return {
            "epoch": list(self.epoch),
            "train_loss": list(self.train_loss),
            "train_accuracy": list(self.train_accuracy),
            "val_loss": list(self.val_loss),
            "val_accuracy": list(self.val_accuracy),
            "seconds": list(self.seconds),
            "snapshot_epochs": [e for e, _ in self.snapshots],
            "stopped_early": self.stopped_early,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        h = cls()
        for key in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"):
            setattr(h, key, list(d.get(key, [])))
        h.stopped_early = bool(d.get("stopped_early", False))
        h.best_epoch = d.get("best_epoch")
        return h

    def rows(self) -> list[list[float | int | str]]:
        """One row per epoch: epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds."""

        def at(values: list[float], i: int) -> float | str:
            return values[i] if i < len(values) else ""

        return [
            [
                e,
                at(self.train_loss, i),
                at(self.train_accuracy, i),
                at(self.val_loss, i),
                at(self.val_accuracy, i),
                at(self.seconds, i),
            ]
            for i, e in enumerate(self.epoch)
        ]

    COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")

    # -- display (notebooks) -------------------------------------------------------------------

    def table(self) -> dict[str, list[Any]]:
        """The per-epoch metrics as columns, leaving out metrics never recorded (accuracy of a
        regression, validation without validation data); ``pandas.DataFrame`` accepts it."""
        return {c: list(getattr(self, c)) for c in self.COLUMNS if getattr(self, c)}

    def to_pandas(self) -> Any:
        """:meth:`table` as a ``pandas.DataFrame``, one row per epoch."""
        from tinylens.viz.display import to_pandas

        return to_pandas(self.table())

    def plot(self, ax: Any = None) -> Any:
        """Loss per epoch (log scale) and, without ``ax``, accuracy beside it; the Figure."""
        from tinylens.viz.training import plot_history

        return plot_history(self.to_dict(), ax=ax)

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr  # matplotlib stays unloaded until a plot

        extra = {"stopped_early": True, "best_epoch": self.best_epoch} if self.stopped_early else {}
        return short_repr(
            "History",
            epochs=len(self.epoch),
            **self.final,
            seconds=float(sum(self.seconds)),
            snapshots=len(self.snapshots),
            **extra,
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        numbers: dict[str, Any] = {"epochs": len(self.epoch), **self.final}
        numbers["seconds"] = float(sum(self.seconds))
        if self.stopped_early:
            numbers["stopped early; weights of epoch"] = self.best_epoch
        figure = self.plot() if self.epoch else None
        return html_card("History", numbers, self.table(), figure)
