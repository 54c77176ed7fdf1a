"""The plain training study's result: the trained network, its history, the data it saw and its
final metrics; it shows itself in a notebook (a short ``repr``, an HTML card, the per-epoch
table, the loss plot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.data import Dataset
from tinylens.engine import Sequential
from tinylens.io import RunDir
from tinylens.studies.train.config import TrainStudyConfig
from tinylens.training import History

__all__ = ["TrainResult"]


@dataclass
class TrainResult:
    """What :func:`tinylens.studies.train.run` trained.

    Attributes
    ----------
    config : TrainStudyConfig
    net : engine Sequential or torch.nn.Module
        The trained network (a torch module on the ``torch`` backend; :meth:`engine_net`
        converts it).
    history : History
        Per-epoch losses and accuracies (and snapshots, if asked for).
    train, val : Dataset
        The training part and the held-out part (None when ``val_fraction`` is 0).
    metrics : dict
        The final epoch's metrics, ``epochs_run`` and ``parameters``.
    """

    config: TrainStudyConfig
    net: Any
    history: History
    train: Dataset
    val: Dataset | None
    metrics: dict[str, float]

    def engine_net(self) -> Sequential:
        """The trained network as an engine network (converted from torch if need be)."""
        if isinstance(self.net, Sequential):
            return self.net
        from tinylens.torch import from_torch

        return from_torch(self.net)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.engine_net().predict(X)

    def describe(self) -> str:
        """``A 2-64-32-3 relu MLP`` or ``A CNN (8-16 channels)``."""
        cfg = self.config
        if cfg.model == "cnn":
            return f"A CNN ({'-'.join(map(str, cfg.channels))} channels)"
        return f"A {'-'.join(map(str, self.engine_net().sizes))} {cfg.activation} MLP"

    def to_dict(self) -> dict[str, list[Any]]:
        """The per-epoch table (:meth:`History.table`); ``pandas.DataFrame`` accepts it."""
        return self.history.table()

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame``, one row per epoch."""
        return self.history.to_pandas()

    def plot(self, ax: Any = None) -> Any:
        """Loss per epoch (log scale) and, without ``ax``, accuracy beside it; the Figure."""
        from tinylens.viz.training import plot_history

        return plot_history(self.history.to_dict(), title=f"{self.config.data}: training", ax=ax)

    def _numbers(self) -> dict[str, Any]:
        return {k: v for k, v in self.metrics.items() if isinstance(v, (int, float))}

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr  # matplotlib stays unloaded until a plot

        sizes = "cnn" if self.config.model == "cnn" else "-".join(map(str, self.net_sizes()))
        return short_repr(
            "TrainResult", data=self.config.data, net=sizes, **self._numbers(), samples=self.train.n
        )

    def net_sizes(self) -> list[int]:
        """The MLP's widths from input to output (empty for a CNN)."""
        return [] if self.config.model == "cnn" else list(self.engine_net().sizes)

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        title = f"{self.describe()} trained on {self.config.data}"
        figure = self.plot() if self.history.epoch else None
        html = html_card(title, self._numbers(), self.to_dict(), figure)
        if figure is not None:
            import matplotlib.pyplot as plt

            plt.close(figure)  # shown once, in the card
        return html

    def save(self, run_dir: RunDir) -> None:
        """Write the run into ``run_dir`` (:func:`tinylens.studies.train.write`)."""
        from tinylens.studies.train.write import write

        write(self, run_dir)
