"""``tinylens demo``: every study, small, offline, in one report.

Each part runs one study with a small embedded configuration and writes it into its own
sub-directory (with its own report), and the demo's ``index.html`` gathers every section:

=============  ===============================================================================
basis          a 1-15-1 ReLU net learning a sine, as a sum of kinked lines, with its slider
regions        a small MLP trained on the spiral, and every one of its exact linear regions
topology       the spiral untangled by width (polynomial lifting) and by depth (folding)
optimizers     SGD, Momentum and Adam over seeds on the digits, and their paths on surfaces
circuits       the hand-derived circuit library, a compiled and verified expression, and
               "does gradient descent find abs?" over a few hundred seeds
probing        the image probing study (dead neurons, selectivity, ablation, scaling, maps,
               pruning) on scikit-learn's offline 8x8 digits
superposition  toy models of superposition (n=5, m=2) at three sparsities, trained at once
sae            a sparse autoencoder at a digits classifier's hidden layer: neurons vs latents
=============  ===============================================================================

Everything is offline and seeded: the same seed gives the same report, whether the parts run
one after another or side by side in worker processes (``run_demo(..., workers=N)``: each part
seeds its own random generators and pins BLAS to one thread, so where it runs changes nothing).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tinylens.errors import UnknownNameError
from tinylens.io import RunDir, Section, Table, read_sections
from tinylens.progress import progress
from tinylens.studies.demo_circuits import circuits_part

__all__ = ["PARTS", "DemoConfig", "DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoConfig:
    """``quick`` shrinks every part (fewer epochs, seeds and points) to run in seconds."""

    quick: bool = False
    seed: int = 0
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for part in self.parts:
            if part not in PARTS:
                raise UnknownNameError("demo part", part, PARTS)
        if not self.parts:
            object.__setattr__(self, "parts", tuple(PARTS))

    def to_dict(self) -> dict[str, Any]:
        return {"quick": self.quick, "seed": self.seed, "parts": list(self.parts)}


@dataclass
class DemoResult:
    """``seconds`` and ``cpu_seconds`` per part (wall clock, and CPU time of the process that
    ran it); ``wall`` the whole demo's elapsed seconds (less than the parts' sum when they ran
    side by side); ``workers`` the processes that ran the parts."""

    config: DemoConfig
    seconds: dict[str, float] = field(default_factory=dict)
    highlights: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    workers: int = 1


# -- the parts ------------------------------------------------------------------------------------
def _basis(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies.basis import BasisStudyConfig, write
    from tinylens.studies.basis import run as run_basis
    from tinylens.training import TrainConfig

    basis_cfg = BasisStudyConfig(
        hidden=15,
        train=TrainConfig(
            epochs=300 if cfg.quick else 1000, batch_size=64, optimizer="adam", lr=0.05
        ),
        frames=20 if cfg.quick else 50,
        seed=2024 + cfg.seed,
        animation=False,
        sweep=not cfg.quick,
        sweep_widths=(1, 2, 4, 8, 16),
        sweep_targets=("sine", "abs", "rough"),
        sweep_seeds=2,
        sweep_train=TrainConfig(
            epochs=300, batch_size=200, optimizer="adam", lr=0.05, shuffle=False
        ),
    )
    result = run_basis(basis_cfg, progress=not quiet)
    write(result, run)
    return {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}


def _regions(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies.geometry import RegionsStudyConfig, run_regions
    from tinylens.studies.train import TrainStudyConfig
    from tinylens.studies.train import run as run_train
    from tinylens.training import TrainConfig

    train = run_train(
        TrainStudyConfig(
            data="spiral",
            data_params={"n": 600},
            arch=(2, 12, 12, 3),
            train=TrainConfig(epochs=60 if cfg.quick else 200, optimizer="adam", lr=0.02),
            seed=cfg.seed,
        ),
        progress=not quiet,
    )
    path = run.save_weights("spiral_net.safetensors", train.engine_net(), info={"study": "demo"})
    result = run_regions(RegionsStudyConfig(weights=str(path), box=(-1.1, 1.1, -1.1, 1.1)))
    result.save(run)
    return {
        "regions": result.regions.count,
        "val_accuracy": train.metrics.get("val_accuracy"),
        "seconds": result.seconds,
    }


def _topology(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies import topology

    top_cfg = topology.TopologyConfig.from_dict(
        {
            "classes": [3] if cfg.quick else [3, 4],
            "points": 600 if cfg.quick else 1000,
            "train": {"epochs": 120 if cfg.quick else 300},
            "lift_epochs": 300 if cfg.quick else 1000,
            "seed": cfg.seed,
        }
    )
    result = topology.run(top_cfg, progress=not quiet)
    topology.write(result, run)
    out: dict[str, Any] = {}
    for k, m in result.per_class.items():
        out[f"K={k} lifting test accuracy"] = m["lift"]["test_accuracy"]
        out[f"K={k} MLP test accuracy"] = m["mlp"]["test_accuracy"]
    return out


def _optimizers(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies import optimizers

    opt_cfg = optimizers.OptimizerStudyConfig(
        dataset="digits",
        optimizers=("sgd", "momentum", "adam"),
        seeds=2 if cfg.quick else 3,
        seed=cfg.seed,
        epochs=4 if cfg.quick else 10,
        paths=True,
        path_steps=150 if cfg.quick else 400,
    )
    result = optimizers.run(opt_cfg, progress=not quiet)
    optimizers.write(result, run)
    return {
        f"{name} test accuracy": s["test_accuracy_mean"] for name, s in result.summary().items()
    }


def _probing(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies.mnist import MnistStudyConfig, write
    from tinylens.studies.mnist import run as run_mnist

    # Offline by design: scikit-learn's bundled 8x8 digits, never a download.
    study = MnistStudyConfig.quick(
        variants=("raw",) if cfg.quick else ("raw", "normalized", "best"),
        epochs=10 if cfg.quick else 20,
    )
    result = run_mnist(study, progress=not quiet)
    write(result, run)
    m = result.metrics()
    return {"test accuracy": m["test_accuracy"], "data": m["data_source"]}


def _superposition(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies.superposition import SuperpositionConfig, ToyTrainConfig, write
    from tinylens.studies.superposition import run as run_superposition

    sup_cfg = SuperpositionConfig(
        sparsity=(0.0, 0.9, 0.99),
        instances=2,
        train=ToyTrainConfig(steps=800 if cfg.quick else 1500),
        seed=cfg.seed,
    )
    result = run_superposition(sup_cfg, progress=not quiet)
    write(result, run)
    return {
        f"represented at S={result.sparsity[k]:g}": int(result.represented_[k])
        for k in result.best()
    }


def _sae(cfg: DemoConfig, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.data import load_image_split
    from tinylens.engine import MLP
    from tinylens.studies.sae import SAEStudyConfig, write
    from tinylens.studies.sae import run as run_sae
    from tinylens.superposition import SAETrainConfig
    from tinylens.training import TrainConfig, fit

    # Offline by design: a small classifier on scikit-learn's digits, then a TopK dictionary at
    # its hidden layer (settings our own, small enough for the demo's time).
    split = load_image_split("digits", seed=cfg.seed)
    net = MLP([64, 32, 10], rng=cfg.seed)
    train = TrainConfig(epochs=10 if cfg.quick else 30, optimizer="adam", lr=0.01)
    fit(net, split.train, train, rng=cfg.seed, quiet=True)
    study = SAEStudyConfig(
        data="digits",
        hook="layers.1",
        sae=SAETrainConfig(n_latents=128, k=8, steps=300 if cfg.quick else 1000),
        seed=cfg.seed,
    )
    result = run_sae(study, model=net, data=split, progress=not quiet)
    write(result, run)
    m = result.metrics()
    return {
        "variance explained": m["fraction of variance explained"],
        "classes per neuron": m["neurons: mean classes responded to"],
        "classes per latent": m["latents: mean classes responded to"],
    }


PARTS: dict[str, Callable[[DemoConfig, RunDir, bool], dict[str, Any]]] = {
    "basis": _basis,
    "regions": _regions,
    "topology": _topology,
    "optimizers": _optimizers,
    "circuits": circuits_part,
    "probing": _probing,
    "superposition": _superposition,
    "sae": _sae,
}
"""The demo's parts in order: name -> function(config, run, quiet) returning highlights."""


