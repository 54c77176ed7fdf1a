"""The SAE study: a sparse dictionary at one hook point of an image classifier, and are its
latents more monosemantic than the layer's neurons?

``config.py`` (:class:`SAEStudyConfig`), ``run.py`` (:func:`run`, no files), ``result.py``
(:class:`SAEStudyResult`), ``write.py`` (:func:`write`: files and the report section).
"""

from tinylens.studies.sae.config import SAEStudyConfig
from tinylens.studies.sae.result import SAEStudyResult
from tinylens.studies.sae.run import run
from tinylens.studies.sae.write import write

__all__ = ["SAEStudyConfig", "SAEStudyResult", "run", "write"]
