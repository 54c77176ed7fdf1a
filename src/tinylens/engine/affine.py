"""The neutral view of a network: a list of affine layers, each followed by an activation.

Geometry (basis decomposition, exact regions), the circuit compiler and symbolic read-back all
read this view; the engine and PyTorch convert to and from it; the weights file stores it.

>>> import numpy as np
>>> identity = AffineNet.from_lists(
...     [([[1.0], [-1.0]], [0.0, 0.0], "relu"), ([[1.0, -1.0]], [0.0], "identity")])
>>> identity(np.array([[3.0], [-5.0]]))
array([[ 3.],
       [-5.]])
>>> identity.sizes
[1, 2, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinylens.engine.activations import ACTIVATIONS, activation
from tinylens.engine.layers import Dropout, Linear
from tinylens.engine.module import Module
from tinylens.engine.network import Sequential
from tinylens.errors import ConfigError, ShapeError

__all__ = ["AffineLayer", "AffineNet"]


@dataclass(frozen=True)
class AffineLayer:
    """``activation(x @ weight.T + bias)`` with ``weight`` of shape ``(out, in)``.

    ``weight`` and ``bias`` may hold floats or exact ``fractions.Fraction`` objects
    (dtype=object), which the circuits module uses for exact verification.
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "identity"

    def __post_init__(self) -> None:
        w = np.asarray(self.weight)
        if w.dtype != object:
            w = w.astype(np.float64)
        b = np.asarray(self.bias, dtype=w.dtype)
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise ShapeError(f"affine layer: weight {w.shape} and bias {b.shape} do not fit")
        if self.activation not in ACTIVATIONS:
            activation(self.activation)  # raises UnknownNameError with suggestions
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class AffineNet:
    """A stack of :class:`AffineLayer`; ``input_names`` label the input features."""

    layers: tuple[AffineLayer, ...]
    input_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise ConfigError("an affine network needs at least one layer")
        for i in range(1, len(layers)):
            if layers[i].in_features != layers[i - 1].out_features:
                raise ShapeError(
                    f"layer {i} takes {layers[i].in_features} inputs but layer {i - 1} gives "
                    f"{layers[i - 1].out_features}"
                )
        object.__setattr__(self, "layers", layers)
        if self.input_names is not None:
            names = tuple(str(n) for n in self.input_names)
            if len(names) != layers[0].in_features:
                raise ShapeError(f"{len(names)} input names for {layers[0].in_features} inputs")
            object.__setattr__(self, "input_names", names)

    @classmethod
    def from_lists(
        cls,
        layers: Sequence[tuple[object, object, str]],
        input_names: Sequence[str] | None = None,
    ) -> AffineNet:
        """Build from ``[(weight, bias, activation), ...]`` with nested lists or arrays."""
        built = tuple(AffineLayer(np.asarray(w), np.asarray(b), a) for w, b, a in layers)
        return cls(built, tuple(input_names) if input_names is not None else None)

    # -- shape ----------------------------------------------------------------------------------
    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].in_features] + [layer.out_features for layer in self.layers]

    @property
    def n_inputs(self) -> int:
        return self.layers[0].in_features

    @property
    def hidden_sizes(self) -> list[int]:
        return self.sizes[1:-1]

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    @property
    def names(self) -> list[str]:
        """Input names, defaulting to ``x1, x2, ...``."""
        return list(self.input_names or [f"x{i + 1}" for i in range(self.n_inputs)])

    @property
    def is_exact(self) -> bool:
        """True when the weights are exact rationals (object arrays)."""
        return self.layers[0].weight.dtype == object

    # -- evaluation -----------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs for inputs ``x`` of shape ``(n, n_inputs)`` (float64, or exact objects)."""
        return self.trace(x)[-1]

    __call__ = forward

    def trace(self, x: np.ndarray) -> list[np.ndarray]:
        """``[x, h1, h2, ..., out]``: the input and every layer's post-activation output."""
        x = np.asarray(x)
        if x.dtype != object:
            x = x.astype(np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ShapeError(f"input has shape {x.shape}; expected (n, {self.n_inputs})")
        outs = [x]
        for layer in self.layers:
            z = x @ layer.weight.T + layer.bias
            if z.dtype == object:
                if layer.activation == "relu":
                    z = np.where(z > 0, z, 0 * z)
                elif layer.activation != "identity":
                    raise ConfigError(
                        f"exact evaluation supports relu and identity, not {layer.activation}"
                    )
                x = z
            else:
                x = activation(layer.activation).forward(z)
            outs.append(x)
        return outs

    # -- conversion -----------------------------------------------------------------------------
    def to_float(self) -> AffineNet:
        """The same network with float64 weights (rationals rounded)."""
        return AffineNet(
            tuple(
                AffineLayer(
                    layer.weight.astype(np.float64), layer.bias.astype(np.float64), layer.activation
                )
                for layer in self.layers
            ),
            self.input_names,
        )

    def to_module(self, dtype: np.dtype | type = np.float32) -> Sequential:
        """An engine :class:`Sequential` (Linear, activation, Linear, ...) with these weights."""
        mods: list[Module] = []
        for layer in self.to_float().layers:
            lin = Linear(layer.in_features, layer.out_features, dtype=dtype)
            lin.weight.assign(layer.weight)
            assert lin.bias is not None
            lin.bias.assign(layer.bias)
            mods.append(lin)
            if layer.activation != "identity":
                mods.append(activation(layer.activation))
        return Sequential(mods, input_names=self.input_names)

    @classmethod
    def from_module(cls, net: Sequential) -> AffineNet:
        """Read an engine network made of Linear layers and elementwise activations.

        Dropout is skipped (it is the identity at inference); a Linear layer with no
        activation after it gets ``identity``. LayerNorm and the like are not piecewise-affine
        and raise :class:`~tinylens.errors.ConfigError`.
        """
        layers: list[AffineLayer] = []
        pending: Linear | None = None
        for m in net.layers:
            if isinstance(m, Dropout):
                continue
            if isinstance(m, Linear):
                if pending is not None:
                    layers.append(_affine(pending, "identity"))
                pending = m
            elif m.kind in ACTIVATIONS and pending is not None:
                if m.config() != type(m)().config():
                    raise ConfigError(
                        f"{m.name}: {m!r} has parameters the affine view cannot store"
                    )
                layers.append(_affine(pending, m.kind))
                pending = None
            else:
                raise ConfigError(
                    f"{m.name} ({m.kind}) has no place in the affine view; only Linear layers "
                    "followed by elementwise activations do"
                )
        if pending is not None:
            layers.append(_affine(pending, "identity"))
        return cls(tuple(layers), net.input_names)


def _affine(lin: Linear, act: str) -> AffineLayer:
    bias = lin.bias.data if lin.bias is not None else np.zeros(lin.out_features)
    return AffineLayer(lin.weight.data.astype(np.float64), bias.astype(np.float64), act)
