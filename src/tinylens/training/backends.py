"""What one training loop needs from a backend: a pass over minibatches, evaluation, state.

:func:`tinylens.training.fit` owns the epoch logic (shuffling, history, snapshots, early
stopping, divergence, checkpoints, callbacks) once; a backend owns only the arithmetic.
The engine backend lives here; the torch backend in :mod:`tinylens.training.torch_backend`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from tinylens.engine import CrossEntropyLoss, MSELoss, Sequential, loss_fn, make_optimizer
from tinylens.engine.module import FlatParameters
from tinylens.errors import ShapeError
from tinylens.training._mlp_step import InputNotFinite, PlainMLPStep, ValueAndGrad
from tinylens.training.config import TrainConfig

__all__ = [
    "Backend",
    "EngineBackend",
    "InputNotFinite",
    "StepDiverged",
    "all_finite",
    "minibatches",
]


class StepDiverged(Exception):
    """Raised inside an epoch at the first non-finite or exploding minibatch loss."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(step, loss)
        self.step, self.loss = step, loss


class Backend(Protocol):
    model: Any

    def train_epoch(self, perm: np.ndarray | None, batch_size: int) -> tuple[float, int]: ...

    def evaluate(self, X: Any, y: Any) -> tuple[float, float | None]: ...

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]: ...

    def bind(self, X: Any, y: Any) -> None: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def load_state(self, state: dict[str, np.ndarray]) -> None: ...

    def weights_finite(self) -> bool: ...

    def optimizer_state(self) -> dict[str, np.ndarray]: ...

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None: ...

    def extra_rng_state(self) -> dict[str, Any]: ...

    def load_extra_rng_state(self, state: dict[str, Any]) -> None: ...


