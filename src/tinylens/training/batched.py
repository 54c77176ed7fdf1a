"""The arithmetic of :func:`~tinylens.training.fit` for a :class:`~tinylens.engine.BatchedMLP`.

``fit(batched_net, (X, y), config)`` trains every instance on the same minibatches, with one
optimizer whose elementwise updates treat each instance as if it were trained alone. The
epoch logic (shuffling, history, snapshots, checkpoints, callbacks) is ``fit``'s, unchanged.

What differs from a single network:

* the recorded ``train_loss`` / ``val_loss`` are the mean over the live instances of each
  instance's own loss (``net.loss(X, y)`` gives them one by one);
* divergence is per instance: an instance whose loss becomes NaN, infinite or larger than
  ``config.divergence_threshold`` (or whose weights stop being finite) is frozen: its weights
  and optimizer state are set to zero, ``net.diverged_[k]`` becomes True and
  ``net.diverged_step_[k]`` holds the step. The others train on; ``fit`` raises
  :class:`~tinylens.errors.DivergenceError` only when every instance has diverged.

>>> import numpy as np
>>> from tinylens.engine import BatchedMLP
>>> from tinylens.training import TrainConfig, fit
>>> X = np.random.default_rng(0).uniform(-1, 1, size=(512, 1))
>>> net = BatchedMLP([1, 2, 1], seeds=range(8), bias=False)
>>> cfg = TrainConfig(epochs=50, batch_size=128, optimizer="sgd", lr=0.1)
>>> history = fit(net, (X, np.abs(X)), cfg, rng=0)
>>> net.loss(X, np.abs(X)).shape
(8,)
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from tinylens.engine import BatchedMLP, make_optimizer
from tinylens.errors import ConfigError, ShapeError
from tinylens.training.backends import StepDiverged, minibatches
from tinylens.training.config import TrainConfig

__all__ = ["BatchedBackend"]


class BatchedBackend:
    """Minibatch passes, evaluation and state for a :class:`~tinylens.engine.BatchedMLP`."""

    def __init__(self, net: BatchedMLP, config: TrainConfig, loss: str) -> None:
        if loss != "mse":
            raise ConfigError(
                f"batched training supports the mse loss, not {loss!r}; pass loss='mse' (or "
                "'auto' on a regression task)"
            )
        self.model = net
        self.loss_name = loss
        self.optimizer = make_optimizer(
            config.optimizer, net.parameters(), **config.optimizer_kwargs()
        )
        self.threshold = config.divergence_threshold

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net = self.model
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != net.in_features:
            raise ShapeError(
                f"input has shape {X.shape}; the batched network expects (n, {net.in_features})"
            )
        y = np.asarray(y)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != net.out_features:
            raise ShapeError(
                f"targets have {y.shape[1] if y.ndim == 2 else y.shape} columns; the batched "
                f"network has {net.out_features} outputs"
            )
        return X.astype(net.dtype, copy=False), y.astype(net.dtype, copy=False)

    def bind(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y

    def train_epoch(self, perm: np.ndarray | None, batch_size: int) -> tuple[float, int]:
        net, opt = self.model, self.optimizer
        X, y = self.X, self.y
        total = 0.0
        # A finite bound, so that one comparison also catches an infinite loss.
        threshold = min(self.threshold, sys.float_info.max)
        for step, (xb, yb) in enumerate(minibatches(X, y, perm, batch_size)):
            # An exploding instance may overflow; it is caught below and frozen, and its
            # infinities never mix with the other instances' numbers.
            with np.errstate(over="ignore", invalid="ignore"):
                losses = net.loss_and_grad(xb, yb)
            # NOTE: one comparison finds NaN, infinite and too large losses alike (NaN
            # compares False; a loss, a mean of squares, is never -inf): the common step,
            # where every instance is live and fine, runs two reductions, not eight passes.
            if not (losses <= threshold).all() or net.diverged_.any():
                bad = ~(losses <= threshold) & ~net.diverged_
                if bad.any():
                    self._freeze(bad, opt.t)
                for p in net.parameters():
                    p.grad[net.diverged_] = 0
                opt.step()
                if net.diverged_.all():
                    raise StepDiverged(step, float(np.max(losses)))
                losses = losses[~net.diverged_]
            else:
                opt.step()
            total += float(np.mean(losses)) * len(xb)
        # A step that made weights non-finite shows as a non-finite loss at the next step; the
        # epoch's last step is caught here, so fit's own check never sees a broken instance.
        after = self._nonfinite_weights() & ~net.diverged_
        if after.any():
            self._freeze(after, opt.t)
            if net.diverged_.all():
                raise StepDiverged(len(X) // batch_size, math.inf)
        return total, 0

    def _nonfinite_weights(self) -> np.ndarray:
        K = self.model.n_instances
        bad = np.zeros(K, dtype=bool)
        for p in self.model.parameters():
            bad |= ~np.isfinite(p.data.reshape(K, -1)).all(axis=1)
        return bad

    def _freeze(self, which: np.ndarray, step: int) -> None:
        """Zero and stop the instances ``which`` (a mask), recording the step they broke at."""
        net = self.model
        net.diverged_ |= which
        net.diverged_step_[which] = step
        for p in net.parameters():
            p.data[which] = 0
            p.grad[which] = 0
        for bufs in self.optimizer.state.values():
            for buf in bufs:
                buf[which] = 0

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        losses = self.model.loss(X, y)
        live = ~self.model.diverged_
        return (float(np.mean(losses[live])) if live.any() else math.inf), None

    def state(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict(state)

    def weights_finite(self) -> bool:
        return not self._nonfinite_weights().any()

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return self.optimizer.state_dict()

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        self.optimizer.load_state_dict(state)

    def extra_rng_state(self) -> dict[str, Any]:
        return {}

    def load_extra_rng_state(self, state: dict[str, Any]) -> None:
        return None
