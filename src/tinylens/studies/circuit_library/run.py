"""Build the circuit library: every chosen hand-derived network, its worked examples checked in
exact arithmetic, and its expression compiled for comparison. Writes no files.

>>> from tinylens.studies.circuit_library import LibraryConfig, run
>>> result = run(LibraryConfig(names=("min", "abs")))
>>> [(e.circuit.name, e.compiled_neurons, e.examples_ok) for e in result.entries]
[('min', 2, True), ('abs', 2, True)]
"""

from __future__ import annotations

from tinylens.circuits import CIRCUITS, compile_expression, get_circuit
from tinylens.errors import UnknownNameError
from tinylens.progress import progress as progress_bar
from tinylens.studies.circuit_library.config import LibraryConfig
from tinylens.studies.circuit_library.result import LibraryEntry, LibraryResult

__all__ = ["run"]


def run(config: LibraryConfig | None = None, *, progress: bool = False) -> LibraryResult:
    """Build every chosen circuit, check its examples exactly, and compile its expression."""
    config = config or LibraryConfig()
    names = list(config.names) if config.names else list(CIRCUITS)
    entries = []
    with progress_bar(len(names), "circuits", quiet=not progress) as bar:
        for name in names:
            try:
                c = get_circuit(name)
            except KeyError:  # pragma: no cover - LibraryConfig validated the names
                raise UnknownNameError("circuit", name, CIRCUITS) from None
            neurons = sizes = None
            if config.compile and c.expression:
                comp = compile_expression(c.expression, domain=c.domain)
                neurons, sizes = comp.neurons, comp.sizes
            ok = all(row[2] for row in c.check_examples())
            entries.append(LibraryEntry(c, neurons, sizes, ok))
            bar.advance()
    return LibraryResult(config, entries)
