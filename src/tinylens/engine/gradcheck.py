"""Gradient checking by central differences, in float64.

Use it on your own layers or networks:

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> rng = np.random.default_rng(0)
>>> net = MLP([3, 4, 2], activation="tanh", rng=rng)
>>> x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
>>> gradcheck(net, x, y, loss="mse").passed
True

Tolerances, and why they are what they are: a central difference with step ``h`` has truncation
error O(h^2 f''') and rounding error O(eps_machine |f| / h). With h = 1e-6 in float64 both are
about 1e-10 for the O(1) losses we check, so we require ``|analytic - numeric| <= ATOL + RTOL *
|numeric|`` with ATOL = 1e-7 and RTOL = 1e-5: a thousand times the expected error, and far below
the size of any real bug (a wrong sign or factor shows up at O(1)).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tinylens.engine.losses import Loss, loss_fn
from tinylens.engine.module import Module

__all__ = [
    "GRADCHECK_ATOL",
    "GRADCHECK_RTOL",
    "GRADCHECK_STEP",
    "GradcheckResult",
    "gradcheck",
    "numerical_gradient",
]

GRADCHECK_STEP = 1e-6
GRADCHECK_ATOL = 1e-7
GRADCHECK_RTOL = 1e-5


def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, step: float = GRADCHECK_STEP
) -> np.ndarray:
    """d f / d x by central differences; ``x`` is perturbed in place and restored."""
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1) if x.flags.c_contiguous else None
    for idx in np.ndindex(x.shape):
        if flat is not None:
            pos = np.ravel_multi_index(idx, x.shape)
            old = flat[pos]
            flat[pos] = old + step
            up = f()
            flat[pos] = old - step
            down = f()
            flat[pos] = old
        else:
            old = x[idx]
            x[idx] = old + step
            up = f()
            x[idx] = old - step
            down = f()
            x[idx] = old
        grad[idx] = (up - down) / (2.0 * step)
    return grad


@dataclass
class GradcheckResult:
    """Per-array maximum errors; ``passed`` when every entry is within tolerance."""

    max_abs_error: dict[str, float] = field(default_factory=dict)
    max_rel_error: dict[str, float] = field(default_factory=dict)
    passed: bool = True

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        rows = [
            f"  {name}: max abs {self.max_abs_error[name]:.2e}, rel {self.max_rel_error[name]:.2e}"
            for name in self.max_abs_error
        ]
        return ("gradcheck passed" if self.passed else "gradcheck FAILED") + "\n" + "\n".join(rows)


def gradcheck(
    module: Module,
    x: np.ndarray,
    target: np.ndarray | None = None,
    loss: str | Loss = "mse",
    *,
    check_input: bool = True,
    step: float = GRADCHECK_STEP,
    atol: float = GRADCHECK_ATOL,
    rtol: float = GRADCHECK_RTOL,
) -> GradcheckResult:
    """Compare a module's backward against central differences, in float64.

    Parameters
    ----------
    module : Module
        A layer, activation or network. Checked on a float64 copy in evaluation mode (dropout
        off), so the original is untouched.
    x : array of shape (batch, ...)
    target : array, optional
        With a target, the scalar is ``loss(module(x), target)``; without one it is
        ``sum(module(x) * R)`` for a fixed random ``R``, which checks every output direction.
    loss : str or Loss
    check_input : bool
        Also check d scalar / d x.
    """
    net = _float64_copy(module)
    net.eval()
    x = np.array(x, dtype=np.float64)
    if target is None:
        probe = np.random.default_rng(12345).normal(size=net.forward(x).shape)
        loss_obj: Loss | None = None
    else:
        loss_obj = loss_fn(loss) if isinstance(loss, str) else loss

    def scalar() -> float:
        out = net.forward(x)
        if loss_obj is None:
            return float(np.sum(out * probe))
        assert target is not None  # a loss is only used with a target
        return loss_obj.forward(out, target)

    scalar()
    grad_out = probe if loss_obj is None else loss_obj.backward()
    analytic_x = net.backward(grad_out, need_input_grad=True)
    analytic = {name: p.grad.copy() for name, p in _named_params(net)}
    result = GradcheckResult()
    checks: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name, p in _named_params(net):
        checks.append((name, analytic[name], numerical_gradient(scalar, p.data, step)))
    if check_input:
        checks.append(("input", np.asarray(analytic_x), numerical_gradient(scalar, x, step)))
    for name, a, n in checks:
        err = np.abs(a - n)
        result.max_abs_error[name] = float(err.max(initial=0.0))
        result.max_rel_error[name] = float((err / np.maximum(np.abs(n), 1e-12)).max(initial=0.0))
        if np.any(err > atol + rtol * np.abs(n)):
            result.passed = False
    return result


def _float64_copy(module: Module) -> Module:
    new = copy.deepcopy(module)
    for _, p in _named_params(new):
        p.data = np.array(p.data, dtype=np.float64)
        p.grad = np.zeros_like(p.data)
    if hasattr(new, "dtype"):
        new.dtype = np.dtype(np.float64)
    return new


def _named_params(module: Module):  # type: ignore[no-untyped-def]
    return list(module.named_parameters())
