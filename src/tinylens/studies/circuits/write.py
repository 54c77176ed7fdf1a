"""What the circuits commands print and write: each result's text lines, the compiled
network's weights file, the library's report."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from tinylens.studies.circuits.result import (
    CompileResult,
    ExplainResult,
    LibraryListing,
    MinimalResult,
    ShowResult,
    SizeTable,
    _sizes,
    _units,
)

__all__ = [
    "compile_lines",
    "explain_lines",
    "list_lines",
    "minimal_lines",
    "show_lines",
    "table_lines",
    "write_library",
    "write_weights",
]


# -- list / show ----------------------------------------------------------------------------------


def list_lines(result: LibraryListing) -> list[str]:
    rows = result.rows
    lines = []
    if result.config.sizes:
        lines.append(f"{'name':24} {'hand-derived':24} {'compiled':22} expression")
        for r in rows:
            hand = f"{_units(r['neurons']):>8} {_sizes(r['sizes'])}"
            comp = r["compiled"]
            if comp is None:
                lines.append(f"{r['name']:24} {hand:24} {'(sigmoid: approximate)':22} -")
                continue
            flag = "" if comp["neurons"] <= r["neurons"] else "  LARGER"
            got = f"{_units(comp['neurons']):>8} {_sizes(comp['sizes'])}"
            lines.append(f"{r['name']:24} {hand:24} {got:22} {comp['expression']}{flag}")
    else:
        lines.append(f"{'name':24} {'sizes':16} {'units':>5}  {'domain':26} summary")
        for r in rows:
            params = f" [params: {', '.join(r['params'])}]" if r["params"] else ""
            lines.append(
                f"{r['name']:24} {_sizes(r['sizes']):16} {r['neurons']:5d}  "
                f"{r['domain'][:26]:26} {r['summary']}{params}"
            )
    return lines


def write_library(run_dir: Any) -> None:
    """The library report: every circuit drawn (``circuits list --out``)."""
    from tinylens.studies import circuit_library

    circuit_library.write(circuit_library.run(circuit_library.LibraryConfig()), run_dir)


def _matrix_lines(rows: list[list[str]], indent: str) -> list[str]:
    width = max((len(v) for row in rows for v in row), default=1)
    return [indent + "[" + ", ".join(v.rjust(width) for v in row) + "]" for row in rows]


def show_lines(result: ShowResult) -> list[str]:
    from tinylens.circuits.expr import fmt, net_to_strings

    c, compiled, check = result.circuit, result.compiled, result.verification
    lines = [
        f"{c.name}" + (f"  (aliases: {', '.join(c.aliases)})" if c.aliases else ""),
        f"  {c.human}",
        "",
        f"  {c.description}",
        "",
        f"formula (SymPy): {c.formula}",
        f"inputs: {', '.join(c.inputs)}   domain: {c.domain}",
    ]
    if c.params:
        lines.append(
            "parameters: "
            + ", ".join(
                f"{k}={fmt(v) if not isinstance(v, tuple) else ','.join(fmt(x) for x in v)}"
                for k, v in c.params.items()
            )
        )
    lines.append("")
    for i, layer in enumerate(net_to_strings(c.net)):
        out, inn = len(layer["weight"]), len(layer["weight"][0])
        lines.append(f"layer {i}: {layer['activation']}, W [out, in] = [{out}, {inn}]")
        lines += _matrix_lines(layer["weight"], "  W ")
        lines.append("  b [" + ", ".join(layer["bias"]) + "]")
    lines.append("")
    lines.append("examples:")
    for ex, got, ok in result.examples:
        inp = ", ".join(fmt(v) for v in ex.inputs)
        want = ", ".join(fmt(v) for v in ex.outputs)
        shown = ", ".join(fmt(g) if not isinstance(g, float) else f"{g:.4f}" for g in got)
        approx = f" (within {fmt(ex.tolerance)})" if ex.tolerance else ""
        lines.append(
            f"  ({inp}) -> {want}{approx}: network gives {shown}  {'ok' if ok else 'WRONG'}"
        )
    lines.append("")
    if compiled is not None:
        lines.append(
            f"compiled from {c.expression!r}: {_units(compiled.neurons)}, "
            f"{_sizes(compiled.sizes)} (hand-derived: {_units(c.neurons)}, "
            f"{_sizes(c.net.sizes)})"
        )
    else:
        lines.append("not compiled: sigmoid units are approximate (see less_than_step)")
    if check is not None:
        lines.append(f"verification: {check.message}")
    return lines


# -- compile --------------------------------------------------------------------------------------


def _unit_text(weights: list[Any], bias: Any, names: list[str]) -> str:
    from tinylens.circuits.expr import fmt

    parts = []
    for w, n in zip(weights, names, strict=True):
        w = Fraction(w)
        if w == 0:
            continue
        sign = "-" if w < 0 else "+"
        mag = "" if abs(w) == 1 else f"{fmt(abs(w))}*"
        parts.append(f"{sign} {mag}{n}")
    b = Fraction(bias)
    if b or not parts:
        parts.append(f"{'-' if b < 0 else '+'} {fmt(abs(b))}")
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def check_weights_path(out_path: Path, force: bool) -> None:
    """Refuse an ``--out`` that exists (without ``force``), is not ``.safetensors`` or sits
    in a missing directory, before any work."""
    from tinylens.errors import ConfigError

    if out_path.exists() and not force:
        raise ConfigError(f"{out_path} exists; pass --force to replace it or choose another --out")
    if out_path.suffix != ".safetensors":
        raise ConfigError(f"--out {out_path}: weights files end in .safetensors")
    if not out_path.parent.is_dir():
        raise ConfigError(
            f"--out {out_path}: the directory {out_path.parent} does not exist; create it "
            "first or choose another --out"
        )


def write_weights(result: CompileResult, out_path: Path) -> None:
    """The compiled network as a weights file (float weights, the exact ones in its info)."""
    from tinylens.io import save
    from tinylens.studies.circuits.limits import as_float

    c = result.circuit
    floats = as_float(c.net, c.expression, "cannot be written as a weights file (drop --out)")
    save(floats, out_path, info=c.info())


def compile_lines(result: CompileResult, out_path: Path | None = None) -> list[str]:
    c, config = result.circuit, result.config
    names = list(c.inputs)
    lines = [
        f"{c.expression}   (inputs {', '.join(names)}"
        + (f"; domain {c.domain})" if c.domain else ")"),
        f"network {_sizes(c.sizes)}: {c.neurons} ReLU units, depth {c.depth}, "
        f"{c.net.layers[-1].activation} output",
    ]
    prev = names
    for li, layer in enumerate(c.net.layers):
        last = li == len(c.net.layers) - 1
        label = "output" if last else f"layer {li + 1}"
        lines.append(f"  {label}:")
        unit_names = []
        for j in range(layer.out_features):
            name = "y" if last else f"h{li + 1}_{j + 1}"
            text = _unit_text(list(layer.weight[j]), layer.bias[j], prev)
            act = "relu" if layer.activation == "relu" else ""
            why = ""
            if not last and li < len(c.units) and j < len(c.units[li]):
                why = f"   <- {c.units[li][j].why}"
            lines.append(f"    {name} = {act}({text}){why}" if act else f"    {name} = {text}")
            unit_names.append(name)
        prev = unit_names
    v = c.verification
    if v is not None:
        lines.append(v.message)
    elif config.verify is False and c.domain is not None and c.domain.is_integer:
        lines.append("not verified (add --verify)")
    for note in c.assumptions:
        lines.append(f"relies on the domain: {note}")
    if out_path is not None:
        lines.append(f"weights: {out_path}")
    return lines


# -- explain --------------------------------------------------------------------------------------


def explain_lines(result: ExplainResult) -> list[str]:
    from tinylens.circuits.expr import fmt

    e, net, config = result.explanation, result.net, result.config
    lines = [
        f"{config.model}: {_sizes(net.sizes)} network ({', '.join(net.activations)}), inputs "
        f"{', '.join(net.names)}",
        f"box: {e.domain}" + ("" if config.box else f"  ({result.origin})"),
        f"formula:   {e.formula}",
        f"relu form: {e.relu_form}",
        f"language:  {e.expression}",
    ]
    for k, f in enumerate(e.formulas[1:], start=2):
        lines.append(f"output {k}:  {f}")
    rounding = (
        "coefficients exact" if e.digits is None else f"coefficients rounded to {e.digits} decimals"
    )
    if e.max_error is not None:
        how = (
            f"exact over {e.cells:,} linear piece{'s' * (e.cells != 1)}"
            if e.method == "exact"
            else "estimated on a grid, not a bound"
        )
        lines.append(
            f"max error: {float(e.max_error):.3g} = {fmt(e.max_error)} ({how}; {rounding})"
            if e.max_error and len(fmt(e.max_error)) < 30
            else f"max error: {float(e.max_error):.3g} ({how}; {rounding})"
        )
    if e.note:
        lines.append(f"note: {e.note}")
    if e.pruned_units:
        lines.append("pruned units:")
        lines += [f"  layer {p['layer']} unit {p['unit']}: {p['reason']}" for p in e.pruned_units]
    if result.motifs:
        lines.append("motifs:")
        lines += [f"  {m}" for m in result.motifs]
    cmp = result.compare
    if cmp is not None:
        lines.append(f"compared with {cmp['circuit']}:")
        if cmp["max_difference"] is not None:
            lines.append(
                f"  largest difference of the functions on the box: {cmp['max_difference']:.3g}"
            )
        if cmp["match"] is None:
            lines.append("  not the same circuit up to permutation and positive rescaling of units")
        else:
            lines.append("  the same circuit up to permutation and positive rescaling:")
            lines += [f"    {line}" for line in cmp["match"].lines()]
    return lines


# -- minimal --------------------------------------------------------------------------------------


def table_lines(result: SizeTable) -> list[str]:
    lines = [f"{'function':22} {'domain':18} {'hand':>5} {'compiled':>9} {'1 layer':>8}  notes"]
    for r in result.rows:
        hand = "-" if r["hand_derived"] is None else str(r["hand_derived"])
        one = "-" if r["one_layer_minimal"] is None else str(r["one_layer_minimal"])
        extra = ""
        if "lower_bound_any_depth" in r:
            extra = (
                f"; any depth >= {r['lower_bound_any_depth']} units, "
                f"{r['skip_connections']} with skip connections"
            )
        lines.append(
            f"{r['expression']:22} {r['domain'][:18]:18} {hand:>5} {r['compiled']:>9} "
            f"{one:>8}  {r['one_layer_note']}{extra}"
        )
    lines.append(
        "units = ReLU units; hand = a hand-derived network (whose: below), compiled = tinylens "
        "circuits compile, 1 layer = smallest one hidden layer (MILP, verified exactly)"
    )
    lines.append("hand-derived networks:")
    lines += [
        f"  {r['expression']:20} {r['hand_source']}" for r in result.rows if r.get("hand_source")
    ]
    return lines


def minimal_lines(result: MinimalResult) -> list[str]:
    r, config = result.result, result.config
    lines = [f"{r.expression} on {r.domain}: one hidden layer, biases, linear output"]
    if r.width is None:
        lines.append(f"  no network up to width {config.max_width} (try --max-width)")
    else:
        how = r.verification.message if r.verification else ""
        lines.append(f"  smallest width found: {r.width} ({how})")
        if r.net is not None:
            for i, layer in enumerate(r.net.layers):
                W = [", ".join(str(v) for v in row) for row in layer.weight]
                b = ", ".join(str(v) for v in layer.bias)
                lines.append(f"  layer {i} ({layer.activation}): W [{'; '.join(W)}], b [{b}]")
    lines.append(
        f"  widths infeasible (HiGHS, |v| |w| <= {config.bound:g}): "
        f"{', '.join(map(str, r.infeasible)) or 'none'}"
        + (f"; unknown (time limit): {', '.join(map(str, r.unknown))}" if r.unknown else "")
        + f"; {r.points} points, {r.rounds} counterexample rounds, {r.seconds:.1f} s"
    )
    if result.bound is not None:
        lines.append(f"is_even on {2**result.bits} consecutive integers (n = {result.bits}):")
        lines += [f"  {p}" for p in result.bound.proof]
    return lines
