"""The slice study behind ``tinylens regions MODEL --through I,J,K`` (or ``--plane I``): every
linear region of a network on a plane (or segment) through real inputs, with the exact
decision boundary.

* :mod:`.config`: :class:`SliceStudyConfig`;
* :mod:`.run`: :func:`run` (computes, writes nothing);
* :mod:`.result`: :class:`SliceResult` (repr, notebook HTML, plot, tables);
* :mod:`.write`: :func:`write` (files and the report section).
"""

from tinylens.studies.geometry.config import SliceStudyConfig
from tinylens.studies.geometry.result import SliceResult
from tinylens.studies.geometry.run import run
from tinylens.studies.geometry.write import write

__all__ = ["SliceResult", "SliceStudyConfig", "run", "write"]
