"""The studies a sweep can run, by name: how to build each one's config and what it measures.

A sweep names a study (``train``, the plain training run, or ``optimizers``); its ``config``
section is that study's YAML layout. Lookups happen inside the worker, so nothing but plain
dicts travels to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinylens.errors import UnknownNameError

__all__ = ["SWEEP_STUDIES", "SweepStudy", "sweep_study"]


@dataclass(frozen=True)
class SweepStudy:
    """A study as a sweep sees it.

    Parameters
    ----------
    name : str
    build : callable
        ``build(config_dict) -> config``; validates, raising ConfigError for unknown keys.
    run : callable
        ``run(config) -> dict of str -> float``: the run's scalar metrics.
    description : str
    headline : tuple of str
        The metrics plotted when the sweep does not say (``plot.metrics`` or ``collect``).
    """

    name: str
    build: Callable[[dict[str, Any]], Any]
    run: Callable[[Any], dict[str, float]]
    description: str = ""
    headline: tuple[str, ...] = ()


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in metrics.items():
        if isinstance(v, bool):
            out[k] = float(v)
        elif isinstance(v, (int, float)):
            out[k] = float(v) if math.isfinite(v) else float("nan")
    return out


def _build_train(d: dict[str, Any]) -> Any:
    from tinylens.studies.train import TrainStudyConfig

    return TrainStudyConfig.from_dict(d)


def _run_train(cfg: Any) -> dict[str, float]:
    from tinylens.studies.train import run_train

    return _scalars(run_train(cfg, quiet=True).metrics)


def _build_optimizers(d: dict[str, Any]) -> Any:
    from tinylens.studies.optimizers import OptimizerStudyConfig

    return OptimizerStudyConfig.from_dict(d)


def _run_optimizers(cfg: Any) -> dict[str, float]:
    from tinylens.studies.optimizers import run

    # The sweep has pinned BLAS for the whole worker already.
    return _scalars(run(cfg, progress=False, blas_threads=None).metrics)


SWEEP_STUDIES: dict[str, SweepStudy] = {
    "train": SweepStudy(
        "train",
        _build_train,
        _run_train,
        "a plain training run (tinylens train): data, arch, activation, train.{epochs, "
        "optimizer, lr, ...}, val_fraction, seed",
        ("val_accuracy", "val_loss", "train_loss"),
    ),
    "optimizers": SweepStudy(
        "optimizers",
        _build_optimizers,
        _run_optimizers,
        "the optimizer study (tinylens optimizers); metrics '<optimizer>.<measure>'",
    ),
}


def sweep_study(name: str) -> SweepStudy:
    if name not in SWEEP_STUDIES:
        raise UnknownNameError("sweep study", name, SWEEP_STUDIES)
    return SWEEP_STUDIES[name]
