"""Does gradient descent find the circuit? Train many seeds at once and look at what they learn.

For a target with a known hand-derived circuit (identity, abs, min, is_even, ...), train ``K``
seeds of the sources' architecture at once (:class:`~tinylens.engine.BatchedMLP` through
:func:`~tinylens.training.fit`), then sort every seed into one outcome:

====================================  ======================================================
outcome                               meaning (checked in this order)
====================================  ======================================================
diverged                              the loss became NaN/inf; the seed was frozen
success                               loss < ``tol`` on the evaluation set AND the formula
                                      read back out of the weights (``circuits.explain``,
                                      two decimals) equals the target on its domain, decided
                                      exactly (the sigmoid target, which has no exact
                                      formula: its unit's structure instead)
solved, other formula                 loss < ``tol``, but the read-back formula is not the
                                      target's
stuck at the mean                     (nearly) constant output, equal to the targets' mean
constant output                       (nearly) constant output elsewhere (dead or saturated)
works for x > 0 only / x < 0 only     one-input real targets: exact on one side of 0 only
                                      (both units point the same way: a reconstructor)
works on part of the domain only      no first-layer unit is active on a part (>= 5%) of the
                                      domain, where the output is constant and carries at
                                      least half the error: a wedge left uncovered
dead unit                             a first-layer unit never active on the domain
not converged                         loss < 1e-3: still going down at the end
other (local minimum)                 anything else
====================================  ======================================================

Next to the read-back, every seed with loss < ``tol`` is also checked *structurally*: is
the network a known circuit up to permutation and positive rescaling of its units
(``same_circuit``)? Both rates are reported (``success_rate`` and ``structural_rate``); they
differ when a seed computes the target with another arrangement of units (min's mirror image,
a duplicated unit) or when two decimals are not enough to read it.

The evaluation set is a fixed grid of the domain (every integer for integer targets), the
same for every seed; the data a variant trains on are the same for every seed too, so seeds
differ only in their initial weights.

The package, by file: ``targets.py`` (:data:`TARGETS`, their data and evaluation grid),
``config.py`` (:class:`RecoveryConfig`), ``run.py`` (:func:`run`, no files), ``classify.py``
(the outcomes), ``variant.py`` and ``result.py`` (:class:`VariantResult`,
:class:`RecoveryResult`), ``write.py`` (:func:`write`: files and the report section).

>>> result = run(RecoveryConfig(target="abs", seeds=16, steps=200), quiet=True)
>>> 0 < result.main.success_rate < 1
True
"""

from tinylens.studies.recovery.classify import (
    OUTCOMES,
    READBACK_DIGITS,
    Classification,
    classify,
    classify_seeds,
    read_back,
)
from tinylens.studies.recovery.config import RecoveryConfig
from tinylens.studies.recovery.result import RecoveryResult
from tinylens.studies.recovery.run import learning_rate, run, run_recovery
from tinylens.studies.recovery.targets import (
    DEFAULT_LR,
    DISTRIBUTIONS,
    TARGETS,
    RecoveryTarget,
    eval_grid,
    training_data,
)
from tinylens.studies.recovery.variant import VariantResult
from tinylens.studies.recovery.write import write

__all__ = [
    "DEFAULT_LR",
    "DISTRIBUTIONS",
    "OUTCOMES",
    "READBACK_DIGITS",
    "TARGETS",
    "Classification",
    "RecoveryConfig",
    "RecoveryResult",
    "RecoveryTarget",
    "VariantResult",
    "classify",
    "classify_seeds",
    "eval_grid",
    "learning_rate",
    "read_back",
    "run",
    "run_recovery",
    "training_data",
    "write",
]
