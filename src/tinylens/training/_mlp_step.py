"""The training step of a plain MLP, fused: the modules' arithmetic without their dispatch.

A :class:`~tinylens.engine.Sequential` of ``Linear`` layers (with biases) and ReLU or identity
activations, with no hooks, is most of what tinylens trains. For it, :class:`PlainMLPStep` runs
the forward and backward passes as one function over the layers' arrays: the same NumPy calls
on the same operands, in the same order, as ``Linear.forward``/``backward`` and
``ReLU.forward``/``backward``, so the gradients are bit for bit the modules' (a test checks
it), but without a method call per module, with ReLU applied in place (its input is a fresh
product no one else holds, since there are no hooks) and the mask multiplied in place.

Why (issue 18): at batch 64 the per-module overhead and the ReLU copies were the gap between
``fit`` and a hand-written NumPy loop of the same maths (benchmarks/engine_step.py).
"""

from __future__ import annotations

import numpy as np

from tinylens.engine import Linear, Sequential
from tinylens.engine.losses import Loss

__all__ = ["PlainMLPStep"]


class PlainMLPStep:
    """Forward, loss and backward of a plain MLP in one call; see the module docstring.

    Build it with :meth:`for_network`, which returns None for any other network.
    """

    def __init__(self, net: Sequential, layers: list[tuple[Linear, bool]]) -> None:
        self.net = net
        self.layers = layers  # (linear, followed by a ReLU)
        self._ones: np.ndarray | None = None

    @classmethod
    def for_network(cls, net: Sequential) -> PlainMLPStep | None:
        """The fused step for ``net``, or None when it holds anything but Linear layers with
        biases, each followed by at most one ReLU or identity."""
        layers: list[tuple[Linear, bool]] = []
        for m in net.layers:
            if isinstance(m, Linear) and m.bias is not None:
                layers.append((m, False))
            elif m.kind in ("relu", "identity") and layers and not layers[-1][1]:
                if m.kind == "relu":
                    layers[-1] = (layers[-1][0], True)
            else:
                return None
        return cls(net, layers) if layers else None

    def usable(self) -> bool:
        """No hooks now (a callback may add one between epochs): hooks need the modules."""
        return self.net.n_hooks == 0

    def __call__(self, xb: np.ndarray, yb: np.ndarray, loss: Loss) -> tuple[float, np.ndarray]:
        """One forward and backward pass: fills every ``Parameter.grad``; returns the loss and
        the network's output."""
        inputs = []
        h = xb
        for lin, relu in self.layers:
            inputs.append(h)
            z = h @ lin.weight.data.T
            z += lin.bias.data  # type: ignore[union-attr]
            if relu:
                np.maximum(z, 0, out=z)
            h = z
        value = loss.forward(h, yb, check=False)
        g = loss.backward()
        ones = self._ones
        if ones is None or ones.shape[0] != g.shape[0] or ones.dtype != g.dtype:
            ones = self._ones = np.ones(g.shape[0], dtype=g.dtype)
        out = h
        for i in range(len(self.layers) - 1, -1, -1):
            lin, relu = self.layers[i]
            if relu:
                np.multiply(g, h > 0, out=g)
            np.matmul(g.T, inputs[i], out=lin.weight.grad)
            np.matmul(ones, g, out=lin.bias.grad)  # type: ignore[union-attr]
            if i:
                g = g @ lin.weight.data
                h = inputs[i]
        return value, out
