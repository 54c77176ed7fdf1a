"""Sweeps: any study's config (or a training config) times a parameter grid times seeds, run
anywhere.

A sweep runs on a local process pool by default and on a Dask cluster given a scheduler
address; the numbers are the same either way. Each run's result is stored as it finishes, so
a killed sweep resumes and a re-run skips what is done.

>>> from tinylens.sweeps import SweepSpec
>>> spec = SweepSpec.from_dict({"config": {"data": "xor", "train": {"epochs": 2}},
...                             "grid": {"train.optimizer": ["sgd", "adam"]}}, name="tiny")
>>> [r.params["train.optimizer"] for r in spec.expand()]
['sgd', 'adam']
"""

from tinylens.sweeps.registry import (
    SWEEP_STUDIES,
    SweepStudy,
    flat_metrics,
    package_study,
    study_names,
    sweep_study,
)
from tinylens.sweeps.results import SweepResult
from tinylens.sweeps.runner import SweepStore, run_sweep
from tinylens.sweeps.spec import RunSpec, SweepSpec, load_sweep, run_id_of
from tinylens.sweeps.work import execute, run_one

__all__ = [
    "SWEEP_STUDIES",
    "RunSpec",
    "SweepResult",
    "SweepSpec",
    "SweepStore",
    "SweepStudy",
    "execute",
    "flat_metrics",
    "load_sweep",
    "package_study",
    "run_id_of",
    "run_one",
    "run_sweep",
    "study_names",
    "sweep_study",
]
