"""The optimizer study behind ``tinylens optimizers``: SGD, both momentum rules, Adam (and more)
compared over several seeds, with error bars, times to a target loss, the update rules, an
optional learning-rate grid per optimizer, and the optimizers' paths on 2-D surfaces. It
reproduces the optimizer benchmark of msmrexe/interpretable-neural-basis-decomposition on its
settings and keys.

* :mod:`.config`: :class:`OptimizerStudyConfig` (:mod:`.layout` the YAML keys, :mod:`.hyper`
  the per-optimizer hyperparameters);
* :mod:`.data`: :func:`load_study_data`;
* :mod:`.run`: :func:`run` (trains and measures, writes nothing);
* :mod:`.result`: :class:`OptimizerStudyResult` (repr, notebook HTML, plot, tables);
* :mod:`.write`: :func:`write` (files and the report section);
* :mod:`.paths`: paths on 2-D surfaces; :mod:`.rules`: the update rules as formulas.

Every optimizer of a seed starts from the same initial weights and sees the same minibatches,
so differences between optimizers are paired, not confounded with initialisation.

>>> from tinylens.studies.optimizers import OptimizerStudyConfig, run
>>> cfg = OptimizerStudyConfig.from_dict({
...     "dataset": "spiral", "optimizers": ["sgd", "adam"], "seeds": 2, "paths": False,
...     "data": {"spiral": {"n_points": 60}}, "training": {"epochs": 3}})
>>> run(cfg, progress=False)  # doctest: +ELLIPSIS
OptimizerStudyResult(spiral, 2 optimizers x 2 seeds, 3 epochs; best adam ...)
"""

from tinylens.studies.optimizers.config import ALL_OPTIMIZERS, STUDY_DATASETS, OptimizerStudyConfig
from tinylens.studies.optimizers.data import StudyData, load_study_data
from tinylens.studies.optimizers.hyper import resolved_hyperparameters
from tinylens.studies.optimizers.layout import read_config_file
from tinylens.studies.optimizers.paths import (
    SURFACES,
    OptimizerPath,
    Surface,
    optimizer_path,
    optimizer_paths,
    paths_figure,
)
from tinylens.studies.optimizers.result import OptimizerRun, OptimizerStudyResult
from tinylens.studies.optimizers.rules import RULE_NAMES, update_rule_text, update_rules_mathml
from tinylens.studies.optimizers.run import run, run_optimizers
from tinylens.studies.optimizers.write import write

__all__ = [
    "ALL_OPTIMIZERS",
    "RULE_NAMES",
    "STUDY_DATASETS",
    "SURFACES",
    "OptimizerPath",
    "OptimizerRun",
    "OptimizerStudyConfig",
    "OptimizerStudyResult",
    "StudyData",
    "Surface",
    "load_study_data",
    "optimizer_path",
    "optimizer_paths",
    "paths_figure",
    "read_config_file",
    "resolved_hyperparameters",
    "run",
    "run_optimizers",
    "update_rule_text",
    "update_rules_mathml",
    "write",
]
