"""The training step of a plain MLP, fused: the modules' arithmetic without their dispatch.

A :class:`~tinylens.engine.Sequential` of ``Linear`` layers (with biases) and ReLU or identity
activations, with no hooks, is most of what tinylens trains. For it, :class:`PlainMLPStep` runs
the forward and backward passes as one function over the layers' arrays: the same NumPy calls
on the same operands, in the same order, as ``Linear.forward``/``backward`` and
``ReLU.forward``/``backward``, so the gradients are bit for bit the modules' (a test checks
it), but without a method call per module, with ReLU applied in place (its input is a fresh
product no one else holds, since there are no hooks), the mask multiplied in place, and every
product written into work arrays made once per batch size (no allocation per step).

Why (issue 18): at batch 64 the per-module overhead and the ReLU copies were the gap between
``fit`` and a hand-written NumPy loop of the same maths (benchmarks/engine_step.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinylens.engine import Linear, Sequential

__all__ = ["InputNotFinite", "PlainMLPStep", "ValueAndGrad"]

ValueAndGrad = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]
"""``(out, targets) -> (loss, d loss / d out)``: a training step's loss."""


class InputNotFinite(Exception):
    """Raised in the first epoch at a batch with a NaN or infinite input (see
    ``EngineBackend.defer_input_check``); ``fit`` restores the weights and reports it."""


class PlainMLPStep:
    """Forward, loss and backward of a plain MLP in one call; see the module docstring.

    Build it with :meth:`for_network`, which returns None for any other network.
    """

    def __init__(self, net: Sequential, layers: list[tuple[Linear, bool]]) -> None:
        self.net = net
        self.layers = layers  # (linear, followed by a ReLU)
        self._work: _StepWork | None = None

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

    def __call__(
        self,
        xb: np.ndarray,
        yb: np.ndarray,
        value_and_grad: ValueAndGrad,
        check_input: bool = False,
    ) -> tuple[float, np.ndarray]:
        """One forward and backward pass: fills every ``Parameter.grad``; returns the loss and
        the network's output (a work array, overwritten by the next call).

        ``value_and_grad(out, yb)`` gives the loss and d loss / d out. ``check_input``: raise
        :class:`InputNotFinite` when ``xb`` has a NaN or infinite
        entry, found through the first layer's pre-activations (see
        ``EngineBackend.defer_input_check``), before any gradient is written.
        """
        n = xb.shape[0]
        work = self._work
        if work is None or work.n != n or work.dtype != xb.dtype:
            work = self._work = _StepWork(n, xb.dtype, self.layers)
        outs, masks, grads = work.outs, work.masks, work.grads
        h = xb
        for k, (lin, relu) in enumerate(self.layers):
            z = np.matmul(h, lin.weight.data.T, out=outs[k])
            z += lin.bias.data  # type: ignore[union-attr]
            if check_input and k == 0 and not np.isfinite(z).all() and not np.isfinite(xb).all():
                raise InputNotFinite
            if relu:
                np.maximum(z, 0, out=z)
            h = z
        value, g = value_and_grad(h, yb)
        for i in range(len(self.layers) - 1, -1, -1):
            lin, relu = self.layers[i]
            if relu:
                # the same product as g * (h > 0), with the mask in a work array
                np.multiply(g, np.greater(outs[i], 0, out=masks[i]), out=g)
            inputs = outs[i - 1] if i else xb
            np.matmul(g.T, inputs, out=lin.weight.grad)
            np.matmul(work.ones, g, out=lin.bias.grad)  # type: ignore[union-attr]
            if i:
                g = np.matmul(g, lin.weight.data, out=grads[i])
        return value, h


class _StepWork:
    """Work arrays of one batch size: each layer's output, ReLU mask and input gradient."""

    def __init__(self, n: int, dtype: np.dtype, layers: list[tuple[Linear, bool]]) -> None:
        self.n, self.dtype = n, dtype
        self.outs = [np.empty((n, lin.out_features), dtype=dtype) for lin, _ in layers]
        self.masks = [np.empty((n, lin.out_features), dtype=bool) for lin, _ in layers]
        self.grads = [np.empty((n, lin.in_features), dtype=dtype) for lin, _ in layers]
        self.ones = np.ones(n, dtype=dtype)
