"""The piecewise-linear reading of a network that every geometry routine shares.

A ReLU network is affine on each set of inputs that share an *activation pattern*: one bit per
kinked unit saying which branch of its activation it is on. This module turns any network
(engine ``Sequential``, :class:`~tinylens.engine.AffineNet`, weights file, torch module) into a
:class:`PiecewiseStack`, and turns activation patterns into the affine maps they select.

Which units carry a bit
-----------------------
* every unit of every hidden layer, layer by layer (``identity`` hidden units never switch:
  their bit is always 1);
* the output units too when the output activation is itself piecewise linear (``relu``,
  ``leaky_relu``), so the region's affine map is the network's true output. For any other
  output activation (``sigmoid``, ``softmax``, ``tanh``...) the affine map is that of the
  output layer's pre-activation (the logits), and :attr:`PiecewiseStack.readout_activation`
  names the function applied after it.

A bit is 1 where the unit's pre-activation ``z > 0`` (the identity branch) and 0 where
``z <= 0``, exactly as the engine's ``ReLU`` decides (``relu(0) = 0``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.engine import AffineLayer, AffineNet, LeakyReLU, Sequential
from tinylens.errors import ConfigError, ShapeError

__all__ = [
    "BRANCH_SLOPES",
    "FORWARD_RTOL",
    "NetLike",
    "PiecewiseStack",
    "apply_linear",
    "as_affine_net",
    "check_finite",
    "exact_slopes",
    "forward_patterns",
    "pattern_maps",
    "piecewise_stack",
]

NetLike = Any
"""An engine ``Sequential``, an ``AffineNet``, a path to a tinylens weights file, or a torch
module made of Linear layers and elementwise activations."""

# (slope where z <= 0, slope where z > 0) for every activation the geometry can read exactly.
# The leaky slope is the one AffineNet can hold (the engine default); AffineNet.from_module
# refuses other slopes, so there is never a second value to reconcile.
BRANCH_SLOPES: dict[str, tuple[float, float]] = {
    "relu": (0.0, 1.0),
    "leaky_relu": (LeakyReLU().negative_slope, 1.0),
    "identity": (1.0, 1.0),
}


def as_affine_net(net: NetLike) -> AffineNet:
    """The neutral :class:`~tinylens.engine.AffineNet` view of ``net``.

    Parameters
    ----------
    net : AffineNet, engine Sequential, str or path-like, or torch.nn.Module
        A path is read with :func:`tinylens.load_affine`; a torch module is converted with
        :func:`tinylens.from_torch` (only when torch is already imported).
    """
    if isinstance(net, AffineNet):
        return net
    if isinstance(net, Sequential):
        return AffineNet.from_module(net)
    if isinstance(net, (str, os.PathLike)):
        from tinylens.io import load_affine

        return load_affine(net)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(net, torch.nn.Module):
        from tinylens.torch import from_torch

        return AffineNet.from_module(from_torch(net))
    raise ConfigError(
        f"expected an AffineNet, an engine Sequential, a weights-file path or a torch module, "
        f"not {type(net).__name__}"
    )


@dataclass(frozen=True)
class PiecewiseStack:
    """A network read as kinked layers followed by an affine readout (float64 throughout).

    Attributes
    ----------
    layers : tuple of AffineLayer
        The layers whose units carry pattern bits, in order (hidden layers, then the output
        layer when its activation is relu or leaky_relu).
    readout : AffineLayer
        The affine map after the last kinked layer (identity weights when the output layer is
        itself kinked); its ``activation`` is :attr:`readout_activation`.
    units : tuple of (int, int)
        ``(affine layer index, unit index)`` of every pattern bit, in pattern order.
    """

    layers: tuple[AffineLayer, ...]
    readout: AffineLayer
    units: tuple[tuple[int, int], ...]
    n_inputs: int
    source: AffineNet

    @property
    def n_outputs(self) -> int:
        return self.readout.out_features

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def widths(self) -> list[int]:
        return [layer.out_features for layer in self.layers]

    @property
    def offsets(self) -> list[int]:
        """Where each kinked layer's bits start in a pattern (plus the total at the end)."""
        return [0, *np.cumsum(self.widths).tolist()]

    @property
    def readout_activation(self) -> str:
        return self.readout.activation

    def slopes(self, index: int, bits: np.ndarray) -> np.ndarray:
        """The activation slope of layer ``index``'s units for pattern ``bits`` (0/1 array)."""
        low, high = BRANCH_SLOPES[self.layers[index].activation]
        return np.where(bits.astype(bool), high, low)

    def with_input_affine(self, scale: np.ndarray, shift: np.ndarray) -> PiecewiseStack:
        """The same network read in coordinates ``u`` with ``x = shift + scale * u``.

        Geometry is computed on the unit box ``[-1, 1]^d`` so that every tolerance means the
        same thing whatever box the user asked for.
        """
        first = self.layers[0] if self.layers else self.readout
        w = first.weight * scale[None, :]
        b = first.bias + first.weight @ shift
        moved = AffineLayer(w, b, first.activation)
        if self.layers:
            return PiecewiseStack(
                (moved, *self.layers[1:]), self.readout, self.units, self.n_inputs, self.source
            )
        return PiecewiseStack((), moved, self.units, self.n_inputs, self.source)


