"""``tinylens optimizers``: SGD, Momentum, Adam and friends compared over seeds, with error bars."""

from __future__ import annotations

import argparse
import math
from typing import Any

from tinylens.cli.common import (
    add_common,
    check_data_dir,
    emit,
    open_run,
    positive_float,
    positive_int,
    seed_int,
)

ORDER = 30
EXAMPLE = "tinylens optimizers --dataset digits --optimizer all --seeds 5 --tune"
_DATASETS = ("mnist", "digits", "spiral", "sine")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "optimizers",
        help="compare optimizers over seeds (curves, error bars, paths on 2-D surfaces)",
        description=(
            "Train the same MLP with several optimizers from several seeds and compare: loss "
            "and accuracy curves with bands, final accuracy (mean ± sd), epochs and seconds to "
            "a target loss, the update rules, and the optimizers' paths on Rosenbrock, Beale "
            "and a 2-parameter net. Options override --config. Example: " + EXAMPLE
        ),
    )
    p.add_argument("--dataset", choices=_DATASETS, help="data (default digits)")
    p.add_argument(
        "--optimizer",
        metavar="NAMES",
        help="sgd, momentum (heavy ball), ema_momentum (v = βv + (1 − β)g), nesterov, adam, adamw, "
        "rmsprop (comma-separated) or all (default)",
    )
    p.add_argument("--seeds", type=positive_int, help="seeds per optimizer (default 5)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="YAML config (msmrexe/interpretable-neural-basis-decomposition's keys work)",
    )
    p.add_argument("--epochs", type=positive_int, help="epochs (default 20)")
    p.add_argument("--batch-size", type=positive_int, help="minibatch size (default 64)")
    p.add_argument(
        "--train-size", type=positive_int, help="train on a stratified subset (mnist, digits)"
    )
    p.add_argument(
        "--target-loss",
        type=positive_float,
        help="training loss to reach (default per dataset: 0.1 images, 0.3 spiral, 0.05 sine)",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="tune each optimizer's lr on a grid (validation split) and compare at the best",
    )
    p.add_argument("--no-paths", action="store_true", help="skip the paths on 2-D surfaces")
    p.add_argument("--path-steps", type=positive_int, help="steps per path (default 500)")
    p.add_argument("--data-dir", help="directory with the MNIST IDX files")
    p.add_argument(
        "--download", action="store_true", help="download MNIST (md5-checked) if not local"
    )
    p.add_argument("--seed", type=seed_int, help="first seed (default 0)")
    add_common(p, seed=None)
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Any:
    """The study config: --config file, then the options given on the command line."""
    from tinylens.errors import ConfigError
    from tinylens.studies.optimizers import OptimizerStudyConfig, read_config_file

    # The file's own keys (not its resolved form), then the options given on the command line:
    # one dict, validated once by from_dict.
    if args.config:  # refuse pipes, binary files and alias bombs before the study reads it
        from tinylens.io.files import read_yaml

        read_yaml(args.config, "config file")
    d: dict[str, Any] = read_config_file(args.config) if args.config else {}
    if args.dataset:
        d["dataset"] = args.dataset
    if args.optimizer:
        d["optimizers"] = [o.strip() for o in args.optimizer.split(",") if o.strip()]
    simple = {"seeds": args.seeds, "seed": args.seed, "target_loss": args.target_loss}
    simple.update({"path_steps": args.path_steps, "data_dir": args.data_dir})
    d.update({k: v for k, v in simple.items() if v is not None})
    if args.tune:
        d["tune"] = True
    if args.no_paths:
        d["paths"] = False
    if args.download:
        d["download"] = True
    given = (("epochs", args.epochs), ("batch_size", args.batch_size))
    overrides = {k: v for k, v in given if v is not None}
    if overrides:
        training = d.get("training")
        d["training"] = {**(training if isinstance(training, dict) else {}), **overrides}
    if args.train_size:
        dataset = d.get("dataset", "digits")
        if dataset not in ("mnist", "digits"):
            raise ConfigError(
                f"--train-size applies to mnist and digits; for {dataset} set "
                f"data.{dataset}.n_points in --config"
            )
        data = d.get("data") if isinstance(d.get("data"), dict) else {}
        section = data.get(dataset) if isinstance(data.get(dataset), dict) else {}
        d["data"] = {**data, dataset: {**section, "train_size": args.train_size}}
    return OptimizerStudyConfig.from_dict(d)


def _fmt(mean: float, sd: float, digits: int) -> str:
    return "n/a" if math.isnan(mean) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    if args.data_dir is not None:
        check_data_dir(args.dataset or "mnist", args.data_dir)
    from tinylens.studies.optimizers import run, write

    cfg = build_config(args)
    with open_run(args, "optimizers") as run_dir:
        result = run(cfg, progress=not args.quiet)
        write(result, run_dir)
    path = run_dir.path
    summary = result.summary()
    d = result.data
    lines = [
        f"optimizers on {d.source} ({d.train.n} train / {d.test.n} test, "
        f"{'-'.join(map(str, d.sizes))} {cfg.activation}), {cfg.seeds} seeds, {cfg.epochs} epochs"
        + (", learning rates tuned" if cfg.tune else "")
    ]
    metric = result.score_name
    # NOTE: the name column fits the longest name (ema_momentum is 12 characters), at least the
    # 10 it always had, so every row stays aligned whatever the names.
    w = max(10, *(len(n) for n in summary))
    lines.append(f"  {'optimizer':<{w}} {'lr':>8}  {metric:<18} epochs to loss {cfg.target_loss:g}")
    for name, s in summary.items():
        if result.classification:
            score = _fmt(s["test_accuracy_mean"], s["test_accuracy_sd"], 3)
        else:
            score = _fmt(s["test_loss_mean"], s["test_loss_sd"], 4)
        if s["reached_target"]:
            reach = f"{_fmt(s['epochs_to_target_mean'], s['epochs_to_target_sd'], 1)}"
            reach += f" ({s['reached_target']}/{s['seeds']} seeds)"
        else:
            reach = f"not reached (0/{s['seeds']})"
        lines.append(f"  {name:<{w}} {s['lr']:>8.3g}  {score:<18} {reach}")
    lines += [f"note: {n}" for n in result.notes()]
    lines.append(f"report: {path / 'index.html'}")
    emit(
        args,
        {
            "out": str(path),
            "dataset": cfg.dataset,
            "data_source": d.source,
            "data_notes": d.notes,
            "n_train": d.train.n,
            "n_test": d.test.n,
            "model": d.sizes,
            "tuned": cfg.tune,
            "target_loss": cfg.target_loss,
            "lrs": result.lrs,
            "summary": summary,
            "notes": result.notes(),
        },
        lines,
    )
    return 0
