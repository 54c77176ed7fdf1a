"""Read back: weights -> formula, motifs, and networks up to symmetry.

Imports :mod:`tinylens.circuits.expr` and :mod:`tinylens.circuits.exact`; never the compiler
(a formula read back must not depend on how a network was built)::

    symbolic.py     exact sums of ReLU atoms, pair folding, min / max presentation
    explanation.py  what explain returns: Explanation, UnitReading
    status.py       dead, always-active and switching units on a box (explain's first step)
    explain.py      weights -> formula (explain; read_formulas, the formulas alone)
    motifs.py       abs pairs, identity pairs, greaterness and sign detectors
    canonical.py    networks up to permutation and positive rescaling of units; match_circuit
"""

from tinylens.circuits.readback.canonical import (
    CanonicalNet,
    CircuitMatch,
    canonicalize,
    match_circuit,
    same_circuit,
)
from tinylens.circuits.readback.explain import (
    DEFAULT_DIGITS,
    MAX_EXACT_CELLS,
    MAX_TERMS,
    as_affine_net,
    as_domain,
    explain,
    read_formulas,
)
from tinylens.circuits.readback.explanation import Explanation, UnitReading
from tinylens.circuits.readback.motifs import MOTIF_KINDS, Motif, find_motifs
from tinylens.circuits.readback.symbolic import (
    PRESENT_SECONDS,
    SNAP_DENOMINATORS,
    Lin,
    abs_of,
    combine,
    formula_size,
    formula_string,
    relu_of,
    sympy_to_expr,
)

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_EXACT_CELLS",
    "MAX_TERMS",
    "MOTIF_KINDS",
    "PRESENT_SECONDS",
    "SNAP_DENOMINATORS",
    "CanonicalNet",
    "CircuitMatch",
    "Explanation",
    "Lin",
    "Motif",
    "UnitReading",
    "abs_of",
    "as_affine_net",
    "as_domain",
    "canonicalize",
    "combine",
    "explain",
    "find_motifs",
    "formula_size",
    "formula_string",
    "match_circuit",
    "read_formulas",
    "relu_of",
    "same_circuit",
    "sympy_to_expr",
]
