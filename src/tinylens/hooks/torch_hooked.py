"""Hook points on any ``torch.nn.Module``: the outputs of its submodules, by module path.

:class:`HookedModule` gives a torch model the engine's hook API (``hook_names``,
``run_with_cache``, ``run_with_hooks``, ``hooks``) without changing its outputs, its weights or
its class: it registers plain torch forward hooks for the duration of one call and removes
every one of them in a ``finally`` block.

>>> import numpy as np, torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> hm = HookedModule(model)
>>> hm.hook_names
['0', '1', '2']
>>> out, cache = hm.run_with_cache(np.ones((3, 4), dtype=np.float32), names=["1"])
>>> type(out).__name__, cache["1"].shape, len(model[1]._forward_hooks)
('ndarray', (3, 8), 0)

A module called several times in one forward (one ``nn.ReLU`` reused after every layer) caches
each call: ``cache["act"]`` is the first, ``cache["act:1"]`` the second, and so on. Hooks see the
same names.

A module that returns a tuple or list (``nn.LSTM``'s ``(output, (h, c))``,
``nn.MultiheadAttention``'s ``(output, weights)``) has one activation: its *first element*, when
that is a tensor (the output the next layer reads). The cache holds it, a hook receives it, and
a hook's replacement takes its place in the tuple (the other elements pass through unchanged).
Keyword arguments of ``forward``, ``run_with_cache``, ``run_with_hooks`` and ``forward_to`` go to
the model's ``forward`` (an attention mask, ...).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from tinylens.engine.hooks import (
    ActivationCache,
    HookFn,
    HookHandle,
    NameSelector,
    hook_pairs,
    select_names,
)
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

__all__ = ["HookedModule"]

FwdHooks = Any  # an iterable of (NameSelector, HookFn) pairs


class _Stop(BaseException):
    """Raised inside a hook to end a forward pass early (``forward_to``). A BaseException, so
    that a model whose forward catches ``Exception`` cannot swallow it."""


def _activation(output: Any) -> torch.Tensor | None:
    """A module output's activation: the output itself if it is a tensor, the first element of a
    tuple or list if that is a tensor, else None (nothing to cache or edit)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def _with_first(output: Any, first: Any) -> Any:
    """``output`` (a tuple, named tuple or list) with its first element replaced."""
    rest = list(output[1:])
    if isinstance(output, list):
        return [first, *rest]
    if hasattr(output, "_fields"):  # a named tuple
        return type(output)(first, *rest)
    return type(output)((first, *rest))


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    arr = t.cpu().numpy()
    arr.flags.writeable = False  # the same contract as the engine's cache
    return arr


