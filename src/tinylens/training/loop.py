"""``fit``: the one training loop, for engine networks and for torch modules alike.

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> from tinylens.training import TrainConfig, fit
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(-1, 1, size=(256, 1)).astype(np.float32)
>>> net = MLP([1, 16, 1], rng=rng)
>>> history = fit(net, (X, np.abs(X)), TrainConfig(epochs=30, optimizer="adam", lr=0.02), rng=rng)
>>> history.train_loss[-1] < history.train_loss[0] / 10
True
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.engine import BatchedMLP, Conv2d, Sequential
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, DataError, DivergenceError, ShapeError
from tinylens.progress import progress
from tinylens.training.backends import (
    Backend,
    EngineBackend,
    InputNotFinite,
    StepDiverged,
    all_finite,
    check_outputs,
)
from tinylens.training.callbacks import Callback
from tinylens.training.checkpoint import LoopState, load_checkpoint, save_checkpoint
from tinylens.training.config import TrainConfig
from tinylens.training.history import History
from tinylens.training.threads import blas_threads_for, current_blas_threads, limit_blas_threads
from tinylens.typing import DataLike, ModelLike, Seed

__all__ = ["as_xy", "check_finite_x", "fit"]


def as_xy(
    data: DataLike, what: str = "training data", *, check_x: bool = True
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """``(X, y, task)`` from a :class:`~tinylens.data.Dataset` or an ``(X, y)`` pair.

    ``task`` is the dataset's, or None when it must be inferred from ``y``. ``check_x=False``
    leaves X's finiteness to the caller (``fit`` checks it in its first epoch when it can).
    """
    if hasattr(data, "X") and hasattr(data, "y"):
        X, y, task = data.X, data.y, getattr(data, "task", None)
    elif isinstance(data, Sequence) and len(data) == 2:
        X, y, task = data[0], data[1], None
    else:
        raise ConfigError(f"{what} must be a Dataset or an (X, y) pair, not {type(data).__name__}")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ShapeError(f"{what}: X has {len(X)} rows but y has {len(y)}")
    if len(X) == 0:
        raise DataError(f"{what} is empty")
    if check_x:
        check_finite_x(X, what)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"{what}: y has NaN or infinite values; clean or drop those rows")
    return X, y, task


def check_finite_x(X: np.ndarray, what: str = "training data") -> None:
    """A DataError counting the NaN and infinite entries of a float ``X``, if it has any."""
    if X.dtype.kind == "f" and not all_finite(X):
        bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
        raise DataError(f"{what}: X has {bad} NaN or infinite values; clean or drop those rows")


def _resolve_loss(loss: str, y: np.ndarray, task: str | None) -> str:
    if loss != "auto":
        return loss
    if task == "classification" or (task is None and y.ndim == 1 and y.dtype.kind in "iu"):
        return "cross_entropy"
    return "mse"


def _make_backend(net: Any, config: TrainConfig, loss: str) -> Backend:
    if isinstance(net, Sequential):
        return EngineBackend(net, config, loss)
    if isinstance(net, BatchedMLP):  # many seeds at once: tinylens.training.batched
        from tinylens.training.batched import BatchedBackend

        return BatchedBackend(net, config, loss)
    torch = sys.modules.get("torch")  # a torch model implies torch is already imported
    if torch is not None and isinstance(net, torch.nn.Module):
        from tinylens.training.torch_backend import TorchBackend

        return TorchBackend(net, config, loss)
    raise ConfigError(
        f"fit trains a tinylens Sequential, a BatchedMLP or a torch.nn.Module, not "
        f"{type(net).__name__}"
    )


def fit(
    net: ModelLike,
    data: DataLike,
    config: TrainConfig | None = None,
    *,
    rng: Seed = None,
    val: DataLike | None = None,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    quiet: bool = False,
    blas_threads: int | str | None = "auto",
) -> History:
    """Train ``net`` in place on ``data`` and return its :class:`History`.

    Parameters
    ----------
    net : tinylens.engine.Sequential or torch.nn.Module
        The same loop drives both; torch models train with ``torch.optim`` and torch losses.
    data : Dataset or (X, y)
        ``X`` of shape (n_samples, n_features); ``y`` integer labels of shape (n_samples,) for
        classification, or targets of shape (n_samples, n_outputs) (or (n_samples,)).
    config : TrainConfig
    rng : numpy.random.Generator or int
        Drives the shuffling; the same seed (and the same initial weights) gives bit-identical
        weights after training on the engine.
    val : Dataset or (X, y), optional
        Validation data, evaluated after every epoch.
    callbacks : sequence of Callback
        ``on_epoch_end`` may return True to stop.
    checkpoint : path, optional
        A file written (atomically) every ``checkpoint_every`` epochs. If it exists when fit
        starts, training resumes from it: weights, optimizer, random state, history, snapshots.
    quiet : bool
        No progress: otherwise a bar in a terminal or a notebook, and one line per epoch (at
        most one every few seconds) in a log (:mod:`tinylens.progress`).
    blas_threads : "auto", int or None
        BLAS threads while training, restored after. ``"auto"``: the policy of
        :func:`tinylens.training.threads.blas_threads_for` for an engine MLP (one thread unless
        its products are large; never above the limit in force) and one thread for a
        BatchedMLP; a network with convolutions and a torch model leave BLAS alone. The count
        depends only on the network, the batch size and the limit in force, so a config trains
        to the same bits every time. An int fixes the count; None leaves BLAS alone.

    Raises
    ------
    DivergenceError
        At the first NaN/infinite (or > ``divergence_threshold``) loss or weight, naming the
        epoch and step; the network is left with the weights of the last good epoch.
    """
    config = config or TrainConfig()
    gen = as_rng(rng)
    X, y, task = as_xy(data, check_x=False)
    loss_name = _resolve_loss(config.loss, y, task)
    backend = _make_backend(net, config, loss_name)
    check_outputs(net.out_features if isinstance(net, Sequential) else None, y, loss_name)
    Xb, yb = backend.prepare(X, y)
    backend.bind(Xb, yb)
    # X's finiteness: a whole pass over X here, or (engine MLPs) folded into the first epoch,
    # which reads every row anyway; either way checked once per fit, before fit returns.
    deferred = isinstance(backend, EngineBackend) and backend.defer_input_check()
    if not deferred:
        check_finite_x(X)
    val_data = None
    if val is not None:
        Xv, yv, _ = as_xy(val, "validation data")
        val_data = backend.prepare(Xv, yv)

    loop = LoopState()
    if checkpoint is not None and os.path.exists(checkpoint):
        loop = _resume(checkpoint, backend, gen, config)
    elif config.snapshot_every:
        loop.history.snapshots.append((0, backend.state()))
    history = loop.history
    if deferred and loop.epoch >= config.epochs:
        check_finite_x(X)  # a finished checkpoint: no epoch will read X
    good_state = backend.state()
    n = len(Xb)
    batch = min(config.batch_size, n)
    threads = _blas_threads(net, batch, blas_threads)
    for cb in callbacks:
        cb.on_fit_start(net, history)
    with limit_blas_threads(threads), progress(config.epochs, "training", quiet=quiet) as bar:
        bar.advance(loop.epoch)
        for epoch in range(loop.epoch + 1, config.epochs + 1):
            t0 = time.perf_counter()
            perm = gen.permutation(n) if config.shuffle else None
            try:
                total, correct = backend.train_epoch(perm, batch)
                step, bad = -1, None
            except StepDiverged as exc:
                step, bad = exc.step, f"the loss became {exc.loss:.4g}"
            except InputNotFinite:
                backend.load_state(good_state)  # nothing lost: the weights fit started from
                check_finite_x(Xb)
                raise  # pragma: no cover - check_finite_x has raised
            if bad is None and not backend.weights_finite():
                bad = "a weight became NaN or infinite"
            if bad is not None:
                backend.load_state(good_state)
                where = f"epoch {epoch}, step {step}" if step >= 0 else f"epoch {epoch}"
                raise DivergenceError(
                    f"training diverged at {where}: {bad}; weights restored to the end of epoch "
                    f"{epoch - 1}. Lower the learning rate (lr={_lr(backend)}) or rescale the data",
                    epoch=epoch,
                    step=step,
                    history=history,
                    restored_epoch=epoch - 1,
                )
            record: dict[str, float] = {"epoch": epoch, "train_loss": total / n}
            if loss_name != "mse":
                record["train_accuracy"] = correct / n
            if val_data is not None:
                v_loss, v_acc = backend.evaluate(*val_data)
                record["val_loss"] = v_loss
                if v_acc is not None:
                    record["val_accuracy"] = v_acc
            record["seconds"] = time.perf_counter() - t0
            history.record(**record)
            good_state = backend.state()
            loop.epoch = epoch
            if config.snapshot_every and epoch % config.snapshot_every == 0:
                history.snapshots.append((epoch, good_state))

            stop = False
            if config.early_stopping:
                monitored = record.get("val_loss", record["train_loss"])
                if monitored < loop.best_loss - config.min_delta:
                    loop.best_loss, loop.best_epoch, loop.best_state = monitored, epoch, good_state
                    loop.stale = 0
                else:
                    loop.stale += 1
                    stop = loop.stale >= config.early_stopping
            for cb in callbacks:
                stop = bool(cb.on_epoch_end(epoch, net, history)) or stop
            if checkpoint is not None and (
                epoch % checkpoint_every == 0 or stop or epoch == config.epochs
            ):
                save_checkpoint(
                    checkpoint,
                    loop=loop,
                    model_state=good_state,
                    optimizer_state=backend.optimizer_state(),
                    rng_state=gen.bit_generator.state,
                    extra_rng=backend.extra_rng_state(),
                    config=config.to_dict(),
                )
            status = f"loss {record['train_loss']:.4g}"
            if "val_accuracy" in record:
                status += f"  val acc {record['val_accuracy']:.3f}"
            bar.update(status=status)
            bar.advance()
            if stop:
                history.stopped_early = epoch < config.epochs
                break
    if config.early_stopping and config.restore_best and loop.best_state is not None:
        backend.load_state(loop.best_state)
        history.best_epoch = loop.best_epoch
    for cb in callbacks:
        cb.on_fit_end(net, history)
    return history


def _blas_threads(net: Any, batch: int, choice: int | str | None) -> int | None:
    """The BLAS thread count ``fit`` trains with (None: leave BLAS alone); see ``fit``."""
    if choice is None:
        return None
    if choice != "auto":
        if isinstance(choice, bool) or not isinstance(choice, int) or choice < 1:
            raise ConfigError(
                f"blas_threads must be 'auto', a positive number of threads or None, got {choice!r}"
            )
        return choice
    if isinstance(net, BatchedMLP):
        return 1  # many tiny stacked products; its own worker threads split the instances
    if isinstance(net, Sequential) and not any(isinstance(m, Conv2d) for m in net.layers):
        return blas_threads_for(net.sizes, batch, limit=current_blas_threads())
    return None


def _lr(backend: Backend) -> object:
    opt = getattr(backend, "optimizer", None)
    if hasattr(opt, "param_groups"):
        return opt.param_groups[0]["lr"]  # type: ignore[union-attr]
    return getattr(opt, "lr", None)


def _resume(
    path: str | os.PathLike[str], backend: Backend, gen: np.random.Generator, config: TrainConfig
) -> LoopState:
    state = load_checkpoint(path)
    if state["config"] != config.to_dict():
        raise ConfigError(
            f"checkpoint {os.fspath(path)} was written with other training settings; delete it "
            "or train with the same settings to resume"
        )
    backend.load_state(state["model"])
    backend.load_optimizer_state(state["optimizer"])
    gen.bit_generator.state = state["rng"]
    backend.load_extra_rng_state(state["extra_rng"])
    return state["loop"]
