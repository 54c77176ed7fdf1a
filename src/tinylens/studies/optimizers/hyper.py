"""Per-optimizer hyperparameters: the presets, the spellings a config may use, and msmrexe's
momentum rule.

msmrexe/interpretable-neural-basis-decomposition (the project whose optimizer benchmark this study
reproduces) calls ``v = beta v + (1 - beta) g`` "Momentum" and spells its settings
``learning_rate`` and ``beta``; PyTorch's (and tinylens's) ``momentum`` is the heavy ball
``b = mu b + g``. That source's rule is tinylens's ``ema_momentum``.
"""

from __future__ import annotations

import inspect
from typing import Any

from tinylens.engine import OPTIMIZERS
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.studies.optimizers.layout import _check_keys

__all__ = ["resolved_hyperparameters", "source_momentum"]

# The hyperparameters a study may set per optimizer (those TrainConfig passes on), and the
# spellings of msmrexe/interpretable-neural-basis-decomposition that mean them.
_HYPER = ("lr", "momentum", "betas", "eps", "weight_decay")
_ALIASES = {
    "lr": "lr",
    "learning_rate": "lr",
    "momentum": "momentum",
    "beta": "momentum",
    "betas": "betas",
    "beta1": "beta1",
    "beta2": "beta2",
    "eps": "eps",
    "epsilon": "eps",
    "weight_decay": "weight_decay",
}


def _allowed_hyper(name: str) -> tuple[str, ...]:
    cls, _ = OPTIMIZERS[name]
    params = inspect.signature(cls.__init__).parameters
    return tuple(k for k in _HYPER if k in params)


def resolved_hyperparameters(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The hyperparameters preset ``name`` runs with: class defaults < preset < ``overrides``.

    Only those a :class:`~tinylens.training.TrainConfig` can set (lr, momentum, betas, eps,
    weight_decay, as the optimizer accepts them).

    >>> resolved_hyperparameters("adam")
    {'lr': 0.001, 'betas': [0.9, 0.999], 'eps': 1e-08, 'weight_decay': 0.0}
    """
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    cls, preset = OPTIMIZERS[name]
    params = inspect.signature(cls.__init__).parameters
    out: dict[str, Any] = {}
    for key in _allowed_hyper(name):
        value = (overrides or {}).get(key, preset.get(key, params[key].default))
        if key == "betas":
            value = [float(v) for v in value]
        elif value is not None:
            value = float(value)
        out[key] = value
    return out


def _normalise_hyper(name: str, given: Any) -> dict[str, Any]:
    where = f"optimizer_params.{name}"
    given = _check_keys(given, _ALIASES, where)
    allowed = _allowed_hyper(name)
    out: dict[str, Any] = {}
    for key, value in given.items():
        canon = _ALIASES[key]
        target = "betas" if canon in ("beta1", "beta2") else canon
        if target not in allowed:
            accepted = [
                k
                for k, c in _ALIASES.items()
                if c in allowed or (c in ("beta1", "beta2") and "betas" in allowed)
            ]
            raise ConfigError(
                f"{where}.{key}: {name} has no {target}; it takes {', '.join(sorted(accepted))}"
            )
        try:
            if canon == "betas":
                b = [float(v) for v in value]
                if len(b) != 2:
                    raise ValueError
                out["betas"] = b
            elif canon in ("beta1", "beta2"):
                b = out.get("betas") or list(resolved_hyperparameters(name)["betas"])
                b[0 if canon == "beta1" else 1] = float(value)
                out["betas"] = b
            else:
                out[canon] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}.{key} must be a number (betas: two), not {value!r}"
            ) from None
    return out


# The spellings of msmrexe/interpretable-neural-basis-decomposition's optimizer_params entries.
_SOURCE_SPELLINGS = ("learning_rate", "beta")


def source_momentum(params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``optimizer_params`` with a ``momentum`` entry in that source's spellings read as its rule.

    msmrexe/interpretable-neural-basis-decomposition's config has ``momentum: {learning_rate,
    beta}``, and its Momentum is ``v = beta v + (1 - beta) g``: tinylens's ``ema_momentum``.
    An entry spelled that way (``learning_rate`` or ``beta``) moves to ``ema_momentum``;
    one spelled ``lr`` / ``momentum`` stays PyTorch's heavy ball. Returns the mapping and
    whether an entry moved.

    >>> source_momentum({"momentum": {"learning_rate": 0.02, "beta": 0.8}})
    ({'ema_momentum': {'learning_rate': 0.02, 'beta': 0.8}}, True)
    >>> source_momentum({"momentum": {"lr": 0.02, "momentum": 0.8}})
    ({'momentum': {'lr': 0.02, 'momentum': 0.8}}, False)
    """
    entry = params.get("momentum")
    if not isinstance(entry, dict) or not any(k in entry for k in _SOURCE_SPELLINGS):
        return params, False
    if "momentum" in entry:
        raise ConfigError(
            "optimizer_params.momentum gives both beta-style (learning_rate, beta: the rule "
            "v = beta v + (1 - beta) g of msmrexe/interpretable-neural-basis-decomposition) and "
            "momentum (PyTorch's heavy ball); put the first under ema_momentum, the second under "
            "momentum"
        )
    if "ema_momentum" in params:
        raise ConfigError(
            "optimizer_params has ema_momentum and a momentum entry spelled learning_rate/beta, "
            "which is the same rule (msmrexe/interpretable-neural-basis-decomposition's "
            "Momentum); give it once, under ema_momentum"
        )
    out = {("ema_momentum" if k == "momentum" else k): v for k, v in params.items()}
    return out, True
