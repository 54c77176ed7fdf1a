"""The studies a sweep can run, by name: how to build each one's config and what it measures.

Every study package in :mod:`tinylens.studies` that has the one study shape (``config``,
``run``, ``result`` modules; ``run(config, *, progress=...)`` returning a result with
``metrics``) can be swept, under its package name (``optimizers``, ``topology``,
``superposition``, ``sae``, ``geometry``, ...), with no code per study:

* **build**: the config class is the annotation of ``run``'s first parameter, and its
  ``from_dict`` reads the sweep's ``config`` section (unknown keys are errors there);
* **run**: ``run(config, progress=False)``;
* **metrics**: ``result.metrics`` (a property or a method), flattened to scalars (nested keys
  joined with dots, list items by index: ``best.0.represented``); non-numbers are left out.

``train`` and ``optimizers`` are registered by hand only to name their description and the
metrics a sweep plots by default (``train``'s headline).
Lookups happen inside the worker, so nothing but plain dicts travels to it.

>>> sorted(n for n in study_names() if n in ("optimizers", "topology", "train"))
['optimizers', 'topology', 'train']
>>> flat_metrics({"a": 1, "b": {"c": [0.5, True]}, "d": "text"})
{'a': 1.0, 'b.c.0': 0.5, 'b.c.1': 1.0}
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinylens.errors import ConfigError, UnknownNameError

__all__ = [
    "SWEEP_STUDIES",
    "SweepStudy",
    "flat_metrics",
    "package_study",
    "study_names",
    "sweep_study",
]


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


def flat_metrics(metrics: Any, prefix: str = "") -> dict[str, float]:
    """The numbers in ``metrics`` (nested dicts and lists) as one flat ``{dotted key: float}``;
    booleans count as 0/1, non-finite numbers become NaN, anything else is left out."""
    out: dict[str, float] = {}
    if isinstance(metrics, dict):
        items: Any = ((str(k), v) for k, v in metrics.items())
    elif isinstance(metrics, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(metrics))
    else:
        return out
    for key, v in items:
        name = f"{prefix}{key}"
        if isinstance(v, (bool, int, float)) and not isinstance(v, complex):
            out[name] = float(v) if math.isfinite(v) else float("nan")
        elif hasattr(v, "item") and getattr(v, "ndim", None) == 0:  # a NumPy scalar
            out.update(flat_metrics({key: v.item()}, prefix))
        else:
            out.update(flat_metrics(v, f"{name}."))
    return out


_STUDIES_PACKAGE = "tinylens.studies"


def package_study(module: str, name: str | None = None, description: str = "") -> SweepStudy:
    """The :class:`SweepStudy` of a study package with the one study shape (see the module
    docstring), e.g. ``package_study("tinylens.studies.superposition")``."""
    label = name or module.rpartition(".")[2]

    def entry() -> Any:
        pkg = importlib.import_module(module)
        run = getattr(pkg, "run", None)
        if not callable(run):
            raise ConfigError(f"study {label!r} ({module}) has no run(config, ...) function")
        return run

    def config_class() -> Any:
        run = entry()
        first, param = next(iter(inspect.signature(run).parameters.items()))
        try:
            cls = typing.get_type_hints(run).get(first)
        except NameError:  # another annotation names a type imported for type checking only
            cls = getattr(importlib.import_module(module), str(param.annotation), None)
        if not hasattr(cls, "from_dict"):
            raise ConfigError(f"study {label!r}: run's {first!r} is not a config with from_dict")
        return cls

    def build(d: dict[str, Any]) -> Any:
        return config_class().from_dict(d)

    def run(cfg: Any) -> dict[str, float]:
        kwargs: dict[str, Any] = {"progress": False}
        if "blas_threads" in inspect.signature(entry()).parameters:
            kwargs["blas_threads"] = None  # the sweep has pinned BLAS for the whole worker
        metrics = entry()(cfg, **kwargs).metrics
        return flat_metrics(metrics() if callable(metrics) else metrics)  # a method or property

    text = description or f"the {label} study ({module}); metrics: its result's metrics, flattened"
    return SweepStudy(label, build, run, text)


SWEEP_STUDIES: dict[str, SweepStudy] = {
    "train": dataclasses.replace(
        package_study(
            f"{_STUDIES_PACKAGE}.train",
            description="a plain training run (tinylens train): data, hidden (or arch), "
            "activation, train.{epochs, optimizer, lr, ...}, val_fraction, seed",
        ),
        headline=("val_accuracy", "val_loss", "train_loss"),
    ),
    "optimizers": package_study(
        f"{_STUDIES_PACKAGE}.optimizers",
        description="the optimizer study (tinylens optimizers); metrics '<optimizer>.<measure>'",
    ),
}
"""The studies registered by hand; every other study package is found by :func:`study_names`."""


def _study_packages() -> list[str]:
    """The sub-packages of ``tinylens.studies`` that have the study shape, by their files."""
    pkg = importlib.import_module(_STUDIES_PACKAGE)
    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.ispkg:
            continue
        inner = {m.name for m in pkgutil.iter_modules([f"{pkg.__path__[0]}/{info.name}"])}
        if {"config", "run", "result"} <= inner:
            names.append(info.name)
    return sorted(names)


def study_names() -> list[str]:
    """Every study a sweep can name: the registered ones and each study package."""
    return sorted({*SWEEP_STUDIES, *_study_packages()})


def sweep_study(name: str) -> SweepStudy:
    if name in SWEEP_STUDIES:
        return SWEEP_STUDIES[name]
    if name in _study_packages():
        return package_study(f"{_STUDIES_PACKAGE}.{name}")
    raise UnknownNameError("sweep study", name, study_names())
