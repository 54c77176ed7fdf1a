"""``tinylens basis``: a 1-h-1 ReLU net as a sum of kinked lines, snapshot by snapshot.

Defaults live once, in :class:`tinylens.studies.basis.BasisStudyConfig`: an option left out
keeps the config's value.
"""

from __future__ import annotations

import argparse

from tinylens.cli.common import (
    add_common,
    check_network_size,
    emit,
    int_list,
    nonnegative_float,
    open_run,
    positive_float,
    positive_int,
    seed_int,
)

ORDER = 30
EXAMPLE = "tinylens basis --hidden-dim 15 --epochs 1000 --target sine --optimizer adam --lr 0.05"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "basis",
        help="basis decomposition of a one-hidden-layer ReLU net (ghosts, kinks, width sweep)",
        description=(
            "Train a 1-h-1 ReLU network on a 1-D target and show it as the sum of its neurons' "
            "kinked ghost functions, epoch by epoch; the width sweep sets trained networks "
            "beside the best network of each width and the 1/width^2 rate. Options left out "
            f"keep the study's defaults (15 neurons, 1000 epochs, Adam at 0.05). Example: {EXAMPLE}"
        ),
    )
    p.add_argument("--target", default=None, help="sine, polynomial, abs or rough (sine)")
    p.add_argument(
        "--hidden", "--hidden-dim", dest="hidden", type=positive_int, default=None,
        help="hidden neurons",
    )  # fmt: skip
    p.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--optimizer", default=None, help="sgd, momentum, adam, ...")
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--samples", type=positive_int, default=None, help="training points")
    p.add_argument("--noise", type=nonnegative_float, default=None, help="target noise std")
    p.add_argument("--init", default=None, help="weight init: torch (default), he, xavier")
    p.add_argument(
        "--kinks", default=None,
        help="where the kinks start: data (drawn inside the data range, default) or init "
        "(where the initialisation puts them)",
    )  # fmt: skip
    p.add_argument("--frames", type=positive_int, default=None, help="snapshots to keep")
    p.add_argument("--no-animation", action="store_true", help="skip the GIF")
    p.add_argument("--no-sweep", action="store_true", help="skip the width sweep")
    p.add_argument("--sweep-widths", type=int_list, default=None, metavar="W1,W2,...")
    p.add_argument("--sweep-seeds", type=positive_int, default=None)
    p.add_argument("--sweep-epochs", type=positive_int, default=None)
    add_common(p, seed=None)
    p.add_argument("--seed", type=seed_int, default=None, help="random seed (the study's default)")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> object:
    from tinylens.studies.basis import BasisStudyConfig

    given = {
        "target": args.target,
        "hidden": args.hidden,
        "n_samples": args.samples,
        "noise": args.noise,
        "init": args.init,
        "kinks": args.kinks,
        "seed": args.seed,
        "frames": args.frames,
        "sweep_widths": args.sweep_widths,
        "sweep_seeds": args.sweep_seeds,
    }
    d = {k: v for k, v in given.items() if v is not None}
    train = {"epochs": args.epochs, "optimizer": args.optimizer, "lr": args.lr}
    train["batch_size"] = args.batch_size
    d["train"] = {k: v for k, v in train.items() if v is not None}
    if args.sweep_epochs is not None:
        d["sweep_train"] = {"epochs": args.sweep_epochs}
    d["animation"] = not args.no_animation
    d["sweep"] = not args.no_sweep
    return BasisStudyConfig.from_dict(d)


def run(args: argparse.Namespace) -> int:
    if args.hidden is not None:
        check_network_size((1, args.hidden, 1), "--hidden-dim")
    from tinylens.studies.basis import run as run_basis
    from tinylens.studies.basis import write

    cfg = _config(args)
    with open_run(args, "basis") as run_dir:
        result = run_basis(cfg, progress=not args.quiet)
        write(result, run_dir)
    path = run_dir.path
    m = result.metrics
    lines = [
        f"basis of a 1-{cfg.hidden}-1 ReLU net on {cfg.target} after {m['epochs_run']} epochs",
        f"  train_loss: {m['train_loss']:.4g}   rmse on the target: {m['rmse_on_target']:.4g}",
        f"  kinks inside the data range: {m['kinks_in_domain']} of {cfg.hidden}; "
        f"dead on the data: {m['dead_on_data']}",
    ]
    if result.sweep is not None:
        import numpy as np

        s = result.sweep
        lines.append(f"  width sweep (median RMSE at widths {','.join(map(str, s.widths))}):")
        for name, err in s.errors.items():
            med = " ".join(f"{float(np.median(e)):.3g}" for e in err)
            best = " ".join(f"{v:.3g}" for v in (s.least_squares or {}).get(name, []))
            lines.append(f"  width sweep {name}: trained {med}; least squares {best}")
    lines += [
        f"frames:  {path / 'basis_frames.json'} ({m['frames']} snapshots)",
        f"report:  {path / 'index.html'}",
    ]
    emit(args, {"out": str(path), **m}, lines)
    return 0
