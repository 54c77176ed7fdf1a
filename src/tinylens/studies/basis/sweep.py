"""The width sweep: error against hidden width, trained next to what the width allows.

For each target and width: ``seeds`` trained ``1 -> w -> 1`` ReLU networks (kinks started inside
the data, all seeds of a width trained at once as one :class:`~tinylens.engine.BatchedMLP`,
full-batch), the best network with evenly placed kinks (output layer by least squares), the
piecewise-linear interpolant at the same knots, and, for the smooth targets, the textbook
``1/width^2`` rate (:mod:`tinylens.geometry.approximation`). Every error is the RMSE against the
noise-free target on 1,000 even points of its range. Training falls short of the least-squares
network when optimisation, not width, is the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tinylens.data import TARGETS, regression_1d
from tinylens.engine import BatchedMLP
from tinylens.geometry.approximation import (
    interpolation_net,
    interpolation_rate,
    least_squares_net,
    rmse_against,
)
from tinylens.io import format_number
from tinylens.progress import progress
from tinylens.studies.basis.init import place_kinks
from tinylens.training import TrainConfig, fit

__all__ = ["SMOOTH_TARGETS", "WidthSweep", "sweep_caption", "width_sweep"]

SMOOTH_TARGETS = ("sine", "polynomial")
"""Targets with a bounded second derivative of moderate size, for which the ``1/width^2`` rate
is drawn (``abs`` has a kink; ``rough`` has ``f''`` up to about (4.5^5) pi^2, so the rate only
holds far beyond the sweep's widths)."""


@dataclass
class WidthSweep:
    """RMSE against the noise-free target, per target.

    Attributes
    ----------
    widths : tuple of int
    errors : dict of arrays of shape (n_widths, n_seeds)
        The trained networks.
    least_squares, interpolation : dict of arrays of shape (n_widths,)
        The least-squares network with evenly placed kinks; the interpolant at those knots.
    rate : dict of arrays of shape (n_widths,)
        ``(hi - lo)^2 sqrt(mean f''^2 / 120) / width^2``, for :data:`SMOOTH_TARGETS` only.
    epochs : int
    """

    widths: tuple[int, ...]
    errors: dict[str, np.ndarray]
    epochs: int
    least_squares: dict[str, np.ndarray] | None = None
    interpolation: dict[str, np.ndarray] | None = None
    rate: dict[str, np.ndarray] | None = None

    def rows(self) -> list[list[Any]]:
        """``[target, width, median, min, max, least squares, interpolation, rate]``."""
        out = []
        for name, err in self.errors.items():
            for i, w in enumerate(self.widths):
                row = [name, w, float(np.median(err[i])), float(err[i].min()), float(err[i].max())]
                for extra in (self.least_squares, self.interpolation, self.rate):
                    value = None if extra is None or name not in extra else float(extra[name][i])
                    row.append("" if value is None else value)
                out.append(row)
        return out

    COLUMNS: ClassVar[list[str]] = [
        "target",
        "width",
        "median RMSE",
        "min",
        "max",
        "least squares",
        "interpolation",
        "1/w^2 rate",
    ]

    def to_dict(self) -> dict[str, Any]:
        """The sweep as lists (``metrics.json``'s ``width_sweep``)."""

        def lists(d: dict[str, np.ndarray] | None) -> dict[str, Any]:
            return {k: v.tolist() for k, v in (d or {}).items()}

        return {
            "widths": list(self.widths),
            "epochs": self.epochs,
            "rmse": lists(self.errors),
            "least_squares": lists(self.least_squares),
            "interpolation": lists(self.interpolation),
            "rate": lists(self.rate),
        }


def width_sweep(
    targets: tuple[str, ...] = ("sine", "polynomial", "abs", "rough"),
    widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32),
    *,
    seeds: int = 3,
    train: TrainConfig | None = None,
    n_samples: int = 200,
    init: str = "torch",
    kinks: str = "data",
    seed: int = 0,
    quiet: bool = True,
) -> WidthSweep:
    """Train ``1 -> w -> 1`` ReLU nets for every target, width and seed, and measure them and
    their untrained references (see the module docstring).

    Instance ``s`` of width ``w`` on target number ``t`` starts from
    ``MLP([1, w, 1], rng=default_rng([seed, t, w, s]), init=init)`` with its kinks drawn (for
    ``kinks="data"``) from ``default_rng([seed, t, w, s, 1])``: adding a width or a target does
    not change the others' results.
    """
    from tinylens.studies.basis.config import _sweep_train

    train = train if train is not None else _sweep_train()
    errors: dict[str, np.ndarray] = {}
    ls: dict[str, np.ndarray] = {}
    interp: dict[str, np.ndarray] = {}
    rate: dict[str, np.ndarray] = {}
    with progress(len(targets) * len(widths), "width sweep", quiet=quiet) as bar:
        for t, name in enumerate(targets):
            fn, (lo, hi), _ = TARGETS[name]
            data = regression_1d(name, n_samples)
            x, y = data.X[:, 0], data.y[:, 0]
            err = np.zeros((len(widths), seeds))
            for i, w in enumerate(widths):
                gens = [np.random.default_rng([seed, t, w, s]) for s in range(seeds)]
                net = BatchedMLP([1, w, 1], seeds=gens, init=init)
                if kinks == "data":
                    placed = [np.random.default_rng([seed, t, w, s, 1]) for s in range(seeds)]
                    net = _place_each(net, lo, hi, placed)
                fit(net, data, train, rng=np.random.default_rng([seed, t, w]), quiet=True)
                for s in range(seeds):
                    err[i, s] = rmse_against(lambda X, s=s, net=net: net(X)[s], fn, lo, hi)
                bar.advance()
            errors[name] = err
            ls[name] = np.array(
                [rmse_against(least_squares_net(x, y, w), fn, lo, hi) for w in widths]
            )
            interp[name] = np.array(
                [rmse_against(interpolation_net(fn, lo, hi, w), fn, lo, hi) for w in widths]
            )
            if name in SMOOTH_TARGETS:
                rate[name] = np.array([interpolation_rate(fn, lo, hi, w) for w in widths])
    return WidthSweep(tuple(widths), errors, train.epochs, ls, interp, rate)


