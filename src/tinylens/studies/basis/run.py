"""Run the basis study: train a ``1 -> hidden -> 1`` ReLU network on a 1-D target (kinks
started inside the data), decompose every snapshot into its neurons' ghost functions, and
(optionally) sweep the width. Writes no files.

>>> from tinylens.studies.basis import BasisStudyConfig, run
>>> from tinylens.training import TrainConfig
>>> cfg = BasisStudyConfig(hidden=6, train=TrainConfig(epochs=60, optimizer="adam", lr=0.05),
...                        frames=4, sweep=False)
>>> result = run(cfg, progress=False)
>>> [f["epoch"] for f in result.frames]
[0, 15, 30, 45, 60]
>>> len(result.frames[-1]["ghosts"]), len(result.frames[-1]["ghosts"][0]) == len(result.grid)
(6, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.data import TARGETS, Dataset, regression_1d
from tinylens.engine import MLP
from tinylens.engine.init import as_rng
from tinylens.errors import DataError, ShapeError
from tinylens.geometry.approximation import rmse_against
from tinylens.geometry.basis import decompose
from tinylens.studies.basis.config import BasisStudyConfig
from tinylens.studies.basis.init import place_kinks
from tinylens.studies.basis.result import BasisResult, frame_of
from tinylens.studies.basis.sweep import width_sweep
from tinylens.training import fit

__all__ = ["run"]


def _check_data(data: Dataset) -> None:
    if data.X.ndim != 2 or data.X.shape[1] != 1 or data.y.ndim != 2 or data.y.shape[1] != 1:
        raise ShapeError(
            f"the basis study takes 1-D regression data (X and y of shape (n, 1)), got X "
            f"{data.X.shape} and y {data.y.shape}"
        )
    if not (np.isfinite(data.X).all() and np.isfinite(data.y).all()):
        raise DataError("the data holds NaN or infinite values; clean it first")


def run(
    config: BasisStudyConfig,
    *,
    data: Dataset | None = None,
    rng: Any = None,
    progress: bool = True,
) -> BasisResult:
    """Train, decompose every snapshot, and (with ``config.sweep``) sweep the width.

    Parameters
    ----------
    config : BasisStudyConfig
    data : Dataset, optional
        1-D regression data (X, y of shape (n, 1)); default ``regression_1d(config.target,
        config.n_samples, config.noise)``. The grid and the kinks' range are the target's range.
    rng : int or Generator, optional
        Default: ``config.seed``.
    progress : bool
        Progress bars on an interactive terminal.
    """
    cfg = config
    gen = as_rng(cfg.seed if rng is None else rng)
    if data is None:
        data = regression_1d(cfg.target, cfg.n_samples, cfg.noise, rng=gen)
    _check_data(data)
    fn, (lo, hi), _ = TARGETS[cfg.target]
    net = MLP([1, cfg.hidden, 1], rng=gen, init=cfg.init, input_names=("x",))
    if cfg.kinks == "data":
        net = place_kinks(net, float(data.X.min()), float(data.X.max()), rng=gen)
    history = fit(net, data, cfg.train_config(), rng=gen, quiet=not progress)
    snapshots = list(history.snapshots)
    if not snapshots or snapshots[-1][0] != len(history.epoch):
        snapshots.append((len(history.epoch), net.state_dict()))
    grid = np.linspace(lo, hi, cfg.grid_points).reshape(-1, 1)
    X64, y64 = data.X.astype(np.float64), data.y.astype(np.float64)
    frames = []
    snap = net.copy()
    for epoch, state in snapshots:
        snap.load_state_dict(state)
        b = decompose(snap, X=X64, domain=[(lo, hi)])
        loss = float(np.mean((b.output(X64) - y64) ** 2))
        frames.append(frame_of(b, epoch, loss, grid))
    basis = decompose(net, X=X64, domain=[(lo, hi)])
    sweep = None
    if cfg.sweep:
        sweep = width_sweep(
            cfg.sweep_targets,
            cfg.sweep_widths,
            seeds=cfg.sweep_seeds,
            train=cfg.sweep_train,
            n_samples=cfg.n_samples,
            init=cfg.init,
            kinks=cfg.kinks,
            seed=cfg.seed,
            quiet=not progress,
        )
    dead = basis.dead_on_data
    assert dead is not None and basis.dead_on_domain is not None
    metrics: dict[str, Any] = {
        "train_loss": frames[-1]["loss"],
        "rmse_on_target": rmse_against(lambda x: net.predict(x.astype(net.dtype)), fn, lo, hi),
        "neurons": cfg.hidden,
        "kinks_in_domain": int(basis.kink_in_domain.sum()),
        "dead_on_data": int(dead.sum()),
        "dead_at_init": int(sum(frames[0]["dead_on_data"])),
        "dead_on_domain": int(basis.dead_on_domain.sum()),
        "zero_slope": int(basis.constant.sum()),
        "frames": len(frames),
        "epochs_run": len(history.epoch),
    }
    return BasisResult(cfg, net, history, data, basis, grid, frames, snapshots, sweep, metrics)
