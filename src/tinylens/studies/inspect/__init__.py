"""``tinylens inspect`` as a study: a network's hook points, their activation shapes and, given
data, streaming statistics at each.

``config.py`` (:class:`InspectConfig`), ``run.py`` (:func:`run`), ``result.py``
(:class:`InspectResult`, which prints itself as the command's table). There is no ``write.py``:
the command prints, and writes no run directory.
"""

from tinylens.studies.inspect.config import InspectConfig
from tinylens.studies.inspect.result import HookPointInfo, InspectResult
from tinylens.studies.inspect.run import run

__all__ = ["HookPointInfo", "InspectConfig", "InspectResult", "run"]
