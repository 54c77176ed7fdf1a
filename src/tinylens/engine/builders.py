"""Building networks: :func:`MLP`, :func:`small_cnn` and :func:`build_module` (from a config).

>>> import numpy as np
>>> net = MLP([2, 3, 1], rng=np.random.default_rng(0))
>>> [m.kind for m in net.layers]
['linear', 'relu', 'linear']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.engine.activations import ACTIVATIONS
from tinylens.engine.activations import activation as make_activation
from tinylens.engine.conv import Conv2d, MaxPool2d, Unflatten
from tinylens.engine.init import as_rng, resolve_init
from tinylens.engine.layers import Dropout, Flatten, LayerNorm, Linear
from tinylens.engine.module import Module
from tinylens.engine.sequential import Sequential
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

__all__ = ["MLP", "MODULE_TYPES", "build_module", "small_cnn"]


MODULE_TYPES: dict[str, type[Module]] = {
    "linear": Linear,
    "layernorm": LayerNorm,
    "dropout": Dropout,
    "flatten": Flatten,
    "conv2d": Conv2d,
    "maxpool2d": MaxPool2d,
    "unflatten": Unflatten,
    **ACTIVATIONS,
}
"""Every module type by the tag stored in weights files and configs."""


def build_module(
    config: dict[str, object],
    *,
    dtype: np.dtype | type = np.float32,
    rng: np.random.Generator | None = None,
) -> Module:
    """Rebuild a module from :meth:`Module.config` output (parameters start at zero/one)."""
    cfg: dict[str, Any] = dict(config)
    kind = str(cfg.pop("type", ""))
    if kind == "linear":
        return Linear(
            int(cfg["in_features"]),
            int(cfg["out_features"]),
            bias=bool(cfg.get("bias", True)),
            dtype=dtype,
        )
    if kind == "layernorm":
        return LayerNorm(
            int(cfg["normalized_shape"]),
            eps=float(cfg.get("eps", 1e-5)),
            elementwise_affine=bool(cfg.get("elementwise_affine", True)),
            dtype=dtype,
        )
    if kind == "dropout":
        return Dropout(float(cfg.get("p", 0.5)), rng=rng)
    if kind == "conv2d":
        return Conv2d(
            int(cfg["in_channels"]),
            int(cfg["out_channels"]),
            cfg["kernel_size"],
            stride=cfg.get("stride", 1),
            padding=cfg.get("padding", 0),
            bias=bool(cfg.get("bias", True)),
            dtype=dtype,
        )
    if kind in MODULE_TYPES:
        return MODULE_TYPES[kind](**cfg)
    raise UnknownNameError("module type", kind, MODULE_TYPES)


def MLP(
    sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str = "identity",
    *,
    rng: np.random.Generator | int | None = None,
    init: str = "auto",
    bias: bool = True,
    dtype: np.dtype | type = np.float32,
    input_names: Sequence[str] | None = None,
) -> Sequential:
    """A multilayer perceptron ``Linear, act, Linear, act, ..., Linear[, output_act]``.

    A linear (identity) output adds no module, so ``MLP([784, 32, 10])`` has the same layers as
    ``nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))``.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to output, e.g. ``[784, 32, 16, 10]``.
    activation : str
        Hidden activation, default ``"relu"``.
    output_activation : str
        ``"identity"`` (logits / regression, default), ``"sigmoid"``, ``"relu"``, ...
    rng : numpy.random.Generator or int
        Source of the initial weights (an int is a seed; None draws fresh entropy).
    init : str
        ``"auto"``, ``"he"``, ``"xavier"``, ``"torch"``, ... (see :mod:`tinylens.engine.init`).
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ConfigError(f"sizes must be at least two positive widths, got {sizes}")
    gen = as_rng(rng)
    modules: list[Module] = []
    n_affine = len(sizes) - 1
    for i in range(n_affine):
        act_module = make_activation(activation if i < n_affine - 1 else output_activation)
        scheme = resolve_init(init, act_module.kind)
        modules.append(Linear(sizes[i], sizes[i + 1], bias=bias, rng=gen, init=scheme, dtype=dtype))
        if act_module.kind != "identity":  # a linear output needs no module, as in torch
            modules.append(act_module)
    return Sequential(modules, input_names=input_names)


def small_cnn(
    image_shape: Sequence[int] = (28, 28),
    channels: Sequence[int] = (8, 16),
    classes: int = 10,
    *,
    in_channels: int = 1,
    kernel_size: int = 3,
    rng: np.random.Generator | int | None = None,
    init: str = "auto",
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """A small CNN: (conv 3x3 same-padding, ReLU, 2x2 max pool) per entry of ``channels``,
    then flatten and one linear layer to ``classes`` logits.

    It starts with :class:`~tinylens.engine.conv.Unflatten`, so it takes flat rows of
    ``in_channels * height * width`` features, exactly what an image
    :class:`~tinylens.data.Dataset` holds; ``fit`` trains it unchanged.

    >>> net = small_cnn((8, 8), channels=(4, 8), rng=0)
    >>> [m.kind for m in net.layers]  # doctest: +NORMALIZE_WHITESPACE
    ['unflatten', 'conv2d', 'relu', 'maxpool2d', 'conv2d', 'relu', 'maxpool2d', 'flatten',
     'linear']
    >>> net.forward(np.zeros((5, 64))).shape
    (5, 10)
    """
    height, width = (int(s) for s in image_shape)
    chans = [int(c) for c in channels]
    if not chans or min(chans) < 1 or classes < 1:
        raise ConfigError(f"small_cnn needs positive channels and classes, got {chans}, {classes}")
    gen = as_rng(rng)
    scheme = resolve_init(init, "relu")
    modules: list[Module] = [Unflatten((in_channels, height, width))]
    c_in, h, w = in_channels, height, width
    for c_out in chans:
        if h < 2 or w < 2:
            raise ShapeError(
                f"images of {height}x{width} are too small for {len(chans)} conv-pool stages; "
                "use fewer channels entries or larger images"
            )
        pad = kernel_size // 2
        conv = Conv2d(c_in, c_out, kernel_size, padding=pad, rng=gen, init=scheme, dtype=dtype)
        modules += [conv, make_activation("relu"), MaxPool2d(2)]
        h, w = conv.output_hw(h, w)
        h, w = h // 2, w // 2
        c_in = c_out
    modules += [
        Flatten(),
        Linear(c_in * h * w, classes, rng=gen, init=resolve_init(init, "identity"), dtype=dtype),
    ]
    return Sequential(modules)
