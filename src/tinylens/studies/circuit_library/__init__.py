"""The circuit library as a report: every hand-derived network drawn with its exact weights.

For each circuit: an interactive diagram (the report's ``circuit`` widget) with the weights in
the ``[out, in]`` layout as exact fractions, its formula, and its worked examples checked in
exact arithmetic; a table puts the hand-derived size next to what the compiler builds from the
circuit's expression.

>>> result = run_library(LibraryConfig(names=("min", "abs")))
>>> [(e.circuit.name, e.compiled_neurons, e.examples_ok) for e in result.entries]
[('min', 2, True), ('abs', 2, True)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinylens.circuits import CIRCUITS, compile_expression, get_circuit
from tinylens.circuits.exact import net_to_strings
from tinylens.circuits.library import Circuit
from tinylens.errors import UnknownNameError
from tinylens.io import Figure, RunDir, Section, Table

__all__ = ["LibraryConfig", "LibraryEntry", "LibraryResult", "circuit_widget_spec", "run_library"]


@dataclass(frozen=True)
class LibraryConfig:
    """Which circuits to show (``None``: all of them, with their default parameters)."""

    names: tuple[str, ...] | None = None
    compile: bool = True

    def __post_init__(self) -> None:
        for name in self.names or ():
            if name not in CIRCUITS:
                get_circuit(name)  # raises UnknownNameError with suggestions (aliases work)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names) if self.names else None, "compile": self.compile}


@dataclass
class LibraryEntry:
    circuit: Circuit
    compiled_neurons: int | None
    compiled_sizes: list[int] | None
    examples_ok: bool


def circuit_widget_spec(circuit: Circuit) -> dict[str, Any]:
    """The report's ``circuit`` widget data: layers with exact weights as strings (``"1/2"``)."""
    return {
        "title": circuit.name,
        "input_names": list(circuit.inputs),
        "layers": net_to_strings(circuit.net),
    }


@dataclass
class LibraryResult:
    config: LibraryConfig
    entries: list[LibraryEntry]

    def save(self, run: RunDir) -> None:
        """One diagram per circuit, a sizes table and an examples table, as a report section."""
        run.write_yaml("config.yaml", self.config.to_dict())
        run.write_json("library.json", [e.circuit.to_dict() for e in self.entries])
        figures = []
        for e in self.entries:
            c = e.circuit
            path = f"circuits/{c.name}.json"
            run.write_json(path, circuit_widget_spec(c))
            figures.append(Figure(path, f"{c.name}: {c.human}", kind="widget", widget="circuit"))
        sizes = Table(
            "sizes: hand-derived and compiled",
            ["circuit", "formula", "hand-derived", "compiled", "examples"],
            [
                [
                    e.circuit.name,
                    e.circuit.formula,
                    _size(e.circuit.neurons, e.circuit.net.sizes),
                    _size(e.compiled_neurons, e.compiled_sizes),
                    "all exact" if e.examples_ok else "MISMATCH",
                ]
                for e in self.entries
            ],
            note="compiled: what `tinylens circuits compile` builds from the circuit's "
            "expression; '-' where the circuit has none (sigmoid neurons).",
        )
        examples = Table(
            "worked examples (exact arithmetic)",
            ["circuit", "inputs", "expected", "network"],
            [
                [
                    e.circuit.name,
                    ", ".join(str(v) for v in ex.inputs),
                    ", ".join(str(v) for v in ex.outputs),
                    ", ".join(_short(v) for v in got),
                ]
                for e in self.entries
                for ex, got, _ in e.circuit.check_examples()
            ],
        )
        run.add_section(
            Section(
                id="circuits",
                title="Circuits: the hand-derived networks",
                summary=(
                    f"{len(self.entries)} networks derived by hand in our sources "
                    "(sosier/Mathematical_Circuits_in_Neural_Nets, the gentle-introduction "
                    "article, the toy-examples post; docs/sources.md), with exact weights (W "
                    "in the [out, in] layout; hover an edge or a unit). ReLU units are drawn "
                    "as 'ReLU', linear outputs as a sum. Every worked example is recomputed in "
                    "exact rational arithmetic."
                ),
                metrics={
                    "circuits": len(self.entries),
                    "examples exact": sum(e.examples_ok for e in self.entries),
                },
                figures=figures,
                tables=[sizes, examples],
                config=self.config.to_dict(),
            ),
            title="tinylens circuits: the library",
        )


def _size(neurons: int | None, sizes: list[int] | None) -> str:
    if neurons is None or sizes is None:
        return "-"
    unit = "unit" if neurons == 1 else "units"
    return f"{neurons} {unit}, {'-'.join(map(str, sizes))}"


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def run_library(config: LibraryConfig | None = None) -> LibraryResult:
    """Build every chosen circuit, check its examples exactly, and compile its expression."""
    config = config or LibraryConfig()
    names = list(config.names) if config.names else list(CIRCUITS)
    entries = []
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
    return LibraryResult(config, entries)
