"""Optimizer paths on 2-D surfaces, traced by the engine's own optimizer classes.

A point ``(x, y)`` is wrapped as one :class:`~tinylens.engine.Parameter`; at every step its
``grad`` is set to the surface's analytic gradient and the optimizer built by
:func:`tinylens.engine.make_optimizer` takes the step. So a path is exactly what that optimizer
does, state (momentum buffer, first and second moments) included; nothing is re-implemented.

Surfaces (:data:`SURFACES`):

* ``rosenbrock``: ``(1 - x)² + 100 (y - x²)²``, a curved, narrow valley; minimum (1, 1).
* ``beale``: ``(1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)²``: flat plateaus and
  steep walls; minimum (3, 0.5).
* ``net``: the mean squared error of the 2-parameter network ``ŷ = w₂ tanh(w₁ x)`` fitted to
  ``y = 2 tanh(x)`` on 41 points of [-2, 2]; coordinates ``(w₁, w₂)``; minima (1, 2) and
  (-1, -2), and a flat ridge along ``w₁ = 0`` where the network outputs 0.

>>> path = optimizer_path("rosenbrock", "adam", steps=50)
>>> path.points.shape, bool(path.losses[-1] < path.losses[0])
((51, 2), True)
>>> fig = paths_figure("beale", optimizer_paths("beale", ["sgd", "momentum", "adam"]))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.engine import OPTIMIZERS, Parameter, make_optimizer
from tinylens.errors import ConfigError, UnknownNameError

__all__ = [
    "SURFACES",
    "OptimizerPath",
    "Surface",
    "optimizer_path",
    "optimizer_paths",
    "paths_figure",
]


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface with its gradient, a start point and a plotting window.

    Parameters
    ----------
    name, title : str
    f : callable
        ``f(x, y)`` for arrays of any (equal) shape, vectorised.
    grad : callable
        ``grad(point)`` for ``point`` of shape (2,), returning shape (2,).
    start, minima : points
    xlim, ylim : (float, float)
        The window drawn (paths may leave it).
    lrs : dict
        A learning rate per optimizer preset for this surface's picture, stated in the figure.
        SGD, Momentum and Nesterov share one rate, so what momentum adds is seen at equal lr
        (EMA momentum gets 10x: with beta 0.9 it is then the same method exactly); the adaptive
        methods get rates on their own scale.
    xlabel, ylabel : str
    """

    name: str
    title: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    lrs: dict[str, float] = field(default_factory=dict)
    xlabel: str = "x"
    ylabel: str = "y"

    def grid(self, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, Z)``, each of shape (n, n), over the surface's window."""
        xs = np.linspace(*self.xlim, n)
        ys = np.linspace(*self.ylim, n)
        X, Y = np.meshgrid(xs, ys)
        return X, Y, self.f(X, Y)


# -- the surfaces --------------------------------------------------------------------------------


