"""The whole default MNIST study against a plain training of the same model, in one run.

On the 10,000 genuine MNIST test images split 8,000 / 2,000 (what ``tinylens mnist`` uses when
the training files are absent), with the source's setup: a 784-32-16-10 ReLU MLP, SGD lr 0.01,
batch 64, 20 epochs, seed 31416. Two things are timed, alternately, ``--repeats`` times:

* **plain**: ``fit`` of ``MLP([784, 32, 16, 10])`` for 20 epochs, nothing else;
* **study**: ``run_mnist`` with every analysis except t-SNE and UMAP (embeddings by PCA):
  training with a statistics pass over the 8,000 training images after every epoch and a
  weight snapshot per epoch, evaluation per epoch, then confusion, selectivity, lifecycle and
  drift, top neurons by activation, gradient and selectivity, batched ablation and scaling
  (0 to 3) of all 48 hidden neurons, PCA embeddings with silhouettes, selective subspaces
  against random ones, single-pixel maps (784 one-pixel images), saliency maps, and pruning
  by selectivity (per layer and joint, with random controls).

Both run with BLAS on one thread (what the study does; see ``tinylens.training.threads``) on
data loaded once. The ratio is of the fastest repeat of each (the least disturbed by other
processes on a shared machine). Writing the report (figures, snapshots, HTML) is timed once,
apart: it is file and figure work, not analysis.

    python benchmarks/mnist_study.py [--data-dir DIR] [--epochs 20] [--repeats 3] [--no-report]

Target (issue 6): the study costs at most 3x the plain training. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def find_mnist(given: str | None) -> str:
    here = Path(__file__).resolve().parents[1]
    for candidate in (
        given,
        os.environ.get("TINYLENS_MNIST_DIR"),
        here.parent / "shared" / "data" / "mnist",
        "/work/shared/data/mnist",
    ):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return str(candidate)
    raise SystemExit("MNIST t10k files not found: pass --data-dir or set TINYLENS_MNIST_DIR")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-report", action="store_true", help="skip timing the report")
    args = parser.parse_args()

    import tinylens as tl
    from tinylens.io import RunDir
    from tinylens.studies.mnist import MnistStudyConfig, load_data, run_mnist
    from tinylens.training.threads import limit_blas_threads

    cfg = MnistStudyConfig(
        data_dir=find_mnist(args.data_dir),
        download=False,
        epochs=args.epochs,
        embeddings=("pca",),  # every analysis except t-SNE and UMAP
    )
    t0 = time.perf_counter()
    data = load_data(cfg)
    load_seconds = time.perf_counter() - t0
    lr = cfg.resolved_lr(data.source)
    sizes = [data.train.n_features, *cfg.hidden, data.train.n_outputs]

    def plain() -> float:
        with limit_blas_threads(1):
            net = tl.MLP(sizes, rng=cfg.seed, init=cfg.init)
            train_cfg = tl.TrainConfig(
                epochs=cfg.epochs, batch_size=cfg.batch_size, optimizer="sgd", lr=lr
            )
            t = time.perf_counter()
            tl.fit(net, data.train, train_cfg, rng=cfg.seed, quiet=True)
            return time.perf_counter() - t

    plains, studies, results = [], [], []
    plain()  # warm-up: first-call costs (imports, allocations) belong to neither side
    for _ in range(args.repeats):
        plains.append(plain())
        t = time.perf_counter()
        results.append(run_mnist(cfg, data=data, quiet=True))
        studies.append(time.perf_counter() - t)
    best = min(range(args.repeats), key=lambda i: studies[i])
    result = results[best]
    p = result.primary
    parts = {k: round(v, 4) for k, v in p.analysis.seconds.items()}
    report_seconds = None
    if not args.no_report:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            run = RunDir(Path(tmp) / "run")
            result.save(run)
            from tinylens.report import render_run

            render_run(run.work)
            run.finish()
            report_seconds = time.perf_counter() - t

    plain_s, study_s = min(plains), min(studies)
    ratio = study_s / plain_s
    print(
        f"data: {data.source}, {data.train.n} train / {data.test.n} test "
        f"(loaded in {load_seconds:.2f} s); {'-'.join(map(str, sizes))} MLP, {cfg.epochs} "
        f"epochs of SGD at lr {lr:g}"
    )
    print(
        f"plain training  : {plain_s:7.3f} s   (repeats: {', '.join(f'{v:.3f}' for v in plains)})"
    )
    print(
        f"whole study     : {study_s:7.3f} s   (repeats: {', '.join(f'{v:.3f}' for v in studies)})"
    )
    print(
        f"  training with per-epoch statistics and snapshots: {p.train_seconds:.3f} s; "
        f"analyses: {sum(p.analysis.seconds.values()):.3f} s"
    )
    for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"    {k:<22} {v:7.3f} s")
    print(f"study / plain   : {ratio:.2f}x  (target <= 3)")
    if report_seconds is not None:
        print(f"writing the report (figures, snapshots, HTML), apart: {report_seconds:.2f} s")
    print(f"test accuracy: {p.test_accuracy:.4f}")
    print(
        json.dumps(
            {
                "benchmark": "mnist_study",
                "data_source": data.source,
                "n_train": data.train.n,
                "n_test": data.test.n,
                "epochs": cfg.epochs,
                "plain_seconds": round(plain_s, 4),
                "study_seconds": round(study_s, 4),
                "study_over_plain": round(ratio, 3),
                "target": 3.0,
                "train_with_stats_seconds": round(p.train_seconds, 4),
                "analysis_seconds": parts,
                "report_seconds": None if report_seconds is None else round(report_seconds, 3),
                "test_accuracy": round(p.test_accuracy, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
