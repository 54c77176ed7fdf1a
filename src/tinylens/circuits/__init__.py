"""Circuits: exact ReLU networks built by hand, compiled from expressions, verified, and found.

The pipeline is readable from the sub-packages, each a stage that imports only the stages
below it (``lint-imports`` checks it)::

    expr/      the shared language: rationals (rational.py), the syntax tree (syntax.py), the
               parser (parse.py, never eval), the reference interpreter, the oracle
               (interpret.py), and domains (domain.py)
    exact/     exact piecewise-affine maps on a box (polytope.py, cells.py, compare.py,
               piecewise.py) and verify.py: network == reference on the whole domain, exactly
    compile/   expression -> exact ReLU network: bounds.py, graph.py, expr_to_graph.py
               (expr_functions.py the function calls), graph_to_weights.py, compiler.py
    library/   the hand-derived networks of our sources (catalog.py)
    readback/  weights -> formula: symbolic.py, explain.py (explanation.py the result),
               motifs.py; canonical.py networks up to permutation and rescaling of units
    minimal/   the smallest networks: search.py (MILP + exact proof), is_even_bound.py,
               size_table.py

Each stage's ``__init__`` exports that stage's API; ``tinylens.circuits`` re-exports the
names users call (``__all__``), so ``from tinylens.circuits import verify`` works as before.

>>> import tinylens.circuits as tc
>>> c = tc.compile_expression("max(x1, x2, x3)")
>>> c.neurons, c.net.sizes
(8, [3, 5, 3, 1])
>>> tc.get_circuit("abs").net.layers[0].weight.tolist()
[[Fraction(1, 1)], [Fraction(-1, 1)]]
"""

from tinylens.circuits.compile import CompiledCircuit, compile_expression, count_neurons
from tinylens.circuits.exact import (
    BoxComparison,
    Verification,
    compare_on_box,
    exact_outputs,
    network_cells,
    verify,
    verify_real_box,
)
from tinylens.circuits.expr import (
    FUNCTIONS,
    Domain,
    Expr,
    Interval,
    evaluate,
    exact_net,
    interpret,
    load_exact,
    net_from_strings,
    net_to_strings,
    parse,
    parse_domain,
    to_sympy_string,
)
from tinylens.circuits.library import CIRCUIT_ALIASES, CIRCUITS, Circuit, circuit_names, get_circuit
from tinylens.circuits.minimal import WidthSearch, is_even_bound, minimal_width
from tinylens.circuits.readback import (
    CanonicalNet,
    CircuitMatch,
    Explanation,
    Motif,
    canonicalize,
    explain,
    find_motifs,
    match_circuit,
    same_circuit,
)

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
