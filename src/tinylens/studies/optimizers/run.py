"""Run the optimizer study: every optimizer from every seed, the learning-rate grid, the paths.

>>> from tinylens.studies.optimizers import OptimizerStudyConfig, run
>>> cfg = OptimizerStudyConfig.from_dict({
...     "dataset": "spiral", "optimizers": ["sgd", "adam"], "seeds": 2, "paths": False,
...     "data": {"spiral": {"n_points": 60}}, "training": {"epochs": 3}})
>>> result = run(cfg, progress=False)
>>> sorted(result.summary()), result.curves("train_loss")["adam"].shape
(['adam', 'sgd'], (2, 3))
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from tinylens.data import Dataset
from tinylens.engine import MLP
from tinylens.errors import DivergenceError
from tinylens.progress import progress as show_progress
from tinylens.studies.optimizers.config import OptimizerStudyConfig
from tinylens.studies.optimizers.data import StudyData, load_study_data
from tinylens.studies.optimizers.paths import SURFACES, optimizer_paths
from tinylens.studies.optimizers.result import OptimizerRun, OptimizerStudyResult
from tinylens.training import History, fit
from tinylens.training.threads import limit_blas_threads

__all__ = ["run", "run_optimizers"]


def _train_one(
    data: StudyData,
    cfg: OptimizerStudyConfig,
    name: str,
    seed: int,
    lr: float,
    train: Dataset,
    val: Dataset,
) -> OptimizerRun:
    # NOTE: one generator per seed, used for the weights and then the shuffling: every
    # optimizer of this seed starts from the same weights and sees the same minibatches.
    rng = np.random.default_rng(seed)
    net = MLP(data.sizes, cfg.activation or "relu", rng=rng)  # resolved in the config
    tc = cfg.train_config(name, lr)
    t0 = time.perf_counter()
    diverged = None
    try:
        history = fit(net, train, tc, rng=rng, val=val, quiet=True)
    except DivergenceError as exc:
        history = exc.history if isinstance(exc.history, History) else History()
        diverged = str(exc)
    hp = {**cfg.optimizer_params[name], "lr": lr}
    return OptimizerRun(name, seed, hp, history, time.perf_counter() - t0, diverged, net)


def _tune(
    cfg: OptimizerStudyConfig, data: StudyData, bar: Any
) -> tuple[dict[str, float], dict[str, Any]]:
    """Best lr per optimizer on a validation split of the training data (never the test set)."""
    fit_part, val_part = data.train.split(cfg.val_fraction, rng=cfg.seed)
    chosen: dict[str, float] = {}
    grid: dict[str, Any] = {}
    for name in cfg.optimizers:
        base = cfg.optimizer_params[name]["lr"]
        lrs = [base * f for f in cfg.tune_factors]
        scores = []
        for lr in lrs:
            losses = []
            for s in range(cfg.seed, cfg.seed + cfg.tune_seeds):
                run = _train_one(data, cfg, name, s, lr, fit_part, val_part)
                ok = run.diverged is None and run.history.val_loss
                losses.append(run.history.val_loss[-1] if ok else math.inf)
                bar.advance()
            scores.append(float(np.mean(losses)))
        best = int(np.argmin(scores)) if np.isfinite(scores).any() else lrs.index(base)
        chosen[name] = lrs[best]
        grid[name] = {"lrs": lrs, "val_loss": scores, "chosen": lrs[best], "preset": base}
    info = {
        "grid": grid,
        "factors": list(cfg.tune_factors),
        "seeds": cfg.tune_seeds,
        "n_fit": fit_part.n,
        "n_val": val_part.n,
        "score": "final validation loss, mean over seeds (diverged: inf)",
    }
    return chosen, info


def run(
    config: OptimizerStudyConfig,
    *,
    data: StudyData | None = None,
    rng: Any = None,
    progress: bool = True,
    blas_threads: int | None = 1,
) -> OptimizerStudyResult:
    """Train every optimizer from every seed (after tuning, with ``config.tune``); trace paths.
    Writes nothing (:func:`~tinylens.studies.optimizers.write` does).

    Parameters
    ----------
    config : OptimizerStudyConfig
    data : StudyData, optional
        The train and test sets (default: :func:`load_study_data` of ``config``).
    rng : ignored
        Seeds come from ``config.seed`` and ``config.seeds``: for a given seed every optimizer
        starts from the same weights and sees the same minibatches, which one generator passed
        in could not give. Accepted for the one study signature.
    progress : bool
        Show a bar (``tinylens.progress``).
    blas_threads : int or None
        Limits BLAS while training (see :mod:`tinylens.training.threads`: small matrices run
        faster on one thread, and the results do not depend on it); None leaves it.
    """
    del rng
    cfg = config
    data = load_study_data(cfg) if data is None else data
    n_runs = len(cfg.optimizers) * cfg.seeds
    n_tune = len(cfg.optimizers) * len(cfg.tune_factors) * cfg.tune_seeds if cfg.tune else 0
    lrs = {n: cfg.optimizer_params[n]["lr"] for n in cfg.optimizers}
    tuning = None
    runs: list[OptimizerRun] = []
    with (
        limit_blas_threads(blas_threads),
        show_progress(n_runs + n_tune, f"optimizers on {cfg.dataset}", quiet=not progress) as bar,
    ):
        if cfg.tune:
            lrs, tuning = _tune(cfg, data, bar)
        for name in cfg.optimizers:
            for s in range(cfg.seed, cfg.seed + cfg.seeds):
                runs.append(_train_one(data, cfg, name, s, lrs[name], data.train, data.test))
                bar.advance()
    paths = None
    if cfg.paths:
        paths = {
            surface: optimizer_paths(surface, cfg.optimizers, steps=cfg.path_steps)
            for surface in SURFACES
        }
    return OptimizerStudyResult(cfg, data, runs, lrs, tuning, paths)


def run_optimizers(
    config: OptimizerStudyConfig, *, quiet: bool = False, blas_threads: int | None = 1
) -> OptimizerStudyResult:
    """:func:`run` under its earlier name (``quiet`` is ``not progress``)."""
    return run(config, progress=not quiet, blas_threads=blas_threads)
