"""The compiler's graph: :class:`Neuron` (one ReLU unit), :class:`Value` (an exact affine
function of one layer's units, with its bounds) and :class:`Graph` (the layers).

:mod:`~tinylens.circuits.compile.expr_to_graph` builds it;
:mod:`~tinylens.circuits.compile.graph_to_weights` turns it into weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction as F

from tinylens.circuits.compile.bounds import Lattice, Range
from tinylens.circuits.expr import fmt

__all__ = ["Graph", "Neuron", "Value"]


@dataclass(frozen=True)
class Neuron:
    """``relu(const + sum(coef * unit))`` over the units (or inputs) of the previous layer."""

    layer: int  # 1-based
    index: int  # position in its layer, in order of creation
    terms: tuple[tuple[int, F], ...]
    const: F
    why: str  # the construction that made it, for people reading the network


@dataclass(frozen=True)
class Value:
    """``const + sum(coef * unit)`` over units of ``layer`` (inputs when 0; no terms: a constant).

    ``rng`` bounds it on the domain, ``srng`` for every input (no domain), ``lattice`` holds all
    its values on the domain (None: unknown, e.g. real inputs).
    """

    layer: int
    terms: tuple[tuple[int, F], ...]
    const: F
    rng: Range
    srng: Range
    lattice: Lattice | None
    label: str = ""

    @property
    def is_const(self) -> bool:
        return not self.terms

    @property
    def depth(self) -> int:
        return self.layer if self.terms else 0

    def is_boolean(self) -> bool:
        """Takes only the values 0 and 1 on the domain."""
        if self.is_const:
            return self.const in (0, 1)
        return (
            self.lattice is not None
            and self.lattice.integral
            and self.rng.lo is not None
            and self.rng.hi is not None
            and self.rng.lo >= 0
            and self.rng.hi <= 1
        )


def _const(c: F, label: str = "") -> Value:
    c = F(c)
    return Value(0, (), c, Range.point(c), Range.point(c), Lattice(F(0), c), label or fmt(c))


@dataclass
class Graph:
    """Layers of :class:`Neuron` (``layers[0]`` stands for the inputs and is empty)."""

    input_names: tuple[str, ...]
    layers: list[list[Neuron]] = field(default_factory=lambda: [[]])
    keys: list[dict[tuple[object, ...], int]] = field(default_factory=lambda: [{}])
    assumptions: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return sum(len(layer) for layer in self.layers)

    def snapshot(self) -> tuple[object, ...]:
        return (
            [list(layer) for layer in self.layers],
            [dict(k) for k in self.keys],
            list(self.assumptions),
        )

    def restore(self, snap: tuple[object, ...]) -> None:
        layers, keys, notes = snap
        self.layers = [list(layer) for layer in layers]  # type: ignore[attr-defined]
        self.keys = [dict(k) for k in keys]  # type: ignore[attr-defined]
        self.assumptions = list(notes)  # type: ignore[arg-type]

    def unit(self, v: Value, why: str) -> tuple[int, F]:
        """``relu(v)`` as ``scale * unit`` in layer ``v.layer + 1``: ``(unit index, scale)``.

        A unit whose pre-activation is a positive multiple of ``v`` is reused.
        """
        assert v.terms, "a constant needs no unit"
        scale = max(abs(c) for _, c in v.terms)
        key = (tuple((i, c / scale) for i, c in v.terms), v.const / scale)
        layer = v.layer + 1
        while len(self.layers) <= layer:
            self.layers.append([])
            self.keys.append({})
        found = self.keys[layer].get(key)
        if found is not None:
            return found, scale
        index = len(self.layers[layer])
        self.layers[layer].append(
            Neuron(layer, index, tuple((i, c / scale) for i, c in v.terms), v.const / scale, why)
        )
        self.keys[layer][key] = index
        return index, scale

    def note(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)