def minibatches(
    X: np.ndarray,
    y: np.ndarray,
    perm: np.ndarray | None,
    batch_size: int,
    buffers: dict[str, np.ndarray] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(xb, yb)`` for each minibatch, in ``perm``'s order (or the data's, without one).

    With ``perm`` the batches are gathered into two arrays made once per call (or kept in
    ``buffers``, a dict the caller holds from epoch to epoch) and reused for every batch: a
    consumer that keeps a batch past its step must copy it.
    """
    if perm is None:
        for start in range(0, len(X), batch_size):
            yield X[start : start + batch_size], y[start : start + batch_size]
        return
    # NOTE: gather each batch, not the whole shuffled set: a fresh 30 MB copy per epoch costs
    # twice as much (page faults) as these small cache-warm gathers; and gather into one
    # buffer (np.take with out=), as a fresh array per step costs a page fault per step.
    xbuf = _buffer(buffers, "x", (min(batch_size, len(X)), *X.shape[1:]), X.dtype)
    ybuf = _buffer(buffers, "y", (min(batch_size, len(y)), *y.shape[1:]), y.dtype)
    for start in range(0, len(X), batch_size):
        idx = perm[start : start + batch_size]
        n = len(idx)
        # mode="clip": a permutation's indices are in range, and "raise" (the default) gathers
        # into a temporary before copying to ``out``.
        xb = X.take(idx, axis=0, out=xbuf[:n], mode="clip")
        yield xb, y.take(idx, axis=0, out=ybuf[:n], mode="clip")


def _buffer(
    buffers: dict[str, np.ndarray] | None, key: str, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """A gather buffer: ``buffers[key]`` when it fits, else a new one (kept there)."""
    buf = None if buffers is None else buffers.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = np.empty(shape, dtype=dtype)
        if buffers is not None:
            buffers[key] = buf
    return buf


def all_finite(X: np.ndarray) -> bool:
    """``np.isfinite(X).all()`` for a float array, in about half the time when it is large.

    NOTE: the row sums (one BLAS pass, no boolean array) are all finite when every entry is:
    a NaN or an infinity in a row makes its sum NaN or infinite, whatever the order of the
    additions. Only when a sum is not finite (a bad entry, or finite entries whose sum
    overflows) does the elementwise check decide.
    """
    contiguous = X.flags.c_contiguous or (X.ndim == 2 and X.flags.f_contiguous)
    if X.ndim >= 2 and X.size and contiguous:
        rows = X.reshape(len(X), -1) if X.ndim > 2 else X  # images: a view, no copy
        with np.errstate(over="ignore", invalid="ignore"):
            sums = rows @ np.ones(rows.shape[1], dtype=X.dtype)
        if np.isfinite(sums).all():
            return True
    return bool(np.isfinite(X).all())


def count_correct(out: np.ndarray, y: np.ndarray, loss: str) -> int:
    """Right answers in a batch: argmax for cross-entropy, sign of the logit for BCE."""
    if loss == "cross_entropy":
        return int(np.count_nonzero(out.argmax(axis=1) == y))
    if loss == "bce":
        return int(np.count_nonzero((out > 0) == (y > 0.5)))
    return 0


class EngineBackend:
    """Training arithmetic for an engine :class:`~tinylens.engine.Sequential`."""

    def __init__(self, net: Sequential, config: TrainConfig, loss: str) -> None:
        self.model = net
        self.loss_name = loss
        self.loss = loss_fn(loss)
        # One buffer for all parameters, one for all gradients: the optimizer then updates
        # them in one pass per step (the per-parameter arrays become views; see FlatParameters).
        FlatParameters.of(net.parameters())
        self.optimizer = make_optimizer(
            config.optimizer, net.parameters(), **config.optimizer_kwargs()
        )
        self.threshold = config.divergence_threshold
        self.fused = PlainMLPStep.for_network(net)
        self._check_input = False
        # NOTE: the gather buffers live from epoch to epoch: made once, their pages fault once
        # (1.6 MB at batch 512 of MNIST), not every epoch.
        self._batch_buffers: dict[str, np.ndarray] = {}

    def defer_input_check(self) -> bool:
        """Check the inputs' finiteness in the first epoch instead of by a pass over X now.

        True for a plain MLP without hooks: its fused step checks the first layer's
        pre-activations, which cost a few microseconds a batch; every NaN or infinite input
        makes its whole row of them non-finite (each is a sum over the inputs of input times
        weight, and a non-finite term keeps a sum non-finite), and only then is the batch
        itself checked (a non-finite product from finite inputs is the weights' problem, a
        divergence). ``fit`` saves a whole pass over X (~3 ms for MNIST's 10,000 test images),
        ~8% of a one-epoch fit of the 784-32-16-10 MLP (issue 18).
        """
        self._check_input = self.fused is not None and self.fused.usable()
        return self._check_input

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = self.model.check_input(X)
        if self.loss_name == "cross_entropy" and y.ndim == 1:
            # Checked once here, so that every step can skip the checks (check=False).
            return X, CrossEntropyLoss.check_labels(y, self.model.out_features)
        if self.loss_name == "cross_entropy":
            return X, y.astype(X.dtype, copy=False)
        y = y.astype(self.model.dtype, copy=False)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        return X, y

    def bind(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y

    def train_epoch(self, perm: np.ndarray | None, batch_size: int) -> tuple[float, int]:
        net, opt = self.model, self.optimizer
        X, y = self.X, self.y
        net.train()
        value_and_grad, counted_by_loss = self._value_and_grad(y)
        fused = self.fused if self.fused is not None and self.fused.usable() else None
        check, self._check_input = self._check_input, False
        if check and (fused is None or X.dtype.kind != "f"):
            if X.dtype.kind == "f" and not all_finite(X):  # a hook came since bind
                raise InputNotFinite
            check = False
        count = self.loss_name != "mse"
        threshold = self.threshold
        total, correct = 0.0, 0
        batches = minibatches(X, y, perm, batch_size, self._batch_buffers)
        for step, (xb, yb) in enumerate(batches):
            if fused is not None:
                # NOTE: a diverged step has already written its gradients, unlike the modules'
                # path; the weights are untouched until opt.step, and fit restores them anyway.
                value, out = fused(xb, yb, value_and_grad, check)
                grad = None
            else:
                out = net.forward(xb)
                value, grad = value_and_grad(out, yb)
            if not (math.isfinite(value) and value <= threshold):
                raise StepDiverged(step, value)
            if grad is not None:
                net.backward(grad)
            opt.step()
            total += value * len(xb)
            if counted_by_loss:
                correct += self.loss.n_correct  # type: ignore[attr-defined]  # cross-entropy
            elif count:
                correct += count_correct(out, yb, self.loss_name)
        return total, correct

    def _value_and_grad(self, y: np.ndarray) -> tuple[ValueAndGrad, bool]:
        """The step's loss, and whether it counts right answers (``n_correct``) itself:
        cross-entropy's and MSE's work-array passes (labels and targets checked once, in
        :meth:`prepare`), else the loss's forward (unchecked) and backward."""
        loss = self.loss
        if isinstance(loss, CrossEntropyLoss) and y.ndim == 1:
            return loss.value_and_grad, True
        if isinstance(loss, MSELoss) and y.ndim == 2 and y.dtype == self.model.dtype:
            return loss.value_and_grad, False  # prepare gave y the outputs' shape and dtype

        def value_and_grad(out: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
            return loss.forward(out, yb, check=False), loss.backward()

        return value_and_grad, False

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        out = self.model.predict(X)
        value = self.loss.forward(out, y)
        if self.loss_name == "mse":
            return value, None
        return value, count_correct(out, y, self.loss_name) / len(X)

    def state(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict(state)

    def weights_finite(self) -> bool:
        return all(np.isfinite(p.data).all() for p in self.model.parameters())

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return self.optimizer.state_dict()

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        self.optimizer.load_state_dict(state)

    def extra_rng_state(self) -> dict[str, Any]:
        """States of the dropout generators inside the network."""
        return {m.name: m.rng.bit_generator.state for m in self.model.layers if hasattr(m, "rng")}

    def load_extra_rng_state(self, state: dict[str, Any]) -> None:
        for m in self.model.layers:
            if m.name in state and hasattr(m, "rng"):
                m.rng.bit_generator.state = state[m.name]


def check_outputs(n_outputs: int | None, y: np.ndarray, loss: str) -> None:
    """Fail early, with a clear message, when labels or targets do not fit the network."""
    if n_outputs is None:
        return
    if loss == "cross_entropy":
        top = int(y.max()) if y.size else 0
        if top >= n_outputs:
            raise ShapeError(
                f"labels go up to {top} but the network has {n_outputs} outputs; the last layer "
                f"needs at least {top + 1}"
            )
    else:
        width = 1 if y.ndim == 1 else y.shape[1]
        if width != n_outputs:
            raise ShapeError(f"targets have {width} columns; the network has {n_outputs} outputs")
