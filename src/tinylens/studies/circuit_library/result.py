"""The circuit library's result: each hand-derived circuit, the size the compiler gives its
expression, and whether its worked examples hold exactly; it shows itself in a notebook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinylens.circuits.library import Circuit
from tinylens.io import RunDir
from tinylens.studies.circuit_library.config import LibraryConfig

__all__ = ["LibraryEntry", "LibraryResult"]


@dataclass
class LibraryEntry:
    """One circuit: its hand-derived network, the compiled network's units and widths (None
    without an expression or with ``compile=False``), and whether every example is exact."""

    circuit: Circuit
    compiled_neurons: int | None
    compiled_sizes: list[int] | None
    examples_ok: bool


def size_text(neurons: int | None, sizes: list[int] | None) -> str:
    """``2 units, 2-2-1``, or ``-`` when there is no network."""
    if neurons is None or sizes is None:
        return "-"
    unit = "unit" if neurons == 1 else "units"
    return f"{neurons} {unit}, {'-'.join(map(str, sizes))}"


@dataclass
class LibraryResult:
    """What :func:`tinylens.studies.circuit_library.run` built: one :class:`LibraryEntry` per
    circuit, in the library's order."""

    config: LibraryConfig
    entries: list[LibraryEntry]

    @property
    def metrics(self) -> dict[str, int]:
        """``circuits`` and ``examples exact`` (circuits whose every example holds)."""
        return {
            "circuits": len(self.entries),
            "examples exact": sum(e.examples_ok for e in self.entries),
        }

    def to_dict(self) -> dict[str, list[Any]]:
        """The sizes table: ``circuit``, ``formula``, ``hand-derived`` and ``compiled`` units
        (None: no compiled network), ``examples exact``; ``pandas.DataFrame`` accepts it."""
        return {
            "circuit": [e.circuit.name for e in self.entries],
            "formula": [e.circuit.formula for e in self.entries],
            "hand-derived": [e.circuit.neurons for e in self.entries],
            "compiled": [e.compiled_neurons for e in self.entries],
            "examples exact": [e.examples_ok for e in self.entries],
        }

    def to_pandas(self) -> Any:
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """Units per circuit: hand-derived beside compiled (where there is a compiled one)."""
        from tinylens.viz.figure import new_axes

        fig, ax = new_axes(ax, max(4.0, 0.5 * len(self.entries) + 1.5), 3.0)
        x = list(range(len(self.entries)))
        ax.bar([i - 0.2 for i in x], [e.circuit.neurons for e in self.entries], 0.4,
               label="hand-derived")  # fmt: skip
        compiled = [(i, e.compiled_neurons) for i, e in zip(x, self.entries, strict=True)]
        shown = [(i, n) for i, n in compiled if n is not None]
        ax.bar([i + 0.2 for i, _ in shown], [n for _, n in shown], 0.4, label="compiled")
        ax.set_xticks(x, [e.circuit.name for e in self.entries], rotation=45, ha="right")
        ax.set_ylabel("units")
        ax.legend()
        return fig

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        m = self.metrics
        return short_repr(
            "LibraryResult", circuits=m["circuits"], examples_exact=m["examples exact"]
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        figure = self.plot()
        html = html_card("The circuit library", self.metrics, self.to_dict(), figure)
        import matplotlib.pyplot as plt

        plt.close(figure)  # shown once, in the card
        return html

    def save(self, run_dir: RunDir) -> None:
        """Write the report (:func:`tinylens.studies.circuit_library.write`)."""
        from tinylens.studies.circuit_library.write import write

        write(self, run_dir)
