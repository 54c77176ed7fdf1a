"""``tinylens circuits``: the library of hand-derived networks, the compiler, and recovery.

tinylens circuits list [--sizes] [--json]
tinylens circuits show NAME [--param KEY=VALUE ...] [--json]
tinylens circuits compile "EXPR" [--domain x=0..15,y=-3..3 | x=-1:1] [--verify]
                                 [--out F.safetensors] [--json]
tinylens circuits recover TARGET [--seeds 1000] [--optimizer sgd] [--init auto] ...
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tinylens.cli.common import (
    add_common,
    emit,
    nonnegative_int,
    open_run,
    positive_float,
    positive_int,
)

ORDER = 40
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


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# -- list / show ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from tinylens.circuits import CIRCUITS, compile_expression, get_circuit

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
            hand = f"{r['neurons']:2d} units {'-'.join(map(str, r['sizes']))}"
            comp = r["compiled"]
            if comp is None:
                lines.append(f"{r['name']:24} {hand:24} {'(sigmoid: approximate)':22} -")
                continue
            flag = "" if comp["neurons"] <= r["neurons"] else "  LARGER"
            got = f"{comp['neurons']:2d} units {'-'.join(map(str, comp['sizes']))}"
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
            f"compiled from {c.expression!r}: {compiled.neurons} units, "
            f"{'-'.join(map(str, compiled.sizes))} (hand-derived: {c.neurons} units, "
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
    c = compile_expression(args.expression, domain=args.domain, verify=args.verify)
    if out_path is not None:
        save(c.net.to_float(), out_path, info=c.info())
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
    with open_run(args, "recover") as run_dir:
        result = run_recovery(cfg, quiet=args.quiet)
        result.save(run_dir)
    m = result.metrics
    path = run_dir.path
    lines = [
        f"{m['target']}: {m['seeds']} seeds, {m['optimizer']} lr {m['lr']:g}, init {m['init']}, "
        f"{m['steps']} steps ({m['seconds']:.1f} s)",
        f"  found the known circuit: {m['success_rate']:.1%}   loss < {cfg.tol:g}: "
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
