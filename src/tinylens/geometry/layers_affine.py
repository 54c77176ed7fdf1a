"""Convolutional and normalised torch models as the geometry's neutral affine view.

Conv2d (any stride, padding, dilation, groups), AvgPool2d, BatchNorm in evaluation mode,
Flatten, Identity and Dropout (evaluation mode) are affine maps of the flattened input, so every
run of them between two activations is composed into one dense matrix: the network becomes an
:class:`~tinylens.engine.AffineNet` (one layer per activation) that every geometry routine
reads, slices included. The matrix of each piece is read from the module itself (its output on
the zero input is the bias, on each basis vector minus that, a column) in float64, so no
formula of ours can disagree with torch's; BatchNorm is thereby folded into its neighbours.

MaxPool2d is the max of affine pieces: its argmax changes inside a region and brings its own
boundaries, which this dense reading cannot express; it is refused here with a clear error.
On a plane, ``linear_regions(model, slice=plane)`` reads max pools exactly, layer by layer and
without dense matrices (:mod:`tinylens.geometry.image_regions`).

>>> import torch
>>> from torch import nn
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
...                     nn.Flatten(), nn.Linear(2 * 2 * 2, 3)).double().eval()
>>> net = affine_from_torch(cnn, (1, 4, 4))
>>> net.sizes
[16, 32, 3]
>>> x = torch.rand(5, 1, 4, 4, dtype=torch.float64)
>>> bool(np.allclose(net(x.reshape(5, -1).numpy()), cnn(x).detach().numpy()))
True
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tinylens.engine import AffineLayer, AffineNet, LeakyReLU
from tinylens.errors import ConfigError

__all__ = ["AFFINE_MODULES", "affine_from_torch"]

AFFINE_MODULES = (
    "Linear",
    "Conv2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Flatten",
    "Identity",
    "Dropout",
)
"""torch layers read as affine maps (the normalisation and dropout ones in evaluation mode)."""

_ACTIVATIONS = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "Identity": None}


def _leaves(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    children = list(module.named_children())
    if not children:
        return [(prefix or type(module).__name__, module)]
    out = []
    for name, child in children:
        out += _leaves(child, f"{prefix}.{name}" if prefix else name)
    return out


def affine_from_torch(module: Any, input_shape: tuple[int, ...]) -> AffineNet:
    """Read an ``nn.Sequential`` of :data:`AFFINE_MODULES` and ReLU / LeakyReLU as an AffineNet.

    Parameters
    ----------
    module : torch.nn.Sequential
        In evaluation mode when it holds BatchNorm or Dropout.
    input_shape : tuple of int
        One input's shape without the batch axis, e.g. ``(1, 28, 28)`` for MNIST images.

    Raises
    ------
    ConfigError
        A layer that is not affine or piecewise linear (MaxPool2d, sigmoid...), naming it; a
        model in training mode; a leaky slope other than the engine's.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ConfigError(f"expected a torch module, not {type(module).__name__}")
    shape = tuple(int(s) for s in input_shape)
    n_in = int(np.prod(shape))
    layers: list[AffineLayer] = []
    W = np.eye(n_in)
    b = np.zeros(n_in)
    for path, leaf in _leaves(module):
        kind = type(leaf).__name__
        if kind in _ACTIVATIONS and _ACTIVATIONS[kind] is not None:
            act = _ACTIVATIONS[kind]
            if kind == "LeakyReLU" and leaf.negative_slope != LeakyReLU().negative_slope:
                raise ConfigError(
                    f"{path} (LeakyReLU) has slope {leaf.negative_slope}; exact regions read "
                    f"the engine's {LeakyReLU().negative_slope} only"
                )
            layers.append(AffineLayer(W, b, act))
            W, b = np.eye(len(b)), np.zeros(len(b))
            continue
        if kind not in AFFINE_MODULES:
            hint = (
                " (the max of affine pieces adds boundaries of its own, which a dense affine "
                "view cannot hold: linear_regions(model, slice=plane) reads it exactly)"
                if kind.startswith("MaxPool")
                else ""
            )
            raise ConfigError(
                f"cannot read {path} ({kind}) exactly{hint}; supported layers: "
                f"{', '.join(AFFINE_MODULES)}, ReLU, LeakyReLU"
            )
        if leaf.training and kind.startswith(("BatchNorm", "Dropout")):
            raise ConfigError(
                f"{path} ({kind}) is in training mode; call model.eval() first (exact regions "
                "read the evaluation-mode function)"
            )
        shape, W_leaf, b_leaf = _dense(leaf, shape, path)
        W, b = W_leaf @ W, W_leaf @ b + b_leaf
    layers.append(AffineLayer(W, b, "identity"))
    return AffineNet(tuple(layers))


def _dense(leaf: Any, shape: tuple[int, ...], path: str) -> tuple[tuple[int, ...], Any, Any]:
    """``(output shape, W, b)`` of an affine leaf on inputs of ``shape`` (float64)."""
    import torch

    n = int(np.prod(shape))
    piece = copy.deepcopy(leaf).double().eval()
    basis = torch.cat([torch.zeros(1, n), torch.eye(n)]).double().reshape(n + 1, *shape)
    try:
        with torch.no_grad():
            out = piece(basis)
            flat = out.reshape(n + 1, -1).numpy()
            bias = flat[0].copy()
            linear = isinstance(piece, (torch.nn.Linear, torch.nn.Conv2d))
            if linear and piece.bias is not None:
                # Linear, Conv2d: the columns without the bias, so each is exactly a weight
                piece.bias = None
                flat = piece(basis).reshape(n + 1, -1).numpy()
                return tuple(out.shape[1:]), flat[1:].T.copy(), bias
    except RuntimeError as exc:
        raise ConfigError(
            f"{path} ({type(leaf).__name__}) does not take inputs of shape {shape}: "
            f"{str(exc).splitlines()[0]}; check input_shape"
        ) from None
    return tuple(out.shape[1:]), (flat[1:] - bias).T.copy(), bias
