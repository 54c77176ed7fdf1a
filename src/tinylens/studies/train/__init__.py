"""The plain training study behind ``tinylens train``: data by name, an MLP (or a small CNN),
``fit``, a report.

``config.py`` (:class:`TrainStudyConfig`), ``run.py`` (:func:`run`, no files), ``result.py``
(:class:`TrainResult`), ``write.py`` (:func:`write`: files and the report section; the resume
point of an interrupted run).

>>> from tinylens.studies import train
>>> from tinylens.training import TrainConfig
>>> cfg = train.TrainStudyConfig(data="xor", data_params={"n": 200}, hidden=(8,),
...                              train=TrainConfig(epochs=5, lr=0.05), val_fraction=0)
>>> result = train.run(cfg, progress=False)
>>> result  # doctest: +ELLIPSIS
TrainResult(data='xor', net='2-8-2', train_loss=..., train_accuracy=..., epochs_run=5, \
parameters=42, samples=200)
"""

from tinylens.studies.train.config import TrainStudyConfig
from tinylens.studies.train.result import TrainResult
from tinylens.studies.train.run import run
from tinylens.studies.train.write import write

__all__ = ["TrainResult", "TrainStudyConfig", "run", "write"]
