"""Train the target's seeds at once and sort them into outcomes: :func:`run` (no files)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from tinylens.engine import BatchedMLP
from tinylens.studies.recovery.classify import classify_seeds
from tinylens.studies.recovery.config import RecoveryConfig
from tinylens.studies.recovery.result import RecoveryResult
from tinylens.studies.recovery.sharpening import sharpness, still_sharpening
from tinylens.studies.recovery.targets import (
    DEFAULT_LR,
    RecoveryTarget,
    eval_grid,
    training_data,
)
from tinylens.studies.recovery.variant import VariantResult
from tinylens.training import Callback, fit

__all__ = ["learning_rate", "run", "run_recovery"]


class _Curves(Callback):
    """Each seed's loss on a small fixed set, and its parameters, every ``every`` epochs."""

    def __init__(self, X: np.ndarray, y: np.ndarray, every: int, steps_per_epoch: int):
        self.X, self.y, self.every, self.spe = X, y, every, steps_per_epoch
        self.steps: list[int] = []
        self.values: list[np.ndarray] = []
        self.params: list[np.ndarray] = []

    def _record(self, step: int, net: Any) -> None:
        self.steps.append(step)
        self.values.append(net.loss(self.X, self.y))
        K = net.n_instances
        self.params.append(
            np.concatenate([p.data.reshape(K, -1) for p in net.parameters()], axis=1)
        )

    def on_fit_start(self, net: Any, history: Any) -> None:
        self._record(0, net)

    def on_epoch_end(self, epoch: int, net: Any, history: Any) -> bool | None:
        if epoch % self.every == 0:
            self._record(epoch * self.spe, net)
        return None

    def weights(self) -> np.ndarray:
        """Every recorded parameter, shape (points, K, n_parameters), in the order of
        ``net.parameters()`` flattened (float64)."""
        return np.stack(self.params).astype(np.float64)


def learning_rate(target: RecoveryTarget, optimizer: str, lr: float | None) -> float:
    """``lr`` if given, else the target's rate for its own optimizer, else :data:`DEFAULT_LR`."""
    if lr is not None:
        return lr
    if optimizer == target.optimizer:
        return target.lr
    return DEFAULT_LR.get(optimizer) or target.lr


def _train(
    target: RecoveryTarget,
    cfg: RecoveryConfig,
    optimizer: str,
    init: str,
    n_seeds: int,
    quiet: bool,
) -> VariantResult:
    t0 = time.perf_counter()
    if init == "auto" and target.init is not None:
        init = target.init  # the source's initialisation
    lr = learning_rate(target, optimizer, cfg.lr)
    train = dataclasses.replace(cfg.training, optimizer=optimizer, lr=lr)
    per_epoch = cfg.steps_per_epoch
    rng = np.random.default_rng(cfg.seed)
    X, y = training_data(target, per_epoch * train.batch_size, rng)
    seeds = np.arange(cfg.seed, cfg.seed + n_seeds)
    net = BatchedMLP(
        target.sizes,
        [int(s) for s in seeds],
        target.activation,
        target.output_activation,
        init=init,
        bias=target.bias if cfg.bias is None else cfg.bias,
        dtype=np.dtype(cfg.dtype),
        input_names=target.inputs,
    )
    X_eval = eval_grid(target)
    y_eval = target.function(X_eval)
    small = X_eval[np.linspace(0, len(X_eval) - 1, min(512, len(X_eval))).astype(int)]
    every = max(1, train.epochs // cfg.log_points)
    curves = _Curves(small, target.function(small), every, per_epoch)
    initial = net.state_dict()
    fit(net, (X, y), train, rng=cfg.seed, callbacks=[curves], quiet=quiet)
    losses = net.astype(np.float64).loss(X_eval, y_eval)
    losses[net.diverged_] = np.inf
    trace = curves.weights()
    steps = np.array(curves.steps)
    sharpening = still_sharpening(steps, sharpness(trace)) if target.sharpens else None
    checked = classify_seeds(
        target, net, X_eval, y_eval, losses, tol=cfg.tol, atol=cfg.atol, sharpening=sharpening
    )
    return VariantResult(
        optimizer,
        init,
        float(lr),
        seeds,
        losses,
        checked.outcomes,
        net,
        steps,
        np.stack(curves.values),
        time.perf_counter() - t0,
        initial,
        checked.structural,
        checked.readback,
        checked.formulas,
        target.expression is not None,
        trace=trace,
        tol=cfg.tol,
    )


def run(config: RecoveryConfig, *, quiet: bool = False) -> RecoveryResult:
    """Train the target's seeds (and the optimizer / init grid when ``config.compare``); no
    file is written (:func:`~tinylens.studies.recovery.write` does that).

    >>> result = run(RecoveryConfig(target="abs", seeds=16, steps=200), quiet=True)
    >>> result.main.net.n_instances, sum(result.main.counts().values())
    (16, 16)
    """
    target = config.recovery_target
    optimizer = config.optimizer
    main = _train(target, config, optimizer, config.init, config.seeds, quiet)
    grid: list[VariantResult] = []
    if config.compare:
        n = config.compare_seeds or config.seeds
        for opt in config.compare_optimizers:
            for init in config.compare_inits:
                if opt == optimizer and init == config.init and n == config.seeds:
                    grid.append(main)
                else:
                    grid.append(_train(target, config, opt, init, n, quiet))
    return RecoveryResult(config, target, main, grid)


run_recovery = run
"""The name the command line and older code call :func:`run` by."""
