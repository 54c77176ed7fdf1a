"""Networks: :class:`Sequential` (any stack of engine modules) and :func:`MLP`.

>>> import numpy as np
>>> net = MLP([2, 3, 1], rng=np.random.default_rng(0))
>>> net.hook_names
['layers.0', 'layers.1', 'layers.2']
>>> net.forward(np.zeros((4, 2))).shape
(4, 1)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tinylens.engine.activations import ACTIVATIONS
from tinylens.engine.activations import activation as make_activation
from tinylens.engine.init import as_rng, resolve_init
from tinylens.engine.layers import Dropout, Flatten, LayerNorm, Linear
from tinylens.engine.module import Module, Parameter
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

__all__ = ["MLP", "MODULE_TYPES", "Sequential", "build_module"]

HookFn = Callable[[np.ndarray, str], "np.ndarray | None"]


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
        """Input width, when the first shape-fixing module declares one (None for a CNN)."""
        for m in self.layers:
            if isinstance(m, Linear):
                return m.in_features
            if isinstance(m, LayerNorm):
                return m.normalized_shape
            if not (m.kind in ACTIVATIONS or isinstance(m, Dropout)):
                return None
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
            raise ShapeError(f"input has {got}; the network expects (batch, {n_in}){hint}")
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self.check_input(x)
        hooks = self._fwd_hooks
        for m in self.layers:
            x = m.forward(x)
            if hooks:
                fns = hooks.get(m.name)
                if fns:
                    for fn in fns:
                        replaced = fn(x, m.name)
                        if replaced is not None:
                            x = _checked_replacement(replaced, x, m.name)
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
            return copy.deepcopy(self)
        finally:
            self._fwd_hooks = hooks

    def astype(self, dtype: np.dtype | type) -> Sequential:
        """A copy with every parameter cast to ``dtype`` (e.g. float64 for gradient checks)."""
        new = self.copy()
        for p in new.parameters():
            p.data = np.asarray(p.data, dtype=dtype, order="K")
            p.grad = np.zeros_like(p.data)
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


MODULE_TYPES: dict[str, type[Module]] = {
    "linear": Linear,
    "layernorm": LayerNorm,
    "dropout": Dropout,
    "flatten": Flatten,
    **ACTIVATIONS,
}
"""Every module type by the tag stored in weights files and configs."""


def build_module(
    config: dict[str, object],
    *,
    dtype: np.dtype | type = np.float32,
    rng: np.random.Generator | None = None,
) -> Module:
    """Rebuild a module from :meth:`Module.config` output (parameters start at zero/one)."""
    cfg: dict[str, Any] = dict(config)
    kind = str(cfg.pop("type", ""))
    if kind == "linear":
        return Linear(
            int(cfg["in_features"]),
            int(cfg["out_features"]),
            bias=bool(cfg.get("bias", True)),
            dtype=dtype,
        )
    if kind == "layernorm":
        return LayerNorm(
            int(cfg["normalized_shape"]),
            eps=float(cfg.get("eps", 1e-5)),
            elementwise_affine=bool(cfg.get("elementwise_affine", True)),
            dtype=dtype,
        )
    if kind == "dropout":
        return Dropout(float(cfg.get("p", 0.5)), rng=rng)
    if kind in MODULE_TYPES:
        return MODULE_TYPES[kind](**cfg)
    raise UnknownNameError("module type", kind, MODULE_TYPES)


def MLP(
    sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str = "identity",
    *,
    rng: np.random.Generator | int | None = None,
    init: str = "auto",
    bias: bool = True,
    dtype: np.dtype | type = np.float32,
    input_names: Sequence[str] | None = None,
) -> Sequential:
    """A multilayer perceptron ``Linear, act, Linear, act, ..., Linear[, output_act]``.

    A linear (identity) output adds no module, so ``MLP([784, 32, 10])`` has the same layers as
    ``nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))``.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to output, e.g. ``[784, 32, 16, 10]``.
    activation : str
        Hidden activation, default ``"relu"``.
    output_activation : str
        ``"identity"`` (logits / regression, default), ``"sigmoid"``, ``"relu"``, ...
    rng : numpy.random.Generator or int
        Source of the initial weights (an int is a seed; None draws fresh entropy).
    init : str
        ``"auto"``, ``"he"``, ``"xavier"``, ``"torch"``, ... (see :mod:`tinylens.engine.init`).
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ConfigError(f"sizes must be at least two positive widths, got {sizes}")
    gen = as_rng(rng)
    modules: list[Module] = []
    n_affine = len(sizes) - 1
    for i in range(n_affine):
        act_module = make_activation(activation if i < n_affine - 1 else output_activation)
        scheme = resolve_init(init, act_module.kind)
        modules.append(Linear(sizes[i], sizes[i + 1], bias=bias, rng=gen, init=scheme, dtype=dtype))
        if act_module.kind != "identity":  # a linear output needs no module, as in torch
            modules.append(act_module)
    return Sequential(modules, input_names=input_names)
