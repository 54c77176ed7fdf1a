"""The geometry studies behind ``tinylens regions``: every linear region of a network in a box
(``--box``), or on a plane (or segment) through real inputs (``--through I,J,K``, ``--plane I``)
with the exact decision boundary; and the partition over training (``tinylens mnist
--geometry``, :mod:`.over_training`).

* :mod:`.config`: :class:`SliceStudyConfig`, :class:`RegionsStudyConfig` (the box);
* :mod:`.run`: :func:`run` (a slice), :func:`run_regions` (a box); they compute, write nothing;
* :mod:`.result`: :class:`SliceResult` (repr, notebook HTML, plot, tables), :class:`RegionsResult`;
* :mod:`.write`: :func:`write` (a slice), :func:`write_box` (a box), :func:`write_over_training`:
  the files and the report section.
"""

from tinylens.studies.geometry.config import RegionsStudyConfig, SliceStudyConfig
from tinylens.studies.geometry.result import RegionsResult, SliceResult
from tinylens.studies.geometry.run import run, run_regions
from tinylens.studies.geometry.write import write, write_box

__all__ = [
    "RegionsResult",
    "RegionsStudyConfig",
    "SliceResult",
    "SliceStudyConfig",
    "run",
    "run_regions",
    "write",
    "write_box",
]