class HookedModule:
    """A torch model with hook points at the outputs of its submodules.

    Parameters
    ----------
    model : torch.nn.Module
        Any module: ``nn.Sequential``, nested containers, a custom ``forward``. It is used as
        is (not copied): its weights, outputs and training mode stay the user's.

    Attributes
    ----------
    model : torch.nn.Module
    hook_names : list of str
        ``named_modules()`` paths, the root excluded (its output is the model's output), and
        ``ModuleList`` / ``ModuleDict`` excluded (they are never called). For a
        :class:`~tinylens.torch.TorchSequential` (what :func:`tinylens.to_torch` builds) they are
        exactly the engine network's: ``layers.0``, ``layers.1``, ...

    Inputs may be NumPy arrays or tensors: a NumPy input is converted to the model's dtype
    and device, and the output comes back as NumPy; a tensor input gives a tensor output.
    Hook functions ``fn(activation, name)`` receive tensors and may return a replacement
    (tensor or array) of the same shape.
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"HookedModule wraps a torch.nn.Module, not {type(model).__name__}")
        self.model = model
        from tinylens.torch.models import TorchSequential

        # tinylens's own twin of an engine network has exactly the engine's hook points: its
        # "layers" container only repeats the output.
        skip = {"layers"} if type(model) is TorchSequential else set()
        self._points: dict[str, nn.Module] = {
            name: m
            for name, m in model.named_modules()
            if name and name not in skip and not isinstance(m, (nn.ModuleList, nn.ModuleDict))
        }
        self.hook_names = list(self._points)
        self._removers: list[Callable[[], None]] = []  # what add_hook registered
        self._counters: dict[str, tuple[Any, int]] = {}  # name -> (count pre-hook, users)
        self._counts: dict[str, int] = {}  # calls of each hooked module in this forward
        self._root_handle: Any = None

    # -- conversions ----------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        for p in self.model.parameters():
            if p.is_floating_point():
                return p.dtype
        return torch.get_default_dtype()

    @property
    def device(self) -> torch.device:
        for p in self.model.parameters():
            return p.device
        return torch.device("cpu")

    def as_tensor(self, x: Any) -> torch.Tensor:
        """``x`` as a tensor on the model's device; floating NumPy input gets the model's dtype."""
        if isinstance(x, torch.Tensor):
            return x
        arr = np.ascontiguousarray(x)
        if not arr.flags.writeable:  # e.g. a cached activation; torch wants writable memory
            arr = arr.copy()
        t = torch.from_numpy(arr)
        if t.is_floating_point():
            t = t.to(self.dtype)
        return t.to(self.device)

    @staticmethod
    def _out(value: Any, numpy_out: bool) -> Any:
        if numpy_out and isinstance(value, torch.Tensor):
            arr = value.detach().cpu().numpy()
            return arr
        return value

    def _kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the model: NumPy arrays become tensors (as inputs do)."""
        return {k: self.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}

    # -- plain calls ----------------------------------------------------------------------------
    def __call__(self, x: Any, **kwargs: Any) -> Any:
        return self.forward(x, **kwargs)

    def forward(self, x: Any, **kwargs: Any) -> Any:
        """The model's output on ``x`` (NumPy in, NumPy out; tensor in, tensor out); keyword
        arguments go to the model's ``forward``."""
        out = self.model(self.as_tensor(x), **self._kwargs(kwargs))
        return self._out(out, not isinstance(x, torch.Tensor))

    def predict(self, x: Any, batch_size: int = 8192) -> np.ndarray:
        """Evaluation-mode forward without autograd, in chunks, as NumPy (modes restored)."""
        with self.evaluating(), torch.no_grad():
            parts = [
                self.model(self.as_tensor(x[i : i + batch_size])).cpu().numpy()
                for i in range(0, len(x), batch_size)
            ]
        return np.concatenate(parts) if parts else np.zeros((0,))

    @property
    def training(self) -> bool:
        return bool(self.model.training)

    def train(self, mode: bool = True) -> HookedModule:
        self.model.train(mode)
        return self

    def eval(self) -> HookedModule:
        return self.train(False)

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[HookedModule]:
        """Evaluation mode inside the block; every submodule's own flag restored after."""
        flags = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        try:
            yield self
        finally:
            for m, flag in flags:
                m.training = flag

    # -- hooks ----------------------------------------------------------------------------------
    def module(self, name: str) -> nn.Module:
        """The submodule at hook point ``name``."""
        try:
            return self._points[name]
        except KeyError:
            raise UnknownNameError("hook point", name, self.hook_names) from None

    def _targets(self, name: NameSelector) -> list[tuple[str, int | None]]:
        """Hook points chosen by ``name``; ``"act:2"`` is the third call of ``act`` only."""
        if isinstance(name, str) and ":" in name:
            base, _, index = name.rpartition(":")
            if base in self._points and index.isdigit():
                return [(base, int(index))]
        return [(n, None) for n in select_names(self.hook_names, name)]

    def _register(self, targets: list[tuple[str, int | None]], fn: HookFn) -> Callable[[], None]:
        """Register ``fn`` on each target; returns the function that removes all of it."""
        removers: list[Callable[[], None]] = []

        def remove_all() -> None:
            while removers:
                removers.pop()()

        try:
            for base, index in targets:
                self._acquire_counter(base)
                removers.append(lambda base=base: self._release_counter(base))
                handle = self._points[base].register_forward_hook(self._user_hook(base, index, fn))
                removers.append(handle.remove)
        except BaseException:
            remove_all()
            raise
        return remove_all

    # Call counting: a pre-hook on each hooked module counts its calls in the current forward,
    # and a pre-hook on the root resets the counts, so the k-th call of a reused module is
    # "name:k" whoever runs the model (this wrapper, a training loop, Captum).
    def _acquire_counter(self, base: str) -> None:
        if not self._counters:
            self._root_handle = self.model.register_forward_pre_hook(
                lambda module, args: self._counts.clear()
            )
        handle, users = self._counters.get(base, (None, 0))
        if handle is None:

            def count(module: nn.Module, args: Any, base: str = base) -> None:
                self._counts[base] = self._counts.get(base, 0) + 1

            handle = self._points[base].register_forward_pre_hook(count)
        self._counters[base] = (handle, users + 1)

    def _release_counter(self, base: str) -> None:
        handle, users = self._counters[base]
        if users > 1:
            self._counters[base] = (handle, users - 1)
            return
        handle.remove()
        del self._counters[base]
        if not self._counters and self._root_handle is not None:
            self._root_handle.remove()
            self._root_handle = None

    def _user_hook(self, base: str, index: int | None, fn: HookFn) -> Callable[..., Any]:
        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            k = self._counts.get(base, 1) - 1
            if index is not None and k != index:
                return None
            act = _activation(output)
            if act is None or act is output:
                new = fn(output, base if k == 0 else f"{base}:{k}")
                return _checked_replacement(new, output, base)
            new = _checked_replacement(fn(act, base if k == 0 else f"{base}:{k}"), act, base)
            return None if new is None else _with_first(output, new)

        return hook

    def add_hook(self, name: NameSelector, fn: HookFn) -> HookHandle:
        """Call ``fn(activation, name)`` on the chosen outputs at every forward until removed.

        Prefer :meth:`hooks` or :meth:`run_with_hooks`, which always clean up.
        """
        if not callable(fn):
            raise ConfigError(f"a hook must be callable fn(activation, name), not {fn!r}")
        remove = self._register(self._targets(name), fn)
        self._removers.append(remove)

        def remove_once() -> None:
            if remove in self._removers:
                self._removers.remove(remove)
                remove()

        return HookHandle(remove_once)

    def reset_hooks(self) -> None:
        """Remove every hook added with :meth:`add_hook`."""
        while self._removers:
            self._removers.pop()()

    @property
    def n_hooks(self) -> int:
        """Torch forward and forward-pre hooks on the model's modules (whoever added them)."""
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in self.model.modules())

    @contextlib.contextmanager
    def hooks(self, fwd_hooks: FwdHooks) -> Iterator[HookedModule]:
        """Add ``[(name, fn), ...]`` for the ``with`` block; removed on exit, also on error.

        Every name is checked before any hook is registered.
        """
        pairs = hook_pairs(fwd_hooks)
        resolved = [(self._targets(name), fn) for name, fn in pairs]
        removers: list[Callable[[], None]] = []
        try:
            for targets, fn in resolved:
                removers.append(self._register(targets, fn))
            yield self
        finally:
            for remove in reversed(removers):
                remove()

    def run_with_hooks(self, x: Any, fwd_hooks: FwdHooks = (), **kwargs: Any) -> Any:
        """The output of ``x`` with ``fwd_hooks`` added for this call only (autograd as usual);
        keyword arguments go to the model."""
        with self.hooks(fwd_hooks):
            return self.forward(x, **kwargs)

    def run_with_cache(
        self, x: Any, names: NameSelector = None, **kwargs: Any
    ) -> tuple[Any, ActivationCache]:
        """``(output, cache)`` with the activations at the chosen hook points, as NumPy.

        Runs without autograd (nothing but the cached arrays outlives the call). Parameters
        as in :meth:`tinylens.engine.Sequential.run_with_cache`; keyword arguments go to the
        model. A module returning a tuple or list is cached as its first element (module
        docstring); a module that did not run, or whose output holds no tensor, is absent.
        """
        chosen = select_names(self.hook_names, names)
        kw = self._kwargs(kwargs)
        store, versions = self._cached_forward(x, chosen, kw, clone=False)
        if any(store[k]._version != v for k, v in versions.items()):
            # An in-place operation later in the forward (ReLU(inplace=True), x += ...) wrote
            # into a cached tensor; run again keeping copies, so the cache holds true values.
            store, _ = self._cached_forward(x, chosen, kw, clone=True)
        out = store.pop("", None)
        cache = ActivationCache({k: _to_numpy(v) for k, v in store.items()}, self.hook_names)
        if names is None or callable(names):
            explicit: list[str] = []
        else:
            explicit = [n for n in ([names] if isinstance(names, str) else names) if n in chosen]
        missing = [n for n in explicit if n not in cache]
        if missing:
            raise ConfigError(
                f"hook point {missing[0]!r} produced no tensor in this forward (it did not run, "
                "or its output is neither a tensor nor a tuple starting with one); cache one of "
                "its submodules instead"
            )
        return self._out(out, not isinstance(x, torch.Tensor)), cache

    def _cached_forward(
        self, x: Any, chosen: list[str], kwargs: dict[str, Any], *, clone: bool
    ) -> tuple[dict[str, Any], dict[str, int]]:
        store: dict[str, Any] = {}
        versions: dict[str, int] = {}
        calls: dict[str, int] = {}

        def make(name: str) -> Callable[..., None]:
            def hook(module: nn.Module, args: Any, output: Any) -> None:
                act = _activation(output)
                if act is None:
                    return
                k = calls.get(name, 0)
                calls[name] = k + 1
                key = name if k == 0 else f"{name}:{k}"
                t = act.detach()
                store[key] = t.clone() if clone else t
                versions[key] = t._version

            return hook

        handles = []
        try:
            for name in chosen:
                handles.append(self._points[name].register_forward_hook(make(name)))
            with torch.no_grad():
                store[""] = self.model(self.as_tensor(x), **kwargs)
        finally:
            for h in handles:
                h.remove()
        # The store is in call order: the order in which the forward computed each entry.
        ordered = {"": store.pop("")}
        ordered.update(store)
        return ordered, versions

    # -- pieces of a forward --------------------------------------------------------------------
    def forward_to(self, x: Any, name: str, *, grad: bool = False, **kwargs: Any) -> Any:
        """The activation at hook point ``name`` (first call), without running the rest.

        NumPy in, NumPy out; tensor in, tensor out. ``grad=True`` keeps autograd. A tuple
        output gives its first element (module docstring); keyword arguments go to the model.
        """
        point = self.module(name)
        box: list[Any] = []

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            act = _activation(output)
            box.append(output if act is None else act)
            raise _Stop

        handle = point.register_forward_hook(hook)
        try:
            with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
                self.model(self.as_tensor(x), **self._kwargs(kwargs))
        except _Stop:
            pass
        finally:
            handle.remove()
        if not box:
            raise ConfigError(f"hook point {name!r} did not run in the forward pass")
        return self._out(box[0], not isinstance(x, torch.Tensor))

    def suffix(self, name: str) -> list[nn.Module] | None:
        """The modules that run after ``name``, if every container from the root down to
        ``name`` is a plain ``nn.Sequential`` (or a :class:`~tinylens.torch.TorchSequential`);
        None otherwise (a custom ``forward`` may use an activation anywhere)."""
        from tinylens.torch.models import TorchSequential

        self.module(name)
        node: nn.Module = self.model
        after: list[nn.Module] = []
        for part in name.split("."):
            if type(node) is TorchSequential and part == "layers":
                node = node.layers  # its forward is exactly self.layers(x)
                continue
            if type(node).forward is not nn.Sequential.forward or part not in node._modules:
                return None
            keys = list(node._modules)
            later = [node._modules[k] for k in keys[keys.index(part) + 1 :]]
            after = [m for m in later if m is not None] + after
            child = node._modules[part]
            assert child is not None
            node = child
        return after

    def forward_from(self, name: str, activation: Any) -> Any:
        """Run what follows hook point ``name`` on ``activation`` (chain models only).

        Works when the path to ``name`` is a chain of ``nn.Sequential`` containers (as in any
        ``nn.Sequential`` and :func:`tinylens.to_torch` models); other models raise
        :class:`~tinylens.errors.ConfigError`. Hooks on the later modules fire.
        """
        mods = self.suffix(name)
        if mods is None:
            raise ConfigError(
                f"forward_from({name!r}) needs a model whose path to {name!r} is a chain of "
                "nn.Sequential containers; this model's forward is custom"
            )
        t = self.as_tensor(activation)
        for m in mods:
            t = m(t)
        return self._out(t, not isinstance(activation, torch.Tensor))

    def __repr__(self) -> str:
        return f"HookedModule({type(self.model).__name__}, {len(self.hook_names)} hook points)"


def _checked_replacement(new: Any, output: Any, name: str) -> Any:
    """None (keep the output) or ``new`` as a tensor of the output's shape, dtype and device."""
    if new is None or new is output:
        return None
    if isinstance(output, torch.Tensor):
        if not isinstance(new, torch.Tensor):
            new = torch.as_tensor(np.asarray(new), dtype=output.dtype, device=output.device)
        if new.shape != output.shape:
            raise ShapeError(
                f"hook on {name} returned shape {tuple(new.shape)}; expected {tuple(output.shape)}"
            )
        if new.dtype != output.dtype:
            new = new.to(output.dtype)
    return new
