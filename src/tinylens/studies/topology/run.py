"""Run the topology study: for each spiral, the lifted classifier at every degree, the deep MLP,
and the MLP's layers measured (separability, the folded grid, exact linear regions).

>>> from tinylens.studies.topology import TopologyConfig, run
>>> cfg = TopologyConfig.from_dict({"classes": [3], "points": 300, "degree": 3,
...                                 "hidden": [16, 8], "train": {"epochs": 30},
...                                 "lift_epochs": 100})
>>> result = run(cfg, progress=False)
>>> sorted(result.per_class[3]["mlp"])
['parameters', 'test_accuracy', 'train_accuracy']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.data import Dataset, spiral
from tinylens.engine import MLP
from tinylens.progress import progress as show_progress
from tinylens.studies.topology.config import TopologyConfig
from tinylens.studies.topology.result import TopologyResult
from tinylens.training import fit
from tinylens.training.threads import limit_blas_threads

__all__ = ["run", "run_topology"]


def run(
    config: TopologyConfig,
    *,
    data: dict[int, tuple[Dataset, Dataset]] | None = None,
    rng: Any = None,
    progress: bool = True,
    blas_threads: int | None = 1,
) -> TopologyResult:
    """Train both models on every spiral and measure them; writes nothing.

    Parameters
    ----------
    config : TopologyConfig
    data : dict of K -> (train, test), optional
        The splits to use instead of the spirals drawn from ``config`` (each K of
        ``config.classes`` needs one).
    rng : ignored
        Each spiral K draws from ``numpy.random.default_rng([config.seed, K])`` (data, split,
        weights, minibatches), so one K's result does not depend on which others run.
        Accepted for the one study signature.
    progress : bool
        Show a bar (``tinylens.progress``).
    blas_threads : int or None
        BLAS threads while the study runs (None: leave them). Every product here is small (at
        most points x 64): one thread is faster, and on a busy machine much faster (issue
        18); the numbers are the same (``tests/test_geometry_studies.py`` checks).
    """
    # NOTE: imported here, not at the top: the command line reads this package's config for
    # its defaults on every start, and the geometry stack is not needed for that.
    from tinylens.geometry.folding import fold_grid, layer_representations, linear_separability
    from tinylens.geometry.lifting import fit_lifted_classifier, n_monomials
    from tinylens.geometry.regions import linear_regions

    del rng
    cfg = config
    splits, mlps, histories, lifts, folds, regions, per_class = {}, {}, {}, {}, {}, {}, {}
    steps = len(cfg.classes) * (cfg.degree + 2)
    with (
        limit_blas_threads(blas_threads),
        show_progress(steps, "topology", quiet=not progress) as bar,
    ):
        for k in cfg.classes:
            rng_k = np.random.default_rng([cfg.seed, k])
            if data is not None:
                train, test = data[k]
            else:
                ds = spiral(cfg.points, k, cfg.noise, rng=rng_k)
                train, test = ds.split(cfg.test_fraction, rng=rng_k)
            splits[k] = (train, test)
            # width: lifting, for every degree up to P (the last one is the reported model)
            sweep = []
            for p in range(1, cfg.degree + 1):
                lifted = fit_lifted_classifier(
                    train.X, train.y, p, cfg.lift_config(train.n), rng=rng_k, quiet=True
                )
                sweep.append(lifted.accuracy(test.X, test.y))
                bar.advance()
            lifts[k] = lifted
            # depth: the MLP
            net = MLP([2, *cfg.hidden, k], rng=rng_k, input_names=("x1", "x2"))
            histories[k] = fit(net, train, cfg.train, rng=rng_k, quiet=True)
            mlps[k] = net
            bar.advance()
            X_all = np.concatenate([train.X, test.X]).astype(np.float64)
            y_all = np.concatenate([train.y, test.y])
            reps = layer_representations(net, X_all)
            separability = linear_separability(reps, y_all, rng=rng_k)
            folds[k] = fold_grid(net, cfg.box_bounds, X=test.X)
            regions[k] = linear_regions(net, cfg.box_bounds)
            bar.advance()
            per_class[k] = {
                "lift": {
                    "degree": cfg.degree,
                    "features": n_monomials(2, cfg.degree),
                    "parameters": lifted.n_parameters,
                    "train_accuracy": lifted.accuracy(train.X, train.y),
                    "test_accuracy": lifted.accuracy(test.X, test.y),
                },
                "mlp": {
                    "parameters": net.n_parameters(),
                    "train_accuracy": float(np.mean(net.predict(train.X).argmax(1) == train.y)),
                    "test_accuracy": float(np.mean(net.predict(test.X).argmax(1) == test.y)),
                },
                "degree_sweep": sweep,
                "separability": separability,
                "region_counts": list(regions[k].counts_per_layer),
            }
    return TopologyResult(cfg, splits, mlps, histories, lifts, folds, regions, per_class)


def run_topology(config: TopologyConfig, *, quiet: bool = False) -> TopologyResult:
    """:func:`run` under its earlier name (``quiet`` is ``not progress``)."""
    return run(config, progress=not quiet)