def rosenbrock(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


def beale(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def beale_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    a1, a2, a3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    dx = 2 * a1 * (y - 1) + 2 * a2 * (y**2 - 1) + 2 * a3 * (y**3 - 1)
    dy = 2 * a1 * x + 2 * a2 * (2 * x * y) + 2 * a3 * (3 * x * y**2)
    return np.array([dx, dy])


#: The data of the 2-parameter net: 41 inputs on [-2, 2] and the teacher's outputs 2 tanh(x).
NET_X = np.linspace(-2.0, 2.0, 41)
NET_Y = 2.0 * np.tanh(NET_X)


def net_loss(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Mean squared error of ``w2 * tanh(w1 * x)`` on (NET_X, NET_Y), for arrays of weights."""
    w1, w2 = np.asarray(w1, dtype=np.float64), np.asarray(w2, dtype=np.float64)
    pred = w2[..., None] * np.tanh(w1[..., None] * NET_X)
    return np.mean((pred - NET_Y) ** 2, axis=-1)


def net_grad(p: np.ndarray) -> np.ndarray:
    w1, w2 = p
    h = np.tanh(w1 * NET_X)
    r = w2 * h - NET_Y  # residuals
    n = NET_X.size
    return np.array([2.0 / n * np.sum(r * w2 * (1.0 - h * h) * NET_X), 2.0 / n * np.sum(r * h)])


# Step sizes that keep every optimizer stable on the classic test functions (the same for
# Rosenbrock and Beale: both have gradients in the hundreds far from their minima).
_TEST_FUNCTION_LRS = {
    "sgd": 1e-3,
    "momentum": 1e-3,
    "nesterov": 1e-3,
    "ema_momentum": 0.01,
    "adam": 0.05,
    "adamw": 0.05,
    "rmsprop": 0.01,
    "adagrad": 0.5,
}

SURFACES: dict[str, Surface] = {
    "rosenbrock": Surface(
        "rosenbrock",
        "Rosenbrock: (1 − x)² + 100 (y − x²)²",
        rosenbrock,
        rosenbrock_grad,
        start=(-1.5, 2.0),
        minima=((1.0, 1.0),),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        lrs=_TEST_FUNCTION_LRS,
    ),
    "beale": Surface(
        "beale",
        "Beale: (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        beale,
        beale_grad,
        start=(0.7, 1.4),
        minima=((3.0, 0.5),),
        xlim=(-1.0, 4.5),
        ylim=(-1.5, 2.0),
        lrs=_TEST_FUNCTION_LRS,
    ),
    "net": Surface(
        "net",
        "A 2-parameter net: MSE of w₂·tanh(w₁x) against 2·tanh(x)",
        net_loss,
        net_grad,
        start=(0.05, -3.0),
        minima=((1.0, 2.0), (-1.0, -2.0)),
        xlim=(-3.0, 3.0),
        ylim=(-4.0, 4.0),
        lrs={
            "sgd": 0.05,
            "momentum": 0.05,
            "nesterov": 0.05,
            "ema_momentum": 0.5,
            "adam": 0.05,
            "adamw": 0.05,
            "rmsprop": 0.01,
            "adagrad": 0.5,
        },
        xlabel="w₁",
        ylabel="w₂",
    ),
}


@dataclass
class OptimizerPath:
    """The trajectory of one optimizer on one surface.

    Attributes
    ----------
    surface, optimizer : str
    hyperparameters : dict
        What the optimizer ran with (its ``hyperparameters()``).
    points : array of shape (n_steps + 1, 2)
        The start, then the point after every step.
    losses : array of shape (n_steps + 1,)
    grads : array of shape (n_steps, 2)
        The gradient fed at each step (at ``points[k]``).
    steps : array of shape (n_steps, 2)
        ``points[k + 1] - points[k]``, the update the optimizer made.
    moments : dict of str -> array of shape (n_steps, 2)
        The optimizer's own state after each step, read from its buffers: ``"momentum"``
        (SGD's buffer), ``"m"`` and ``"v"`` (Adam's raw moments), ``"square_avg"`` (RMSProp),
        ``"sum"`` (Adagrad).
    diverged : bool
        The point or loss became non-finite or left a box 1e6 wide; the path stops there.
    """

    surface: str
    optimizer: str
    hyperparameters: dict[str, Any]
    points: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    steps: np.ndarray
    moments: dict[str, np.ndarray]
    diverged: bool = False

    @property
    def effective_lr(self) -> np.ndarray:
        """``|step| / |gradient|`` per step, array of shape (n_steps,).

        The factor by which the optimizer scaled the raw gradient: constant ``lr`` for SGD, up
        to ``lr / (1 - momentum)`` for momentum along a steady slope (first moment), and about
        ``lr / |g|`` for Adam and RMSProp (second moment: steps of similar length whatever the
        slope).
        """
        g = np.linalg.norm(self.grads, axis=1)
        s = np.linalg.norm(self.steps, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g > 0, s / g, np.nan)

    def to_dict(self) -> dict[str, Any]:
        return {
            "surface": self.surface,
            "optimizer": self.optimizer,
            "hyperparameters": self.hyperparameters,
            "start": self.points[0].tolist(),
            "end": self.points[-1].tolist(),
            "start_loss": float(self.losses[0]),
            "final_loss": float(self.losses[-1]),
            "steps": len(self.steps),
            "diverged": self.diverged,
        }


def _surface(surface: str | Surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise UnknownNameError("surface", surface, SURFACES)
    return SURFACES[surface]


def optimizer_path(
    surface: str | Surface,
    optimizer: str,
    *,
    steps: int = 500,
    start: Sequence[float] | None = None,
    lr: float | None = None,
    **hyper: Any,
) -> OptimizerPath:
    """Run preset ``optimizer`` for ``steps`` steps on ``surface`` from its start point.

    Parameters
    ----------
    surface : str or Surface
        A name in :data:`SURFACES` or a :class:`Surface`.
    optimizer : str
        A preset of :data:`tinylens.engine.OPTIMIZERS`.
    steps : int
    start : (float, float), optional
        Defaults to the surface's start point.
    lr : float, optional
        Defaults to the surface's learning rate for this optimizer, else the preset's.
    **hyper
        Other hyperparameters (``momentum``, ``betas``, ...), as in ``make_optimizer``.

    Returns
    -------
    OptimizerPath
    """
    surf = _surface(surface)
    if optimizer not in OPTIMIZERS:
        raise UnknownNameError("optimizer", optimizer, OPTIMIZERS)
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    origin = np.array(surf.start if start is None else start, dtype=np.float64)
    if origin.shape != (2,):
        raise ConfigError(f"start must be two numbers (x, y), got {start!r}")
    if lr is None:
        lr = surf.lrs.get(optimizer)
    point = Parameter(origin.copy(), "xy")
    opt = make_optimizer(optimizer, [point], lr=lr, **hyper)
    points, grads, moments = [origin.copy()], [], {}
    diverged = False
    for _ in range(steps):
        g = surf.grad(point.data)
        if not np.isfinite(g).all():
            diverged = True
            break
        point.grad[...] = g
        opt.step()
        if not np.isfinite(point.data).all() or np.abs(point.data).max() > 1e6:
            diverged = True
            break
        points.append(point.data.copy())
        grads.append(g)
        for key, bufs in opt.state.items():
            moments.setdefault(key, []).append(bufs[0].copy())
    pts = np.array(points)
    losses = np.asarray(surf.f(pts[:, 0], pts[:, 1]), dtype=np.float64)
    return OptimizerPath(
        surface=surf.name,
        optimizer=optimizer,
        hyperparameters=opt.hyperparameters(),
        points=pts,
        losses=losses,
        grads=np.array(grads).reshape(-1, 2),
        steps=np.diff(pts, axis=0),
        moments={k: np.array(v) for k, v in moments.items()},
        diverged=diverged,
    )


def optimizer_paths(
    surface: str | Surface,
    optimizers: Sequence[str],
    *,
    steps: int = 500,
    lrs: Mapping[str, float] | None = None,
) -> dict[str, OptimizerPath]:
    """:func:`optimizer_path` for each optimizer on one surface (``lrs`` overrides rates)."""
    lrs = lrs or {}
    return {
        name: optimizer_path(surface, name, steps=steps, lr=lrs.get(name)) for name in optimizers
    }


def paths_figure(
    surface: str | Surface, paths: Mapping[str, OptimizerPath], *, grid: int = 240
) -> Any:
    """The contour plot of ``surface`` with ``paths`` (from :func:`optimizer_paths`) on it.

    Returns a matplotlib Figure; the legend gives each optimizer's learning rate.
    """
    from tinylens.viz.optimizers import plot_paths

    surf = _surface(surface)
    X, Y, Z = surf.grid(grid)
    steps = max((len(p.steps) for p in paths.values()), default=0)
    labels = {
        n: f"{n} (lr {p.hyperparameters['lr']:g}){' diverged' if p.diverged else ''}"
        for n, p in paths.items()
    }
    return plot_paths(
        X,
        Y,
        Z,
        {n: p.points for n, p in paths.items()},
        minima=surf.minima,
        labels=labels,
        title=f"{surf.title}\n{steps} steps",
        xlabel=surf.xlabel,
        ylabel=surf.ylabel,
    )
