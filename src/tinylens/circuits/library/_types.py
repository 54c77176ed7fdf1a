"""The library's records: a :class:`Circuit` with its :class:`Example` s, and the
:class:`CircuitSpec` (with its :class:`Param` s) that builds it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction as F
from typing import Any

import numpy as np

from tinylens.circuits.expr import Domain, fmt, to_fraction
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError, UnknownNameError

__all__ = ["Circuit", "CircuitSpec", "Example", "Param"]


@dataclass(frozen=True)
class Example:
    """``inputs -> outputs``; ``tolerance`` 0 means exact (sigmoid entries are approximate)."""

    inputs: tuple[F, ...]
    outputs: tuple[F, ...]
    tolerance: F = F(0)


@dataclass(frozen=True)
class Circuit:
    """One network of the library (see the module docstring for the fields)."""

    name: str
    description: str
    formula: str
    human: str
    net: AffineNet
    examples: tuple[Example, ...]
    domain: Domain
    reference: Callable[..., Any]
    expression: str | None = None
    aliases: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    source: str = "sources"
    notes: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.net.names)

    @property
    def exact(self) -> bool:
        """Exact arithmetic applies (ReLU / identity layers only; not the sigmoid neurons)."""
        return all(a in ("relu", "identity") for a in self.net.activations)

    @property
    def neurons(self) -> int:
        return sum(la.out_features for la in self.net.layers if la.activation != "identity")

    def run(self, *inputs: object) -> tuple[Any, ...]:
        """The network's outputs at one point: exact Fractions, or floats for sigmoid nets."""
        if len(inputs) != self.net.n_inputs:
            raise ConfigError(f"{self.name} takes {self.net.n_inputs} inputs, got {len(inputs)}")
        if self.exact:
            x = np.array([[to_fraction(v) for v in inputs]], dtype=object)
            return tuple(F(v) for v in self.net.forward(x)[0])
        x = np.array([[float(to_fraction(v)) for v in inputs]])
        return tuple(float(v) for v in self.net.to_float().forward(x)[0])

    def check_examples(self) -> list[tuple[Example, tuple[Any, ...], bool]]:
        """Every example with the network's output and whether it matches."""
        rows = []
        for ex in self.examples:
            got = self.run(*ex.inputs)
            ok = all(abs(F(g) - w) <= ex.tolerance for g, w in zip(got, ex.outputs, strict=True))
            rows.append((ex, got, ok))
        return rows

    def to_dict(self) -> dict[str, Any]:
        from tinylens.circuits.expr import net_to_strings

        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "description": self.description,
            "formula": self.formula,
            "human": self.human,
            "inputs": list(self.inputs),
            "sizes": self.net.sizes,
            "activations": self.net.activations,
            "neurons": self.neurons,
            "exact": self.exact,
            "domain": str(self.domain),
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "layers": net_to_strings(self.net),
            "examples": [
                {
                    "inputs": [fmt(v) for v in ex.inputs],
                    "outputs": [fmt(v) for v in ex.outputs],
                    "tolerance": fmt(ex.tolerance),
                }
                for ex in self.examples
            ],
            "expression": self.expression,
            "source": self.source,
            "notes": list(self.notes),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, F):
        return fmt(v)
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return v


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    doc: str


@dataclass(frozen=True)
class CircuitSpec:
    """A library entry: how to build its :class:`Circuit`, from parameters if it has any."""

    name: str
    summary: str
    build: Callable[..., Circuit]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()

    def __call__(self, **params: Any) -> Circuit:
        known = {p.name for p in self.params}
        for key in params:
            if key not in known:
                raise UnknownNameError(f"parameter of {self.name}", key, known or ["(none)"])
        values = {p.name: params.get(p.name, p.default) for p in self.params}
        return dataclasses.replace(self.build(**values), name=self.name, aliases=self.aliases)
