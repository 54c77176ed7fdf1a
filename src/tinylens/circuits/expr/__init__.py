"""The shared language of every stage: expressions, their parser, the reference interpreter,
domains, and exact numbers.

Every other circuits sub-package imports this one, and it imports none of them::

    rational.py   exact numbers: parse and print rationals; exact weights in a weights file
    syntax.py     the syntax tree (Expr and its nodes) and the functions the language knows
    parse.py      text -> syntax tree: a tokenizer and a recursive-descent parser, never eval
    interpret.py  syntax tree -> exact values (Fractions): the reference, the oracle
    domain.py     the inputs' ranges: integer grids and real boxes
"""

from tinylens.circuits.expr.domain import Domain, Interval, parse_domain
from tinylens.circuits.expr.interpret import evaluate, interpret
from tinylens.circuits.expr.parse import Token, parse, tokenize
from tinylens.circuits.expr.rational import (
    exact_info,
    exact_net,
    fmt,
    is_integer,
    load_exact,
    net_from_strings,
    net_to_strings,
    to_fraction,
)
from tinylens.circuits.expr.syntax import (
    COMPARISONS,
    FUNCTIONS,
    BinOp,
    Call,
    Compare,
    Expr,
    FunctionSpec,
    Neg,
    Num,
    Var,
    natural_key,
    to_sympy_string,
)

__all__ = [
    "COMPARISONS",
    "FUNCTIONS",
    "BinOp",
    "Call",
    "Compare",
    "Domain",
    "Expr",
    "FunctionSpec",
    "Interval",
    "Neg",
    "Num",
    "Token",
    "Var",
    "evaluate",
    "exact_info",
    "exact_net",
    "fmt",
    "interpret",
    "is_integer",
    "load_exact",
    "natural_key",
    "net_from_strings",
    "net_to_strings",
    "parse",
    "parse_domain",
    "to_fraction",
    "to_sympy_string",
    "tokenize",
]
