"""The library: the hand-derived networks of our sources, with exact weights and an oracle.

Imports only :mod:`tinylens.circuits.expr` (and the shared target functions of
:mod:`tinylens.data.functions`)::

    _types.py    Circuit, CircuitSpec, Example, Param
    _entries.py  the networks, one builder each
    catalog.py   CIRCUITS, aliases, get_circuit
"""

from tinylens.circuits.library.catalog import (
    CIRCUIT_ALIASES,
    CIRCUITS,
    Circuit,
    CircuitSpec,
    Example,
    Param,
    circuit_names,
    get_circuit,
    parse_params,
)

__all__ = [
    "CIRCUITS",
    "CIRCUIT_ALIASES",
    "Circuit",
    "CircuitSpec",
    "Example",
    "Param",
    "circuit_names",
    "get_circuit",
    "parse_params",
]
