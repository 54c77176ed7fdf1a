"""The engine's optimizer presets, built as ``torch.optim`` optimizers.

The same preset name and hyperparameters give the same update rule on both backends (the
engine's tests check it step by step). ``ema_momentum`` has no ``torch.optim`` twin, so it is
implemented here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from tinylens.engine.optim import OPTIMIZERS
from tinylens.errors import ConfigError, UnknownNameError

__all__ = ["EMAMomentumSGD", "make_torch_optimizer"]


class EMAMomentumSGD(torch.optim.Optimizer):
    """SGD with v = beta v + (1 - beta) g (v0 = 0) and p -= lr v."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            beta = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.mul_(beta).add_(g, alpha=1.0 - beta)
                p.add_(buf, alpha=-group["lr"])


def make_torch_optimizer(name: str, params: Iterable[Any], **hyper: Any) -> torch.optim.Optimizer:
    """A torch optimizer for an engine preset name (``sgd``, ``momentum``, ``adam``, ...)."""
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    _, defaults = OPTIMIZERS[name]
    kw = {**defaults, **{k: v for k, v in hyper.items() if v is not None}}
    try:
        if kw.pop("ema", False):
            return EMAMomentumSGD(params, **kw)
        cls = {
            "sgd": torch.optim.SGD,
            "momentum": torch.optim.SGD,
            "nesterov": torch.optim.SGD,
            "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW,
            "rmsprop": torch.optim.RMSprop,
            "adagrad": torch.optim.Adagrad,
        }[name]
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        return cls(params, foreach=False, **kw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"optimizer {name!r}: {exc}") from None
