"""The smallest networks: a MILP search with an exact proof, and the is_even bound.

The top of the circuits stack: imports :mod:`tinylens.circuits.expr`,
:mod:`tinylens.circuits.exact`, and (for the size table) :mod:`tinylens.circuits.compile` and
:mod:`tinylens.circuits.library`::

    search.py         smallest one-hidden-layer networks (MILP + exact proof): minimal_width
    is_even_bound.py  is_even on 2^n integers: the lower bound and the constructions
    size_table.py     the ``minimal --table`` rows: hand-derived, compiled, smallest
"""

from tinylens.circuits.minimal.is_even_bound import (
    IsEvenBound,
    SkipNet,
    folding_net,
    is_even_bound,
    lap_count,
    zigzag_net,
)
from tinylens.circuits.minimal.search import WidthSearch, minimal_width
from tinylens.circuits.minimal.size_table import (
    HAND_SOURCES,
    SLOW,
    TABLE_ROWS,
    is_even_bits,
    size_table,
)

__all__ = [
    "HAND_SOURCES",
    "SLOW",
    "TABLE_ROWS",
    "IsEvenBound",
    "SkipNet",
    "WidthSearch",
    "folding_net",
    "is_even_bits",
    "is_even_bound",
    "lap_count",
    "minimal_width",
    "size_table",
    "zigzag_net",
]
