"""The default MNIST study, end to end, against a plain training of the same model, in one run.

On the MNIST that ``tinylens mnist --data-dir DIR --no-download`` would use (full MNIST when DIR
holds the training files, else the 10,000 test images split 8,000 / 2,000; the first output line
says which), with the source's setup: a 784-32-16-10 ReLU MLP, SGD lr 0.01,
batch 64, 20 epochs, seed 31416. Three things are timed, alternately, ``--repeats`` times:

* **plain**: ``fit`` of ``MLP([784, 32, 16, 10])`` for 20 epochs, nothing else;
* **end to end**: what ``tinylens mnist --no-download`` does after loading the data, at its
  defaults: ``run`` with every default analysis, embeddings by PCA *and t-SNE* (t-SNE on
  ``tsne_samples`` = 200 of the 500 embedded test images, of the inputs, each hidden layer and
  each layer's selective subspace), activation histograms over training, then the run
  directory written (weights, snapshots, tables, figures each drawn once, ``report.json``) and
  the HTML report rendered. Only loading the data (done once, before any timing) and starting
  the interpreter are left out. Its last repeat's split by stage is printed in wall and CPU
  seconds (CPU: what a stage costs on a quiet machine, everything on one thread);
* **analyses without t-SNE**: ``run_mnist`` with every analysis except t-SNE and UMAP
  (embeddings by PCA), writing nothing:
  training with a statistics pass over the 8,000 training images after every epoch and a
  weight snapshot per epoch, evaluation per epoch, then confusion, selectivity, lifecycle and
  drift, top neurons by activation, gradient and selectivity, batched ablation and scaling
  (0 to 3) of all 48 hidden neurons, PCA embeddings with silhouettes, selective subspaces
  against random ones, single-pixel maps (784 one-pixel images), saliency maps, and pruning
  by selectivity (per layer and joint, with random controls).

All run with BLAS on one thread (what the study does; see ``tinylens.training.threads``) on
data loaded once. Each ratio is of the fastest repeat of each side (the least disturbed by other
processes on a shared machine).

    python benchmarks/mnist_study.py [--data-dir DIR] [--epochs 20] [--repeats 3]

Target (issue 6): the analyses cost at most 3x the plain training. The end-to-end ratio is what
a user waits for, reported beside it. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from _common import find_mnist  # benchmarks/ is on sys.path when run as a script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import tinylens as tl
    from tinylens.io import RunDir
    from tinylens.report import render_run
    from tinylens.studies.mnist import MnistStudyConfig, load_data, run_mnist
    from tinylens.training.threads import limit_blas_threads

    default = MnistStudyConfig(
        data_dir=str(find_mnist(args.data_dir)), download=False, epochs=args.epochs
    )
    # every analysis except t-SNE and UMAP
    cfg = dataclasses.replace(default, embeddings=("pca",))
    t0 = time.perf_counter()
    data = load_data(cfg)
    load_seconds = time.perf_counter() - t0
    lr = cfg.resolved_lr(data.source)
    sizes = [data.train.n_features, *cfg.hidden, data.train.n_outputs]

    def plain() -> float:
        with limit_blas_threads(1):
            net = tl.MLP(sizes, rng=cfg.seed, init=cfg.init)
            train_cfg = tl.TrainConfig(
                epochs=cfg.train.epochs, batch_size=cfg.train.batch_size, optimizer="sgd", lr=lr
            )
            t = time.perf_counter()
            tl.fit(net, data.train, train_cfg, rng=cfg.seed, quiet=True)
            return time.perf_counter() - t

    def end_to_end(tmp: str, k: int) -> float:
        """``tinylens mnist`` at its defaults after loading: the study, then its run directory."""
        t = time.perf_counter()
        result = run_mnist(default, data=data, quiet=True)
        run = RunDir(Path(tmp) / f"run-{k}")
        result.save(run)
        render_run(run.work)
        path = run.finish()
        stages.clear()
        m = json.loads((path / "metrics.json").read_text())
        stages.update({**m["stage_seconds"], **m["write_seconds"]})
        return time.perf_counter() - t

    plains, studies, ends, results = [], [], [], []
    stages: dict[str, dict[str, float]] = {}
    plain()  # warm-up: first-call costs (imports, allocations) belong to no side
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            plains.append(plain())
            ends.append(end_to_end(tmp, k))
            t = time.perf_counter()
            results.append(run_mnist(cfg, data=data, quiet=True))
            studies.append(time.perf_counter() - t)
    best = min(range(args.repeats), key=lambda i: studies[i])
    result = results[best]
    p = result.primary
    parts = {k: round(v, 4) for k, v in p.analysis.seconds.items()}

    plain_s, study_s, end_s = min(plains), min(studies), min(ends)
    ratio, end_ratio = study_s / plain_s, end_s / plain_s
    print(
        f"data: {data.source}, {data.train.n} train / {data.test.n} test "
        f"(loaded in {load_seconds:.2f} s); {'-'.join(map(str, sizes))} MLP, {cfg.train.epochs} "
        f"epochs of SGD at lr {lr:g}"
    )
    print(
        f"plain training  : {plain_s:7.3f} s   (repeats: {', '.join(f'{v:.3f}' for v in plains)})"
    )
    print(
        f"end to end      : {end_s:7.3f} s   (repeats: {', '.join(f'{v:.3f}' for v in ends)})"
        "   default study with t-SNE, run directory and report written"
    )
    print(
        f"analyses        : {study_s:7.3f} s   (repeats: {', '.join(f'{v:.3f}' for v in studies)})"
        "   every analysis but t-SNE/UMAP, nothing written"
    )
    print(
        f"  training with per-epoch statistics and snapshots: {p.train_seconds:.3f} s; "
        f"analyses: {sum(p.analysis.seconds.values()):.3f} s"
    )
    for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"    {k:<22} {v:7.3f} s")
    print("end to end, last repeat, by stage (wall and CPU seconds, BLAS on one thread):")
    for k, v in stages.items():
        print(f"    {k:<48} {v['wall']:8.3f} {v['cpu']:8.3f}")
    print(f"analyses / plain   : {ratio:.2f}x  (target <= 3)")
    print(f"end to end / plain : {end_ratio:.2f}x")
    print(f"test accuracy: {p.test_accuracy:.4f}")
    print(
        json.dumps(
            {
                "benchmark": "mnist_study",
                "data_source": data.source,
                "n_train": data.train.n,
                "n_test": data.test.n,
                "epochs": cfg.train.epochs,
                "plain_seconds": round(plain_s, 4),
                "end_to_end_seconds": round(end_s, 4),
                "end_to_end_over_plain": round(end_ratio, 3),
                "analyses_seconds_without_tsne": round(study_s, 4),
                "analyses_over_plain": round(ratio, 3),
                "target": 3.0,
                "train_with_stats_seconds": round(p.train_seconds, 4),
                "analysis_seconds": parts,
                "test_accuracy": round(p.test_accuracy, 4),
                "threads": 1,
                "end_to_end_stages": stages,
            }
        )
    )


if __name__ == "__main__":
    main()
