"""Expression to verified ReLU network, the whole pipeline.

    text --parse--> syntax tree --expr_to_graph--> layered units --graph_to_weights--> AffineNet
                                                       (exact Fractions)   --verify--> proof

>>> c = compile_expression("min(x1, x2)")
>>> c.net.sizes, c.neurons, c.depth
([2, 3, 1], 3, 2)
>>> [[str(w) for w in row] for row in c.net.layers[0].weight]
[['1', '-1'], ['1', '0'], ['-1', '0']]
>>> compile_expression("is_even(x, bits=4)", domain="x=0..15", verify=True).verification.verified
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tinylens.circuits.compile.expr_to_graph import Neuron, expr_to_graph
from tinylens.circuits.compile.graph_to_weights import graph_to_weights
from tinylens.circuits.exact import Verification
from tinylens.circuits.exact import verify as verify_net
from tinylens.circuits.expr import (
    Domain,
    Expr,
    exact_info,
    fmt,
    natural_key,
    parse,
    parse_domain,
    to_sympy_string,
)
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError, did_you_mean

__all__ = ["CompiledCircuit", "compile_expression", "count_neurons"]


def count_neurons(net: AffineNet) -> int:
    """Units with a nonlinearity: every hidden unit, plus the output units of a ReLU (or
    sigmoid) output layer. A linear output layer adds none."""
    return sum(layer.out_features for layer in net.layers if layer.activation != "identity")


@dataclass(frozen=True)
class CompiledCircuit:
    """A compiled expression: its exact network and what is known about it.

    Attributes
    ----------
    source : str
        The text as written.
    expr : Expr
    inputs : tuple of str
        Input order of the network.
    net : AffineNet
        Exact (Fraction) weights, ReLU hidden layers, identity (or fused ReLU) output.
    domain : Domain or None
    assumptions : tuple of str
        Facts about the domain the construction relies on (empty: the network equals the
        expression for every real input).
    units : tuple of tuple of Neuron
        The construction behind every hidden unit (``units[l][j].why``).
    verification : Verification or None
    """

    source: str
    expr: Expr
    inputs: tuple[str, ...]
    net: AffineNet
    domain: Domain | None
    assumptions: tuple[str, ...] = ()
    units: tuple[tuple[Neuron, ...], ...] = field(default=(), repr=False)
    verification: Verification | None = None

    @property
    def expression(self) -> str:
        """The expression, printed canonically."""
        return str(self.expr)

    @property
    def neurons(self) -> int:
        return count_neurons(self.net)

    @property
    def depth(self) -> int:
        """Number of affine layers (hidden layers + 1)."""
        return len(self.net.layers)

    @property
    def sizes(self) -> list[int]:
        return self.net.sizes

    def verify(self, **kwargs: Any) -> CompiledCircuit:
        """A copy carrying the :func:`~tinylens.circuits.verify` result on the domain."""
        if self.domain is None:
            raise ConfigError(
                "verification needs a domain: compile with domain='x=0..15' (integers) or "
                "'x=-1:1' (reals)"
            )
        result = verify_net(self.net, self.expr, self.domain, **kwargs)
        return CompiledCircuit(
            self.source,
            self.expr,
            self.inputs,
            self.net,
            self.domain,
            self.assumptions,
            self.units,
            result,
        )

    def info(self) -> dict[str, Any]:
        """What a weights file's ``info`` stores about this circuit (exact weights included)."""
        return {
            "circuit": {
                "expression": self.expression,
                "sympy": to_sympy_string(self.expr),
                "inputs": list(self.inputs),
                "domain": None if self.domain is None else str(self.domain),
                "assumptions": list(self.assumptions),
                "neurons": self.neurons,
                "depth": self.depth,
                "verification": None if self.verification is None else self.verification.to_dict(),
            },
            "exact": exact_info(self.net),
        }

    def __repr__(self) -> str:
        v = self.verification
        how = "" if v is None else f", verified={v.verified}"
        sizes = "-".join(map(str, self.sizes))
        return f"CompiledCircuit({self.expression!r}, {sizes}, {self.neurons} ReLU units{how})"

    def _repr_html_(self) -> str:
        """A notebook card: the key numbers and the exact weights, layer by layer."""
        from tinylens.viz.display import html_card

        layers = self.net.layers
        table: dict[str, list[Any]] = {"layer": [], "activation": [], "W [out, in]": [], "b": []}
        for i, layer in enumerate(layers):
            table["layer"].append("output" if i == len(layers) - 1 else f"layer {i + 1}")
            table["activation"].append(layer.activation)
            table["W [out, in]"].append(
                "; ".join(", ".join(fmt(w) for w in row) for row in layer.weight)
            )
            table["b"].append(", ".join(fmt(b) for b in layer.bias))
        v = self.verification
        numbers: dict[str, Any] = {
            "expression": self.expression,
            "network": "-".join(map(str, self.sizes)),
            "ReLU units": self.neurons,
            "domain": None if self.domain is None else str(self.domain),
        }
        if v is not None:
            numbers["verified"] = v.verified
        return html_card("CompiledCircuit", numbers, table)

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        """The ``--json`` summary of ``tinylens circuits compile``."""
        v = self.verification
        return {
            "expression": self.expression,
            "sympy": to_sympy_string(self.expr),
            "inputs": list(self.inputs),
            "domain": None if self.domain is None else str(self.domain),
            "neurons": self.neurons,
            "depth": self.depth,
            "sizes": self.sizes,
            "output_activation": self.net.layers[-1].activation,
            "verified": None if v is None else v.verified,
            "max_error": None if v is None or v.max_error is None else float(v.max_error),
            "max_error_exact": None if v is None or v.max_error is None else fmt(v.max_error),
            "counterexample": None
            if v is None or v.counterexample is None
            else {k: fmt(x) for k, x in v.counterexample.items()},
            "verification": None if v is None else v.message,
            "assumptions": list(self.assumptions),
            "path": path,
        }


