"""The ablation study behind ``tinylens ablate``: which neurons (or channels) of a trained
network matter, for which classes, alone, in pairs and scaled.

``config.py`` (:class:`AblateConfig`), ``run.py`` (:func:`run`, no files), ``result.py``
(:class:`AblateResult`), ``write.py`` (:func:`write`: CSV tables, figures and the report
section).
"""

from tinylens.studies.ablate.config import AblateConfig
from tinylens.studies.ablate.result import AblateResult
from tinylens.studies.ablate.run import default_layers, resolve_layers, run
from tinylens.studies.ablate.write import write

__all__ = ["AblateConfig", "AblateResult", "default_layers", "resolve_layers", "run", "write"]
