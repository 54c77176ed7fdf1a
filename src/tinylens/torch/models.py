"""Reference PyTorch models whose module paths equal the engine's hook names."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["TorchSequential", "torch_mlp"]


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


def torch_mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str = "identity",
    *,
    rng: np.random.Generator | int | None = None,
    init: str = "auto",
    dtype: torch.dtype = torch.float32,
) -> TorchSequential:
    """The torch twin of :func:`tinylens.engine.MLP`: the same seed gives the same weights."""
    from tinylens.engine import MLP
    from tinylens.torch.convert import to_torch

    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    net = MLP(sizes, activation, output_activation, rng=rng, init=init, dtype=np_dtype)
    return to_torch(net)
