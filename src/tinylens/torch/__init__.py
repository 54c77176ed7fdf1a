"""The PyTorch side: reference models and exact conversion to and from the engine."""

from tinylens.torch.convert import FROM_TORCH, TO_TORCH, from_torch, to_torch, torch_mlp
from tinylens.torch.graph import ReluGraph, trace_relu_graph
from tinylens.torch.models import TorchSequential
from tinylens.torch.optim import EMAMomentumSGD, make_torch_optimizer

__all__ = [
    "FROM_TORCH",
    "TO_TORCH",
    "EMAMomentumSGD",
    "ReluGraph",
    "TorchSequential",
    "from_torch",
    "make_torch_optimizer",
    "to_torch",
    "torch_mlp",
    "trace_relu_graph",
]
