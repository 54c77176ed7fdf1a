"""``tinylens sae MODEL --data digits|mnist --hook layers.1 --latents 128``: a sparse
autoencoder at one hook point, its metrics, and the polysemanticity of neurons and latents."""

from __future__ import annotations

import argparse

from tinylens.cli.common import add_common, emit, open_run, positive_float, positive_int

ORDER = 55
EXAMPLE = "tinylens sae runs/train/model.safetensors --data digits --hook layers.1 --latents 128"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sae",
        help="a sparse autoencoder on a hook point; neurons vs latents polysemanticity",
        description=(
            "Train a sparse autoencoder (ReLU + L1, or TopK with --k) on the activations of one "
            "hook point, streamed from the training images; measure L0, variance explained, the "
            "model's accuracy with the layer replaced by its reconstruction, dead latents; and "
            f"compare how many classes neurons and latents respond to. Example: {EXAMPLE}"
        ),
    )
    p.add_argument("model", metavar="MODEL", help="a tinylens .safetensors weights file")
    p.add_argument(
        "--data", choices=["digits", "mnist"], default="digits", help="image data (default digits)"
    )
    p.add_argument("--data-dir", metavar="DIR", help="directory with the MNIST IDX files")
    p.add_argument("--hook", default="layers.1", help="hook point (default layers.1)")
    p.add_argument(
        "--latents",
        type=positive_int,
        help="SAE latents (default 128)",
    )
    p.add_argument("--k", type=positive_int, help="TopK latents with this k (default: ReLU + L1)")
    p.add_argument(
        "--l1",
        type=positive_float,
        help="L1 coefficient of a ReLU SAE (default 0.001)",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        help="training steps (default 2000)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        help="images per step (default 256)",
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        help="Adam learning rate (default 0.001)",
    )
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.sae import SAEStudyConfig, run, write
    from tinylens.superposition import SAETrainConfig

    given = {
        "n_latents": args.latents,
        "k": args.k,
        "l1": args.l1,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
    }
    cfg = SAEStudyConfig(
        model=args.model,
        data=args.data,
        data_dir=args.data_dir,
        hook=args.hook,
        # unset options keep SAETrainConfig's defaults (defaults live once, in the config)
        sae=SAETrainConfig(**{k: v for k, v in given.items() if v is not None}),
        seed=args.seed,
    )
    with open_run(args, "sae") as run_dir:
        result = run(cfg, progress=not (args.quiet or args.json))
        write(result, run_dir)
    path, ev, m = run_dir.path, result.evaluation, result.metrics()
    n, lat = result.neurons.summary(), result.latents.summary()
    kind = result.neurons.kind
    lines = [
        f"SAE at {cfg.hook} of {args.model}: d={result.sae.d}, {result.sae.n_latents} latents "
        f"({'TopK k=' + str(cfg.sae.k) if cfg.sae.k else f'ReLU, L1={cfg.sae.l1:g}'}), "
        f"{result.sae.steps_} steps on {result.n_train} images of {result.data_source}",
        f"  held-out: L0 {ev.l0_:.2f}, variance explained {ev.fve_:.4f}, MSE {ev.mse_:.4g}, "
        f"dead latents {int(ev.dead_.sum())}, dense {int(ev.dense_.sum())}",
        f"  accuracy clean {ev.clean_accuracy_:.4f}, spliced {ev.spliced_accuracy_:.4f}, "
        f"zero-ablated {ev.zero_accuracy_:.4f}; loss recovered {ev.loss_recovered_:.4f}",
        f"  {kind}s:  {n['live']} live, mean classes responded to "
        f"{n['mean classes responded to']}, monosemantic {n['monosemantic (1 class)']}, "
        f"mean entropy {n['mean class entropy (bits)']} bits",
        f"  latents: {lat['live']} live, mean classes responded to "
        f"{lat['mean classes responded to']}, monosemantic {lat['monosemantic (1 class)']}, "
        f"mean entropy {lat['mean class entropy (bits)']} bits",
        "  superposition score: " + ", ".join(f"{k} {v:.3f}" for k, v in result.score.items()),
    ]
    lines += [f"note: {x}" for x in result.notes]
    lines += [f"report:  {path / 'index.html'}"]
    emit(args, {"out": str(path), **m}, lines)
    return 0