def piecewise_stack(net: NetLike, *, exact: bool = False) -> PiecewiseStack:
    """Read ``net`` as a :class:`PiecewiseStack`, checking that it is piecewise linear.

    With ``exact=True`` and exact-rational weights (``AffineNet.is_exact``) the weights stay
    ``fractions.Fraction`` object arrays; otherwise they are float64.

    Raises
    ------
    ConfigError
        A hidden activation is not piecewise linear (sigmoid, tanh, gelu, softplus...).
    """
    affine = as_affine_net(net)
    keep_exact = exact and affine.is_exact
    if not keep_exact:
        affine = affine.to_float()
        check_finite(affine)
    layers = list(affine.layers)
    for i, layer in enumerate(layers[:-1]):
        if layer.activation not in BRANCH_SLOPES:
            raise ConfigError(
                f"layer {i} uses {layer.activation!r}, which is not piecewise linear; exact "
                f"regions need {', '.join(sorted(BRANCH_SLOPES))} hidden activations"
            )
    last = layers[-1]
    if last.activation in ("relu", "leaky_relu"):
        kinked = layers
        k = last.out_features
        eye = np.eye(k)
        if keep_exact:  # Fraction(1) and Fraction(0), so no float creeps into exact arithmetic
            eye = np.array([[Fraction(int(v)) for v in row] for row in eye], dtype=object)
        readout = AffineLayer(eye, eye[0] * 0, "identity")
    else:
        kinked = layers[:-1]
        readout = last
    units = tuple((i, j) for i, layer in enumerate(kinked) for j in range(layer.out_features))
    return PiecewiseStack(tuple(kinked), readout, units, affine.n_inputs, affine)


def check_finite(affine: AffineNet) -> None:
    """Refuse NaN or infinite weights: every region count and map would be meaningless.

    Raises
    ------
    ConfigError
        Naming the first layer and tensor with a non-finite value.
    """
    for i, layer in enumerate(affine.layers):
        for name, values in (("weight", layer.weight), ("bias", layer.bias)):
            bad = ~np.isfinite(np.asarray(values, dtype=np.float64))
            if bad.any():
                kinds = sorted({str(v) for v in np.asarray(values, dtype=np.float64)[bad]})
                raise ConfigError(
                    f"layer {i} {name} has {int(bad.sum())} non-finite value(s) "
                    f"({', '.join(kinds)}); regions need finite weights: retrain (a smaller "
                    "learning rate avoids divergence) or load an earlier checkpoint"
                )


