"""Training: one loop (:func:`fit`) for engine networks and torch modules."""

from tinylens.training.callbacks import Callback, LambdaCallback
from tinylens.training.checkpoint import load_checkpoint
from tinylens.training.config import TrainConfig
from tinylens.training.history import History
from tinylens.training.loop import as_xy, fit

__all__ = [
    "Callback",
    "History",
    "LambdaCallback",
    "TrainConfig",
    "as_xy",
    "fit",
    "load_checkpoint",
]
