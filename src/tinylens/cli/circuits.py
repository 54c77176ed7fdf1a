"""``tinylens circuits``: the library of hand-derived networks, the compiler, and recovery.

tinylens circuits list [--sizes] [--json]
tinylens circuits show NAME [--param KEY=VALUE ...] [--json]
tinylens circuits compile "EXPR" [--domain x=0..15,y=-3..3 | x=-1:1] [--verify]
                                 [--out F.safetensors] [--json]
tinylens circuits recover TARGET [--seeds 1000] [--optimizer sgd] [--init auto] ...
tinylens circuits explain MODEL.safetensors [--box x1=-1:1,...] [--digits N | --exact]
                                            [--compare NAME|EXPR|F.safetensors] [--json]
tinylens circuits minimal NAME|EXPR [--domain ...] [--max-width N] [--json]
tinylens circuits minimal --table [--json]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tinylens.cli._circuit_limits import as_float, check_recovery_size
from tinylens.cli.common import (
    add_common,
    emit,
    int_between,
    nonnegative_int,
    open_run,
    positive_float,
    positive_int,
)

ORDER = 40
MAX_DIGITS = 30
"""Most decimals ``explain --digits`` keeps (a float64 weight has 17 significant digits; beyond
that, --exact is the honest choice)."""
_EXAMPLES = (
    'tinylens circuits compile "min(x1, x2)" --domain x1=-5..5,x2=-5..5 --verify; '
    "tinylens circuits show is_even; tinylens circuits recover min --seeds 1000"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "circuits",
        help="hand-derived ReLU circuits: list, show, compile expressions, recover by training",
        description=f"Exact ReLU circuits. Examples: {_EXAMPLES}",
    )
    inner = p.add_subparsers(dest="circuits_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda args: _usage(p))

    ls = inner.add_parser("list", help="every network of the library")
    ls.add_argument("--sizes", action="store_true", help="compile each one and compare sizes")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.add_argument(
        "--out", metavar="DIR", help="also write the library report: every circuit drawn"
    )
    ls.add_argument("--force", action="store_true", help="replace an existing --out directory")
    ls.add_argument(
        "--quiet", action="store_true", help="no table (with --out: print only the path)"
    )
    ls.set_defaults(func=run_list)

    show = inner.add_parser("show", help="one network: weights [out, in], formula, examples")
    show.add_argument("name", help="a library name (see 'tinylens circuits list')")
    show.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="parameter of a parametrised entry, e.g. --param w1=2 (repeatable)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_show)

    comp = inner.add_parser(
        "compile",
        help="compile an expression into an exact ReLU network",
        description="Compile an expression (variables, numbers, + - * /, abs, relu, min, max, "
        "clamp, < <= > >= == !=, is_even(x, bits=n), is_odd, where(c, a, b)) into a ReLU "
        "network with exact rational weights.",
    )
    comp.add_argument("expression", help='e.g. "min(x1, x2)" or "where(x < 8, x, 15 - x)"')
    comp.add_argument(
        "--domain",
        help="x=0..15,y=-3..3 (integers) or x=-1:1 (reals); "
        "an unnamed 0..15 applies to every input",
    )
    comp.add_argument(
        "--verify",
        action="store_true",
        help="check the network against the expression on the whole domain",
    )
    comp.add_argument("--out", metavar="F.safetensors", help="write the network here")
    comp.add_argument("--force", action="store_true", help="replace an existing --out file")
    comp.add_argument("--quiet", action="store_true", help="print nothing on success")
    comp.add_argument("--json", action="store_true", help="print a JSON summary")
    comp.set_defaults(func=run_compile)

    rec = inner.add_parser(
        "recover",
        help="train many seeds: does gradient descent find the circuit?",
        description="Train many seeds of a target's network at once and sort them into "
        "outcomes (found the known circuit, works for x > 0 only, stuck at the mean, ...).",
    )
    rec.add_argument(
        "target",
        help="identity, negative_identity, abs, add, subtract, min, "
        "is_even, less_than, less_than_sigmoid",
    )
    rec.add_argument("--seeds", type=positive_int, default=1000, help="number of seeds (1000)")
    rec.add_argument("--optimizer", help="sgd, momentum, adam, ... (default: the target's)")
    rec.add_argument("--lr", type=positive_float, help="learning rate (default: the target's)")
    rec.add_argument("--init", default="auto", help="auto (He), he_uniform, xavier, torch")
    rec.add_argument("--steps", type=positive_int, help="training steps (default: the target's)")
    rec.add_argument("--batch-size", type=positive_int, help="batch size (default: the target's)")
    rec.add_argument(
        "--pool",
        type=nonnegative_int,
        default=10,
        help="batches of training data, reshuffled each epoch (0: fresh every step)",
    )
    rec.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="layers with biases (default: the target's)",
    )
    rec.add_argument("--tol", type=positive_float, default=1e-6, help="success loss (1e-6)")
    rec.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    rec.add_argument(
        "--compare",
        action="store_true",
        help="also train sgd/momentum/adam x auto/xavier/torch init",
    )
    rec.add_argument(
        "--compare-seeds", type=positive_int, help="seeds per compared variant (default: --seeds)"
    )
    add_common(rec)
    rec.set_defaults(func=run_recover)

    ex = inner.add_parser(
        "explain",
        help="read a formula back out of a ReLU network's weights",
        description="Read a ReLU network with a few inputs as a formula: dead and always-active "
        "units decided exactly on the box, positive rescaling undone, duplicate units merged, "
        "relu(z) - relu(-z) = z and relu(z) + relu(-z) = |z| cancelled, min / max recognised; "
        "max_error is the exact largest |formula - network| on the box. Also lists the "
        "network's motifs (abs and identity pairs, greaterness detectors).",
    )
    ex.add_argument("model", metavar="MODEL.safetensors", help="a tinylens weights file")
    ex.add_argument(
        "--box",
        help="x1=-1:1,x2=0:2 or LO,HI,LO,HI,... (default: the domain stored in the file, else "
        "-1:1 for every input)",
    )
    digits = ex.add_mutually_exclusive_group()
    digits.add_argument(
        "--digits",
        type=int_between(0, MAX_DIGITS, f"a number of decimals from 0 to {MAX_DIGITS}"),
        help="decimals kept in coefficients (default: 2 for trained float networks, exact for "
        "compiled ones)",
    )
    digits.add_argument("--exact", action="store_true", help="keep every coefficient exact")
    ex.add_argument(
        "--compare",
        metavar="CIRCUIT",
        help="a library name, an expression or a weights file: is the model that circuit, up "
        "to permutation and positive rescaling of units, and which units correspond?",
    )
    ex.add_argument("--json", action="store_true", help="print JSON")
    ex.set_defaults(func=run_explain)

    mn = inner.add_parser(
        "minimal",
        help="the smallest network computing a function exactly",
        description="Find the smallest one-hidden-layer ReLU network (biases, linear output) "
        "computing an expression exactly on its domain: a MILP (HiGHS) per width, each solution "
        "verified exactly (real boxes: counterexamples refine the MILP's points). For is_even / "
        "is_odd also the lower bound for any ReLU network and the constructions. --table: "
        "hand-derived, compiled and smallest sizes of the library's small functions.",
    )
    mn.add_argument(
        "target", nargs="?", help='a library name or an expression, e.g. min or "abs(x)"'
    )
    mn.add_argument("--domain", help="x=0..15 (integers) or x=-1:1 (reals); default: the entry's")
    mn.add_argument("--max-width", type=positive_int, default=8, help="widths tried (8)")
    mn.add_argument(
        "--bound",
        type=positive_float,
        default=8.0,
        help="bound on |output weight| x |incoming weight| of a unit (8)",
    )
    mn.add_argument("--time-limit", type=positive_float, default=20.0, help="seconds per MILP (20)")
    mn.add_argument("--table", action="store_true", help="the size table of small functions")
    mn.add_argument("--slow", action="store_true", help="with --table: also the slow is_even MILPs")
    mn.add_argument("--json", action="store_true", help="print JSON")
    mn.set_defaults(func=run_minimal)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# -- list / show ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from tinylens.circuits import CIRCUITS, compile_expression, get_circuit

    if args.out:
        from tinylens.studies.circuit_library import LibraryConfig, run_library

        with open_run(args, "circuits") as run_dir:
            run_library(LibraryConfig(compile=True)).save(run_dir)
        if not args.json:
            print(f"report:  {run_dir.path / 'index.html'}")
        if args.quiet:
            return 0

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
        if args.sizes:
            if c.expression:
                comp = compile_expression(c.expression, domain=c.domain)
                row["compiled"] = {
                    "expression": c.expression,
                    "neurons": comp.neurons,
                    "sizes": comp.sizes,
                    "depth": comp.depth,
                }
            else:
                row["compiled"] = None
        rows.append(row)
    if args.json:
        emit(args, {"circuits": rows}, [])
        return 0
    lines = []
    if args.sizes:
        lines.append(f"{'name':24} {'hand-derived':24} {'compiled':22} expression")
        for r in rows:
            hand = f"{_units(r['neurons']):>8} {'-'.join(map(str, r['sizes']))}"
            comp = r["compiled"]
            if comp is None:
                lines.append(f"{r['name']:24} {hand:24} {'(sigmoid: approximate)':22} -")
                continue
            flag = "" if comp["neurons"] <= r["neurons"] else "  LARGER"
            got = f"{_units(comp['neurons']):>8} {'-'.join(map(str, comp['sizes']))}"
            lines.append(f"{r['name']:24} {hand:24} {got:22} {comp['expression']}{flag}")
    else:
        lines.append(f"{'name':24} {'sizes':16} {'units':>5}  {'domain':26} summary")
        for r in rows:
            params = f" [params: {', '.join(r['params'])}]" if r["params"] else ""
            lines.append(
                f"{r['name']:24} {'-'.join(map(str, r['sizes'])):16} {r['neurons']:5d}  "
                f"{r['domain'][:26]:26} {r['summary']}{params}"
            )
    emit(args, {}, lines)
    return 0


def _matrix_lines(rows: list[list[str]], indent: str) -> list[str]:
    width = max((len(v) for row in rows for v in row), default=1)
    return [indent + "[" + ", ".join(v.rjust(width) for v in row) + "]" for row in rows]


def run_show(args: argparse.Namespace) -> int:
    from tinylens.circuits import CIRCUITS, compile_expression, get_circuit, parse, verify
    from tinylens.circuits.exact import fmt, net_to_strings
    from tinylens.circuits.library import _ALIASES, parse_params

    key = _ALIASES.get(args.name, args.name)
    params: dict[str, Any] = {}
    if args.param:
        if key not in CIRCUITS:
            get_circuit(args.name)  # raises the unknown-name error with suggestions
        params = parse_params(CIRCUITS[key], {k: str(v) for k, v in _raw_pairs(args.param).items()})
    c = get_circuit(args.name, **params)
    compiled = compile_expression(c.expression, domain=c.domain) if c.expression else None
    # On a real box the proof needs the expression (a Python function's kinks are invisible).
    ref = parse(c.expression) if c.expression and not c.domain.is_integer else c.reference
    check = verify(c.net, ref, c.domain) if c.exact else None
    examples = c.check_examples()
    if args.json:
        d = c.to_dict()
        d["examples_ok"] = all(ok for _, _, ok in examples)
        d["compiled"] = None if compiled is None else compiled.to_dict()
        d["verification"] = None if check is None else check.to_dict()
        emit(args, d, [])
        return 0
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
    for ex, got, ok in examples:
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
            f"{'-'.join(map(str, compiled.sizes))} (hand-derived: {_units(c.neurons)}, "
            f"{'-'.join(map(str, c.net.sizes))})"
        )
    else:
        lines.append("not compiled: sigmoid units are approximate (see less_than_step)")
    if check is not None:
        lines.append(f"verification: {check.message}")
    emit(args, {}, lines)
    return 0


def _raw_pairs(pairs: list[str]) -> dict[str, str]:
    from tinylens.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


# -- compile ----------------------------------------------------------------------------------


def _unit_text(weights: list[Any], bias: Any, names: list[str]) -> str:
    from fractions import Fraction

    from tinylens.circuits.exact import fmt

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


def run_compile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinylens.circuits import compile_expression
    from tinylens.errors import ConfigError
    from tinylens.io import save

    out_path = Path(args.out) if args.out else None
    if out_path is not None:
        if out_path.exists() and not args.force:
            raise ConfigError(
                f"{out_path} exists; pass --force to replace it or choose another --out"
            )
        if out_path.suffix != ".safetensors":
            raise ConfigError(f"--out {out_path}: weights files end in .safetensors")
        if not out_path.parent.is_dir():
            raise ConfigError(
                f"--out {out_path}: the directory {out_path.parent} does not exist; create it "
                "first or choose another --out"
            )
    c = compile_expression(args.expression, domain=args.domain, verify=args.verify)
    if out_path is not None:
        floats = as_float(c.net, c.expression, "cannot be written as a weights file (drop --out)")
        save(floats, out_path, info=c.info())
    summary = c.to_dict(str(out_path) if out_path else None)
    names = list(c.inputs)
    lines = [
        f"{c.expression}   (inputs {', '.join(names)}"
        + (f"; domain {c.domain})" if c.domain else ")"),
        f"network {'-'.join(map(str, c.sizes))}: {c.neurons} ReLU units, depth {c.depth}, "
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
    elif args.verify is False and c.domain is not None and c.domain.is_integer:
        lines.append("not verified (add --verify)")
    for note in c.assumptions:
        lines.append(f"relies on the domain: {note}")
    if out_path is not None:
        lines.append(f"weights: {out_path}")
    emit(args, summary, lines)
    return 1 if v is not None and v.verified is False else 0


# -- recover ----------------------------------------------------------------------------------


def run_recover(args: argparse.Namespace) -> int:
    from tinylens.studies.recovery import RecoveryConfig, run_recovery

    cfg = RecoveryConfig(
        target=args.target,
        seeds=args.seeds,
        seed=args.seed,
        optimizer=args.optimizer,
        lr=args.lr,
        init=args.init,
        steps=args.steps,
        batch_size=args.batch_size,
        bias=args.bias,
        pool=args.pool,
        tol=args.tol,
        dtype=args.dtype,
        compare=args.compare,
        compare_seeds=args.compare_seeds,
    )
    # Check names before any work: an optimizer or init typo fails in one line, at once.
    from tinylens.engine.init import resolve_init
    from tinylens.training import TrainConfig

    resolve_init(cfg.init, "relu")
    if cfg.optimizer is not None:
        TrainConfig(optimizer=cfg.optimizer)
    check_recovery_size(cfg)
    with open_run(args, "recover") as run_dir:
        result = run_recovery(cfg, quiet=args.quiet)
        result.save(run_dir)
    m = result.metrics
    path = run_dir.path
    lines = [
        f"{m['target']}: {m['seeds']} seeds, {m['optimizer']} lr {m['lr']:g}, init {m['init']}, "
        f"{m['steps']} steps ({m['seconds']:.1f} s)",
        f"  success (read-back formula = target): {m['success_rate']:.1%}   known circuit "
        f"(structure): {m['structural_rate']:.1%}   loss < {cfg.tol:g}: {m['solved_rate']:.1%}"
        if m["readback_rate"] is not None
        else f"  success (the known unit structure): {m['success_rate']:.1%}   loss < {cfg.tol:g}: "
        f"{m['solved_rate']:.1%}",
    ]
    for outcome, n in m["outcomes"].items():
        ex = ", ".join(map(str, m["examples"].get(outcome, [])))
        lines.append(f"  {outcome:34} {n:6d}   e.g. seeds {ex}")
    sides = m.get("init_sides")
    if sides:
        lines.append(
            f"  units started on both sides of 0: {sides['both']['seeds']} seeds, success "
            f"{sides['both']['success_rate'] or 0:.1%}; on one side: {sides['one']['seeds']} "
            f"seeds, success {sides['one']['success_rate'] or 0:.1%}"
        )
    for row in m.get("grid", []):
        lines.append(
            f"  {row['optimizer']:9} init {row['init']:7} lr {row['lr']:<7g} "
            f"success {row['success_rate']:6.1%}  loss<tol {row['solved_rate']:6.1%}  "
            f"top failure: {row['top_failure']}"
        )
    lines += [f"report:  {path / 'index.html'}"]
    emit(args, {"out": str(path), **m}, lines)
    return 0


# -- explain ----------------------------------------------------------------------------------


def _load_model(path: str) -> tuple[Any, Any, str]:
    """The network (exact when the file has exact weights), its stored box, where it came from."""
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
    from pathlib import Path

    from tinylens.circuits import CIRCUITS, compile_expression, get_circuit
    from tinylens.circuits.library import _ALIASES

    if spec.endswith(".safetensors") or Path(spec).is_file():
        return _load_model(spec)[0]
    if _ALIASES.get(spec, spec) in CIRCUITS:
        return get_circuit(spec).net
    net = compile_expression(spec, domain=box, inputs=names).net
    as_float(net, spec, "cannot be compared with a float network")
    return net


def run_explain(args: argparse.Namespace) -> int:
    from tinylens.circuits import compare_on_box
    from tinylens.circuits.canonical import match_circuit
    from tinylens.circuits.exact import fmt
    from tinylens.circuits.explain import as_domain, explain
    from tinylens.circuits.motifs import find_motifs

    net, stored, origin = _load_model(args.model)
    box = as_domain(args.box if args.box else stored, net.names)
    digits: Any = None if args.exact else args.digits if args.digits is not None else "auto"
    e = explain(net, box, digits=digits)
    motifs = find_motifs(e)
    summary = {**e.to_dict(), "model": args.model, "motifs": [m.to_dict() for m in motifs]}
    sizes = "-".join(map(str, net.sizes))
    lines = [
        f"{args.model}: {sizes} network ({', '.join(net.activations)}), inputs "
        f"{', '.join(net.names)}",
        f"box: {e.domain}" + ("" if args.box else f"  ({origin})"),
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
    if motifs:
        lines.append("motifs:")
        lines += [f"  {m}" for m in motifs]
    if args.compare:
        other = _circuit_net(args.compare, list(net.names), e.domain)
        grid = _grid(e.domain)
        match = None
        if net.activations[:-1] == other.activations[:-1] and all(
            a == "relu" for a in net.activations[:-1]
        ):
            match = match_circuit(net.to_float(), other.to_float(), grid, atol=0.02)
        diff = compare_on_box(net, other, e.domain) if other.n_inputs == net.n_inputs else None
        summary["compare"] = {
            "circuit": args.compare,
            "same_circuit": match is not None,
            "units": None if match is None else match.to_dict(),
            "max_difference": None if diff is None else float(diff.max_error),
        }
        lines.append(f"compared with {args.compare}:")
        if diff is not None:
            lines.append(
                f"  largest difference of the functions on the box: {float(diff.max_error):.3g}"
            )
        if match is None:
            lines.append("  not the same circuit up to permutation and positive rescaling of units")
        else:
            lines.append("  the same circuit up to permutation and positive rescaling:")
            lines += [f"    {line}" for line in match.lines()]
    emit(args, summary, lines)
    return 0


def _grid(domain: Any) -> Any:
    """A grid of the box (where units count as dead or alive for the unit comparison)."""
    import numpy as np

    d = len(domain.intervals)
    per = {1: 401, 2: 41}.get(d, max(3, round(4096 ** (1 / d))))
    axes = [np.linspace(float(iv.lo), float(iv.hi), per) for _, iv in domain.intervals]
    return np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)


# -- minimal ----------------------------------------------------------------------------------


def run_minimal(args: argparse.Namespace) -> int:
    from tinylens.circuits import CIRCUITS, get_circuit, parse
    from tinylens.circuits.library import _ALIASES
    from tinylens.circuits.minimal import _is_even_bits, is_even_bound, minimal_width, size_table
    from tinylens.errors import ConfigError

    if args.table:
        rows = size_table(slow=args.slow, time_limit=args.time_limit)
        lines = [f"{'function':22} {'domain':18} {'hand':>5} {'compiled':>9} {'1 layer':>8}  notes"]
        for r in rows:
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
            "units = ReLU units; hand = the sources' network, compiled = tinylens circuits "
            "compile, 1 layer = smallest one hidden layer (MILP, verified exactly)"
        )
        emit(args, {"rows": rows}, lines)
        return 0
    if not args.target:
        raise ConfigError("give a target (a library name or an expression), or --table")
    key = _ALIASES.get(args.target, args.target)
    if key in CIRCUITS:
        c = get_circuit(args.target)
        if not c.expression:
            raise ConfigError(f"{args.target} has no exact expression (sigmoid); nothing to search")
        expr, domain = parse(c.expression), args.domain or c.domain
    else:
        expr = parse(args.target)
        if not args.domain:
            raise ConfigError(
                f"give the domain of {args.target!r}: --domain x=0..15 (integers) or x=-1:1 (reals)"
            )
        domain = args.domain
    r = minimal_width(
        expr, domain, max_width=args.max_width, bound=args.bound, time_limit=args.time_limit
    )
    summary = r.to_dict()
    lines = [f"{r.expression} on {r.domain}: one hidden layer, biases, linear output"]
    if r.width is None:
        lines.append(f"  no network up to width {args.max_width} (try --max-width)")
    else:
        how = r.verification.message if r.verification else ""
        lines.append(f"  smallest width found: {r.width} ({how})")
        if r.net is not None:
            for i, layer in enumerate(r.net.layers):
                W = [", ".join(str(v) for v in row) for row in layer.weight]
                b = ", ".join(str(v) for v in layer.bias)
                lines.append(f"  layer {i} ({layer.activation}): W [{'; '.join(W)}], b [{b}]")
    lines.append(
        f"  widths infeasible (HiGHS, |v| |w| <= {args.bound:g}): "
        f"{', '.join(map(str, r.infeasible)) or 'none'}"
        + (f"; unknown (time limit): {', '.join(map(str, r.unknown))}" if r.unknown else "")
        + f"; {r.points} points, {r.rounds} counterexample rounds, {r.seconds:.1f} s"
    )
    bits = _is_even_bits(expr)
    if bits is not None:
        b = is_even_bound(bits, milp=False)
        summary["is_even_bound"] = b.to_dict()
        lines.append(f"is_even on {2**bits} consecutive integers (n = {bits}):")
        lines += [f"  {p}" for p in b.proof]
    emit(args, summary, lines)
    return 0


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"
