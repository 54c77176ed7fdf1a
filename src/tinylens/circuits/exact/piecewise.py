"""Networks and expressions as exact piecewise-affine maps on a box, and their difference.

A ReLU network is affine on each cell of a polyhedral partition of its input box; so is every
real-valued expression of the circuit language built from ``+ - *`` and ``/`` by constants,
``abs``, ``relu``, ``min``, ``max`` and ``clamp``. This module computes those cells *exactly*
(:mod:`~tinylens.circuits.exact.polytope`: rational vertices, no tolerance anywhere) and the
affine map of the network or the expression on each one, and from them the exact largest
difference of two such functions on a box (:func:`compare_on_box`).

How a cell is found. Evaluate the function symbolically on a polytope ``P``, carrying every
quantity as an affine form ``g . x + h`` (exact Fractions). At a kink (a ReLU unit, ``abs``,
``min``, ...) the argument ``z`` is an affine form on ``P``; its exact values at ``P``'s
vertices decide the branch: all ``>= 0`` means ``z >= 0`` on all of ``P`` (``P`` is the convex
hull of its vertices), all ``<= 0`` the other branch, and mixed signs split ``P`` along
``z = 0`` into two full-dimensional halves, each evaluated again. When evaluation finishes
without a split the function is one affine map on ``P``.

How the difference is bounded. ``f - g`` is affine on each common cell, so its largest absolute
value over the (closed) cell is attained at a vertex: the maximum over all vertices of all
cells is the exact maximum over the box, attained at a rational point. Two affine maps agree
on a full-dimensional cell iff all their coefficients agree, i.e. iff ``f - g`` vanishes at
every vertex.

Comparisons (``<``, ``==``...), ``where`` and ``(x > 0) * y`` on *real* arguments are
discontinuous. They split cells along their switching hyperplanes like any kink and are exact
on every open cell; on the switching set itself (a set of measure zero) they take a value the
open cells do not show. :class:`BoxComparison` lists such constructs in ``discontinuous`` when
their switching set meets the box, so a caller can say what was and was not checked.
``is_even`` needs an integer argument and a product of two varying quantities is not piecewise
affine: both raise :class:`~tinylens.errors.ConfigError`.

>>> from tinylens.circuits.expr import parse
>>> from tinylens.circuits.library import get_circuit
>>> from tinylens.circuits.expr import parse_domain
>>> r = compare_on_box(get_circuit("min").net, parse("min(x1, x2)"),
...                    parse_domain("x1=-1:1,x2=-1:1"))
>>> r.max_error, r.cells
(Fraction(0, 1), 4)
>>> r = compare_on_box(get_circuit("min").net, parse("min(x1, x2) + relu(x1 - 1/2) / 10"),
...                    parse_domain("x1=-1:1,x2=-1:1"))
>>> r.max_error, r.worst_point
(Fraction(1, 20), {'x1': Fraction(1, 1), 'x2': Fraction(-1, 1)})
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

__all__ = [
    "DEFAULT_MAX_CELLS",
    "BoxComparison",
    "NetCell",
    "Program",
    "compare_on_box",
    "exact_copy",
    "expression_cells",
    "network_cells",
    "relu_units",
]
