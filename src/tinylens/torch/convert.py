"""Exact weight conversion between the engine and PyTorch.

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> net = MLP([4, 8, 3], rng=np.random.default_rng(0))
>>> module = to_torch(net)
>>> [name for name, _ in module.named_modules()][2:]
['layers.0', 'layers.1', 'layers.2']
>>> x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
>>> bool(np.allclose(module(torch.from_numpy(x)).detach().numpy(), net.forward(x), atol=1e-6))
True
>>> back = from_torch(module)
>>> all(np.array_equal(a, b) for a, b in zip(back.state_dict().values(), net.state_dict().values()))
True

Conversion is table-driven: :data:`TO_TORCH` maps an engine module kind to a function building
the torch module, :data:`FROM_TORCH` maps a torch module class to one building the engine
module. Register new layer types in both tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from tinylens.engine import (
    GELU,
    MLP,
    AffineNet,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from tinylens.errors import ConfigError
from tinylens.torch.models import TorchSequential
from tinylens.typing import Seed

__all__ = ["FROM_TORCH", "TO_TORCH", "from_torch", "to_torch", "torch_mlp"]


def _tensor(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(np.ascontiguousarray(a), dtype=dtype)


def _linear_to_torch(m: Linear, dtype: torch.dtype) -> nn.Module:
    t = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
    with torch.no_grad():
        t.weight.copy_(_tensor(m.weight.data, dtype))
        if m.bias is not None:
            t.bias.copy_(_tensor(m.bias.data, dtype))
    return t


def _layernorm_to_torch(m: LayerNorm, dtype: torch.dtype) -> nn.Module:
    t = nn.LayerNorm(
        m.normalized_shape, eps=m.eps, elementwise_affine=m.weight is not None, dtype=dtype
    )
    if m.weight is not None:
        with torch.no_grad():
            t.weight.copy_(_tensor(m.weight.data, dtype))
            t.bias.copy_(_tensor(m.bias.data, dtype))
    return t


def _conv2d_to_torch(m: Conv2d, dtype: torch.dtype) -> nn.Module:
    t = nn.Conv2d(
        m.in_channels,
        m.out_channels,
        m.kernel_size,
        stride=m.stride,
        padding=m.padding,
        bias=m.bias is not None,
        dtype=dtype,
    )
    with torch.no_grad():
        t.weight.copy_(_tensor(m.weight.data, dtype))
        if m.bias is not None:
            t.bias.copy_(_tensor(m.bias.data, dtype))
    return t


TO_TORCH: dict[str, Callable[[Module, torch.dtype], nn.Module]] = {
    "linear": _linear_to_torch,  # type: ignore[dict-item]
    "layernorm": _layernorm_to_torch,  # type: ignore[dict-item]
    "dropout": lambda m, dt: nn.Dropout(m.p),  # type: ignore[attr-defined]
    "flatten": lambda m, dt: nn.Flatten(),
    "conv2d": _conv2d_to_torch,  # type: ignore[dict-item]
    "maxpool2d": lambda m, dt: nn.MaxPool2d(
        m.kernel_size,  # type: ignore[attr-defined]
        m.stride,  # type: ignore[attr-defined]
        m.padding,  # type: ignore[attr-defined]
    ),
    "unflatten": lambda m, dt: nn.Unflatten(1, m.shape),  # type: ignore[attr-defined]
    "identity": lambda m, dt: nn.Identity(),
    "relu": lambda m, dt: nn.ReLU(),
    "leaky_relu": lambda m, dt: nn.LeakyReLU(m.negative_slope),  # type: ignore[attr-defined]
    "sigmoid": lambda m, dt: nn.Sigmoid(),
    "tanh": lambda m, dt: nn.Tanh(),
    "softplus": lambda m, dt: nn.Softplus(m.beta, m.threshold),  # type: ignore[attr-defined]
    "gelu": lambda m, dt: nn.GELU(approximate=m.approximate),  # type: ignore[attr-defined]
    "softmax": lambda m, dt: nn.Softmax(dim=-1),
}
"""Engine module kind -> builder of the equivalent torch module (weights copied)."""


def _linear_from_torch(t: nn.Linear, dtype: type) -> Module:
    m = Linear(t.in_features, t.out_features, bias=t.bias is not None, dtype=dtype)
    m.weight.assign(t.weight.detach().cpu().numpy())
    if t.bias is not None and m.bias is not None:
        m.bias.assign(t.bias.detach().cpu().numpy())
    return m


def _layernorm_from_torch(t: nn.LayerNorm, dtype: type) -> Module:
    if len(t.normalized_shape) != 1:
        raise ConfigError(f"LayerNorm over {tuple(t.normalized_shape)} is not supported; only 1-D")
    m = LayerNorm(
        t.normalized_shape[0], eps=t.eps, elementwise_affine=t.weight is not None, dtype=dtype
    )
    if t.weight is not None and m.weight is not None and m.bias is not None:
        m.weight.assign(t.weight.detach().cpu().numpy())
        m.bias.assign(t.bias.detach().cpu().numpy())
    return m


def _softmax_from_torch(t: nn.Softmax, dtype: type) -> Module:
    if t.dim not in (-1, 1, None):
        raise ConfigError(f"Softmax(dim={t.dim}) is not supported; the engine's works on dim=-1")
    return Softmax()


def _flatten_from_torch(t: nn.Flatten, dtype: type) -> Module:
    if t.start_dim != 1 or t.end_dim != -1:
        raise ConfigError("only nn.Flatten() with start_dim=1, end_dim=-1 converts")
    return Flatten()


def _conv2d_from_torch(t: nn.Conv2d, dtype: type) -> Module:
    if t.groups != 1 or tuple(t.dilation) != (1, 1) or t.padding_mode != "zeros":
        raise ConfigError(
            f"{t!r}: only convolutions with groups=1, dilation=1 and zero padding convert"
        )
    if isinstance(t.padding, str):
        raise ConfigError(f"{t!r}: give padding as numbers, not {t.padding!r}, to convert it")
    m = Conv2d(
        t.in_channels,
        t.out_channels,
        tuple(t.kernel_size),
        stride=tuple(t.stride),
        padding=tuple(t.padding),
        bias=t.bias is not None,
        dtype=dtype,
    )
    m.weight.assign(t.weight.detach().cpu().numpy())
    if t.bias is not None and m.bias is not None:
        m.bias.assign(t.bias.detach().cpu().numpy())
    return m


def _maxpool2d_from_torch(t: nn.MaxPool2d, dtype: type) -> Module:
    if t.dilation not in (1, (1, 1)) or t.ceil_mode or t.return_indices:
        raise ConfigError(
            f"{t!r}: only max pooling with dilation=1, ceil_mode=False and no indices converts"
        )
    return MaxPool2d(t.kernel_size, t.stride, t.padding)


def _unflatten_from_torch(t: nn.Unflatten, dtype: type) -> Module:
    if t.dim not in (1, -1):  # the flat (batch, features) rows tinylens feeds
        raise ConfigError(f"{t!r}: only nn.Unflatten(1, shape) converts")
    return Unflatten(tuple(int(s) for s in t.unflattened_size))


FROM_TORCH: dict[type, Callable[[nn.Module, type], Module]] = {
    nn.Linear: _linear_from_torch,  # type: ignore[dict-item]
    nn.LayerNorm: _layernorm_from_torch,  # type: ignore[dict-item]
    nn.Dropout: lambda t, dt: Dropout(t.p),  # type: ignore[arg-type]
    nn.Flatten: _flatten_from_torch,  # type: ignore[dict-item]
    nn.Conv2d: _conv2d_from_torch,  # type: ignore[dict-item]
    nn.MaxPool2d: _maxpool2d_from_torch,  # type: ignore[dict-item]
    nn.Unflatten: _unflatten_from_torch,  # type: ignore[dict-item]
    nn.Identity: lambda t, dt: Identity(),
    nn.ReLU: lambda t, dt: ReLU(),
    nn.LeakyReLU: lambda t, dt: LeakyReLU(t.negative_slope),  # type: ignore[arg-type]
    nn.Sigmoid: lambda t, dt: Sigmoid(),
    nn.Tanh: lambda t, dt: Tanh(),
    nn.Softplus: lambda t, dt: Softplus(t.beta, t.threshold),  # type: ignore[arg-type]
    nn.GELU: lambda t, dt: GELU(t.approximate),  # type: ignore[arg-type]
    nn.Softmax: _softmax_from_torch,  # type: ignore[dict-item]
}
"""Torch module class -> builder of the equivalent engine module (weights copied)."""


def to_torch(net: Sequential | AffineNet, dtype: torch.dtype | None = None) -> TorchSequential:
    """A :class:`~tinylens.torch.TorchSequential` computing exactly what ``net`` computes.

    ``dtype`` defaults to the network's own (float32 or float64). Module paths are the engine's
    hook names (``layers.0``, ...), so caches and state dicts line up.
    """
    if isinstance(net, AffineNet):
        net = net.to_module(dtype=np.float64 if dtype == torch.float64 else np.float32)
    if not isinstance(net, Sequential):
        raise ConfigError(
            f"to_torch converts a tinylens Sequential or AffineNet, not {type(net).__name__}"
        )
    if dtype is None:
        dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    mods = []
    for m in net.layers:
        if m.kind not in TO_TORCH:
            raise ConfigError(f"{m.name} ({m.kind}) has no torch equivalent registered in TO_TORCH")
        mods.append(TO_TORCH[m.kind](m, dtype))
    out = TorchSequential(mods, input_names=net.input_names)
    out.train(net.training)
    return out


def _leaves(module: nn.Module, path: str) -> Iterator[tuple[str, nn.Module]]:
    if isinstance(module, TorchSequential):
        yield from _leaves(module.layers, f"{path}.layers" if path else "layers")
    elif isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _leaves(child, f"{path}.{name}" if path else name)
    else:
        yield path or type(module).__name__, module


def from_torch(module: nn.Module) -> Sequential:
    """An engine :class:`~tinylens.engine.Sequential` with ``module``'s exact weights.

    Converts ``nn.Sequential`` stacks (nested ones are flattened) and
    :class:`~tinylens.torch.TorchSequential`, made of the layers in :data:`FROM_TORCH`, and
    any module whose ``forward`` is a graph of Linear and ReLU layers with skip connections
    (concatenations and sums of earlier values; :func:`~tinylens.torch.trace_relu_graph`):
    those become a layered Linear / ReLU stack computing the same function, the skipped values
    carried by ReLU units. Any other module raises :class:`~tinylens.errors.ConfigError`
    naming what it cannot read: a custom ``forward`` may compute anything. (To probe such a
    model, wrap it with ``tinylens.hooked`` instead.)
    """
    if not isinstance(module, nn.Module):
        raise ConfigError(f"from_torch converts a torch.nn.Module, not {type(module).__name__}")
    params = list(module.parameters())
    tdtype = params[0].dtype if params else torch.float32
    if tdtype not in (torch.float32, torch.float64):
        raise ConfigError(f"parameters are {tdtype}; convert the model to float32 or float64 first")
    np_dtype = np.float64 if tdtype == torch.float64 else np.float32
    if not isinstance(module, (nn.Sequential, TorchSequential)):
        return _from_relu_graph(module, np_dtype)
    built: list[Module] = []
    for path, leaf in _leaves(module, ""):
        builder = FROM_TORCH.get(type(leaf))
        if builder is None:
            known = ", ".join(sorted(c.__name__ for c in FROM_TORCH))
            raise ConfigError(
                f"cannot convert {path} ({type(leaf).__name__}); supported layers: {known}"
            )
        built.append(builder(leaf, np_dtype))
    net = Sequential(built, input_names=getattr(module, "input_names", None))
    net.train(module.training)
    return net


def _from_relu_graph(module: nn.Module, np_dtype: type) -> Sequential:
    """A skip-connection network as a layered stack. The weights are the module's own where
    no two Linear layers follow each other without a ReLU between (else their product,
    computed exactly, is rounded once to ``np_dtype``)."""
    from tinylens.torch.graph import trace_relu_graph

    try:
        graph = trace_relu_graph(module)
    except ConfigError as err:
        raise ConfigError(
            f"cannot convert {type(module).__name__}: {err}. from_torch converts nn.Sequential "
            "stacks and Linear / ReLU networks with skip connections; a custom forward may "
            "compute anything (use tinylens.hooked(model) to probe it)"
        ) from None
    net = graph.to_affine().to_float().to_module(dtype=np_dtype)
    net.train(module.training)
    return net


def torch_mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str = "identity",
    *,
    rng: Seed = None,
    init: str = "auto",
    dtype: torch.dtype = torch.float32,
) -> TorchSequential:
    """The torch twin of :func:`tinylens.engine.MLP`: the same seed gives the same weights."""
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    net = MLP(sizes, activation, output_activation, rng=rng, init=init, dtype=np_dtype)
    return to_torch(net)
