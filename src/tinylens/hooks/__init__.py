"""One hook API over both backends: hook points, ``run_with_cache``, ``run_with_hooks``.

``tinylens.hooked(model)`` returns an engine network itself (the engine ``Sequential`` carries the
API) and wraps any ``torch.nn.Module`` in a :class:`HookedModule`. Either way:

* ``model.hook_names``: the module paths whose outputs can be read or edited;
* ``model.run_with_cache(x, names=None)`` -> ``(output, cache)``, ``cache[name]`` a NumPy array;
  ``names`` is a list, a glob (``"layers.*"``) or a predicate;
* ``model.run_with_hooks(x, fwd_hooks=[(name, fn)])`` with ``fn(activation, name)`` returning a
  replacement or None; ``with model.hooks([...]):`` removes every hook on exit, also on error.

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.hooked(tl.MLP([4, 8, 3], rng=0))
>>> out, cache = net.run_with_cache(np.ones((2, 4)), names="layers.1")
>>> cache["layers.1"].shape
(2, 8)
>>> silenced = net.run_with_hooks(np.ones((2, 4)), [("layers.1", lambda a, name: a * 0)])
>>> bool(np.allclose(silenced, net.layers[2].bias.data))
True

Importing this package does not import torch; wrapping a torch model does.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Iterator
from typing import Any

from tinylens.engine import AffineNet, Sequential
from tinylens.engine.hooks import (
    ActivationCache,
    HookFn,
    HookHandle,
    NameSelector,
    is_pattern,
    select_names,
)
from tinylens.errors import ConfigError
from tinylens.typing import ModelLike

__all__ = [
    "ActivationCache",
    "HookFn",
    "HookHandle",
    "HookedModule",
    "NameSelector",
    "evaluating",
    "hooked",
    "is_pattern",
    "is_torch_model",
    "mode_dependent",
    "require_eval",
    "select_names",
]


def is_torch_model(model: ModelLike) -> bool:
    """Whether ``model`` is a ``torch.nn.Module`` or a :class:`HookedModule` (torch not imported
    when it is not loaded already: a torch model implies torch is)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    if isinstance(model, torch.nn.Module):
        return True
    hooked_mod = sys.modules.get("tinylens.hooks.torch_hooked")
    return hooked_mod is not None and isinstance(model, hooked_mod.HookedModule)


def hooked(model: ModelLike) -> Any:
    """The model with the tinylens hook API, on either backend.

    Parameters
    ----------
    model : tinylens.engine.Sequential, AffineNet, torch.nn.Module or HookedModule
        An engine network is returned as is (it carries the API); an ``AffineNet`` becomes an
        engine network; a torch module is wrapped in a :class:`HookedModule` whose hook points
        are its submodules' ``named_modules()`` paths. Nothing is copied and nothing changes:
        outputs and weights stay exactly the model's.
    """
    if isinstance(model, Sequential):
        return model
    if isinstance(model, AffineNet):
        return model.to_module()
    if is_torch_model(model):
        from tinylens.hooks.torch_hooked import HookedModule

        return model if isinstance(model, HookedModule) else HookedModule(model)
    raise ConfigError(
        f"tinylens.hooked takes an engine Sequential, an AffineNet or a torch.nn.Module, "
        f"not {type(model).__name__}"
    )


@contextlib.contextmanager
def evaluating(model: ModelLike) -> Iterator[Any]:
    """Evaluation mode (dropout off) inside the block; every module's own flag restored after.

    Works for engine networks and torch models (or their :class:`HookedModule`); yields
    ``hooked(model)``.
    """
    h = hooked(model)
    if isinstance(h, Sequential):
        flags = [(m, m.training) for m in [h, *h.layers]]
        h.eval()
        try:
            yield h
        finally:
            for m, flag in flags:
                m.training = flag
    else:
        with h.evaluating():
            yield h


def mode_dependent(model: ModelLike) -> list[str]:
    """Hook points of ``model`` that are in training mode and whose output depends on it.

    A module counts when its flag ``training`` is set and its class's ``forward`` reads that
    flag (dropout, batch norm, attention with dropout, any custom module written that way),
    unless its dropout rate (``p`` or ``dropout``) is 0; a ``forward`` whose source cannot be
    read counts too. An empty list means evaluation mode
    and training mode compute the same thing.
    """
    h = hooked(model)
    if isinstance(h, Sequential):
        named = [(n, m) for n, m in zip(h.hook_names, h.layers, strict=True)]
    else:
        named = [(n or type(h.model).__name__, m) for n, m in h.model.named_modules()]
    return [n for n, m in named if getattr(m, "training", False) and _uses_mode(m)]


def _uses_mode(m: Any) -> bool:
    # Dropout (engine and torch: ``p``) and RNNs / attention (``dropout``) set to 0 do not.
    rate = getattr(m, "p", getattr(m, "dropout", None))
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate == 0:
        return False
    return _reads_training(type(m))


@functools.lru_cache(maxsize=256)
def _reads_training(cls: type) -> bool:
    forward = getattr(cls, "forward", None)
    if forward is None:
        return False
    try:
        source = inspect.getsource(forward)
    except (OSError, TypeError):
        return True  # unknown: assume it does
    return "training" in source


def require_eval(model: ModelLike, what: str) -> None:
    """Refuse a model left in training mode where that changes its outputs (see
    :func:`mode_dependent`): ``what`` evaluates it, and dropout's random masks or batch norm's
    batch statistics would make its numbers differ from a loop of hooked forwards (and batch
    norm would update its running statistics)."""
    points = mode_dependent(model)
    if points:
        more = f" (and {len(points) - 1} more)" if len(points) > 1 else ""
        raise ConfigError(
            f"{what} evaluates the model, but it is in training mode and {points[0]!r}{more} "
            "computes differently there (dropout, batch norm); call model.eval() first, or run "
            "it inside `with tinylens.hooks.evaluating(model):`"
        )


def __getattr__(name: str) -> Any:
    if name == "HookedModule":  # loads torch, so only on first use
        from tinylens.hooks.torch_hooked import HookedModule

        return HookedModule
    raise AttributeError(f"module 'tinylens.hooks' has no attribute {name!r}")
