"""Callbacks: code that runs at the edges of each epoch of :func:`~tinylens.training.fit`.

Subclass :class:`Callback` and override what you need. ``net`` is the model being trained (an
engine network or a torch module); ``history`` the :class:`~tinylens.training.History` so far.
The probing studies use a callback to gather streaming neuron statistics after every epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Callback", "LambdaCallback"]


class Callback:
    def on_fit_start(self, net: Any, history: Any) -> None:
        """Before the first epoch (also when resuming)."""

    def on_epoch_end(self, epoch: int, net: Any, history: Any) -> bool | None:
        """After each epoch's metrics are recorded; return True to stop training."""
        return None

    def on_fit_end(self, net: Any, history: Any) -> None:
        """After the last epoch (and after early stopping restored the best weights)."""


class LambdaCallback(Callback):
    """A callback from a function ``fn(epoch, net, history) -> bool | None``.

    >>> seen = []
    >>> cb = LambdaCallback(lambda epoch, net, history: seen.append(epoch))
    >>> cb.on_epoch_end(3, None, None), seen
    (None, [3])
    """

    def __init__(self, on_epoch_end: Callable[[int, Any, Any], bool | None]) -> None:
        self._fn = on_epoch_end

    def on_epoch_end(self, epoch: int, net: Any, history: Any) -> bool | None:
        result = self._fn(epoch, net, history)
        return bool(result) if result is not None else None
