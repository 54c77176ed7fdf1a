"""Optimizers with PyTorch's semantics, step for step.

Each optimizer holds the :class:`~tinylens.engine.module.Parameter` objects (not their arrays)
and reads ``p.grad`` at every :meth:`Optimizer.step`, updating ``p.data`` in place. The update
rules, in the order PyTorch applies them (``g`` the gradient, ``t`` the step count from 1):

=============  ===========================================================================
SGD            g += wd p;  p -= lr g
Momentum       b = g (t = 1), b = mu b + (1 - dampening) g;  p -= lr b
Nesterov       as Momentum, then p -= lr (g + mu b)
EMA momentum   v = beta v + (1 - beta) g (v starts at 0);  p -= lr v   (``ema=True``)
Adam           m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2;
               p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
AdamW          p *= 1 - lr wd, then Adam without weight decay in g
RMSProp        v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps)
Adagrad        s += g^2;  p -= lr / (1 + (t - 1) decay) * g / (sqrt(s) + eps)
=============  ===========================================================================

The EMA form is what one of our source projects calls momentum; it differs from PyTorch's
momentum at the first step (PyTorch seeds the buffer with g) and by a (1 - beta) scale after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinylens.engine.module import FlatParameters, Parameter
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSProp",
    "make_optimizer",
]


class Optimizer:
    """Base class. ``step()`` applies one update from the current ``Parameter.grad`` values.

    When the parameters share one buffer (:class:`~tinylens.engine.module.FlatParameters`,
    which ``fit`` lays out), a step is one vectorised update over the whole buffer, and the
    optimizer's own buffers (momentum, Adam's moments) are flat too. Every rule is elementwise,
    so the flat update gives the same bits as the per-parameter loop it replaces (a test checks
    it). Otherwise (parameters of mixed dtypes, or a layout broken by code that rebound a
    ``p.data``) the update runs parameter by parameter.
    """

    name = "optimizer"

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ConfigError("the optimizer got no parameters")
        if not (lr > 0 and math.isfinite(lr)):
            raise ConfigError(f"learning rate must be a positive number, got {lr}")
        self.lr = float(lr)
        self.t = 0
        self.state: dict[str, list[np.ndarray]] = {}
        self._flat = FlatParameters.find(self.params)
        self._flat_state: dict[str, np.ndarray] = {}

    def _buffers(self, key: str) -> list[np.ndarray]:
        """Zero-initialised per-parameter buffers named ``key`` (created on first use); views
        into one flat buffer when the parameters share one."""
        if key not in self.state:
            flat = self._flat
            if flat is None:
                self.state[key] = [np.zeros_like(p.data) for p in self.params]
            else:
                buf = self._flat_state[key] = np.zeros_like(flat.data)
                self.state[key] = flat.views_of(buf)
        return self.state[key]

    def _buf(self, key: str, i: int | None) -> np.ndarray:
        """Buffer ``key`` of parameter ``i``, or the whole flat buffer when ``i`` is None."""
        bufs = self._buffers(key)
        return self._flat_state[key] if i is None else bufs[i]

    def step(self) -> None:
        self.t += 1
        flat = self._flat
        if flat is not None and flat.intact():
            self._update(flat.data, flat.grad, None)
            return
        for i, p in enumerate(self.params):
            self._update(p.data, p.grad, i)

    def _update(self, data: np.ndarray, grad: np.ndarray, i: int | None) -> None:
        """Update ``data`` in place from ``grad``: parameter ``i``'s arrays, or (``i`` None)
        the whole flat buffers; the rule's own buffers come from :meth:`_buf`."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, object]:
        return {"lr": self.lr}

    # -- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat arrays (``"m.0"``, ``"t"``, ...) that :meth:`load_state_dict` restores."""
        out = {
            f"{key}.{i}": buf.copy()
            for key, bufs in self.state.items()
            for i, buf in enumerate(bufs)
        }
        out["t"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"])
        self.state = {}
        for name, value in state.items():
            if name == "t":
                continue
            key, idx = name.rsplit(".", 1)
            bufs, i, value = self._buffers(key), int(idx), np.asarray(value)
            # NOTE: check, never broadcast: a state saved for another network must not load.
            if i >= len(bufs) or value.shape != bufs[i].shape:
                raise ShapeError(
                    f"optimizer state {name!r} has shape {value.shape}; it does not fit these "
                    f"{len(bufs)} parameters (was it saved for another network?)"
                )
            bufs[i][...] = value

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp})"


