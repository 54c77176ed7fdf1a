"""The network container: :class:`Sequential` (any stack of engine modules, with hooks).

>>> import numpy as np
>>> from tinylens.engine.layers import Linear
>>> from tinylens.engine.activations import ReLU
>>> net = Sequential([Linear(2, 3, rng=np.random.default_rng(0)), ReLU(), Linear(3, 1)])
>>> net.hook_names
['layers.0', 'layers.1', 'layers.2']
>>> net.forward(np.zeros((4, 2))).shape
(4, 1)
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from tinylens.engine.activations import ACTIVATIONS
from tinylens.engine.conv import Conv2d, MaxPool2d, Unflatten
from tinylens.engine.hooks import (
    ActivationCache,
    HookHandle,
    NameSelector,
    hook_pairs,
    select_names,
)
from tinylens.engine.layers import Dropout, LayerNorm, Linear
from tinylens.engine.module import FlatParameters, Module, Parameter
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

__all__ = ["Sequential"]

HookFn = Callable[[np.ndarray, str], "np.ndarray | None"]
FwdHooks = Iterable[tuple[NameSelector, HookFn]]


class Sequential(Module):
    """Modules applied in order. Module ``i`` is named ``layers.{i}``: its hook point and its path
    in the model :func:`tinylens.to_torch` builds.

    Parameters
    ----------
    modules : iterable of Module
    input_names : sequence of str, optional
        Names of the input features (``["x1", "x2"]``), used by geometry and circuits.
    """

    kind = "sequential"

    def __init__(self, modules: Iterable[Module], *, input_names: Sequence[str] | None = None):
        super().__init__()
        self.name = ""
        self.layers: list[Module] = list(modules)
        if not self.layers:
            raise ConfigError("a network needs at least one layer")
        for i, m in enumerate(self.layers):
            if not isinstance(m, Module):
                raise ConfigError(f"layer {i} is {type(m).__name__}, not an engine module")
            m.name = f"layers.{i}"
        params = self.parameters()
        self.dtype = params[0].data.dtype if params else np.dtype(np.float32)
        if any(p.data.dtype != self.dtype for p in params):
            raise ConfigError("all parameters of a network must share one dtype")
        # One buffer for all parameters from the start (FlatParameters): ``fit`` then finds the
        # layout in place and rebinds nothing, so arrays taken from the network before
        # training (``net.layers[0].weight.data``) stay the live weights after it.
        FlatParameters.of(params)
        self.input_names = tuple(input_names) if input_names is not None else None
        # Forward hooks by module name: fn(activation, name) -> replacement or None. The hooks
        # API (tinylens.hooks) manages this dict; forward only reads it.
        self._fwd_hooks: dict[str, list[HookFn]] = {}

    # -- structure ------------------------------------------------------------------------------
    @property
    def hook_names(self) -> list[str]:
        """Every hook point: the output of each module, by its path."""
        return [m.name for m in self.layers]

    @property
    def linears(self) -> list[Linear]:
        return [m for m in self.layers if isinstance(m, Linear)]

    @property
    def in_features(self) -> int | None:
        """Input width, when the first shape-fixing module declares one (None when the network
        starts with a convolution and takes images)."""
        first = self._first_shaping_module()
        if isinstance(first, Linear):
            return first.in_features
        if isinstance(first, LayerNorm):
            return first.normalized_shape
        if isinstance(first, Unflatten):
            return first.size
        return None

    def _first_shaping_module(self) -> Module | None:
        for m in self.layers:
            if not (m.kind in ACTIVATIONS or isinstance(m, Dropout)):
                return m
        return None

    @property
    def out_features(self) -> int | None:
        lin = self.linears
        return lin[-1].out_features if lin else None

    @property
    def sizes(self) -> list[int]:
        """Widths from input to output, e.g. ``[784, 32, 16, 10]`` (Linear layers only)."""
        lin = self.linears
        return [lin[0].in_features] + [m.out_features for m in lin] if lin else []

    def module(self, name: str) -> Module:
        """The module at hook point ``name`` (``"layers.1"``)."""
        for m in self.layers:
            if m.name == name:
                return m
        raise UnknownNameError("layer", name, self.hook_names)

    def parameters(self) -> list[Parameter]:
        return [p for m in self.layers for p in m.parameters()]

    def named_parameters(self):  # type: ignore[no-untyped-def]
        for m in self.layers:
            for p in m.parameters():
                yield f"{m.name}.{p.name}", p

    def n_parameters(self) -> int:
        return int(sum(p.data.size for p in self.parameters()))

    # -- computation ----------------------------------------------------------------------------
    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Convert ``x`` to this network's dtype and check its shape (the user boundary)."""
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        n_in = self.in_features
        if n_in is not None and (x.ndim != 2 or x.shape[1] != n_in):
            got = f"{x.shape[1]} features" if x.ndim == 2 else f"shape {x.shape}"
            hint = "; for one sample use x.reshape(1, -1)" if x.ndim == 1 else ""
            first = self._first_shaping_module()
            if isinstance(first, Unflatten):
                dims = "x".join(map(str, first.shape))
                hint = f" ({dims} images, flattened){hint}"
            raise ShapeError(f"input has {got}; the network expects (batch, {n_in}){hint}")
        if n_in is None and isinstance(self._first_shaping_module(), Conv2d):
            self._check_image_input(x)
        return x

    def _check_image_input(self, x: np.ndarray) -> None:
        """Follow an image's shape through the convolutions to the first Linear layer."""
        first = self._first_shaping_module()
        assert isinstance(first, Conv2d)
        if x.ndim != 4 or x.shape[1] != first.in_channels:
            raise ShapeError(
                f"input has shape {x.shape}; the network expects images of shape (batch, "
                f"{first.in_channels}, height, width)"
            )
        shape: tuple[int, ...] = tuple(x.shape[1:])
        for m in self.layers:
            if isinstance(m, (Conv2d, MaxPool2d)) and len(shape) == 3:
                channels = m.out_channels if isinstance(m, Conv2d) else shape[0]
                shape = (channels, *m.output_hw(shape[1], shape[2]))
                if min(shape) < 1:
                    raise ShapeError(
                        f"input images of {x.shape[2]}x{x.shape[3]} are too small for {m.name}"
                    )
            elif m.kind == "flatten":
                shape = (int(np.prod(shape)),)
            elif isinstance(m, Linear):
                if shape != (m.in_features,):
                    raise ShapeError(
                        f"input images of {x.shape[2]}x{x.shape[3]} reach {m.name} as "
                        f"{int(np.prod(shape))} features; it expects {m.in_features}: the "
                        "network was built for another image size"
                    )
                return
            elif not (m.kind in ACTIVATIONS or isinstance(m, Dropout)):
                return

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._run(self.check_input(x), 0, len(self.layers))

    def _run(
        self,
        x: np.ndarray,
        start: int,
        stop: int,
        keep: set[str] | None = None,
        store: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Modules ``start .. stop-1`` on ``x``, with hooks; outputs named in ``keep`` go to
        ``store`` (as read-only views: the modules keep these arrays for their backward)."""
        hooks = self._fwd_hooks
        for m in self.layers[start:stop]:
            x = m.forward(x)
            if hooks:
                fns = hooks.get(m.name)
                if fns:
                    for fn in list(fns):
                        # NOTE: a read-only view: modules keep their outputs for the backward
                        # (ReLU's mask, pooling's winners), so a hook must return a replacement
                        # instead of writing into the array it is given.
                        seen = x.view()
                        seen.flags.writeable = False
                        replaced = fn(seen, m.name)
                        if replaced is not None and replaced is not seen:
                            x = _checked_replacement(replaced, x, m.name)
            if keep is not None and m.name in keep:
                view = x.view()
                view.flags.writeable = False
                store[m.name] = view  # type: ignore[index]
        return x

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate ``grad_out`` (d loss / d output); fills every ``Parameter.grad``.

        Returns d loss / d input when ``need_input_grad`` (saliency), else None.
        """
        g: np.ndarray | None = grad_out
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            assert g is not None
            g = self.layers[i].backward(g, need_input_grad=need_input_grad or i > 0)
        return g

    # -- hooks: the TransformerLens vocabulary, on NumPy ------------------------------------------
    def index_of(self, name: str) -> int:
        """Position in ``layers`` of the module at hook point ``name``."""
        for i, m in enumerate(self.layers):
            if m.name == name:
                return i
        raise UnknownNameError("hook point", name, self.hook_names)

    def add_hook(self, name: NameSelector, fn: HookFn) -> HookHandle:
        """Call ``fn(activation, name)`` on the output of the chosen module(s) at every forward.

        ``fn`` may return a replacement of the same shape (an intervention) or None. Prefer
        the scoped :meth:`hooks` / :meth:`run_with_hooks`, which always clean up; the returned
        handle's ``remove()`` removes this hook only. Hooks are for analysis: the engine's
        backward treats a replacement as a constant (the gradient passes as if unedited), so
        do not train through an edit; a torch model differentiates through hooks.
        """
        if not callable(fn):
            raise ConfigError(f"a hook must be callable fn(activation, name), not {fn!r}")
        targets = select_names(self.hook_names, name)
        for target in targets:
            self._fwd_hooks.setdefault(target, []).append(fn)

        def remove() -> None:
            for target in targets:
                fns = self._fwd_hooks.get(target)
                if fns is None:
                    continue
                for i, f in enumerate(fns):
                    if f is fn:
                        del fns[i]
                        break
                if not fns:
                    del self._fwd_hooks[target]

        return HookHandle(remove)

    def reset_hooks(self) -> None:
        """Remove every forward hook."""
        self._fwd_hooks.clear()

    def hooks_at(self, name: str) -> tuple[HookFn, ...]:
        """The forward hooks registered on the module ``name`` (empty if none), in order."""
        return tuple(self._fwd_hooks.get(name, ()))

    @property
    def n_hooks(self) -> int:
        """Number of registered forward hooks (a hook on two points counts twice)."""
        return sum(len(fns) for fns in self._fwd_hooks.values())

    @contextlib.contextmanager
    def hooks(self, fwd_hooks: FwdHooks) -> Iterator[Sequential]:
        """Add ``[(name, fn), ...]`` for the ``with`` block; removed on exit, also on error.

        ``name`` is a hook point, a glob or a predicate. Every name is checked before any hook
        is added, so a typo leaves the network untouched.

        >>> import numpy as np
        >>> from tinylens.engine import MLP
        >>> net = MLP([2, 3, 1], rng=0)
        >>> with net.hooks([("layers.1", lambda a, name: a * 0)]):
        ...     net.forward(np.ones((1, 2))).item() == net.layers[2].bias.data.item()
        True
        >>> net.n_hooks
        0
        """
        pairs = hook_pairs(fwd_hooks)
        for name, _ in pairs:
            select_names(self.hook_names, name)
        handles: list[HookHandle] = []
        try:
            for name, fn in pairs:
                handles.append(self.add_hook(name, fn))
            yield self
        finally:
            for handle in reversed(handles):
                handle.remove()

    def run_with_hooks(self, x: np.ndarray, fwd_hooks: FwdHooks = ()) -> np.ndarray:
        """``forward(x)`` with ``fwd_hooks`` (``[(name, fn), ...]``) added for this call only."""
        with self.hooks(fwd_hooks):
            return self.forward(x)

    def run_with_cache(
        self, x: np.ndarray, names: NameSelector = None
    ) -> tuple[np.ndarray, ActivationCache]:
        """``(output, cache)``: the forward output and the activations at the chosen hook points.

        Parameters
        ----------
        x : array of shape (n_samples, n_features)
        names : None, str, callable or list of str
            None caches every hook point; a name, a glob (``"layers.[13]"``), a predicate
            (``lambda n: ...``) or a list of names/globs caches only those.

        Cached arrays are read-only views of what the forward computed anyway, so caching
        costs no copy; an active hook's replacement is what gets cached.

        >>> import numpy as np
        >>> from tinylens.engine import MLP
        >>> net = MLP([4, 3, 2], rng=0)
        >>> out, cache = net.run_with_cache(np.ones((5, 4)), names="layers.1")
        >>> list(cache), cache["layers.1"].shape
        (['layers.1'], (5, 3))
        """
        keep = set(select_names(self.hook_names, names))
        store: dict[str, np.ndarray] = {}
        out = self._run(self.check_input(x), 0, len(self.layers), keep, store)
        ordered = {n: store[n] for n in self.hook_names if n in store}
        return out, ActivationCache(ordered, self.hook_names)

    def forward_to(self, x: np.ndarray, name: str) -> np.ndarray:
        """The activation at hook point ``name`` (hooks applied), without running the rest."""
        return self._run(self.check_input(x), 0, self.index_of(name) + 1)

    def forward_from(self, name: str, activation: np.ndarray) -> np.ndarray:
        """Run the modules after hook point ``name`` on ``activation`` (hooks applied).

        ``forward_from(name, forward_to(x, name))`` equals ``forward(x)``. The batch may differ
        from any earlier one: sweeps stack many edited copies of one activation and run the
        rest of the network once on the stack.
        """
        activation = np.asarray(activation)
        if activation.dtype != self.dtype:
            activation = activation.astype(self.dtype)
        return self._run(activation, self.index_of(name) + 1, len(self.layers))

    def backward_from(self, name: str, grad: np.ndarray) -> np.ndarray:
        """Backpropagate ``grad`` (d scalar / d activation at ``name``) to the input.

        Call it after a forward that passed through ``name`` (``forward``, ``forward_to``,
        ``run_with_cache``). Returns d scalar / d input, of the input's shape. The parameter
        gradients of the modules up to ``name`` are overwritten, as by any backward. Forward
        hooks' replacements are not differentiated through (they count as constants).
        """
        g: np.ndarray | None = np.asarray(grad, dtype=self.dtype)
        for i in range(self.index_of(name), -1, -1):
            assert g is not None
            g = self.layers[i].backward(g, need_input_grad=True)
        assert g is not None
        return g

    def predict(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Evaluation-mode forward in chunks (dropout off); the training flag is restored."""
        was = self.training
        self.eval()
        try:
            x = self.check_input(x)
            if len(x) <= batch_size:
                return self.forward(x)
            return np.concatenate(
                [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
            )
        finally:
            self.train(was)

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for m in self.layers:
            m.train(mode)
        return self

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter by path (``"layers.0.weight"``), like ``torch``'s."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> Sequential:
        own = dict(self.named_parameters())
        missing, extra = set(own) - set(state), set(state) - set(own)
        if missing or extra:
            raise ConfigError(
                f"state does not fit this network: missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.data.shape:
                raise ShapeError(f"{name}: got shape {value.shape}, expected {p.data.shape}")
            p.data[...] = value
        return self

    def copy(self) -> Sequential:
        """An independent deep copy (weights, configuration, dropout generators); no hooks."""
        hooks, self._fwd_hooks = self._fwd_hooks, {}
        try:
            new = copy.deepcopy(self)
        finally:
            self._fwd_hooks = hooks
        FlatParameters.of(new.parameters())  # deepcopy gives each view its own array
        return new

    def astype(self, dtype: np.dtype | type) -> Sequential:
        """A copy with every parameter cast to ``dtype`` (e.g. float64 for gradient checks)."""
        new = self.copy()
        for p in new.parameters():
            p.data = np.asarray(p.data, dtype=dtype, order="K")
            p.grad = np.zeros_like(p.data)
        FlatParameters.of(new.parameters())
        new.dtype = np.dtype(dtype)
        return new

    def config(self) -> dict[str, object]:
        return {"type": self.kind, "layers": [m.config() for m in self.layers]}

    def __repr__(self) -> str:
        rows = [f"  ({m.name}) {m!r}" for m in self.layers]
        return "Sequential(\n" + "\n".join(rows) + f"\n)  # {self.n_parameters()} parameters"


def _checked_replacement(new: np.ndarray, old: np.ndarray, name: str) -> np.ndarray:
    new = np.asarray(new)
    if new.shape != old.shape:
        raise ShapeError(f"hook on {name} returned shape {new.shape}; expected {old.shape}")
    return new.astype(old.dtype, copy=False)
