"""tinylens: a microscope for small neural networks.

Importing tinylens only defines names: no torch import (``to_torch`` and ``from_torch`` load it
on first use), no downloads, no configuration.

>>> import tinylens as tl
>>> net = tl.MLP([2, 4, 1], rng=0)
>>> net.hook_names
['layers.0', 'layers.1', 'layers.2']
"""

from typing import Any

from tinylens.engine import MLP, AffineNet, Sequential, gradcheck
from tinylens.errors import (
    ConfigError,
    DataError,
    DivergenceError,
    ShapeError,
    TinylensError,
    UnknownNameError,
    WeightsFileError,
)
from tinylens.hooks import hooked
from tinylens.io import load, load_affine, save
from tinylens.training import History, TrainConfig, fit

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "AffineNet",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "History",
    "Sequential",
    "ShapeError",
    "TinylensError",
    "TrainConfig",
    "UnknownNameError",
    "WeightsFileError",
    "__version__",
    "fit",
    "from_torch",
    "gradcheck",
    "hooked",
    "load",
    "load_affine",
    "save",
    "to_torch",
]

_LAZY = {"to_torch": "tinylens.torch", "from_torch": "tinylens.torch"}


def __getattr__(name: str) -> Any:
    """Load the torch side on first use, so ``import tinylens`` does not import torch."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinylens' has no attribute {name!r}")
