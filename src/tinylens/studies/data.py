"""The data a study trains or measures on, found by name: shared by the train, inspect, ablate
and SAE studies (not a study itself).

* :func:`load_named_dataset` -- a dataset by name, generators seeded, MNIST pointed at its files;
* :func:`evaluation_data` -- what a trained network is measured on (the held-out part of image
  data);
* :func:`check_trained_range` -- a note (and a warning) when that data lies outside the input
  range a weights file records;
* :func:`load_model` -- the network a study measures: the one passed in, or its weights file.

>>> load_named_dataset("spiral", {"n": 90}, seed=0).X.shape
(90, 2)
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from tinylens.data import DATASETS, IMAGE_DATASETS, Dataset, load_dataset, load_image_split

__all__ = ["check_trained_range", "evaluation_data", "load_model", "load_named_dataset"]


def load_named_dataset(
    name: str, params: dict[str, Any], seed: int, data_dir: str | None = None
) -> Dataset:
    """A dataset by name, seeding generators with ``seed`` and pointing MNIST at ``data_dir``."""
    if name not in DATASETS:
        return load_dataset(name)  # raises UnknownNameError with suggestions
    accepted = inspect.signature(DATASETS[name]).parameters
    kwargs = dict(params)
    if "rng" in accepted and "rng" not in kwargs:
        kwargs["rng"] = seed
    if data_dir is not None and "data_dir" in accepted:
        kwargs["data_dir"] = data_dir
    return load_dataset(name, **kwargs)


def evaluation_data(
    name: str, params: dict[str, Any], seed: int, data_dir: str | None = None
) -> tuple[Dataset, str, list[str]]:
    """``(dataset, source, notes)`` to measure a trained network on.

    Image datasets give their held-out split (with notes when MNIST is substituted); the
    others are generated from ``seed``.
    """
    if name in IMAGE_DATASETS and not params:
        split = load_image_split(name, data_dir, seed=seed)
        return split.test, f"{split.source}, test part", list(split.notes)
    data = load_named_dataset(name, params, seed, data_dir)
    return data, name, []


def check_trained_range(path: str, X: np.ndarray, source: str) -> list[str]:
    """Compare ``X`` with the input range recorded in the weights file (if any): a mismatch
    warns (:class:`~tinylens.probes.InputRangeWarning`) and returns it as a report note."""
    import warnings

    from tinylens.io import read_info
    from tinylens.probes import InputRangeWarning, input_range_from_info, input_range_problem

    trained = input_range_from_info(read_info(path).get("info"))
    problem = None if trained is None else input_range_problem(X, trained, what=f"{source} inputs")
    if problem is None:
        return []
    warnings.warn(problem, InputRangeWarning, stacklevel=2)
    return [problem[0].upper() + problem[1:] + "; every number here is measured on such inputs."]


def load_model(path: str, model: Any = None) -> Any:
    """``model`` if given, else the network in the weights file ``path`` (which
    :func:`tinylens.io.load` refuses when it holds NaN or infinite weights)."""
    if model is not None:
        return model
    if not path:
        from tinylens.errors import ConfigError

        raise ConfigError("no model: give the study a weights file (MODEL) or pass model=")
    from tinylens.io import load

    return load(path)
