"""Write the circuit library as a report: every hand-derived network drawn with its exact
weights (the report's ``circuit`` widget, W in the ``[out, in]`` layout as exact fractions), its
formula, its worked examples checked in exact arithmetic, and a table of hand-derived against
compiled sizes."""

from __future__ import annotations

from typing import Any

from tinylens.circuits.expr import net_to_strings
from tinylens.circuits.library import Circuit
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.circuit_library.result import LibraryResult, size_text

__all__ = ["circuit_widget_spec", "write"]


def circuit_widget_spec(circuit: Circuit) -> dict[str, Any]:
    """The report's ``circuit`` widget data: layers with exact weights as strings (``"1/2"``)."""
    return {
        "title": circuit.name,
        "input_names": list(circuit.inputs),
        "layers": net_to_strings(circuit.net),
    }


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def write(result: LibraryResult, run: RunDir) -> None:
    """One diagram per circuit, a sizes table and an examples table, as a report section."""
    run.write_yaml("config.yaml", result.config.to_dict())
    run.write_json("library.json", [e.circuit.to_dict() for e in result.entries])
    figures = []
    for e in result.entries:
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
                size_text(e.circuit.neurons, e.circuit.net.sizes),
                size_text(e.compiled_neurons, e.compiled_sizes),
                "all exact" if e.examples_ok else "MISMATCH",
            ]
            for e in result.entries
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
            for e in result.entries
            for ex, got, _ in e.circuit.check_examples()
        ],
    )
    run.add_section(
        Section(
            id="circuits",
            title="Circuits: the hand-derived networks",
            summary=(
                f"{len(result.entries)} networks derived by hand in our sources "
                "(sosier/Mathematical_Circuits_in_Neural_Nets, the gentle-introduction "
                "article, the toy-examples post; docs/sources.md), with exact weights (W "
                "in the [out, in] layout; hover an edge or a unit). ReLU units are drawn "
                "as 'ReLU', linear outputs as a sum. Every worked example is recomputed in "
                "exact rational arithmetic."
            ),
            metrics=dict(result.metrics),
            figures=figures,
            tables=[sizes, examples],
            config=result.config.to_dict(),
        ),
        title="tinylens circuits: the library",
    )
