"""The circuits studies' results. Each shows itself: a short ``repr``, ``_repr_html_`` (key
numbers and a small table, a figure where it helps), ``to_dict`` (the command's ``--json``
summary) and, where a picture says more, ``plot(ax=None)``."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CompileResult",
    "ExplainResult",
    "LibraryListing",
    "MinimalResult",
    "ShowResult",
    "SizeTable",
    "html_table",
    "plot_function",
]


def html_table(header: list[str], rows: list[list[Any]], title: str = "") -> str:
    """Every row (cells as ``str`` gives them: exact fractions, lists) in the one HTML table,
    :func:`tinylens.viz.display.html_table`, under ``title``."""
    from tinylens.viz.display import html_table as table

    columns = {h: [str(row[i]) for row in rows] for i, h in enumerate(header)}
    caption = f"<b>{html.escape(title)}</b>" if title else ""
    return f"<div>{caption}{table(columns, max_rows=len(rows))}</div>"


def _pandas(columns: dict[str, list[Any]]) -> Any:
    from tinylens._optional import require_pandas

    return require_pandas().DataFrame(columns)


def plot_function(net: Any, domain: Any, ax: Any = None, title: str = "") -> Any:
    """The network's first output over a box of one input (a line) or two (a heat map).
    Returns the matplotlib Figure."""
    import numpy as np

    from tinylens.errors import ConfigError
    from tinylens.viz.figure import new_axes

    ivs = [iv for _, iv in domain.intervals]
    names = [n for n, _ in domain.intervals]
    if len(ivs) not in (1, 2):
        raise ConfigError(f"plot draws networks of 1 or 2 inputs; this one has {len(ivs)}")
    f = net.to_float() if net.is_exact else net
    fig, ax = new_axes(ax)
    if len(ivs) == 1:
        x = np.linspace(float(ivs[0].lo), float(ivs[0].hi), 401)
        ax.plot(x, f.forward(x[:, None])[:, 0])
        ax.set_xlabel(names[0])
        ax.set_ylabel("output")
    else:
        a = np.linspace(float(ivs[0].lo), float(ivs[0].hi), 101)
        b = np.linspace(float(ivs[1].lo), float(ivs[1].hi), 101)
        A, B = np.meshgrid(a, b, indexing="xy")
        out = f.forward(np.stack([A.ravel(), B.ravel()], axis=1))[:, 0].reshape(A.shape)
        im = ax.imshow(out, origin="lower", extent=(a[0], a[-1], b[0], b[-1]), aspect="auto")
        fig.colorbar(im, ax=ax, label="output")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    if title:
        ax.set_title(title)
    return fig


def _sizes(sizes: list[int]) -> str:
    return "-".join(map(str, sizes))


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


@dataclass
class LibraryListing:
    """``circuits list``: one row per library entry (``rows``, as ``--json`` prints them)."""

    config: Any
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"circuits": self.rows}

    def to_pandas(self) -> Any:
        keys = ("name", "sizes", "neurons", "domain", "formula", "summary")
        return _pandas({k: [r[k] for r in self.rows] for k in keys})

    def __repr__(self) -> str:
        return f"LibraryListing({len(self.rows)} circuits)"

    def _repr_html_(self) -> str:
        rows = [[r["name"], _sizes(r["sizes"]), r["neurons"], r["summary"]] for r in self.rows]
        return html_table(["name", "sizes", "units", "summary"], rows, repr(self))


@dataclass
class ShowResult:
    """``circuits show``: a library circuit, its compiled twin, its exact verification and its
    worked examples (``(example, network outputs, ok)``)."""

    config: Any
    circuit: Any
    compiled: Any
    verification: Any
    examples: list[tuple[Any, Any, bool]]

    def to_dict(self) -> dict[str, Any]:
        d = self.circuit.to_dict()
        d["examples_ok"] = all(ok for _, _, ok in self.examples)
        d["compiled"] = None if self.compiled is None else self.compiled.to_dict()
        d["verification"] = None if self.verification is None else self.verification.to_dict()
        return d

    def __repr__(self) -> str:
        c = self.circuit
        v = "" if self.verification is None else f", verified={self.verification.verified}"
        return f"ShowResult({c.name!r}, {_sizes(c.net.sizes)}, {_units(c.neurons)}{v})"

    def _repr_html_(self) -> str:
        from tinylens.circuits.expr import net_to_strings

        rows = [
            [i, layer["activation"], "; ".join(", ".join(r) for r in layer["weight"]),
             ", ".join(layer["bias"])]
            for i, layer in enumerate(net_to_strings(self.circuit.net))
        ]  # fmt: skip
        head = f"{self.circuit.formula}"
        return html_table(["layer", "activation", "W [out, in]", "b"], rows, repr(self)) + (
            f"<p>formula: {html.escape(head)}</p>"
        )

    def plot(self, ax: Any = None) -> Any:
        c = self.circuit
        return plot_function(c.net, c.domain, ax, title=c.name)


@dataclass
class CompileResult:
    """``circuits compile``: the compiled circuit (:class:`~tinylens.circuits.CompiledCircuit`,
    exact weights) and, when asked, its verification."""

    config: Any
    circuit: Any

    @property
    def net(self) -> Any:
        return self.circuit.net

    @property
    def verification(self) -> Any:
        return self.circuit.verification

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        return self.circuit.to_dict(path)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        c, v = self.circuit, self.circuit.verification
        how = "" if v is None else f", verified={v.verified}"
        return f"CompileResult({c.expression!r}, {_sizes(c.sizes)}, {c.neurons} ReLU units{how})"

    def _repr_html_(self) -> str:
        from tinylens.circuits.expr import fmt
        from tinylens.viz.display import figure_img  # matplotlib on first use

        c = self.circuit
        rows = [
            [f"layer {li + 1}" if li < c.depth - 1 else "output", layer.activation,
             "; ".join(", ".join(fmt(w) for w in row) for row in layer.weight),
             ", ".join(fmt(b) for b in layer.bias)]
            for li, layer in enumerate(c.net.layers)
        ]  # fmt: skip
        out = html_table(["layer", "activation", "W [out, in]", "b"], rows, repr(self))
        if c.domain is not None and len(c.inputs) <= 2:
            out += figure_img(self.plot(), tight=True)
        return out

    def plot(self, ax: Any = None) -> Any:
        """The network over its domain (1 or 2 inputs)."""
        from tinylens.circuits.readback import as_domain

        c = self.circuit
        box = as_domain(c.domain, list(c.inputs))
        return plot_function(c.net, box, ax, title=c.expression)


@dataclass
class ExplainResult:
    """``circuits explain``: the :class:`~tinylens.circuits.Explanation`, the motifs
    found in it, where the box came from (``origin``) and, with ``compare``, the comparison."""

    config: Any
    net: Any
    explanation: Any
    motifs: list[Any]
    origin: str = "default"
    compare: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = {
            **self.explanation.to_dict(),
            "model": self.config.model,
            "motifs": [m.to_dict() for m in self.motifs],
        }
        if self.compare is not None:
            d["compare"] = {k: v for k, v in self.compare.items() if k != "match"}
        return d

    def to_pandas(self) -> Any:
        return self.explanation.to_pandas()

    def __repr__(self) -> str:
        return f"ExplainResult({self.explanation!r}, motifs={len(self.motifs)})"

    def _repr_html_(self) -> str:
        return self.explanation._repr_html_()  # type: ignore[no-any-return]

    def plot(self, ax: Any = None) -> Any:
        return self.explanation.plot(self.net, ax=ax)


@dataclass
class MinimalResult:
    """``circuits minimal NAME|EXPR``: the search result and, for is_even, its bound."""

    config: Any
    result: Any
    bits: int | None = None
    bound: Any = None

    def to_dict(self) -> dict[str, Any]:
        d = self.result.to_dict()
        if self.bound is not None:
            d["is_even_bound"] = self.bound.to_dict()
        return d  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        r = self.result
        return f"MinimalResult({r.expression!r}, width={r.width}, infeasible={r.infeasible})"

    def _repr_html_(self) -> str:
        r = self.result
        rows = [["width", r.width], ["infeasible widths", r.infeasible],
                ["unknown (time limit)", r.unknown], ["points", r.points],
                ["counterexample rounds", r.rounds]]  # fmt: skip
        return html_table(["", "value"], rows, repr(self))


@dataclass
class SizeTable:
    """``circuits minimal --table``: one row per small function (``rows``)."""

    config: Any
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def to_pandas(self) -> Any:
        keys = ("expression", "domain", "hand_derived", "hand_source", "compiled",
                "one_layer_minimal")  # fmt: skip
        return _pandas({k: [r.get(k) for r in self.rows] for k in keys})

    def __repr__(self) -> str:
        return f"SizeTable({len(self.rows)} functions)"

    def _repr_html_(self) -> str:
        rows = [[r["expression"], r["domain"], r["hand_derived"], r.get("hand_source", ""),
                 r["compiled"], r["one_layer_minimal"]] for r in self.rows]  # fmt: skip
        return html_table(
            ["function", "domain", "hand", "hand: source", "compiled", "1 layer"], rows, repr(self)
        )
