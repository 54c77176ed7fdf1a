"""Exact: a network or an expression as exact piecewise-affine maps, and verification.

Imports only :mod:`tinylens.circuits.expr`::

    polytope.py   convex polytopes with rational vertices, split by hyperplanes
    cells.py      the exact cells of a network or an expression, with the affine map on each
    compare.py    compare_on_box: the exact largest difference of two of them on a box
    piecewise.py  the method, told once (re-exports cells.py and compare.py)
    verify.py     network == reference on the whole domain, exactly
"""

from tinylens.circuits.exact.cells import (
    DEFAULT_MAX_CELLS,
    NetCell,
    Program,
    exact_copy,
    expression_cells,
    network_cells,
    relu_units,
)
from tinylens.circuits.exact.compare import BoxComparison, compare_on_box
from tinylens.circuits.exact.polytope import Hyperplanes, Polytope, box_polytope, rank
from tinylens.circuits.exact.verify import (
    DEFAULT_MAX_POINTS,
    MAX_BOX_WORK,
    Reference,
    Verification,
    check_box_work,
    exact_outputs,
    verify,
    verify_real_box,
)

__all__ = [
    "DEFAULT_MAX_CELLS",
    "DEFAULT_MAX_POINTS",
    "MAX_BOX_WORK",
    "BoxComparison",
    "Hyperplanes",
    "NetCell",
    "Polytope",
    "Program",
    "Reference",
    "Verification",
    "box_polytope",
    "check_box_work",
    "compare_on_box",
    "exact_copy",
    "exact_outputs",
    "expression_cells",
    "network_cells",
    "rank",
    "relu_units",
    "verify",
    "verify_real_box",
]
