"""Compile: expression -> exact ReLU network (tracr-style, one file per step).

Imports :mod:`tinylens.circuits.expr` and :mod:`tinylens.circuits.exact` (to verify what it
builds); nothing imports it but the stages above::

    bounds.py            intervals and lattices: what a value can be on the domain
    graph.py             the units and values the constructions build (Neuron, Value, Graph)
    expr_to_graph.py     syntax tree -> layers of ReLU units (the constructions)
    expr_functions.py    the constructions of the function calls (min, max, clamp, is_even, ...)
    graph_to_weights.py  units -> an exact AffineNet (fractions.Fraction weights, [out, in])
    compiler.py          the whole pipeline: compile_expression
"""

from tinylens.circuits.compile.bounds import Lattice, Range, rational_gcd
from tinylens.circuits.compile.compiler import CompiledCircuit, compile_expression, count_neurons
from tinylens.circuits.compile.expr_to_graph import expr_to_graph
from tinylens.circuits.compile.graph import Graph, Neuron, Value
from tinylens.circuits.compile.graph_to_weights import WeightsResult, graph_to_weights

__all__ = [
    "CompiledCircuit",
    "Graph",
    "Lattice",
    "Neuron",
    "Range",
    "Value",
    "WeightsResult",
    "compile_expression",
    "count_neurons",
    "expr_to_graph",
    "graph_to_weights",
    "rational_gcd",
]
