"""The superposition study: toy models of superposition (Elhage et al., 2022).

``config.py`` the settings, ``run.py`` the training and measuring (no files), ``result.py`` the
result object, ``write.py`` its files and report section.

>>> from tinylens.studies.superposition import SuperpositionConfig, run, write
"""

from tinylens.studies.superposition.config import PhaseConfig, SuperpositionConfig, ToyTrainConfig
from tinylens.studies.superposition.result import PhaseDiagram, SuperpositionResult
from tinylens.studies.superposition.run import run
from tinylens.studies.superposition.write import write

__all__ = [
    "PhaseConfig",
    "PhaseDiagram",
    "SuperpositionConfig",
    "SuperpositionResult",
    "ToyTrainConfig",
    "run",
    "write",
]
