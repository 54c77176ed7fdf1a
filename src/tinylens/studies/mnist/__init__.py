"""The MNIST probing study (``tinylens mnist``): the 784-32-16-10 MLP that
eriktholmes/interpreting_mnist probed, trained as that project trained it, its neurons followed
epoch by epoch, then taken apart; its variants side by side; and a small CNN with the same
diagnostics per channel.

Read it from its file names: ``config.py`` (:class:`MnistStudyConfig`, :class:`AnalysisConfig`),
``models.py`` (the variants, the data, training with streaming statistics), ``analysis.py``
(:func:`analyse_model`: every analysis of one trained model, yours included), ``run.py``
(:func:`run`, no files), ``result.py`` (:class:`MnistResult`), ``metrics.py``
(``metrics.json``), ``write.py`` (:func:`write`: files and report sections, drawn by
``sections_training.py`` and ``sections_probing.py``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# NOTE: names load on first use (PEP 562), so that ``tinylens mnist --help`` and the CLI's
# defaults (read from config.py) do not pay for the analyses' imports.
_WHERE = {
    "LayerAnalysis": "analysis",
    "ModelAnalysis": "analysis",
    "analyse_model": "analysis",
    "neuron_points": "analysis",
    "selective_units": "analysis",
    "ANALYSES": "config",
    "EMBEDDING_METHODS": "config",
    "SOURCE": "config",
    "SOURCE_TEST_ACCURACY": "config",
    "VARIANTS": "config",
    "AnalysisConfig": "config",
    "MnistStudyConfig": "config",
    "build_variant": "models",
    "load_data": "models",
    "train_model": "models",
    "variant_data": "models",
    "MnistResult": "result",
    "MnistStudyResult": "result",
    "ModelRun": "result",
    "run": "run",
    "run_mnist": "run",
    "write": "write",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


class _Package(types.ModuleType):
    """``run`` and ``write`` name both a submodule and its function; as in the other study
    packages, the package's attribute is the function: importing the submodule does not rebind
    it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("run", "write") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "ANALYSES",
    "EMBEDDING_METHODS",
    "SOURCE",
    "SOURCE_TEST_ACCURACY",
    "VARIANTS",
    "AnalysisConfig",
    "LayerAnalysis",
    "MnistResult",
    "MnistStudyConfig",
    "MnistStudyResult",
    "ModelAnalysis",
    "ModelRun",
    "analyse_model",
    "build_variant",
    "load_data",
    "neuron_points",
    "run",
    "run_mnist",
    "selective_units",
    "train_model",
    "variant_data",
    "write",
]
