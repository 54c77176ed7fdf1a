"""The circuit library as a report (``tinylens circuits list --out``, and the demo): every
hand-derived network drawn with its exact weights, beside what the compiler builds.

``config.py`` (:class:`LibraryConfig`), ``run.py`` (:func:`run`, no files), ``result.py``
(:class:`LibraryResult`), ``write.py`` (:func:`write`: the diagrams and tables).
"""

from tinylens.studies.circuit_library.config import LibraryConfig
from tinylens.studies.circuit_library.result import LibraryEntry, LibraryResult
from tinylens.studies.circuit_library.run import run
from tinylens.studies.circuit_library.write import circuit_widget_spec, write

__all__ = ["LibraryConfig", "LibraryEntry", "LibraryResult", "circuit_widget_spec", "run", "write"]
