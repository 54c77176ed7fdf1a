"""Train the toy models of superposition, every instance at once, and measure their weights."""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from tinylens.errors import ConfigError
from tinylens.progress import progress as progress_bar
from tinylens.studies.superposition.config import SuperpositionConfig
from tinylens.studies.superposition.result import PhaseDiagram, SuperpositionResult
from tinylens.superposition.geometry import classify_phase
from tinylens.superposition.toy import train_toy_models

__all__ = ["run"]


def run(
    config: SuperpositionConfig,
    *,
    data: None = None,
    rng: np.random.Generator | None = None,
    progress: bool = True,
) -> SuperpositionResult:
    """Train ``len(sparsity) x len(importance) x instances`` toy models in one batched run (and
    the ``n=2, m=1`` phase-diagram grid in a second one), and return what their weights show.

    ``rng`` defaults to ``numpy.random.default_rng(config.seed)``; nothing is written to disk.

    >>> from tinylens.studies.superposition import SuperpositionConfig, ToyTrainConfig, run
    >>> cfg = SuperpositionConfig(sparsity=(0.0, 0.99), train=ToyTrainConfig(steps=20))
    >>> run(cfg, progress=False)  # doctest: +ELLIPSIS
    SuperpositionResult(n=5, m=2, settings=2, instances=1, steps=20, represented=[...])
    """
    if data is not None:
        raise ConfigError(
            "the superposition study draws its own sparse features; call run without data"
        )
    rng = np.random.default_rng(config.seed) if rng is None else rng
    tc = config.train
    dtype = np.dtype(tc.dtype).type
    settings = config.settings
    s_col = np.repeat([s for s, _ in settings], config.instances)
    r_col = np.repeat([r for _, r in settings], config.instances)
    n = config.features
    prob = np.repeat((1.0 - s_col)[:, None], n, axis=1)
    importance = r_col[:, None] ** np.arange(n)[None, :]
    n_runs = 1 + (config.phase is not None)
    main_rng, phase_rng = rng.spawn(2)
    t0 = time.perf_counter()
    with progress_bar(tc.steps * n_runs, "superposition", quiet=not progress) as bar:
        log_every = max(1, tc.steps // 100)

        def tick(step: int, losses: np.ndarray) -> None:
            bar.advance(min(log_every, step - tick.last))  # type: ignore[attr-defined]
            tick.last = step  # type: ignore[attr-defined]
            bar.update(status=f"mean loss {float(np.mean(losses)):.4g}")

        tick.last = 0  # type: ignore[attr-defined]
        train = partial(
            train_toy_models,
            steps=tc.steps,
            batch_size=tc.batch_size,
            lr=tc.lr,
            weight_decay=tc.weight_decay,
            hidden_relu=config.hidden_relu,
            dtype=dtype,
            callback=tick,
            log_every=log_every,
        )
        model, history = train(prob, importance, config.hidden, rng=main_rng)
        seconds = {"toy models": time.perf_counter() - t0}
        phase = None
        if config.phase is not None:
            t1 = time.perf_counter()
            tick.last = 0  # type: ignore[attr-defined]
            pc = config.phase
            grid = [(d, r) for r in pc.relative_importance for d in pc.densities]
            reps = pc.instances
            p2 = np.repeat([[d, d] for d, _ in grid], reps, axis=0)
            i2 = np.repeat([[1.0, r] for _, r in grid], reps, axis=0)
            pmodel, phist = train(p2, i2, 1, rng=phase_rng)
            # per cell, the instance with the lowest loss over the last tenth of training
            ploss = phist[-max(1, len(phist) // 10) :].mean(axis=0).reshape(len(grid), reps)
            pick = np.arange(len(grid)) * reps + ploss.argmin(axis=1)
            W2 = pmodel.W.data.astype(np.float64)[pick]
            phases = np.array(classify_phase(W2)).reshape(
                len(pc.relative_importance), len(pc.densities)
            )
            phase = PhaseDiagram(
                densities=np.array(pc.densities),
                relative_importance=np.array(pc.relative_importance),
                W_=W2.reshape(len(pc.relative_importance), len(pc.densities), 1, 2),
                phases_=phases,
            )
            seconds["phase diagram"] = time.perf_counter() - t1
    return SuperpositionResult(
        config=config,
        sparsity=s_col,
        importance_decay=r_col,
        W_=model.W.data.astype(np.float64),
        b_=model.b.data.astype(np.float64),
        # the mean logged training loss over the last tenth of training (one batch is noisy)
        loss_=history[-max(1, len(history) // 10) :].mean(axis=0),
        loss_history_=history,
        phase=phase,
        seconds=seconds,
    )