def apply_linear(weight: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``weight @ M[r]`` for every r, as one matrix product (einsum would not use BLAS).

    ``weight`` : (out, in); ``M`` : (n, in, d). Returns (n, out, d).
    """
    n, width, d = M.shape
    flat = np.ascontiguousarray(M.transpose(1, 0, 2)).reshape(width, n * d)
    return (weight @ flat).reshape(weight.shape[0], n, d).transpose(1, 0, 2)


def pattern_maps(
    stack: PiecewiseStack, patterns: np.ndarray, *, reach: np.ndarray | None = None
) -> tuple[list[tuple[np.ndarray, ...]], tuple[np.ndarray, np.ndarray]]:
    """The affine maps selected by activation patterns, for many patterns at once.

    Parameters
    ----------
    stack : PiecewiseStack
    patterns : array of shape (n_regions, n_units)
        0/1 bits in the order of ``stack.units``.
    reach : array of shape (n_inputs,), optional
        The largest ``|x_k|`` of interest (a box's). When given, each layer's entry also holds
        ``S``, a bound on the size of the terms summed into each pre-activation,
        ``|W| (|M| reach + |m|) + |b|`` (what rounding errors are relative to).

    Returns
    -------
    pre : list of (G, H) (or (G, H, S)), one per kinked layer
        ``G`` of shape (n_regions, width, n_inputs) and ``H`` of shape (n_regions, width): the
        layer's pre-activations are ``z = G x + H`` wherever the pattern holds.
    out : (W, c)
        ``W`` of shape (n_regions, n_outputs, n_inputs), ``c`` of shape (n_regions, n_outputs):
        the readout's pre-activation ``W x + c`` (the network's output when it is linear).
    """
    patterns = np.asarray(patterns)
    if patterns.ndim != 2 or patterns.shape[1] != stack.n_units:
        raise ShapeError(f"patterns have shape {patterns.shape}; expected (n, {stack.n_units})")
    r, d = patterns.shape[0], stack.n_inputs
    exact = stack.readout.weight.dtype == object
    # Running map of the current layer's input: x_l = M x + m (starts as the identity).
    M = np.broadcast_to(np.eye(d), (r, d, d))
    m = np.zeros((r, d))
    if exact:  # Python ints 1 and 0: exact, and they combine with Fractions exactly
        M, m = M.astype(np.int64).astype(object), m.astype(np.int64).astype(object)
    pre: list[tuple[np.ndarray, ...]] = []
    offsets = stack.offsets
    for i, layer in enumerate(stack.layers):
        G = apply_linear(layer.weight, M)
        H = m @ layer.weight.T + layer.bias
        if reach is None:
            pre.append((G, H))
        else:
            bound = np.abs(M) @ reach + np.abs(m)  # |x_l| on the box, per region
            pre.append((G, H, bound @ np.abs(layer.weight.T) + np.abs(layer.bias)))
        s = stack.slopes(i, patterns[:, offsets[i] : offsets[i + 1]])
        if exact:
            s = exact_slopes(s)
        M, m = s[:, :, None] * G, s * H
    W = apply_linear(stack.readout.weight, M)
    c = m @ stack.readout.weight.T + stack.readout.bias
    return pre, (W, c)


def exact_slopes(s: np.ndarray) -> np.ndarray:
    """Branch slopes (0.0, 1.0, 0.01) as exact Fractions of their decimal values."""
    return np.vectorize(lambda v: Fraction(str(v)), otypes=[object])(s)


FORWARD_RTOL = 1e-12
""":func:`forward_patterns` counts a pre-activation as zero (bit 0, like ``relu(0) = 0``) when
it is below ``FORWARD_RTOL`` times the size of the terms summed to make it. A unit that is
identically zero on a region (``relu(a) - relu(a)`` downstream, common in hand-built circuits)
otherwise gets a random bit from the last rounding of a matrix product (BLAS sums in a
different order for different batch sizes), naming a pattern no region has."""


def forward_patterns(stack: PiecewiseStack, X: np.ndarray) -> np.ndarray:
    """The activation pattern of every input row: array of shape (n, n_units), uint8."""
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != stack.n_inputs:
        raise ShapeError(f"points have shape {x.shape}; expected (n, {stack.n_inputs})")
    bits = []
    for layer in stack.layers:
        z = x @ layer.weight.T + layer.bias
        size = np.abs(x) @ np.abs(layer.weight.T) + np.abs(layer.bias)
        # identity units never switch; their bit is 1 by convention (see the module docstring)
        on = (
            np.ones(z.shape, dtype=bool)
            if layer.activation == "identity"
            else z > FORWARD_RTOL * size
        )
        bits.append(on)
        low, high = BRANCH_SLOPES[layer.activation]
        x = np.where(on, high * z, low * z)
    if not bits:
        return np.zeros((len(x), 0), dtype=np.uint8)
    return np.concatenate(bits, axis=1).astype(np.uint8)
