"""The size table of ``circuits minimal --table``: hand-derived (and whose), compiled and
smallest one-hidden-layer sizes of small functions (split from ``search.py``)."""

from __future__ import annotations

from typing import Any

from tinylens.circuits.expr import Expr, parse, parse_domain
from tinylens.circuits.minimal.is_even_bound import is_even_bound
from tinylens.circuits.minimal.search import minimal_width

__all__ = ["HAND_SOURCES", "SLOW", "TABLE_ROWS", "is_even_bits", "size_table"]


# -- the table ------------------------------------------------------------------------------------

TABLE_ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("x", "x=-1:1", "identity"),
    ("abs(x)", "x=-1:1", "abs"),
    ("relu(x)", "x=-1:1", "positive_detector"),
    ("min(x, 0)", "x=-1:1", "negative_reconstructor"),
    ("x1 + x2", "x1=-1:1,x2=-1:1", "add"),
    ("x1 - x2", "x1=-1:1,x2=-1:1", "subtract"),
    ("relu(x1 - x2)", "x1=-1:1,x2=-1:1", "greater_detector"),
    ("min(x1, x2)", "x1=-1:1,x2=-1:1", "min"),
    ("max(x1, x2)", "x1=-1:1,x2=-1:1", "max"),
    ("x < 10", "x=0..19", "less_than_step"),
    ("is_even(x, bits=2)", "x=0..3", None),
    ("is_even(x, bits=3)", "x=0..7", None),
    ("is_even(x, bits=4)", "x=0..15", "is_even"),
)
"""The functions of the size table: expression, domain, library entry (hand-derived)."""

SOSIER = "sosier/Mathematical_Circuits_in_Neural_Nets"

HAND_SOURCES: dict[str, str] = {
    "x": f"{SOSIER}: identity circuit relu(x) - relu(-x)",
    "abs(x)": f"tinylens: relu(x) + relu(-x), the two detectors of {SOSIER} summed",
    "relu(x)": f"{SOSIER}: positiveness detector",
    "min(x, 0)": f"tinylens's reading of {SOSIER}'s negativeness detector: -relu(-x)",
    "x1 + x2": "tinylens: relu(x1 + x2) - relu(-x1 - x2) (our construction)",
    "x1 - x2": f"{SOSIER}: subtraction circuit",
    "relu(x1 - x2)": f"{SOSIER}: greaterness detector",
    "min(x1, x2)": f"{SOSIER}: minimum network x1 - relu(x1 - x2), x1 through an identity pair",
    "max(x1, x2)": f"tinylens: the minimum network of {SOSIER} mirrored (our construction)",
    "x < 10": "tinylens's exact ReLU step relu(10 - x) - relu(9 - x) (our construction); the "
    'article "A gentle introduction to mechanistic interpretability through simple '
    'algorithmic examples" used one sigmoid unit, which only approximates the step',
    "is_even(x, bits=4)": "the parity network our sources call 'is_even' (it computes x mod 2), "
    "its last layer changed by tinylens to give 1 for even x",
}
"""What each hand-derived row of the size table is, and whose it is."""

SLOW = {"is_even(x, bits=3)": 90.0, "is_even(x, bits=4)": 600.0}
"""Rows whose MILP takes long (seconds, roughly, on a laptop core): skipped unless asked."""


def size_table(*, slow: bool = False, time_limit: float = 20.0) -> list[dict[str, Any]]:
    """Hand-derived, compiled and smallest one-hidden-layer sizes of small functions, and for
    is_even the bounds of :func:`is_even_bound` (every network verified exactly).

    ``slow``: also run the MILP for the rows in :data:`SLOW` (is_even on 8 and 16 points).
    """
    from tinylens.circuits.compile import compile_expression
    from tinylens.circuits.library import get_circuit

    rows = []
    for source, dom, name in TABLE_ROWS:
        expr = parse(source)
        domain = parse_domain(dom, names=expr.sorted_variables())
        compiled = compile_expression(expr, domain=domain, verify=True)
        hand = get_circuit(name) if name else None
        row: dict[str, Any] = {
            "expression": source,
            "domain": str(domain),
            "hand_derived": None if hand is None else hand.neurons,
            "hand_sizes": None if hand is None else hand.net.sizes,
            "hand_source": HAND_SOURCES.get(source) if hand is not None else None,
            "compiled": compiled.neurons,
            "compiled_sizes": compiled.sizes,
            "compiled_verified": bool(compiled.verification and compiled.verification.verified),
        }
        bits = is_even_bits(expr)
        if bits is not None:
            bound = is_even_bound(bits)
            row["lower_bound_any_depth"] = bound.lower_bound
            row["skip_connections"] = bound.skip_units
            row["one_layer_lower_bound"] = bound.lower_bound_one_layer
            row["one_layer_construction"] = bound.one_layer_units
        if source in SLOW and not slow:
            row["one_layer_minimal"] = None
            row["one_layer_note"] = (
                f"{row['one_layer_lower_bound']} <= width <= {row['one_layer_construction']} "
                "(pieces bound; zigzag); the MILP runs with --slow"
            )
        else:
            r = minimal_width(expr, domain, max_width=16, time_limit=time_limit)
            row["one_layer_minimal"] = r.width
            row["one_layer_proven"] = r.proven_minimal
            row["one_layer_note"] = (
                f"verified; widths {', '.join(map(str, r.infeasible)) or '-'} infeasible"
                + (f", {', '.join(map(str, r.unknown))} unknown" if r.unknown else "")
            )
        rows.append(row)
    return rows


def is_even_bits(expr: Expr) -> int | None:
    """``n`` when ``expr`` is ``is_even(x, bits=n)`` or ``is_odd(x, bits=n)`` of a variable."""
    from tinylens.circuits.expr import Call, Var

    if (
        isinstance(expr, Call)
        and expr.name in ("is_even", "is_odd")
        and isinstance(expr.args[0], Var)
    ):
        return expr.keyword("bits")
    return None
