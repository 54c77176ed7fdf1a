"""``tinylens inspect MODEL``: a network's hook points, activation shapes and, given data,
streaming statistics (dead units, fraction active, value ranges) at every point."""

from __future__ import annotations

import argparse

from tinylens.cli.common import (
    add_data_options,
    check_data_dir,
    emit,
    key_values,
    positive_int,
    seed_int,
)

ORDER = 40
EXAMPLE = "tinylens inspect runs/train/model.safetensors --data digits"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="list a network's hook points, shapes and activation statistics",
        description=(
            "Print every hook point of a saved network with its activation shape; with --data, "
            f"streaming statistics over that dataset. Example: {EXAMPLE}"
        ),
    )
    p.add_argument("model", metavar="MODEL", help="a tinylens .safetensors weights file")
    add_data_options(
        p, "dataset to measure activations on (digits, mnist, spiral...)", example="n=2000"
    )
    p.add_argument("--batch-size", type=positive_int, default=None, help="(default 2048)")
    p.add_argument("--seed", type=seed_int, default=0, help="seeds generated data and splits")
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_data_dir(args.data, args.data_dir)
    from tinylens.io import checksum_status
    from tinylens.studies import inspect as study

    cfg = study.InspectConfig(
        model=args.model,
        data=args.data,
        data_params=key_values(args.data_param),
        data_dir=args.data_dir,
        seed=args.seed,
        # left out, the config's own default holds (defaults live once)
        **({} if args.batch_size is None else {"batch_size": args.batch_size}),
    )
    result = study.run(cfg, progress=not (args.quiet or args.json))
    status = checksum_status(args.model)
    note = {
        "verified": "checksum: verified (metadata and tensors)",
        "tensors only": "checksum: tensors only (an older tinylens file; metadata unverified)",
        "unverified": "checksum: none (written by another tool; unverified)",
    }[status]
    emit(args, {**result.to_dict(), "checksum": status}, [*result.lines(), note])
    return 0
