"""``tinylens train``: train an MLP on a named dataset and save weights, metrics and a report."""

from __future__ import annotations

import argparse

from tinylens.cli.common import (
    add_common,
    add_data_options,
    check_data_dir,
    check_network_size,
    emit,
    fraction,
    int_list,
    key_values,
    nonnegative_int,
    open_run,
    positive_float,
    positive_int,
)

ORDER = 20
EXAMPLE = "tinylens train --data spiral --hidden 64,32 --optimizer adam --lr 0.01 --epochs 500"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an MLP (or a small CNN) on a named dataset",
        description=f"Train an MLP and save it with its metrics and report. Example: {EXAMPLE}",
    )
    add_data_options(
        p, "dataset name (spiral, sine, xor, digits, ...)", example="noise=0.3", default="spiral"
    )
    widths = p.add_mutually_exclusive_group()
    widths.add_argument("--hidden", type=int_list, help="hidden widths (default 64,32)")
    widths.add_argument(
        "--arch", type=int_list, help="alias: all widths, input..output, e.g. 2,64,32,3"
    )
    p.add_argument("--activation", default=None, help="hidden activation (default relu)")
    p.add_argument(
        "--model",
        choices=["mlp", "cnn"],
        default=None,
        help="mlp (default) or cnn: conv-relu-pool stages, then linear (image data)",
    )
    p.add_argument("--channels", type=int_list, default=None, help="CNN channels per stage (8,16)")
    p.add_argument("--optimizer", default=None, help="sgd, momentum, nesterov, adam (default)...")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: the optimizer's)")
    p.add_argument("--epochs", type=positive_int, default=None, help="(default 100)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="(default 64)")
    p.add_argument("--loss", default=None, help="auto (default), mse, cross_entropy, bce")
    p.add_argument("--val-fraction", type=fraction, default=None, help="held-out fraction (0.2)")
    p.add_argument(
        "--snapshot-every",
        type=nonnegative_int,
        default=None,
        help="save the weights every K epochs (0, the default: only the final weights)",
    )
    p.add_argument("--early-stopping", type=nonnegative_int, default=None, metavar="PATIENCE")
    p.add_argument("--backend", choices=["engine", "torch"], default=None, help="(engine)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_data_dir(args.data, args.data_dir)
    if args.arch:
        check_network_size(args.arch)
    if args.hidden:  # the data's widths are not known yet: at least one at each end
        check_network_size((1, *args.hidden, 1), "--hidden (with one input and one output)")
    from tinylens.errors import DivergenceError
    from tinylens.studies import train as study
    from tinylens.studies.train.write import drop_checkpoint, resume_checkpoint

    # Options left out keep the config's defaults (TrainStudyConfig, its TrainConfig).
    train = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "loss": args.loss,
        "snapshot_every": args.snapshot_every,
        "early_stopping": args.early_stopping,
    }
    given = {
        "data": args.data,
        "hidden": args.hidden,
        "arch": args.arch,
        "activation": args.activation,
        "val_fraction": args.val_fraction,
        "backend": args.backend,
        "data_dir": args.data_dir,
        "model": args.model,
        "channels": args.channels,
    }
    d = {k: v for k, v in given.items() if v is not None}
    base = study.TrainStudyConfig().train.to_dict()
    d["train"] = {**base, **{k: v for k, v in train.items() if v is not None}}
    cfg = study.TrainStudyConfig.from_dict(
        {**d, "data_params": key_values(args.data_param), "seed": args.seed}
    )
    with open_run(args, "train", resumable=True) as run_dir:
        checkpoint, resuming = resume_checkpoint(run_dir, cfg)
        if resuming and not args.quiet and not args.json:
            print(f"resuming the interrupted run in {run_dir.work}")
        try:
            result = study.run(cfg, progress=not args.quiet, checkpoint=checkpoint)
        except DivergenceError:
            drop_checkpoint(run_dir)  # not worth resuming: a smaller rate starts a new run
            raise
        study.write(result, run_dir)
    path = run_dir.path
    metrics = {k: v for k, v in result.metrics.items()}
    lines = [f"trained {args.data} for {metrics['epochs_run']} epochs"]
    lines += [f"  {k}: {v:.4g}" for k, v in metrics.items() if isinstance(v, float)]
    lines += [f"weights: {path / 'model.safetensors'}", f"report:  {path / 'index.html'}"]
    emit(args, {"out": str(path), **metrics}, lines)
    return 0
