"""``tinylens ablate MODEL --data NAME``: ablate every neuron (or channel) of the hidden layers,
optionally every pair, and scale each over a grid of factors; per-class accuracy tables,
figures and a report."""

from __future__ import annotations

import argparse

from tinylens.cli.common import (
    add_common,
    add_data_options,
    check_data_dir,
    emit,
    float_list,
    key_values,
    open_run,
)

ORDER = 50
EXAMPLE = "tinylens ablate runs/train/model.safetensors --data digits --pairs"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ablate",
        help="batched ablation and scaling tables of a saved network",
        description=(
            "Ablate each unit (neuron, or channel of a convolution) of the chosen hook points in "
            "one batched computation, and write per-class accuracy tables, scaling curves, "
            f"figures and a report. Example: {EXAMPLE}"
        ),
    )
    p.add_argument("model", metavar="MODEL", help="a tinylens .safetensors weights file")
    add_data_options(
        p, "classification dataset (digits, mnist, ...)", example="n=2000", required=True
    )
    p.add_argument(
        "--layer",
        action="append",
        metavar="NAME",
        help="hook point or glob, repeatable (default: every hidden activation)",
    )
    p.add_argument("--pairs", action="store_true", help="also ablate every pair of units")
    p.add_argument(
        "--scales",
        type=float_list,
        default=None,
        help="scaling factors, comma-separated (default 0,0.5,1,2,3)",
    )
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling sweep")
    p.add_argument("--kind", choices=["zero", "mean"], default=None, help="ablation (default zero)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_data_dir(args.data, args.data_dir)
    from tinylens.studies import ablate as study

    # Options left out keep AblateConfig's defaults.
    given = {"scales": () if args.no_scaling else args.scales, "kind": args.kind}
    cfg = study.AblateConfig(
        model=args.model,
        data=args.data,
        data_params=key_values(args.data_param),
        data_dir=args.data_dir,
        layers=tuple(args.layer) if args.layer else None,
        pairs=args.pairs,
        seed=args.seed,
        **{k: tuple(v) if k == "scales" else v for k, v in given.items() if v is not None},
    )
    with open_run(args, "ablate") as run_dir:
        result = study.run(cfg, progress=not (args.quiet or args.json))
        study.write(result, run_dir)
    path = run_dir.path
    lines = [
        f"ablated {', '.join(result.layers)} of {args.model} on {result.n_samples} samples of "
        f"{result.data_source}",
        f"  baseline accuracy: {result.baseline_accuracy:.4f}",
    ]
    for name in result.layers:
        table = result.ablations[name]
        unit = result.unit_kinds[name]
        order = table.drop_.argsort()[::-1][:3]
        worst = ", ".join(f"{unit} {int(table.units[i, 0])} (-{table.drop_[i]:.4f})" for i in order)
        lines.append(f"  {name}: {len(table.units)} {unit}s; costliest: {worst}")
    lines += [f"note: {n}" for n in result.notes]
    lines += [f"tables:  {path}/ablation_*.csv", f"report:  {path / 'index.html'}"]
    emit(args, {"out": str(path), **result.metrics()}, lines)
    return 0
