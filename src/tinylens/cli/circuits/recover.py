"""``tinylens circuits recover TARGET``: does gradient descent find the circuit? (The study is
:mod:`tinylens.studies.recovery`.)"""

from __future__ import annotations

import argparse

from tinylens.cli.common import (
    add_common,
    emit,
    int_list,
    nonnegative_int,
    open_run,
    positive_float,
    positive_int,
)


def add(inner: argparse._SubParsersAction) -> None:
    rec = inner.add_parser(
        "recover",
        help="train many seeds: does gradient descent find the circuit?",
        description="Train many seeds of a target's network at once and sort them into "
        "outcomes (found the known circuit, works for x > 0 only, stuck at the mean, ...).",
    )
    rec.add_argument(
        "target",
        help="identity, negative_identity, abs, add, subtract, min, is_even, "
        "is_even_labels_even, less_than, less_than_sigmoid, bottleneck_sum, "
        "bottleneck_weighted_sum, bottleneck_product",
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
    rec.add_argument(
        "--hidden",
        type=int_list,
        help="hidden layer widths, e.g. 4 or 8,8 (default: the target's network)",
    )
    rec.add_argument(
        "--distribution",
        choices=["uniform", "normal", "gamma"],
        help="input distribution of a real target (default: the target's)",
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
    rec.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.circuits.limits import check_recovery_size
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
        hidden=args.hidden,
        distribution=args.distribution,
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
        else f"  success: {m['success_rate']:.1%}   loss < {cfg.tol:g}: {m['solved_rate']:.1%}",
    ]
    if m["readback_rate"] is None:
        lines.append(f"  success means {m['success_means']}")
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
