"""Reference PyTorch models whose module paths equal the engine's hook names.

This module imports nothing of tinylens: ``convert.py`` builds on it, never the reverse
(:func:`~tinylens.torch.convert.torch_mlp` lives there).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["TorchSequential"]


class TorchSequential(nn.Module):
    """``self.layers`` is an ``nn.Sequential``; its modules are named ``layers.0``, ``layers.1``...

    exactly like the engine's :class:`~tinylens.engine.Sequential`, so hook names, state-dict
    keys and caches line up between the two backends.
    """

    def __init__(self, modules: Sequence[nn.Module], input_names: Sequence[str] | None = None):
        super().__init__()
        self.layers = nn.Sequential(*modules)
        self.input_names = tuple(input_names) if input_names is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
