"""The basis study (``tinylens basis``): a 1-h-1 ReLU network as a sum of kinked lines, over
training, and how its error falls with width (the universal approximation theorem made
visible).

``config.py`` (:class:`BasisStudyConfig`), ``init.py`` (:func:`place_kinks`: kinks started inside
the data), ``run.py`` (:func:`run`, no files), ``sweep.py`` (:func:`width_sweep`: trained
networks next to the least-squares network, the interpolant and the 1/width^2 rate),
``result.py`` (:class:`BasisResult`), ``write.py`` (:func:`write`: files and the report section).
"""

from tinylens.studies.basis.config import KINK_STARTS, BasisStudyConfig
from tinylens.studies.basis.init import place_kinks
from tinylens.studies.basis.result import BasisResult
from tinylens.studies.basis.run import run
from tinylens.studies.basis.sweep import WidthSweep, sweep_caption, width_sweep
from tinylens.studies.basis.write import write

__all__ = [
    "KINK_STARTS",
    "BasisResult",
    "BasisStudyConfig",
    "WidthSweep",
    "place_kinks",
    "run",
    "sweep_caption",
    "width_sweep",
    "write",
]
