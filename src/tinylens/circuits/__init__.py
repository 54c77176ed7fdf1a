"""Circuits: exact ReLU networks built by hand, compiled from expressions, verified, and found.

The pipeline is readable from the file names::

    parse.py          text -> syntax tree (expr.py), never eval
    interpret.py      syntax tree -> exact values: the reference (oracle)
    expr_to_graph.py  syntax tree -> layers of ReLU units (the constructions; bounds.py,
                      expr_functions.py for the function calls, graph.py the units)
    graph_to_weights.py  units -> an exact AffineNet (fractions.Fraction weights)
    compiler.py       the whole pipeline: compile_expression
    verify.py         network == reference on the whole domain, exactly (domain.py)
    polytope.py       exact rational polytopes, split by hyperplanes
    piecewise.py      networks and expressions as exact piecewise-affine maps on a box
                      (cells.py the cells, compare.py compare_on_box)
    library.py        the hand-derived networks of our sources
    canonical.py      networks up to permutation and positive rescaling of units
    explain.py        weights -> formula (circuits explain; explanation.py the result);
                      motifs.py: pairs, detectors
    minimal.py        the smallest networks (MILP + exact proof); the is_even bound

>>> import tinylens.circuits as tc
>>> c = tc.compile_expression("max(x1, x2, x3)")
>>> c.neurons, c.net.sizes
(8, [3, 5, 3, 1])
>>> tc.get_circuit("abs").net.layers[0].weight.tolist()
[[Fraction(1, 1)], [Fraction(-1, 1)]]
"""

from tinylens.circuits.canonical import (
    CanonicalNet,
    CircuitMatch,
    canonicalize,
    match_circuit,
    same_circuit,
)
from tinylens.circuits.compiler import CompiledCircuit, compile_expression, count_neurons
from tinylens.circuits.domain import Domain, Interval, parse_domain
from tinylens.circuits.exact import exact_net, load_exact, net_from_strings, net_to_strings
from tinylens.circuits.explain import Explanation, explain
from tinylens.circuits.expr import FUNCTIONS, Expr, to_sympy_string
from tinylens.circuits.interpret import evaluate, interpret
from tinylens.circuits.is_even_bound import is_even_bound
from tinylens.circuits.library import CIRCUIT_ALIASES, CIRCUITS, Circuit, circuit_names, get_circuit
from tinylens.circuits.minimal import WidthSearch, minimal_width
from tinylens.circuits.motifs import Motif, find_motifs
from tinylens.circuits.parse import parse
from tinylens.circuits.piecewise import BoxComparison, compare_on_box, network_cells
from tinylens.circuits.verify import Verification, exact_outputs, verify, verify_real_box

__all__ = [
    "CIRCUITS",
    "CIRCUIT_ALIASES",
    "FUNCTIONS",
    "BoxComparison",
    "CanonicalNet",
    "Circuit",
    "CircuitMatch",
    "CompiledCircuit",
    "Domain",
    "Explanation",
    "Expr",
    "Interval",
    "Motif",
    "Verification",
    "WidthSearch",
    "canonicalize",
    "circuit_names",
    "compare_on_box",
    "compile_expression",
    "count_neurons",
    "evaluate",
    "exact_net",
    "exact_outputs",
    "explain",
    "find_motifs",
    "get_circuit",
    "interpret",
    "is_even_bound",
    "load_exact",
    "match_circuit",
    "minimal_width",
    "net_from_strings",
    "net_to_strings",
    "network_cells",
    "parse",
    "parse_domain",
    "same_circuit",
    "to_sympy_string",
    "verify",
    "verify_real_box",
]
