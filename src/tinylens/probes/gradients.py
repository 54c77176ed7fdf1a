"""Gradients of a network's output with respect to the activation at a hook point.

"If neuron 7 of ``layers.1`` fired a little more, how would the logit of class 3 move?" is
``d logit_3 / d h_7``. :func:`hook_point_gradient` gives it for every sample on either backend
(the engine's own backward over the modules after the hook point; autograd on torch), and
:func:`class_gradients` averages ``d logit_y / d h`` over the samples of each class ``y``,
which ranks neurons by how much they push their class's logit (see
:func:`tinylens.probes.top_units`).

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([3, 4, 2], rng=0, dtype=np.float64)
>>> x = np.random.default_rng(0).normal(size=(5, 3))
>>> g = hook_point_gradient(net, x, "layers.1", np.tile([1.0, 0.0], (5, 1)))
>>> bool(np.allclose(g, np.broadcast_to(net.layers[2].weight.data[0], (5, 4))))  # d logit_0/d h
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.hooks import evaluating, is_torch_model
from tinylens.probes._data import classification_arrays
from tinylens.typing import ModelLike

__all__ = ["class_gradients", "hook_point_gradient"]


def _engine_gradient(net: Any, X: np.ndarray, name: str, grad_out: np.ndarray) -> np.ndarray:
    if net.n_hooks:
        raise ConfigError(
            "engine gradients ignore forward hooks' edits; remove the hooks (or use a torch "
            "model, where autograd differentiates through them)"
        )
    index = net.index_of(name)
    saved = [p.grad.copy() for p in net.parameters()]
    try:
        out = net.forward(X)
        if grad_out.shape != out.shape:
            raise ShapeError(f"grad_output has shape {grad_out.shape}; the output is {out.shape}")
        g = np.asarray(grad_out, dtype=net.dtype)
        for i in range(len(net.layers) - 1, index, -1):
            g = net.layers[i].backward(g, need_input_grad=True)
        return np.array(g)
    finally:  # a measurement: the network's gradient buffers are left as found
        for p, old in zip(net.parameters(), saved, strict=True):
            p.grad[...] = old


def _torch_gradient(h: Any, X: Any, name: str, grad_out: np.ndarray) -> np.ndarray:
    import torch

    h.module(name.split(":")[0])
    leaves: list[Any] = []

    def hook(act: Any, hook_name: str) -> Any:
        # Only the requested call becomes a leaf: detaching a later call of a reused module
        # would cut the gradient's path back to it.
        if hook_name != name or leaves:
            return None
        leaf = act.detach().requires_grad_(True)
        leaves.append(leaf)
        return leaf

    with torch.enable_grad(), h.hooks([(name, hook)]):
        out = h.model(h.as_tensor(X))
    if not leaves:
        raise ConfigError(f"hook point {name!r} did not run in the forward pass")
    if tuple(grad_out.shape) != tuple(out.shape):
        raise ShapeError(
            f"grad_output has shape {grad_out.shape}; the output is {tuple(out.shape)}"
        )
    seed = torch.as_tensor(np.asarray(grad_out), dtype=out.dtype, device=out.device)
    (g,) = torch.autograd.grad(out, leaves[0], grad_outputs=seed, allow_unused=True)
    if g is None:  # the output does not depend on this activation
        return np.zeros(tuple(leaves[0].shape), dtype=np.float64)
    return g.detach().cpu().numpy()  # type: ignore[no-any-return]


def hook_point_gradient(model: ModelLike, X: Any, name: str, grad_output: Any) -> np.ndarray:
    """``d <output, grad_output> / d activation`` at hook point ``name``, per sample.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        Run in evaluation mode (flags restored after). Engine parameter gradients are left
        as found.
    X : array of shape (n_samples, ...)
    name : str
        The hook point.
    grad_output : array of shape (n_samples, n_outputs)
        The weights of the outputs: a one-hot row per sample gives the gradient of one logit.

    Returns
    -------
    array of shape (n_samples, *unit_shape)
        The activation's shape at ``name``.
    """
    grad_out = np.asarray(grad_output)
    with evaluating(model) as h:
        if is_torch_model(model):
            return _torch_gradient(h, X, name, grad_out)
        return _engine_gradient(h, h.check_input(X), name, grad_out)


def class_gradients(
    model: ModelLike, data: Any, name: str, *, batch_size: int = 2048
) -> np.ndarray:
    """Mean of ``d logit_y / d unit`` over the samples of each class ``y``.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        Its output must hold one logit per class.
    data : classification Dataset or (X, y)
    name : str
        The hook point. At an image hook point (batch, channels, h, w) a channel's gradient is
        the sum over its positions: how the logit moves when the whole map rises by one.
    batch_size : int

    Returns
    -------
    array of shape (n_classes, n_units)
        NaN rows for classes without samples.
    """
    X, y, n_classes = classification_arrays(data)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    sums: np.ndarray | None = None
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        onehot = np.zeros((len(xb), n_classes))
        onehot[np.arange(len(xb)), yb] = 1.0
        g = hook_point_gradient(model, xb, name, onehot)
        if g.ndim > 2:
            g = g.reshape(g.shape[0], g.shape[1], -1).sum(axis=2)
        g = g.reshape(len(xb), -1).astype(np.float64)
        if sums is None:
            sums = np.zeros((n_classes, g.shape[1]))
        sums += onehot.T @ g  # per-class sums as one product: (classes, batch) @ (batch, units)
    assert sums is not None
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]
