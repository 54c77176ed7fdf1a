"""Networks of Linear and ReLU layers with skip connections, read back exactly (issue 16).

The min model of the article "A gentle introduction to mechanistic interpretability through
simple algorithmic examples" feeds its output layer both the inputs and the hidden ReLUs:
``y = fc(cat([x, relu(W x + b)]))``. Such a network is not an ``nn.Sequential``, so
:func:`~tinylens.torch.from_torch` and ``explain`` could not read it. Here
:func:`trace_relu_graph` traces any module whose ``forward`` is a DAG of ``nn.Linear``,
``nn.ReLU`` / ``torch.relu``, ``torch.cat`` (feature dimension), ``+`` and ``-`` (with
``torch.fx``) into a :class:`ReluGraph`, whose :meth:`ReluGraph.forward` is the reference
interpreter, and :meth:`ReluGraph.to_affine` builds a plain layered ReLU network computing the
same function **exactly, for every input**:

- consecutive affine maps are composed in exact rationals;
- a value that skips layers rides carrier units: a ReLU output ``h >= 0`` is carried by
  ``relu(h) = h`` (one unit), a value of any sign (an input) by the identity pair
  ``relu(v) - relu(-v) = v`` (two units), which ``explain`` cancels back to ``v``.

>>> import torch
>>> from torch import nn
>>> class Min(nn.Module):  # the article's min model: y = a - relu(a - b)
...     def __init__(self):
...         super().__init__()
...         self.fc1, self.fc2 = nn.Linear(2, 1), nn.Linear(3, 1)
...     def forward(self, x):
...         return self.fc2(torch.cat([x, torch.relu(self.fc1(x))], dim=1))
>>> m = Min()
>>> with torch.no_grad():
...     _ = m.fc1.weight.copy_(torch.tensor([[1.0, -1.0]])), m.fc1.bias.zero_()
...     _ = m.fc2.weight.copy_(torch.tensor([[1.0, 0.0, -1.0]])), m.fc2.bias.zero_()
>>> g = trace_relu_graph(m)
>>> net = g.to_affine()
>>> net.sizes, net.activations
([2, 5, 1], ['relu', 'identity'])
>>> from fractions import Fraction as F
>>> x = np.array([[F(3), F(-2)], [F(-1, 3), F(1, 2)]], dtype=object)
>>> net.forward(x).ravel().tolist() == g.forward(x).ravel().tolist() == [F(-2), F(-1, 3)]
True
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from torch import nn

from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError, ShapeError

__all__ = ["GraphNode", "ReluGraph", "trace_relu_graph"]

SUPPORTED = "nn.Linear, nn.ReLU, torch.relu, torch.cat(dim=1), + and - of tensors"
"""What :func:`trace_relu_graph` reads (named in every refusal)."""


@dataclass(frozen=True)
class GraphNode:
    """One value of the network: ``op`` is ``input``, ``linear`` (``weight`` of shape
    ``(out, in)``, ``bias`` of shape ``(out,)``, exact Fractions), ``relu``, ``cat``, ``add``,
    ``sub`` or ``neg``; ``args`` name the nodes it reads."""

    name: str
    op: str
    args: tuple[str, ...] = ()
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None


def _exact(a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(np.asarray(a, dtype=np.float64).reshape(-1)):
        if not np.isfinite(v):
            raise ConfigError("the network has a non-finite weight (NaN or Inf); refusing it")
        flat[i] = Fraction(float(v))
    return out


@dataclass(frozen=True)
class ReluGraph:
    """A DAG of Linear / ReLU / cat / add nodes in topological order; ``output`` names the
    node the network returns. Weights are exact Fractions (a float weight's exact value)."""

    nodes: tuple[GraphNode, ...]
    output: str
    n_inputs: int
    input_names: tuple[str, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The reference interpreter: outputs for ``x`` of shape ``(n, n_inputs)``, float or
        exact (object arrays of Fractions), node by node as the module computes them."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ShapeError(f"input has shape {x.shape}; expected (n, {self.n_inputs})")
        exact = x.dtype == object
        vals: dict[str, np.ndarray] = {}
        for n in self.nodes:
            a = [vals[k] for k in n.args]
            if n.op == "input":
                v = x
            elif n.op == "linear":
                assert n.weight is not None and n.bias is not None
                W, b = (
                    (n.weight, n.bias) if exact else (n.weight.astype(float), n.bias.astype(float))
                )
                v = a[0] @ W.T + b
            elif n.op == "relu":
                v = np.where(a[0] > 0, a[0], 0 * a[0])
            elif n.op == "cat":
                v = np.concatenate(a, axis=1)
            elif n.op == "add":
                v = a[0] + a[1]
            elif n.op == "sub":
                v = a[0] - a[1]
            else:  # neg
                v = -a[0]
            vals[n.name] = v
        return vals[self.output]

    def to_affine(self) -> AffineNet:
        """A layered ReLU network (exact weights, identity output) equal to this graph for
        every input: affine maps composed exactly, skipped values carried by ReLU units."""
        return _Layering(self).net()


# -- tracing ----------------------------------------------------------------------------------


def _refuse(node: Any, what: str) -> ConfigError:
    return ConfigError(f"cannot read back {node.name} ({what}): supported are {SUPPORTED}")


def _cat_dim(node: Any) -> int:
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
    return int(dim)


def trace_relu_graph(module: nn.Module, n_inputs: int | None = None) -> ReluGraph:
    """Trace ``module`` (one input of shape ``(batch, n_inputs)``) into a :class:`ReluGraph`.

    ``n_inputs`` defaults to the ``in_features`` of the first Linear reading the input. Any
    other operation raises :class:`~tinylens.errors.ConfigError` naming it.
    """
    import torch.fx as fx

    if not isinstance(module, nn.Module):
        raise ConfigError(f"trace_relu_graph reads a torch.nn.Module, not {type(module).__name__}")
    try:
        gm = fx.symbolic_trace(module)
    except Exception as err:  # fx raises many types for data-dependent control flow
        raise ConfigError(
            f"cannot trace {type(module).__name__} with torch.fx ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:120]}); its forward must be a fixed graph of {SUPPORTED}"
        ) from None
    mods = dict(gm.named_modules())
    nodes: list[GraphNode] = []
    alias: dict[str, str] = {}  # identity-like nodes point at what they pass on
    inputs = 0
    output = None
    for node in gm.graph.nodes:
        args = tuple(alias.get(a.name, a.name) for a in node.all_input_nodes)
        if node.op == "placeholder":
            inputs += 1
            if inputs > 1:
                raise _refuse(node, "a second input; the network must take one tensor")
            nodes.append(GraphNode(node.name, "input"))
        elif node.op == "call_module":
            m = mods[node.target]
            if isinstance(m, nn.Linear):
                b = (
                    m.bias.detach().cpu().numpy()
                    if m.bias is not None
                    else np.zeros(m.out_features)
                )
                w = _exact(m.weight.detach().cpu().numpy())
                nodes.append(GraphNode(node.name, "linear", args, w, _exact(b)))
            elif isinstance(m, nn.ReLU):
                nodes.append(GraphNode(node.name, "relu", args))
            elif isinstance(m, nn.Identity) or (isinstance(m, nn.Dropout) and not m.training):
                alias[node.name] = args[0]
            else:
                raise _refuse(node, f"module {node.target}: {type(m).__name__}")
        elif node.op in ("call_function", "call_method"):
            t = node.target
            if t in (torch.relu, nn.functional.relu, "relu"):
                nodes.append(GraphNode(node.name, "relu", args[:1]))
            elif t is torch.cat:
                if _cat_dim(node) not in (1, -1):
                    raise _refuse(node, f"torch.cat along dim {_cat_dim(node)}")
                nodes.append(GraphNode(node.name, "cat", args))
            elif t in (operator.add, torch.add, "add", operator.sub, torch.sub, "sub"):
                if len(args) != 2 or len(node.args) != 2 or node.kwargs:
                    raise _refuse(node, f"{getattr(t, '__name__', t)} with a constant or alpha")
                op = "add" if t in (operator.add, torch.add, "add") else "sub"
                nodes.append(GraphNode(node.name, op, args))
            elif t in (operator.neg, torch.neg, "neg"):
                nodes.append(GraphNode(node.name, "neg", args))
            else:
                raise _refuse(node, f"{getattr(t, '__name__', t)}")
        elif node.op == "output":
            if len(node.all_input_nodes) != 1:
                raise _refuse(node, "several outputs; return one tensor")
            output = args[0]
        else:  # get_attr: a parameter used directly
            raise _refuse(node, f"{node.op} {node.target}")
    if not inputs or output is None:
        raise ConfigError(f"{type(module).__name__} has no input or no output to read back")
    if n_inputs is None:
        n_inputs = _input_width(nodes)
    names = getattr(module, "input_names", None)
    graph = ReluGraph(tuple(nodes), output, int(n_inputs), tuple(names) if names else None)
    _Layering(graph)  # checks the widths fit, so a bad graph fails here, not later
    return graph


def _input_width(nodes: list[GraphNode]) -> int:
    first = nodes[0].name
    for n in nodes:
        if n.op == "linear" and n.args == (first,):
            assert n.weight is not None
            return int(n.weight.shape[1])
    raise ConfigError(
        "cannot tell how many inputs the network takes (no Linear reads the input directly); "
        "pass n_inputs"
    )


# -- layering ---------------------------------------------------------------------------------

Affine = list[tuple[dict[int, Fraction], Fraction]]
"""A vector value as ``[(coefficients over one level's units, constant), ...]``."""


def _combine(pairs: Sequence[tuple[Fraction, tuple[dict[int, Fraction], Fraction]]]) -> Any:
    coef: dict[int, Fraction] = {}
    const = Fraction(0)
    for c, (d, k) in pairs:
        if c == 0:
            continue
        for i, v in d.items():
            coef[i] = coef.get(i, Fraction(0)) + c * v
        const += c * k
    return {i: v for i, v in coef.items() if v != 0}, const


class _Layering:
    """Assigns every value a level (ReLU layers below it) and builds the units, carriers
    included. ``units[k]`` holds layer ``k + 1``'s pre-activations over level ``k``."""

    def __init__(self, graph: ReluGraph) -> None:
        self.graph = graph
        self.units: list[list[tuple[dict[int, Fraction], Fraction]]] = []
        self.carry: dict[tuple[int, int], tuple[dict[int, Fraction], Fraction]] = {}
        vals: dict[str, tuple[int, Affine]] = {}
        for n in graph.nodes:
            vals[n.name] = self._node(n, [vals[a] for a in n.args])
        self.level, self.value = vals[graph.output]

    def _width(self, level: int) -> int:
        return self.graph.n_inputs if level == 0 else len(self.units[level - 1])

    def _node(self, n: GraphNode, args: list[tuple[int, Affine]]) -> tuple[int, Affine]:
        if n.op == "input":
            return 0, [({i: Fraction(1)}, Fraction(0)) for i in range(self.graph.n_inputs)]
        if n.op == "linear":
            (k, v), W = args[0], n.weight
            assert W is not None and n.bias is not None
            if W.shape[1] != len(v):
                raise ShapeError(f"{n.name} takes {W.shape[1]} features but is given {len(v)}")
            rows = [_combine([(W[j, i], v[i]) for i in range(len(v))]) for j in range(W.shape[0])]
            return k, [(d, c + n.bias[j]) for j, (d, c) in enumerate(rows)]
        if n.op == "relu":
            return self._relu(*args[0])
        if n.op == "neg":
            k, v = args[0]
            return k, [_combine([(Fraction(-1), e)]) for e in v]
        top = max(k for k, _ in args)
        lifted = [self._lift(k, v, top) for k, v in args]
        if n.op == "cat":
            return top, [e for v in lifted for e in v]
        a, b = lifted
        if len(a) != len(b):
            raise ShapeError(f"{n.name} adds {len(a)} features to {len(b)}; they must be equal")
        sign = Fraction(1 if n.op == "add" else -1)
        return top, [_combine([(Fraction(1), x), (sign, y)]) for x, y in zip(a, b, strict=True)]

    def _relu(self, k: int, v: Affine) -> tuple[int, Affine]:
        if k == len(self.units):
            self.units.append([])
        layer = self.units[k]
        out = []
        for e in v:
            layer.append(e)
            out.append(({len(layer) - 1: Fraction(1)}, Fraction(0)))
        # Units appended to layer k + 1 later (carriers) keep these indices valid.
        return k + 1, out

    def _carrier(self, k: int, i: int) -> tuple[dict[int, Fraction], Fraction]:
        """Unit ``i`` of level ``k`` as a value of level ``k + 1`` (memoised)."""
        if (k, i) not in self.carry:
            if k == len(self.units):
                self.units.append([])
            layer = self.units[k]
            if k == 0:  # an input, any sign: relu(x) - relu(-x)
                layer.append(({i: Fraction(1)}, Fraction(0)))
                layer.append(({i: Fraction(-1)}, Fraction(0)))
                p = len(layer) - 2
                self.carry[(k, i)] = ({p: Fraction(1), p + 1: Fraction(-1)}, Fraction(0))
            else:  # a ReLU output, never negative: relu(h) = h
                layer.append(({i: Fraction(1)}, Fraction(0)))
                self.carry[(k, i)] = ({len(layer) - 1: Fraction(1)}, Fraction(0))
        return self.carry[(k, i)]

    def _lift(self, k: int, v: Affine, top: int) -> Affine:
        while k < top:
            v = [_combine([(c, self._carrier(k, i)) for i, c in d.items()] + [(c0, ({}, 1))])
                 for d, c0 in v]  # fmt: skip
            v = [(d, Fraction(c)) for d, c in v]
            k += 1
        return v

    def net(self) -> AffineNet:
        layers = []
        for k, units in enumerate(self.units[: self.level]):
            layers.append(_materialise(units, self._width(k), "relu"))
        layers.append(_materialise(self.value, self._width(self.level), "identity"))
        return AffineNet(tuple(layers), self.graph.input_names)


def _materialise(rows: Affine, width: int, activation: str) -> AffineLayer:
    W = np.empty((len(rows), width), dtype=object)
    W.fill(Fraction(0))
    b = np.empty(len(rows), dtype=object)
    for j, (d, c) in enumerate(rows):
        for i, v in d.items():
            W[j, i] = v
        b[j] = Fraction(c)
    return AffineLayer(W, b, activation)
