"""The engine's update rules as formulas: plain Unicode text and MathML (offline, no LaTeX).

The rules are those of :mod:`tinylens.engine.optim` (PyTorch's semantics), written with the
hyperparameters actually used, so a report says exactly what ran. MathML Core renders natively
in current Firefox, Chrome, Edge and Safari: no script, no font download, no network.

>>> print(update_rule_text("momentum", {"lr": 0.01, "momentum": 0.9}))
b ← 0.9·b + g   (b₁ = g);   θ ← θ − 0.01·b
>>> "<math" in update_rules_mathml({"adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8}})
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from tinylens.errors import UnknownNameError

__all__ = ["RULE_NAMES", "update_rule_text", "update_rules_mathml"]

RULE_NAMES = {
    "sgd": "SGD",
    "momentum": "Momentum (heavy ball, PyTorch form)",
    "nesterov": "Nesterov momentum",
    "ema_momentum": "EMA momentum",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSProp",
    "adagrad": "Adagrad",
}


def _num(value: Any) -> str:
    """A compact number: 0.001, 1e-08, 0.9."""
    if isinstance(value, float) and value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        mantissa, exp = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exp)}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _hyper(name: str, hyper: Mapping[str, Any]) -> dict[str, str]:
    from tinylens.engine import OPTIMIZERS

    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    cls, defaults = OPTIMIZERS[name]
    import inspect

    params = inspect.signature(cls.__init__).parameters
    merged: dict[str, Any] = {
        k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty
    }
    merged.update(defaults)
    merged.update({k: v for k, v in hyper.items() if v is not None})
    b1, b2 = merged.get("betas", (0.9, 0.999))
    return {
        "lr": _num(float(merged["lr"])),
        "mu": _num(float(merged.get("momentum", 0.0))),
        "b1": _num(float(b1)),
        "b2": _num(float(b2)),
        "eps": _num(float(merged.get("eps", 1e-8))),
        "wd": _num(float(merged.get("weight_decay", 0.0))),
        "alpha": _num(float(merged.get("alpha", 0.99))),
        "has_wd": "yes" if float(merged.get("weight_decay", 0.0)) else "",
    }


def update_rule_text(name: str, hyper: Mapping[str, Any] | None = None) -> str:
    """The update of optimizer preset ``name`` as one line of Unicode, numbers filled in.

    ``g`` is the minibatch gradient, ``t`` the step count from 1, ``θ`` the parameters.
    Weight decay (when set) is shown too.
    """
    h = _hyper(name, hyper or {})
    lr, mu, b1, b2, eps, wd = h["lr"], h["mu"], h["b1"], h["b2"], h["eps"], h["wd"]
    decay = f"g ← g + {wd}·θ;   " if h["has_wd"] and name != "adamw" else ""
    rules = {
        "sgd": f"θ ← θ − {lr}·g",
        "momentum": f"b ← {mu}·b + g   (b₁ = g);   θ ← θ − {lr}·b",
        "nesterov": f"b ← {mu}·b + g   (b₁ = g);   θ ← θ − {lr}·(g + {mu}·b)",
        "ema_momentum": f"v ← {mu}·v + (1 − {mu})·g   (v₀ = 0);   θ ← θ − {lr}·v",
        "adam": (
            f"m ← {b1}·m + (1 − {b1})·g;   v ← {b2}·v + (1 − {b2})·g²;   "
            f"θ ← θ − {lr}·m̂ / (√v̂ + {eps}),   m̂ = m/(1 − {b1}ᵗ), v̂ = v/(1 − {b2}ᵗ)"
        ),
        "rmsprop": f"v ← {h['alpha']}·v + (1 − {h['alpha']})·g²;   θ ← θ − {lr}·g / (√v + {eps})",
        "adagrad": f"s ← s + g²;   θ ← θ − {lr}·g / (√s + {eps})",
    }
    if name == "adamw":
        return f"θ ← (1 − {lr}·{wd})·θ;   then Adam without decay in g: " + rules["adam"]
    return decay + rules[name]


# -- MathML ---------------------------------------------------------------------------------------
# A few constructors; each returns a MathML string. Identifiers and numbers are escaped.


def _mi(s: str) -> str:
    return f"<mi>{html.escape(s)}</mi>"


def _mn(s: str) -> str:
    """A number; ``1e-08`` style becomes 10 to a power (``1e-8`` -> 10⁻⁸, ``5e-4`` -> 5·10⁻⁴)."""
    if "e" in s and s.replace("e", "").replace("-", "").replace(".", "").isdigit():
        mantissa, exp = s.split("e")
        power = f"<msup><mn>10</mn><mn>{int(exp)}</mn></msup>".replace("<mn>-", "<mn>−")
        return power if mantissa == "1" else f"<mrow><mn>{mantissa}</mn><mo>·</mo>{power}</mrow>"
    return f"<mn>{html.escape(s)}</mn>"


def _mo(s: str) -> str:
    return f"<mo>{html.escape(s)}</mo>"


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _sub(base: str, sub: str) -> str:
    return f"<msub>{base}{sub}</msub>"


def _sup(base: str, sup: str) -> str:
    return f"<msup>{base}{sup}</msup>"


def _frac(num: str, den: str) -> str:
    return f"<mfrac>{num}{den}</mfrac>"


def _sqrt(x: str) -> str:
    return f"<msqrt>{x}</msqrt>"


def _hat_t(name: str) -> str:
    """``name`` with a hat, subscript t (the hat on the letter, not on the subscript)."""
    return _sub(f"<mover accent='true'>{_mi(name)}{_mo('^')}</mover>", _mi("t"))


def _g_squared() -> str:
    return f"<msubsup>{_mi('g')}{_mi('t')}{_mn('2')}</msubsup>"


def _paren(x: str) -> str:
    return _row(_mo("("), x, _mo(")"))


def _t(name: str) -> str:
    return _sub(_mi(name), _mi("t"))


def _tm1(name: str) -> str:
    return _sub(_mi(name), _row(_mi("t"), _mo("−"), _mn("1")))


def _assign(lhs: str, *rhs: str) -> str:
    return _row(lhs, _mo("="), *rhs)


def _one_minus(x: str, paren: bool = True) -> str:
    inner = _row(_mn("1"), _mo("−"), x)
    return _paren(inner) if paren else inner


def _equations(name: str, h: dict[str, str]) -> list[str]:
    theta_t, theta_p, g = _t("θ"), _tm1("θ"), _t("g")
    lr, mu, b1, b2, eps = (_mn(h[k]) for k in ("lr", "mu", "b1", "b2", "eps"))
    dot = _mo("·")
    if name == "sgd":
        return [_assign(theta_t, theta_p, _mo("−"), lr, dot, g)]
    if name in ("momentum", "nesterov"):
        b = _t("b")
        eqs = [
            _assign(b, mu, dot, _tm1("b"), _mo("+"), g),
            _row(_sub(_mi("b"), _mn("1")), _mo("="), _sub(_mi("g"), _mn("1"))),
        ]
        step = b if name == "momentum" else _paren(_row(g, _mo("+"), mu, dot, b))
        eqs.append(_assign(theta_t, theta_p, _mo("−"), lr, dot, step))
        return eqs
    if name == "ema_momentum":
        return [
            _assign(_t("v"), mu, dot, _tm1("v"), _mo("+"), _one_minus(mu), dot, g),
            _assign(theta_t, theta_p, _mo("−"), lr, dot, _t("v")),
        ]
    if name in ("adam", "adamw"):
        eqs = []
        if name == "adamw":
            wd = _mn(h["wd"])
            eqs.append(
                _assign(
                    _row(_mover_tilde(_tm1("θ"))), _one_minus(_row(lr, dot, wd)), dot, _tm1("θ")
                )
            )
        eqs += [
            _assign(_t("m"), b1, dot, _tm1("m"), _mo("+"), _one_minus(b1), dot, g),
            _assign(_t("v"), b2, dot, _tm1("v"), _mo("+"), _one_minus(b2), dot, _g_squared()),
            _assign(_hat_t("m"), _frac(_t("m"), _one_minus(_sup(b1, _mi("t")), paren=False))),
            _assign(_hat_t("v"), _frac(_t("v"), _one_minus(_sup(b2, _mi("t")), paren=False))),
        ]
        prev = _mover_tilde(_tm1("θ")) if name == "adamw" else theta_p
        eqs.append(
            _assign(
                theta_t,
                prev,
                _mo("−"),
                lr,
                dot,
                _frac(_hat_t("m"), _row(_sqrt(_hat_t("v")), _mo("+"), eps)),
            )
        )
        return eqs
    if name == "rmsprop":
        alpha = _mn(h["alpha"])
        return [
            _assign(_t("v"), alpha, dot, _tm1("v"), _mo("+"), _one_minus(alpha), dot, _g_squared()),
            _assign(
                theta_t, theta_p, _mo("−"), lr, dot, _frac(g, _row(_sqrt(_t("v")), _mo("+"), eps))
            ),
        ]
    if name == "adagrad":
        return [
            _assign(_t("s"), _tm1("s"), _mo("+"), _g_squared()),
            _assign(
                theta_t, theta_p, _mo("−"), lr, dot, _frac(g, _row(_sqrt(_t("s")), _mo("+"), eps))
            ),
        ]
    raise UnknownNameError("optimizer", name, RULE_NAMES)


def _mover_tilde(_: str) -> str:
    """θ̃ₜ₋₁: the parameters after AdamW's decoupled decay (the tilde on the letter)."""
    return _sub(
        f"<mover accent='true'>{_mi('θ')}{_mo('~')}</mover>", _row(_mi("t"), _mo("−"), _mn("1"))
    )