# Each part's seconds, --quick and full, on the idle 2-core machine in order (the README's
# figures before the fixed-margin figures; benchmarks/demo.py): only their order matters. The
# longest start first, so the workers finish close together (longest-processing-time first).
_COST = {
    "probing": (3.5, 4.5),
    "topology": (3.1, 6.6),
    "optimizers": (1.8, 2.2),
    "sae": (1.6, 2.2),
    "circuits": (1.5, 2.5),
    "basis": (1.3, 3.3),
    "superposition": (0.8, 1.0),
    "regions": (0.3, 0.5),
}


def default_workers(n_parts: int) -> int:
    """Processes for ``n_parts`` parts: one per core this process may use, at most one per part."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_parts))


def run_demo(
    config: DemoConfig, run: RunDir, *, quiet: bool = False, workers: int | None = None
) -> DemoResult:
    """Run every part into ``run/<part>/`` and gather their sections into ``run``'s report.

    Each part's own ``report.json`` stays in its directory; rendering the HTML of every report
    (``tinylens.report.render_run``) is the caller's job, as the report layer sits above studies.

    ``workers`` processes run the parts side by side (default :func:`default_workers`: one per
    core). NOTE: every part is small, single-threaded work (one BLAS thread, Python-bound
    drawing), so a second core is best used by a second part: on an idle 2-core machine this
    nearly halves the demo (issue 18). With ``workers=1`` the parts run in this process, in
    order. The report, the numbers and the files are the same either way.
    """
    from tinylens.training.threads import limit_blas_threads

    workers = default_workers(len(config.parts)) if workers is None else int(workers)
    if workers < 1:
        from tinylens.errors import ConfigError

        raise ConfigError(f"workers must be at least 1, got {workers}")
    result = DemoResult(config, workers=min(workers, len(config.parts)))
    t_start = time.perf_counter()
    subs = {name: run.child(name) for name in config.parts}
    with limit_blas_threads(1), progress(len(config.parts), "tinylens demo", quiet=quiet) as bar:
        if result.workers == 1:
            for name in config.parts:
                bar.update(status=name)
                _record(result, name, _run_part(name, config, subs[name], quiet))
                bar.advance()
        else:
            for name, out in _run_side_by_side(config, subs, result.workers):
                bar.update(status=name)
                _record(result, name, out)
                bar.advance()
    result.wall = time.perf_counter() - t_start
    sections: list[Section] = []
    for name in config.parts:  # the report in the parts' order, however they ran
        sub = subs[name]
        for path in sorted(sub.work.rglob("report.json")):
            rel = path.parent.relative_to(run.work).as_posix()
            sections += [s.with_prefix(rel) for s in read_sections(path.parent)[1]]
    result.seconds = {n: result.seconds[n] for n in config.parts}
    result.cpu_seconds = {n: result.cpu_seconds[n] for n in config.parts}
    result.highlights = {n: result.highlights[n] for n in config.parts}
    total, together = result.wall, sum(result.seconds.values())
    side_by_side = f" ({result.workers} processes side by side: the table gives each part's own "
    side_by_side += f"seconds, {together:.0f} s together)"
    intro = Section(
        id="demo",
        title="What is in this report",
        summary=(
            "tinylens ran every study on small embedded settings, offline, in "
            f"{total:.0f} s"
            + (side_by_side if result.workers > 1 else "")
            + ". Each section below comes from one study; each study's own run "
            "directory (with its weights, metrics, figures and report) sits in a sub-directory "
            "named after it."
        ),
        metrics={"seconds": round(total, 1), "parts": len(config.parts)},
        tables=[
            Table(
                "parts",
                ["part", "seconds", "highlights"],
                [
                    [name, round(result.seconds[name], 2), _highlights(result.highlights[name])]
                    for name in config.parts
                ],
            )
        ],
        config=config.to_dict(),
    )
    metrics = {"seconds": result.seconds, "highlights": result.highlights}
    metrics.update(cpu_seconds=result.cpu_seconds, wall_seconds=result.wall, workers=result.workers)
    run.write_json("metrics.json", metrics)
    run.write_yaml("config.yaml", config.to_dict())
    report = {
        "title": "tinylens demo",
        "sections": [intro.to_dict()] + [s.to_dict() for s in sections],
    }
    run.write_json("report.json", report)
    return result


def _run_part(name: str, config: DemoConfig, sub: RunDir, quiet: bool) -> str:
    """Run one part into ``sub``; its highlights and seconds as JSON text (what a worker process
    sends back: plain data, nothing unpickled from it)."""
    from tinylens.training.threads import limit_blas_threads

    t0, c0 = time.perf_counter(), time.process_time()
    with limit_blas_threads(1):  # a worker process starts with its own BLAS settings
        highlights = PARTS[name](config, sub, quiet)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return json.dumps({"highlights": highlights, "seconds": seconds, "cpu": cpu}, default=_plain)


def _plain(obj: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (JSON's fallback)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"a demo highlight of type {type(obj).__name__} is not plain data")


def _record(result: DemoResult, name: str, out: str) -> None:
    done = json.loads(out)
    result.highlights[name] = done["highlights"]
    result.seconds[name], result.cpu_seconds[name] = done["seconds"], done["cpu"]


def _run_side_by_side(config: DemoConfig, subs: dict[str, RunDir], workers: int) -> Any:
    """Yield ``(part, JSON text)`` as the parts finish in ``workers`` processes, the costliest
    started first. Their progress bars stay off (lines from several processes would mix)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # NOTE: "spawn", as tinylens.sweeps does: a fresh interpreter per worker inherits no
    # threads, locks or BLAS state from this one (a progress bar's thread holding a lock at a
    # fork could hang a worker), and behaves the same on Linux, macOS and Windows; it costs each
    # worker its imports, paid side by side.
    context = multiprocessing.get_context("spawn")
    order = sorted(config.parts, key=lambda n: -_COST.get(n, (1.0, 1.0))[0 if config.quick else 1])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_run_part, n, config, subs[n], True): n for n in order}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _highlights(values: dict[str, Any]) -> str:
    parts = []
    for k, v in values.items():
        if isinstance(v, float):
            parts.append(f"{k} {v:.3g}")
        elif v is not None:
            parts.append(f"{k} {v}")
    return "; ".join(parts)