def _inputs(expr: Expr, domain: Domain | None, inputs: Sequence[str] | None) -> tuple[str, ...]:
    used = expr.sorted_variables()
    if inputs is not None:
        names = tuple(inputs)
    elif domain is not None:
        names = domain.names
    else:
        names = tuple(used)
    for v in used:
        if v not in names:
            hint = did_you_mean(v, names, n=1)
            src = "the domain declares" if inputs is None and domain is not None else "inputs are"
            raise ConfigError(
                f"unknown variable {v!r}{hint}; {src} {', '.join(names) or 'nothing'}: add "
                f"{v}=LO..HI to the domain"
            )
    if not names:
        raise ConfigError(
            f"the expression {expr} has no variables, so there is no network to build; use at "
            "least one input (or declare one with the domain)"
        )
    return names


def compile_expression(
    source: str | Expr,
    domain: Domain | str | None = None,
    *,
    inputs: Sequence[str] | None = None,
    verify: bool = False,
) -> CompiledCircuit:
    """Compile an expression of :mod:`tinylens.circuits.expr.syntax` into an exact ReLU network.

    Parameters
    ----------
    source : str or Expr
        E.g. ``"min(x1, x2)"``, ``"x < 10"``, ``"where(is_even(x, bits=4), x, -x)"``.
    domain : Domain or str, optional
        ``"x=0..15,y=-3..3"`` (integers) or ``"x=-1:1"`` (reals); needed by comparisons and
        is_even (integers), by ``where`` (bounds), and for verification. The network is exact
        on the domain; :attr:`CompiledCircuit.assumptions` lists what it relies on.
    inputs : sequence of str, optional
        Input order (default: the domain's order, else the variables in natural order).
    verify : bool
        Verify the network against the interpreter on the domain.
    """
    expr = parse(source) if isinstance(source, str) else source
    text = source if isinstance(source, str) else str(source)
    if isinstance(domain, str):
        domain = parse_domain(domain, names=list(inputs) if inputs else expr.sorted_variables())
    names = _inputs(expr, domain, inputs)
    if domain is not None:
        domain = domain.restrict(names)
    graph, out = expr_to_graph(expr, names, domain)
    result = graph_to_weights(graph, out)
    compiled = CompiledCircuit(
        text, expr, names, result.net, domain, tuple(graph.assumptions), result.units
    )
    return compiled.verify() if verify else compiled


def sorted_names(names: Sequence[str]) -> list[str]:
    return sorted(names, key=natural_key)
