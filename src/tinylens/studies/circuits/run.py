"""The circuits studies' work, one ``run_*`` per ``tinylens circuits`` command; no files.

>>> r = run_compile(CompileConfig("min(x1, x2)", domain="x1=-2..2,x2=-2..2", verify=True))
>>> r
CompileResult('min(x1, x2)', 2-2-1, 2 ReLU units, verified=True)
>>> run_explain(ExplainConfig(), net=r.circuit.net).explanation.formula
'Min(x1, x2)'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinylens.studies.circuits.config import (
    CompileConfig,
    ExplainConfig,
    ListConfig,
    MinimalConfig,
    ShowConfig,
)
from tinylens.studies.circuits.result import (
    CompileResult,
    ExplainResult,
    LibraryListing,
    MinimalResult,
    ShowResult,
    SizeTable,
)

__all__ = [
    "load_model",
    "run_compile",
    "run_explain",
    "run_list",
    "run_minimal",
    "run_show",
]


def run_list(config: ListConfig | None = None) -> LibraryListing:
    """Every library entry as a row; with ``sizes`` also what the compiler builds."""
    from tinylens.circuits import CIRCUITS, compile_expression, get_circuit

    config = config or ListConfig()
    rows: list[dict[str, Any]] = []
    for name, spec in CIRCUITS.items():
        c = get_circuit(name)
        row: dict[str, Any] = {
            "name": name,
            "aliases": list(spec.aliases),
            "inputs": list(c.inputs),
            "sizes": c.net.sizes,
            "neurons": c.neurons,
            "activations": c.net.activations,
            "domain": str(c.domain),
            "formula": c.formula,
            "summary": spec.summary,
            "params": [p.name for p in spec.params],
        }
        if config.sizes:
            row["compiled"] = None
            if c.expression:
                comp = compile_expression(c.expression, domain=c.domain)
                row["compiled"] = {
                    "expression": c.expression,
                    "neurons": comp.neurons,
                    "sizes": comp.sizes,
                    "depth": comp.depth,
                }
        rows.append(row)
    return LibraryListing(config, rows)


def _raw_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    from tinylens.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def run_show(config: ShowConfig) -> ShowResult:
    """One library entry: its network, worked examples, compiled size and exact verification."""
    from tinylens.circuits import (
        CIRCUIT_ALIASES,
        CIRCUITS,
        compile_expression,
        get_circuit,
        parse,
        verify,
    )
    from tinylens.circuits.library import parse_params

    key = CIRCUIT_ALIASES.get(config.name, config.name)
    params: dict[str, Any] = {}
    if config.params:
        if key not in CIRCUITS:
            get_circuit(config.name)  # raises the unknown-name error with suggestions
        params = parse_params(CIRCUITS[key], _raw_pairs(config.params))
    c = get_circuit(config.name, **params)
    compiled = compile_expression(c.expression, domain=c.domain) if c.expression else None
    # On a real box the proof needs the expression (a Python function's kinks are invisible).
    ref = parse(c.expression) if c.expression and not c.domain.is_integer else c.reference
    check = verify(c.net, ref, c.domain) if c.exact else None
    return ShowResult(config, c, compiled, check, c.check_examples())


def run_compile(config: CompileConfig) -> CompileResult:
    """The expression compiled to an exact ReLU network (and verified when asked)."""
    from tinylens.circuits import compile_expression

    c = compile_expression(config.expression, domain=config.domain)
    if config.verify:
        c = c.verify(max_work=config.max_work)
    return CompileResult(config, c)


def load_model(path: str) -> tuple[Any, Any, str]:
    """The network in a weights file (exact when the file has exact weights), its stored box
    (or None), and where that box came from."""
    from tinylens.circuits import load_exact, parse_domain
    from tinylens.io import load_affine, read_info

    info = read_info(path).get("info") or {}
    net = load_exact(path) if info.get("exact") else load_affine(path)
    circuit = info.get("circuit") or {}
    if circuit.get("domain"):
        return net, parse_domain(circuit["domain"], names=net.names), "the compiled domain"
    if info.get("study") == "recovery" and info.get("target"):
        from tinylens.studies.recovery import TARGETS

        target = TARGETS.get(info["target"])
        if target is not None and target.integer_range is not None:
            lo, hi = target.integer_range
            return net, ",".join(f"{n}={lo}:{hi}" for n in net.names), "the recovery target's"
    return net, None, "default"


def _circuit_net(spec: str, names: list[str], box: Any) -> Any:
    from tinylens.circuits import CIRCUIT_ALIASES, CIRCUITS, compile_expression, get_circuit
    from tinylens.studies.circuits.limits import as_float

    if spec.endswith(".safetensors") or Path(spec).is_file():
        return load_model(spec)[0]
    if CIRCUIT_ALIASES.get(spec, spec) in CIRCUITS:
        return get_circuit(spec).net
    net = compile_expression(spec, domain=box, inputs=names).net
    as_float(net, spec, "cannot be compared with a float network")
    return net


def grid(domain: Any) -> Any:
    """A grid of the box (where units count as dead or alive for the unit comparison)."""
    import numpy as np

    d = len(domain.intervals)
    per = {1: 401, 2: 41}.get(d, max(3, round(4096 ** (1 / d))))
    axes = [np.linspace(float(iv.lo), float(iv.hi), per) for _, iv in domain.intervals]
    return np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)


def run_explain(
    config: ExplainConfig,
    *,
    net: Any = None,
    progress: Callable[[str], None] | None = None,
) -> ExplainResult:
    """Read a ReLU network back as a formula, with its motifs and (``compare``) the circuit it
    matches. ``net``: a network in memory (an :class:`~tinylens.engine.AffineNet`, or a
    torch module of Linear / ReLU layers with skip connections) instead of ``config.model``.
    """
    from tinylens.circuits import compare_on_box
    from tinylens.circuits.readback import (
        as_affine_net,
        as_domain,
        explain,
        find_motifs,
        match_circuit,
    )

    if net is None:
        net, stored, origin = load_model(config.model)
    else:
        stored, origin = None, "default"
    given, net = net, as_affine_net(net)
    box = as_domain(config.box if config.box else stored, net.names)
    # explain reads the network as given: a torch module's float weights are rounded by default
    e = explain(
        given, box, digits=config.digits, max_cells=config.max_cells, max_terms=config.max_terms
    )
    motifs = find_motifs(e)
    compare = None
    if config.compare:
        other = _circuit_net(config.compare, list(net.names), e.domain)
        match = None
        if net.activations[:-1] == other.activations[:-1] and all(
            a == "relu" for a in net.activations[:-1]
        ):
            match = match_circuit(net.to_float(), other.to_float(), grid(e.domain), atol=0.02)
        diff = compare_on_box(net, other, e.domain) if other.n_inputs == net.n_inputs else None
        compare = {
            "circuit": config.compare,
            "same_circuit": match is not None,
            "units": None if match is None else match.to_dict(),
            "max_difference": None if diff is None else float(diff.max_error),
            "match": match,
        }
    return ExplainResult(config, net, e, motifs, origin, compare)


def run_minimal(config: MinimalConfig) -> MinimalResult | SizeTable:
    """The smallest one-hidden-layer network of the target, or (``table``) the size table."""
    from tinylens.circuits import CIRCUIT_ALIASES, CIRCUITS, get_circuit, parse
    from tinylens.circuits.minimal import is_even_bits, is_even_bound, minimal_width, size_table
    from tinylens.errors import ConfigError

    if config.table:
        return SizeTable(config, size_table(slow=config.slow, time_limit=config.time_limit))
    assert config.target is not None  # MinimalConfig checks it
    key = CIRCUIT_ALIASES.get(config.target, config.target)
    if key in CIRCUITS:
        c = get_circuit(config.target)
        if not c.expression:
            raise ConfigError(
                f"{config.target} has no exact expression (sigmoid); nothing to search"
            )
        expr, domain = parse(c.expression), config.domain or c.domain
    else:
        expr = parse(config.target)
        if not config.domain:
            raise ConfigError(
                f"give the domain of {config.target!r}: --domain x=0..15 (integers) or x=-1:1 "
                "(reals)"
            )
        domain = config.domain
    r = minimal_width(
        expr, domain, max_width=config.max_width, bound=config.bound, time_limit=config.time_limit
    )
    bits = is_even_bits(expr)
    bound = None if bits is None else is_even_bound(bits, milp=False)
    return MinimalResult(config, r, bits, bound)
