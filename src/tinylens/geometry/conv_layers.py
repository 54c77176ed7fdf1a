"""Image classifiers read layer by layer for slices: affine steps, kinks and max pools.

:func:`image_layers` turns a CNN (an engine ``Sequential`` such as
:func:`~tinylens.engine.small_cnn`, a tinylens weights file, or a torch ``nn.Sequential``) into
a list of :class:`Step` objects that :mod:`tinylens.geometry.conv_slice` pushes a slice's
affine map through. Nothing is made dense: an affine step is the torch layer itself run in
float64 on the map's three columns (the value at the slice's origin with the bias, the two
directions without it), so a 28x28 convolution costs one small conv per region instead of a
6272 x 784 matrix. A Conv2d with ``groups=1`` also carries its patches (the input index under
every tap at every output position, and its weights), for
:mod:`tinylens.geometry._patch_conv`.

* affine: Linear, Conv2d (any stride, padding, dilation, groups), AvgPool2d, BatchNorm (eval
  mode), Flatten, Unflatten, Identity, Dropout (eval mode);
* kink: ReLU, LeakyReLU (any slope);
* max: MaxPool2d (any kernel, stride, padding, dilation; ``ceil_mode=False``): the max of the
  window's affine pieces, whose pairwise equalities bring boundaries of their own.

>>> import torch
>>> from torch import nn
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
...                     nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
>>> [(s.kind, s.name, s.out_size) for s in image_layers(cnn, (1, 4, 4))]
[('affine', '0', 32), ('kink', '1', 32), ('max', '2', 8), ('affine', '3', 8), ('affine', '4', 3)]
>>> image_layers(cnn, (1, 4, 4))[2].windows[0].tolist()  # channel 0, top-left 2x2 window
[0, 1, 4, 5]
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry.layers_affine import _leaves

__all__ = ["AFFINE_STEPS", "Step", "forward_codes", "image_layers", "infer_image_shape"]

AFFINE_STEPS = (
    "Linear",
    "Conv2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Flatten",
    "Unflatten",
    "Identity",
    "Dropout",
)
"""torch layers pushed through as affine maps (BatchNorm and Dropout in evaluation mode)."""


@dataclass(frozen=True, eq=False)
class Step:
    """One layer of an image classifier, as the slice enumeration reads it.

    Attributes
    ----------
    kind : {"affine", "kink", "max"}
    name : str
        The layer's path in the module (for errors and per-layer counts).
    in_shape, out_shape : tuple of int
        One input's and one output's shape (no batch axis).
    linear : callable or None
        affine: maps an array of shape (n, *in_shape) to (n, out_size), the layer without its
        bias, in float64.
    bias : array of shape (out_size,) or None
        affine: the layer's output on the zero input.
    slopes : (float, float) or None
        kink: the slope where the pre-activation is ``<= 0`` and where it is ``> 0``.
    windows : int array of shape (out_size, k) or None
        max: the flat input indices each output takes the max over (a padded slot repeats the
        window's first real index, so it can never win: ties go to the first piece).
    support, kernel : arrays of shape (L, K) and (C, K), or None
        affine, a Conv2d with ``groups=1``: the flat input index under each tap of the
        kernel at each of the ``L`` output positions (-1 for zero padding) and the weights,
        so output feature ``c * L + p`` is ``sum_k kernel[c, k] * x[support[p, k]]``
        (:mod:`tinylens.geometry._patch_conv` computes it once per distinct patch).
    """

    kind: str
    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    linear: Callable[[np.ndarray], np.ndarray] | None = None
    bias: np.ndarray | None = None
    slopes: tuple[float, float] | None = None
    windows: np.ndarray | None = None
    support: np.ndarray | None = None
    kernel: np.ndarray | None = None

    @property
    def out_size(self) -> int:
        return int(np.prod(self.out_shape))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer on flat inputs ``x`` of shape (n, in_size): (n, out_size), float64."""
        if self.kind == "affine":
            assert self.linear is not None and self.bias is not None
            return self.linear(x) + self.bias
        if self.kind == "kink":
            assert self.slopes is not None
            low, high = self.slopes
            return np.where(x > 0, high * x, low * x)
        assert self.windows is not None
        return x[:, self.windows].max(axis=2)


def infer_image_shape(module: Any, n_inputs: int) -> tuple[int, ...]:
    """The image shape a model's first layer takes, from its flat size: ``(c, s, s)`` for a
    first Conv2d with ``c`` channels and square images, ``(n_inputs,)`` otherwise."""
    leaves = _leaves(_as_torch(module))
    first = leaves[0][1] if leaves else None
    if type(first).__name__ == "Conv2d":
        c = int(first.in_channels)
        side = math.isqrt(n_inputs // c)
        if c * side * side != n_inputs:
            raise ShapeError(
                f"cannot tell the image shape of {n_inputs} inputs for {c} channels; give "
                "input_shape, e.g. (1, 28, 28)"
            )
        return (c, side, side)
    return (int(n_inputs),)


def image_layers(net: Any, input_shape: tuple[int, ...]) -> list[Step]:
    """``net`` as a list of :class:`Step` (see the module docstring).

    Parameters
    ----------
    net : engine Sequential, AffineNet, weights-file path, or torch ``nn.Sequential``
    input_shape : tuple of int
        One input's shape as the first layer takes it, e.g. ``(784,)`` for the engine's
        ``small_cnn`` (it starts with Unflatten) or ``(1, 28, 28)`` for a torch CNN.

    Raises
    ------
    ConfigError
        A layer that is neither affine, a ReLU / LeakyReLU, nor a max pool, naming it; a
        BatchNorm or Dropout in training mode; non-finite weights.
    """
    import torch

    module = _as_torch(net)
    shape = tuple(int(s) for s in input_shape)
    steps: list[Step] = []
    for path, leaf in _leaves(module):
        kind = type(leaf).__name__
        if any(not torch.isfinite(p).all() for p in leaf.parameters()):
            raise ConfigError(
                f"{path} ({kind}) has non-finite weights; regions need finite weights: retrain "
                "or load an earlier checkpoint"
            )
        if kind in ("ReLU", "LeakyReLU"):
            low = float(leaf.negative_slope) if kind == "LeakyReLU" else 0.0
            steps.append(Step("kink", path, shape, shape, slopes=(low, 1.0)))
            continue
        if kind == "MaxPool2d":
            steps.append(_max_step(leaf, path, shape))
            shape = steps[-1].out_shape
            continue
        if kind not in AFFINE_STEPS:
            raise ConfigError(
                f"cannot read {path} ({kind}) exactly; supported layers: "
                f"{', '.join(AFFINE_STEPS)}, ReLU, LeakyReLU, MaxPool2d"
            )
        if leaf.training and kind.startswith(("BatchNorm", "Dropout")):
            raise ConfigError(
                f"{path} ({kind}) is in training mode; call model.eval() first (exact regions "
                "read the evaluation-mode function)"
            )
        steps.append(_affine_step(leaf, path, shape))
        shape = steps[-1].out_shape
    return steps


def _as_torch(net: Any) -> Any:
    import torch

    from tinylens.engine import AffineNet, Sequential

    if isinstance(net, (str, os.PathLike)):
        from tinylens.io import load

        net = load(net)
    if isinstance(net, (Sequential, AffineNet)):
        from tinylens.torch import to_torch

        return to_torch(net, torch.float64).eval()
    if not isinstance(net, torch.nn.Module):
        raise ConfigError(
            "expected an engine Sequential, an AffineNet, a weights-file path or a torch "
            f"module, not {type(net).__name__}"
        )
    return net


def _affine_step(leaf: Any, path: str, shape: tuple[int, ...]) -> Step:
    """The layer's linear part (its bias removed, exactly) and its output on zero."""
    import torch

    full = copy.deepcopy(leaf).double().eval()
    bare = copy.deepcopy(full)
    with torch.no_grad():
        if isinstance(bare, (torch.nn.Linear, torch.nn.Conv2d)):
            bare.bias = None
        elif isinstance(bare, torch.nn.modules.batchnorm._BatchNorm):
            # (x - 0) / sqrt(var + eps) * weight + 0: the same arithmetic as the layer's, so
            # linear(x) + bias differs from the layer only by the last rounding of the sum
            bare.running_mean.zero_()
            if bare.bias is not None:
                bare.bias.zero_()
        try:
            zero = full(torch.zeros(1, *shape, dtype=torch.float64))
        except RuntimeError as exc:
            raise ConfigError(
                f"{path} ({type(leaf).__name__}) does not take inputs of shape {shape}: "
                f"{str(exc).splitlines()[0]}; check input_shape"
            ) from None
    out_shape = tuple(int(s) for s in zero.shape[1:])
    if isinstance(bare, torch.nn.Linear):  # one BLAS product, no torch call per chunk
        weight_t = bare.weight.detach().numpy().T.copy()
        return Step(
            "affine",
            path,
            shape,
            out_shape,
            linear=lambda x: np.asarray(x, dtype=np.float64).reshape(len(x), -1) @ weight_t,
            bias=zero.reshape(-1).numpy(),
        )

    def linear(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
            return bare(t.reshape(len(x), *shape)).reshape(len(x), -1).numpy()

    support, kernel = _conv_patches(bare, shape, out_shape)
    return Step(
        "affine",
        path,
        shape,
        out_shape,
        linear=linear,
        bias=zero.reshape(-1).numpy(),
        support=support,
        kernel=kernel,
    )


def _conv_patches(
    module: Any, shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """For a Conv2d with ``groups=1`` (None, None for any other layer): the flat input index
    under every tap at every output position (-1 for zero padding), int64 (L, taps), and the
    weights as float64 (out channels, taps), read with ``pad`` and ``unfold`` on an image of
    input indices (torch's own padding, so every padding mode and stride means what it means
    there)."""
    import torch
    from torch.nn import functional as F

    if not (isinstance(module, torch.nn.Conv2d) and module.groups == 1):
        return None, None
    c, h, w = shape
    index = torch.arange(c * h * w, dtype=torch.float64).reshape(1, c, h, w)
    pad = module._reversed_padding_repeated_twice
    if module.padding_mode == "zeros":
        padded = F.pad(index, pad, value=-1.0)
    else:
        padded = F.pad(index, pad, mode=module.padding_mode)
    cols = F.unfold(padded, module.kernel_size, dilation=module.dilation, stride=module.stride)
    support = cols[0].T.numpy().astype(np.int64)  # (L, C_in * kh * kw)
    if len(support) * module.out_channels != int(np.prod(out_shape)):
        raise ConfigError(f"{type(module).__name__}: unexpected output size; check input_shape")
    kernel = module.weight.detach().numpy().reshape(module.out_channels, -1)
    return support, np.ascontiguousarray(kernel, dtype=np.float64)


def _max_step(leaf: Any, path: str, shape: tuple[int, ...]) -> Step:
    """The flat input indices of every pooling window, read with ``unfold`` (torch's own
    window arithmetic, so stride, padding and dilation mean exactly what they mean there)."""
    import torch
    from torch.nn import functional as F

    if leaf.ceil_mode or leaf.return_indices:
        raise ConfigError(f"{path} (MaxPool2d): ceil_mode and return_indices are not supported")
    if len(shape) != 3:
        raise ConfigError(f"{path} (MaxPool2d) needs (channels, height, width) inputs, got {shape}")
    c, h, w = shape

    def pair(v: Any) -> tuple[int, int]:
        return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))

    k, s, p, d = (pair(v) for v in (leaf.kernel_size, leaf.stride, leaf.padding, leaf.dilation))
    index = torch.arange(c * h * w, dtype=torch.float64).reshape(c, 1, h, w)
    padded = F.pad(index, (p[1], p[1], p[0], p[0]), value=-1.0)
    cols = F.unfold(padded, k, dilation=d, stride=s)  # (c, kh * kw, L)
    windows = cols.permute(0, 2, 1).reshape(-1, k[0] * k[1]).numpy().astype(np.int64)
    if (windows < 0).all(axis=1).any():
        raise ConfigError(f"{path} (MaxPool2d) has a window made of padding only")
    first = np.take_along_axis(windows, (windows < 0).argmin(axis=1)[:, None], axis=1)
    windows = np.where(windows < 0, first, windows)
    with torch.no_grad():
        out = leaf(torch.zeros(1, *shape, dtype=torch.float64))
    out_shape = tuple(int(v) for v in out.shape[1:])
    if int(np.prod(out_shape)) != len(windows):
        raise ConfigError(f"{path} (MaxPool2d): unexpected window count; check input_shape")
    return Step("max", path, shape, out_shape, windows=windows)


def forward_codes(steps: list[Step], X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes (kink bits, pool winners; first of equals) and outputs of inputs ``X``
    (n, n_inputs): arrays of shape (n, n_codes) uint8 and (n, outputs)."""
    x = np.asarray(X, dtype=np.float64)
    codes = []
    for step in steps:
        if step.kind == "kink":
            codes.append((x > 0).astype(np.uint8))
        elif step.kind == "max":
            codes.append(x[:, step.windows].argmax(axis=2).astype(np.uint8))
        x = step.forward(x)
    if not codes:
        return np.zeros((len(x), 0), dtype=np.uint8), x
    return np.concatenate(codes, axis=1), x