def update_rules_mathml(rules: Mapping[str, Mapping[str, Any]]) -> str:
    """An HTML fragment: one block of MathML equations per optimizer (name -> hyperparameters).

    Every ``<math>`` element is well-formed XML; the fragment needs no script or stylesheet.
    """
    blocks = []
    for name, hyper in rules.items():
        h = _hyper(name, hyper)
        decay = ""
        if h["has_wd"] and name != "adamw":
            decay = (
                "<math display='block'>"
                + _assign(
                    _t("g"), _row(_mo("∇"), _mi("L")), _mo("+"), _mn(h["wd"]), _mo("·"), _tm1("θ")
                )
                + "</math>"
            )
        eqs = "".join(f"<math display='block'>{eq}</math>" for eq in _equations(name, h))
        title = html.escape(RULE_NAMES.get(name, name))
        blocks.append(
            f"<div class='rule'><div class='rule-name'><b>{title}</b> "
            f"<code>{html.escape(name)}</code></div>{decay}{eqs}</div>"
        )
    legend = (
        "<p class='rule-legend'><i>g</i><sub>t</sub>: minibatch gradient at step <i>t</i> "
        "(counted from 1); <i>θ</i>: the parameters; all operations are elementwise. These are "
        "the rules of <code>tinylens.engine.optim</code>, which match <code>torch.optim</code> "
        "step for step.</p>"
    )
    style = (
        "<style>.rules{display:flex;flex-wrap:wrap;gap:12px}.rule{border:1px solid #dde2ea;"
        "border-radius:8px;padding:6px 14px;background:#fff;min-width:260px}"
        ".rule math{margin:4px 0}.rule-legend{color:#5b6477;font-size:13px}</style>"
    )
    return f"{style}<div class='rules'>{''.join(blocks)}</div>{legend}"