def _place_each(net: BatchedMLP, lo: float, hi: float, gens: list[Any]) -> BatchedMLP:
    """Kinks of instance ``k`` drawn from ``gens[k]`` (as ``place_kinks`` on that instance)."""
    parts = [place_kinks(net.instance(k), lo, hi, rng=g) for k, g in enumerate(gens)]
    return BatchedMLP.from_networks(parts)


def sweep_caption(sweep: WidthSweep) -> str:
    """The width-sweep figure's caption, read off the measured medians (never a claim the
    numbers could contradict), each number printed as the table below it prints it."""
    fmt = format_number  # the caption's numbers read exactly as the table's cells
    parts = []
    for name, err in sweep.errors.items():
        med = np.median(err, axis=1)
        first, last, w0, w1 = float(med[0]), float(med[-1]), sweep.widths[0], sweep.widths[-1]
        verb, to = ("falls from", "to") if last < first else ("rises from", "to")
        if last == first:
            verb, to = "is", "and"
        text = f"{name} {verb} {fmt(first)} at width {w0} {to} {fmt(last)} at width {w1}"
        if len(med) == 1:
            text = f"{name} {fmt(first)} at width {w0}"
        best = int(np.argmin(med))
        if 0 < best < len(med) - 1:
            text += f" (lowest {fmt(float(med[best]))} at width {sweep.widths[best]})"
        if sweep.least_squares and name in sweep.least_squares:
            text += f", least squares {fmt(float(sweep.least_squares[name][-1]))} at width {w1}"
        parts.append(text)
    n_seeds = next(iter(sweep.errors.values())).shape[1] if sweep.errors else 0
    return (
        f"RMSE against the noise-free target versus hidden width, one panel per target: the "
        f"trained networks (median over {n_seeds} seeds, the range shaded), the least-squares "
        "network with evenly placed kinks (the best of that width with those kinks), the "
        "piecewise-linear interpolant at the same knots and, for smooth targets, the 1/width^2 "
        "rate; the table below has every number. Median RMSE: " + "; ".join(parts) + "."
    )
