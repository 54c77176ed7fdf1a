"""``tinylens mnist``: the MNIST probing study (the source's 784-32-16-10 MLP, its variants and a
small CNN), from training to ablations, embeddings, input maps and pruning, in one run."""

from __future__ import annotations

import argparse
import math
from typing import Any

from tinylens.cli.common import (
    add_common,
    check_data_dir,
    check_network_size,
    emit,
    float_list,
    int_list,
    open_run,
    positive_float,
    positive_int,
    seed_int,
)

ORDER = 40
EXAMPLE = "tinylens mnist --data-dir ~/mnist --variant all --cnn"


def register(sub: argparse._SubParsersAction) -> None:
    # defaults live once, in the study's config: the help quotes them from there
    from tinylens.studies.mnist.config import (
        ANALYSES,
        SOURCE,
        VARIANT_ALIASES,
        VARIANTS,
        MnistStudyConfig,
    )

    d = MnistStudyConfig()
    t = d.train
    p = sub.add_parser(
        "mnist",
        help="the MNIST probing study: neurons, lifecycles, ablations, maps, variants, CNN",
        description=(
            f"Train the {'-'.join(map(str, (784, *d.hidden, 10)))} ReLU MLP of {SOURCE} (SGD lr "
            f"0.01, batch {t.batch_size}, {t.epochs} epochs, inputs in [0, 1]) with streaming "
            "neuron statistics every epoch, then measure it: dead neurons and their lifecycle, "
            "activation histograms, class selectivity, drift, per-class accuracy, batched "
            "ablation and scaling of every neuron, embeddings, single-pixel and saliency maps, "
            "pruning by selectivity. --variant compares normalized inputs, LayerNorm (before: "
            "layernorm_pre = layernorm; after: layernorm_post), dropout and "
            "eriktholmes/interpreting_mnist's best "
            f"combination; --cnn adds a small CNN diagnosed per channel. Example: {EXAMPLE}"
        ),
    )
    p.add_argument(
        "--dataset",
        choices=["mnist", "digits"],
        help=f"{d.dataset} (default; falls back to the MNIST test set split 8,000/2,000, not "
        "comparable to eriktholmes/interpreting_mnist's 94.80%%, then digits)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="directory with the MNIST IDX files")
    p.add_argument(
        "--no-download", action="store_true", help="never download MNIST (use local files only)"
    )
    hidden = ",".join(map(str, d.hidden))
    p.add_argument("--hidden", type=int_list, help=f"hidden widths ({hidden})")
    p.add_argument("--epochs", type=positive_int, help=f"epochs (default {t.epochs})")
    p.add_argument("--batch-size", type=positive_int, help=f"minibatch (default {t.batch_size})")
    p.add_argument(
        "--lr", type=positive_float, help="SGD learning rate (default 0.01 on MNIST, 0.1 on digits)"
    )
    p.add_argument(
        "--init",
        help=f"weight init: {d.init} (He for ReLU layers, default), torch (nn.Linear's default, "
        "as the source), he, he_uniform, xavier, xavier_normal",
    )
    p.add_argument(
        "--variant",
        metavar="NAMES",
        help=f"comma-separated, from {', '.join([*VARIANTS, *VARIANT_ALIASES, 'all'])} "
        f"(default {','.join(d.variants)})",
    )
    p.add_argument("--cnn", action="store_true", help="also train and diagnose a small CNN")
    channels = ",".join(map(str, d.cnn_channels))
    p.add_argument("--cnn-channels", type=int_list, help=f"CNN channels ({channels})")
    p.add_argument("--cnn-epochs", type=positive_int, help="CNN epochs (default: --epochs)")
    p.add_argument(
        "--embeddings",
        metavar="METHODS",
        help=f"pca, tsne, umap (comma-separated), all or none (default {','.join(d.embeddings)})",
    )
    p.add_argument(
        "--embedding-samples",
        type=positive_int,
        help=f"test images embedded (default {d.embedding_samples})",
    )
    p.add_argument(
        "--tsne-samples",
        type=positive_int,
        help=f"of those, how many t-SNE and UMAP embed (default {d.tsne_samples}; they cost "
        "seconds per thousand points)",
    )
    p.add_argument(
        "--skip",
        action="append",
        metavar="ANALYSIS",
        help=f"skip an analysis, repeatable: {', '.join(ANALYSES)}",
    )
    p.add_argument(
        "--scales",
        type=float_list,
        help=f"scaling factors (default {','.join(f'{s:g}' for s in d.scales)})",
    )
    p.add_argument("--train-size", type=positive_int, help="train on a stratified subset")
    p.add_argument(
        "--geometry",
        action="store_true",
        help="also count the linear regions near training, test and far points at every epoch's "
        "snapshot, and the regions of a plane through three test images (issue 15), for the "
        "first ReLU MLP variant (LayerNorm is not piecewise linear) and, with --cnn, the CNN "
        "(on smaller squares and the triangle shrunk to a tenth: its regions are far more "
        "numerous); writes local_complexity.csv (cnn_local_complexity.csv)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="the few-seconds preset: digits, cheap analyses (other options override it)",
    )
    add_common(p, seed=None)
    p.add_argument("--seed", type=seed_int, help=f"random seed (default {d.seed}, the source's)")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Any:
    """The study config: the defaults (or the ``--quick`` preset), then every option given."""
    from tinylens.studies.mnist import ANALYSES, MnistStudyConfig
    from tinylens.studies.mnist.config import names_of

    given: dict[str, Any] = {
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "hidden": args.hidden,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "init": args.init,
        "seed": args.seed,
        "variants": args.variant,
        "cnn_channels": args.cnn_channels,
        "cnn_epochs": args.cnn_epochs,
        "embeddings": args.embeddings,
        "embedding_samples": args.embedding_samples,
        "tsne_samples": args.tsne_samples,
        "train_size": args.train_size,
        "scales": args.scales,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if args.cnn:
        given["cnn"] = True
    if args.no_download:
        given["download"] = False
    base = MnistStudyConfig.quick() if args.quick else MnistStudyConfig()
    if args.skip:
        skipped = set(names_of("analysis", ",".join(args.skip), ANALYSES, {}))
        given["analyses"] = tuple(a for a in base.analyses if a not in skipped)
    return MnistStudyConfig.from_dict({**base.to_dict(), **given})


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.3f}"


def run(args: argparse.Namespace) -> int:
    check_data_dir(args.dataset or "mnist", args.data_dir)
    if args.hidden:
        check_network_size((784, *args.hidden, 10), "--hidden")
    from tinylens.studies.mnist import run as run_study
    from tinylens.studies.mnist import write

    cfg = build_config(args)
    geometry_variant = _geometry_variant(cfg) if args.geometry else None
    geometries: list[tuple[str, Any]] = []
    with open_run(args, "mnist") as run_dir:
        result = run_study(cfg, progress=not args.quiet)
        write(result, run_dir)
        if geometry_variant is not None:
            from tinylens.progress import silenced

            with silenced(args.quiet):  # a CNN plane past a few seconds shows progress
                geometries.append((geometry_variant, _geometry(result, geometry_variant, run_dir)))
                if result.cnn is not None:
                    geometries.append(("cnn", _geometry(result, "cnn", run_dir)))
    path = run_dir.path
    p = result.primary
    d = result.data
    lines = [
        f"mnist study on {d.source} ({d.train.n} train / {d.test.n} test, "
        f"{'-'.join(map(str, p.net.sizes))} relu), {cfg.train.epochs} epochs of SGD at lr "
        f"{result.lr:g}, seed {cfg.seed}",
        f"  {'model':<15} {'test acc':>8}  {'dead/units per layer':<22} "
        f"{'mean S per layer':<18} {'params':>7} {'train s':>8}",
    ]
    runs = list(result.runs.values()) + ([result.cnn] if result.cnn is not None else [])
    for r in runs:
        s = r.summary()
        dead = ", ".join(f"{s['dead_units'][n]}/{s['units'][n]}" for n in s["units"])
        sel = ", ".join(_fmt(v) for v in s["mean_selectivity"].values())
        lines.append(
            f"  {r.variant:<15} {s['test_accuracy']:>8.4f}  {dead:<22} {sel:<18} "
            f"{s['parameters']:>7} {s['train_seconds']:>8.2f}"
        )
    bottlenecks = p.bottlenecks()
    if bottlenecks:
        lines.append(
            "  bottleneck neurons (class: hook point#unit, class accuracy lost when ablated): "
            + "; ".join(
                f"{c}: {b['layer']}#{b['unit']} {b['class_accuracy_drop']:.3f}"
                for c, b in bottlenecks.items()
            )
        )
    lines += [_geometry_line(g, model) for model, g in geometries]
    lines += [f"note: {n}" for n in result.notes()]
    lines += [f"weights: {path / 'model.safetensors'}", f"report:  {path / 'index.html'}"]
    m = result.metrics()
    summary = {
        "out": str(path),
        **{
            k: m[k]
            for k in (
                "dataset",
                "data_source",
                "data_notes",
                "n_train",
                "n_test",
                "model",
                "test_accuracy",
                "per_class_accuracy",
                "bottleneck_neurons",
                "variant_comparison",
                "notes",
            )
        },
        "dead_neurons": {n: v["dead_count"] for n, v in m["dead_neurons"].items()},
        "lr": result.lr,
        "seconds": m["seconds"],
    }
    if "cnn_comparison" in m:
        summary["cnn_comparison"] = m["cnn_comparison"]
    for model, g in geometries:  # the MLP variant's under "local_complexity", the CNN's apart
        key = "cnn_local_complexity" if model == "cnn" else "local_complexity"
        summary[key] = {
            "model": model,
            "epochs": g.epochs,
            **{n: g.mean(n)[:, -1].round(3).tolist() for n in ("train", "test", "far")},
            "plane_regions": g.plane_counts[:, -1].tolist(),
        }
    emit(args, summary, lines)
    return 0


def _geometry_variant(cfg: Any) -> str:
    """The variant ``--geometry`` reads: the first ReLU MLP (checked before training)."""
    from tinylens.errors import ConfigError
    from tinylens.studies.mnist.config import VARIANT_ALIASES

    plain = ("raw", "normalized", "dropout")
    for v in cfg.variants:
        if VARIANT_ALIASES.get(v, v) in plain:
            return str(v)
    raise ConfigError(
        f"--geometry needs a ReLU MLP variant ({', '.join(plain)}); {', '.join(cfg.variants)} "
        "use LayerNorm, which is not piecewise linear"
    )


def _geometry(result: Any, variant: str, run_dir: Any) -> Any:
    """The partition over training of ``variant`` (an MLP variant, or ``"cnn"``: its files
    start with ``cnn_``), written to the run directory."""
    from tinylens.studies.geometry.over_training import over_training_of
    from tinylens.studies.geometry.write import write_over_training

    run = result.cnn if variant == "cnn" else result.runs[variant]
    geometry = over_training_of(run, seed=result.config.seed)
    p = result.primary
    title = f"tinylens mnist: {'-'.join(map(str, p.net.sizes))} on {result.data.source}"
    prefix = "cnn_" if variant == "cnn" else ""
    write_over_training(geometry, run_dir, model=variant, title=title, prefix=prefix)
    return geometry


def _geometry_line(g: Any, variant: str) -> str:
    last = {n: g.mean(n)[-1, -1] for n in ("train", "test", "far")}
    return (
        f"  local complexity ({variant}, {len(g.points['train'])} points per set, square "
        f"half-width {g.radius:g}), epoch {g.epochs[0]} -> {g.epochs[-1]}: train "
        f"{g.mean('train')[0, -1]:.1f} -> {last['train']:.1f}, test "
        f"{g.mean('test')[0, -1]:.1f} -> {last['test']:.1f}, far "
        f"{g.mean('far')[0, -1]:.1f} -> {last['far']:.1f} regions per square; plane through "
        f"three test images {g.plane_counts[0, -1]} -> {g.plane_counts[-1, -1]} regions"
    )
