"""``tinylens basis``: a 1-h-1 ReLU net as a sum of kinked lines, snapshot by snapshot."""

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
)

ORDER = 30
EXAMPLE = "tinylens basis --hidden-dim 15 --epochs 1000 --target sine --optimizer adam --lr 0.05"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "basis",
        help="basis decomposition of a one-hidden-layer ReLU net (ghosts, kinks, width sweep)",
        description=(
            "Train a 1-h-1 ReLU network on a 1-D target and show it as the sum of its neurons' "
            f"kinked ghost functions, epoch by epoch. Example: {EXAMPLE}"
        ),
    )
    p.add_argument("--target", default="sine", help="sine, polynomial, abs or rough (sine)")
    p.add_argument("--hidden-dim", type=positive_int, default=15, help="hidden neurons (15)")
    p.add_argument("--epochs", type=positive_int, default=1000)
    p.add_argument("--optimizer", default="adam", help="sgd, momentum, adam, ... (adam)")
    p.add_argument("--lr", type=positive_float, default=0.05, help="learning rate (0.05)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--samples", type=positive_int, default=200, help="training points (200)")
    p.add_argument("--noise", type=nonnegative_float, default=0.0, help="target noise std (0)")
    p.add_argument("--init", default="torch", help="weight init: torch (default), he, xavier")
    p.add_argument("--frames", type=positive_int, default=50, help="snapshots to keep (~50)")
    p.add_argument("--no-animation", action="store_true", help="skip the GIF")
    p.add_argument("--no-sweep", action="store_true", help="skip the width sweep")
    p.add_argument(
        "--sweep-widths", type=int_list, default=(1, 2, 4, 8, 16, 32), metavar="W1,W2,..."
    )
    p.add_argument("--sweep-seeds", type=positive_int, default=3)
    p.add_argument("--sweep-epochs", type=positive_int, default=500)
    add_common(p, seed=2024)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_network_size((1, args.hidden_dim, 1), "--hidden-dim")
    from tinylens.studies.basis import BasisStudyConfig, run_basis

    cfg = BasisStudyConfig(
        target=args.target,
        hidden_dim=args.hidden_dim,
        epochs=args.epochs,
        optimizer=args.optimizer,
        lr=args.lr,
        batch_size=args.batch_size,
        n_samples=args.samples,
        noise=args.noise,
        init=args.init,
        seed=args.seed,
        frames=args.frames,
        animation=not args.no_animation,
        sweep=not args.no_sweep,
        sweep_widths=args.sweep_widths,
        sweep_seeds=args.sweep_seeds,
        sweep_epochs=args.sweep_epochs,
    )
    with open_run(args, "basis") as run_dir:
        result = run_basis(cfg, quiet=args.quiet)
        result.save(run_dir)
    path = run_dir.path
    m = result.metrics
    lines = [
        f"basis of a 1-{cfg.hidden_dim}-1 ReLU net on {cfg.target} after {m['epochs_run']} epochs",
        f"  train_loss: {m['train_loss']:.4g}   rmse on the target: {m['rmse_on_target']:.4g}",
        f"  kinks inside the data range: {m['kinks_in_domain']} of {cfg.hidden_dim}; "
        f"dead on the data: {m['dead_on_data']}",
        f"frames:  {path / 'basis_frames.json'} ({m['frames']} snapshots)",
        f"report:  {path / 'index.html'}",
    ]
    emit(args, {"out": str(path), **m}, lines)
    return 0
