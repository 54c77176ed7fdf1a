"""Layered graph to exact weights: prune unused units, number them, write the matrices.

The result is an :class:`~tinylens.engine.AffineNet` whose weights are
:class:`fractions.Fraction` objects: ReLU hidden layers and an identity output layer. When
the output is a single unit itself (``relu(x1 - x2)``), that unit *is* the output layer, with
a ReLU activation, as in the hand-derived detectors and the sources' is_even net.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as F

import numpy as np

from tinylens.circuits.compile.expr_to_graph import Graph, Neuron, Value
from tinylens.engine import AffineLayer, AffineNet

__all__ = ["WeightsResult", "graph_to_weights"]


@dataclass(frozen=True)
class WeightsResult:
    net: AffineNet
    units: tuple[tuple[Neuron, ...], ...]  # the kept units of each hidden layer, in order
    fused_output: bool  # the output layer is a ReLU unit of the graph


def _used(graph: Graph, out: Value) -> list[list[int]]:
    """Indices of the units each layer needs for ``out`` (ascending), layers 1..depth."""
    depth = out.depth
    need: list[set[int]] = [set() for _ in range(depth + 1)]
    need[depth] = {i for i, _ in out.terms} if depth > 0 else set()
    for layer in range(depth, 1, -1):
        for i in need[layer]:
            need[layer - 1].update(j for j, _ in graph.layers[layer][i].terms)
    return [sorted(s) for s in need[1:]]


def _matrix(rows: list[dict[int, F]], n_cols: int) -> np.ndarray:
    W = np.empty((len(rows), n_cols), dtype=object)
    W[...] = F(0)
    for r, row in enumerate(rows):
        for c, v in row.items():
            W[r, c] = v
    return W


def graph_to_weights(graph: Graph, out: Value) -> WeightsResult:
    """The exact network computing ``out`` from the graph's inputs."""
    n_in = len(graph.input_names)
    keep = _used(graph, out)
    layers: list[AffineLayer] = []
    units: list[tuple[Neuron, ...]] = []
    prev_pos = {i: i for i in range(n_in)}  # graph index -> column, for the previous layer
    n_prev = n_in
    for depth, indices in enumerate(keep, start=1):
        neurons = [graph.layers[depth][i] for i in indices]
        rows = [{prev_pos[j]: c for j, c in n.terms} for n in neurons]
        W = _matrix(rows, n_prev)
        b = np.array([n.const for n in neurons], dtype=object)
        layers.append(AffineLayer(W, b, "relu"))
        units.append(tuple(neurons))
        prev_pos = {i: pos for pos, i in enumerate(indices)}
        n_prev = len(indices)
    fused = False
    if (
        layers
        and len(out.terms) == 1
        and out.terms[0][1] > 0
        and out.const == 0
        and layers[-1].out_features == 1
    ):
        # The output is c * (one unit) with c > 0: c * relu(z) = relu(c z) is the output layer.
        c = out.terms[0][1]
        last = layers[-1]
        layers[-1] = AffineLayer(last.weight * c, last.bias * c, "relu")
        fused = True
    else:
        row = {prev_pos[i]: c for i, c in out.terms}
        W = _matrix([row], n_prev)
        layers.append(AffineLayer(W, np.array([out.const], dtype=object), "identity"))
    return WeightsResult(AffineNet(tuple(layers), graph.input_names), tuple(units), fused)