def _check_nonnegative(**values: float) -> None:
    for name, value in values.items():
        if not (value >= 0 and math.isfinite(value)):
            raise ConfigError(f"{name} must be a finite number >= 0, got {value}")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov, or EMA) momentum.

    Parameters
    ----------
    lr : float
    momentum : float
        0 for plain SGD.
    dampening : float
        PyTorch's dampening of the momentum buffer's gradient term.
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening 0, as in PyTorch).
    weight_decay : float
        L2 penalty added to the gradient.
    ema : bool
        Use the "exponential moving average" momentum ``v = beta v + (1 - beta) g``, v0 = 0.
    """

    name = "sgd"

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        ema: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0 + 1e-12:
            raise ConfigError(f"momentum must be in [0, 1], got {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ConfigError("Nesterov momentum needs momentum > 0 and dampening 0")
        if ema and momentum <= 0:
            raise ConfigError("EMA momentum needs momentum > 0")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov, self.weight_decay, self.ema = bool(nesterov), float(weight_decay), bool(ema)
        self._scaled: np.ndarray | None = None

    def _update(self, data: np.ndarray, grad: np.ndarray, i: int | None) -> None:
        g = grad
        if self.weight_decay:
            g = g + self.weight_decay * data
        mu = self.momentum
        if mu:
            buf = self._buf("momentum", i)
            if self.ema:
                buf *= mu
                buf += (1.0 - mu) * g
            elif self.t == 1:
                buf[...] = g
            else:
                buf *= mu
                buf += (1.0 - self.dampening) * g if self.dampening else g
            g = g + mu * buf if self.nesterov else buf
        if i is None:  # the flat buffer: lr * g in a work array, not a fresh one every step
            if self._scaled is None:
                self._scaled = np.empty_like(data)
            data -= np.multiply(g, self.lr, out=self._scaled)
        else:
            data -= self.lr * g

    def hyperparameters(self) -> dict[str, object]:
        hp: dict[str, object] = {"lr": self.lr}
        if self.momentum:
            hp["momentum"] = self.momentum
        if self.dampening:
            hp["dampening"] = self.dampening
        if self.nesterov:
            hp["nesterov"] = True
        if self.ema:
            hp["ema"] = True
        if self.weight_decay:
            hp["weight_decay"] = self.weight_decay
        return hp


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected, exactly as ``torch.optim.Adam`` (amsgrad off)."""

    name = "adam"
    decoupled = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        b1, b2 = (float(b) for b in betas)
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ConfigError(f"Adam betas must lie in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = (b1, b2), float(eps), float(weight_decay)

    def _update(self, data: np.ndarray, grad: np.ndarray, i: int | None) -> None:
        b1, b2 = self.betas
        g = grad
        if self.weight_decay:
            if self.decoupled:
                data *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * data
        m = self._buf("m", i)
        v = self._buf("v", i)
        m += (1.0 - b1) * (g - m)  # lerp, the form PyTorch uses
        v *= b2
        v += (1.0 - b2) * (g * g)
        bc1 = 1.0 - b1**self.t
        bc2_sqrt = math.sqrt(1.0 - b2**self.t)
        denom = np.sqrt(v) / bc2_sqrt + self.eps
        data -= (self.lr / bc1) * (m / denom)

    def hyperparameters(self) -> dict[str, object]:
        hp: dict[str, object] = {"lr": self.lr, "betas": self.betas, "eps": self.eps}
        if self.weight_decay:
            hp["weight_decay"] = self.weight_decay
        return hp


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``; default decay 0.01)."""

    name = "adamw"
    decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSProp(Optimizer):
    """RMSProp as ``torch.optim.RMSprop`` (optionally centred, with momentum)."""

    name = "rmsprop"

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if not 0.0 <= alpha < 1.0:
            raise ConfigError(f"RMSProp alpha must be in [0, 1), got {alpha}")
        _check_nonnegative(eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha, self.eps, self.weight_decay = float(alpha), float(eps), float(weight_decay)
        self.momentum, self.centered = float(momentum), bool(centered)

    def _update(self, data: np.ndarray, grad: np.ndarray, i: int | None) -> None:
        g = grad
        if self.weight_decay:
            g = g + self.weight_decay * data
        sq = self._buf("square_avg", i)
        sq *= self.alpha
        sq += (1.0 - self.alpha) * (g * g)
        if self.centered:
            ga = self._buf("grad_avg", i)
            ga += (1.0 - self.alpha) * (g - ga)
            avg = np.sqrt(sq - ga * ga) + self.eps
        else:
            avg = np.sqrt(sq) + self.eps
        if self.momentum:
            buf = self._buf("momentum", i)
            buf *= self.momentum
            buf += g / avg
            data -= self.lr * buf
        else:
            data -= self.lr * (g / avg)

    def hyperparameters(self) -> dict[str, object]:
        hp: dict[str, object] = {"lr": self.lr, "alpha": self.alpha, "eps": self.eps}
        if self.momentum:
            hp["momentum"] = self.momentum
        if self.centered:
            hp["centered"] = True
        if self.weight_decay:
            hp["weight_decay"] = self.weight_decay
        return hp


class Adagrad(Optimizer):
    """Adagrad as ``torch.optim.Adagrad`` (initial accumulator 0)."""

    name = "adagrad"

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        _check_nonnegative(lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)
        self.lr_decay, self.weight_decay, self.eps = (
            float(lr_decay),
            float(weight_decay),
            float(eps),
        )

    def _update(self, data: np.ndarray, grad: np.ndarray, i: int | None) -> None:
        g = grad
        if self.weight_decay:
            g = g + self.weight_decay * data
        s = self._buf("sum", i)
        s += g * g
        clr = self.lr / (1.0 + (self.t - 1) * self.lr_decay)
        data -= clr * (g / (np.sqrt(s) + self.eps))

    def hyperparameters(self) -> dict[str, object]:
        hp: dict[str, object] = {"lr": self.lr, "eps": self.eps}
        if self.lr_decay:
            hp["lr_decay"] = self.lr_decay
        if self.weight_decay:
            hp["weight_decay"] = self.weight_decay
        return hp


OPTIMIZERS: dict[str, tuple[type[Optimizer], dict[str, object]]] = {
    "sgd": (SGD, {"lr": 0.01}),
    "momentum": (SGD, {"lr": 0.01, "momentum": 0.9}),
    "nesterov": (SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "ema_momentum": (SGD, {"lr": 0.01, "momentum": 0.9, "ema": True}),
    "adam": (Adam, {"lr": 1e-3}),
    "adamw": (AdamW, {"lr": 1e-3}),
    "rmsprop": (RMSProp, {"lr": 1e-2}),
    "adagrad": (Adagrad, {"lr": 1e-2}),
}
"""Optimizer presets by name: (class, default hyperparameters)."""


def make_optimizer(name: str, params: Iterable[Parameter], **hyper: object) -> Optimizer:
    """An optimizer by preset name; ``hyper`` overrides the preset's defaults.

    >>> import numpy as np
    >>> from tinylens.engine.module import FlatParameters, Parameter
    >>> make_optimizer("momentum", [Parameter(np.zeros(2), "w")], lr=0.1)
    SGD(lr=0.1, momentum=0.9)
    """
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    cls, defaults = OPTIMIZERS[name]
    kwargs = {**defaults, **{k: v for k, v in hyper.items() if v is not None}}
    try:
        return cls(params, **kwargs)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ConfigError(f"optimizer {name!r}: {exc}") from None
