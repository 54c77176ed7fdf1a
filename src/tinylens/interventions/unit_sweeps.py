"""Batched sweeps: every neuron ablated, every pair, every scale, in one batched computation.

The stacked computation itself is :mod:`tinylens.interventions.batched`; the scores are
:mod:`tinylens.interventions.scoring`. This module holds the named sweeps; their result tables are
:mod:`tinylens.interventions.sweep_tables`.

>>> import numpy as np
>>> import tinylens as tl
>>> from tinylens.data import digits
>>> data = digits()
>>> net = tl.MLP([64, 16, 10], rng=0)
>>> _ = tl.fit(net, data, tl.TrainConfig(epochs=5, optimizer="adam", lr=0.01), rng=0)
>>> table = ablation_sweep(net, data, "layers.1")
>>> table.class_accuracy_.shape  # one row per ablated neuron, one column per class
(16, 10)
>>> bool(np.all(table.accuracy_ <= table.baseline_accuracy_ + 0.05))
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.hooks import evaluating, require_eval
from tinylens.interventions.ablation import mean_ablation, zero_ablation
from tinylens.interventions.batched import (
    MAX_STACK_ELEMENTS,
    _as_numpy,
    _no_grad,
    batched_edits,
    batched_scores,
)
from tinylens.interventions.edits import Edit, as_units, unit_axis
from tinylens.interventions.patching import patching
from tinylens.interventions.scaling import scaling
from tinylens.interventions.scoring import (
    _class_accuracy_table,
    _classification_data,
    correct_predictions,
)
from tinylens.interventions.sweep_tables import AblationSweep, PatchingSweep, ScalingSweep
from tinylens.typing import DataLike, ModelLike

__all__ = [
    "AblationSweep",
    "PatchingSweep",
    "ScalingSweep",
    "ablation_sweep",
    "patching_sweep",
    "scaling_sweep",
]


def _unit_count(model: ModelLike, X: np.ndarray, name: str, axis: int | None) -> int:
    with evaluating(model) as h, _no_grad(h):
        act = h.forward_to(X[:1], name)
    return int(act.shape[unit_axis(axis, np.ndim(act), name)])


def _chosen(
    model: ModelLike,
    X: np.ndarray,
    name: str,
    units: Any,
    cache: Any = None,
    axis: int | None = None,
) -> tuple[int, ...]:
    chosen = as_units(units)
    if chosen is None:
        if cache is not None and name in cache:
            act = cache[name]
            return tuple(range(int(act.shape[unit_axis(axis, np.ndim(act), name)])))
        return tuple(range(_unit_count(model, X, name, axis)))
    if not chosen:
        raise ConfigError("choose at least one unit (or None for all of them)")
    return chosen


# -- the sweeps ---------------------------------------------------------------------------------


def _ablation(
    kind: str, name: str, units: tuple[int, ...], mean: np.ndarray | None, axis: int | None
) -> Edit:
    if kind == "zero":
        return zero_ablation(name, units, axis=axis)
    assert mean is not None
    return mean_ablation(name, units, mean=mean, axis=axis)


def ablation_sweep(
    model: ModelLike,
    data: DataLike,
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    pairs: bool = False,
    kind: str = "zero",
    reference: Any = None,
    cache: Any = None,
    axis: int | None = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> AblationSweep:
    """Per-class accuracy with each unit of ``name`` ablated (or each pair, with ``pairs``).

    The sweep evaluates the model: a model in training mode with dropout or batch norm (or
    anything else that computes differently in training mode) is refused with a ConfigError
    saying to call ``model.eval()``; in evaluation mode the numbers equal a loop of hooked
    forwards (tested against plain ``register_forward_hook`` loops).

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    name : str
        The hook point; its units are neurons (dense) or channels (images), or the entries of
        ``axis``.
    units : int or sequence of int, optional
        Which units to ablate (default: all of them).
    pairs : bool
        Ablate every pair of the chosen units (n * (n - 1) / 2 rows) instead of each one.
    kind : {"zero", "mean"}
        Mean ablation uses the mean over ``reference`` (default: ``data``'s inputs).
    cache : mapping, optional
        The activations of ``data``'s inputs at ``name`` (``model.run_with_cache(X, names=[...])``
        once for several sweeps), so the network before ``name`` is not run again.
    axis : int, optional
        The unit axis of an activation that is neither (batch, unit) nor (batch, channel, h, w):
        ``-1`` for the features of (batch, position, feature); see
        :func:`~tinylens.interventions.edits.unit_axis`.
    """
    if kind not in ("zero", "mean"):
        raise ConfigError(f"unknown ablation kind {kind!r}; expected 'zero' or 'mean'")
    require_eval(model, "ablation_sweep")
    X, y, n_classes = _classification_data(data)
    chosen = _chosen(model, X, name, units, cache, axis)
    groups = list(itertools.combinations(chosen, 2)) if pairs else [(u,) for u in chosen]
    if not groups:
        raise ConfigError("a pairs sweep needs at least two units")
    mean = None
    if kind == "mean":
        from tinylens.interventions._reference import reference_activations

        mean = reference_activations(model, X if reference is None else reference, name).mean(0)
    edits = [_ablation(kind, name, g, mean, axis) for g in groups]
    table = _class_accuracy_table(model, X, y, n_classes, edits, cache, quiet, max_elements)
    return AblationSweep(
        name=name,
        kind=kind,
        units=np.array(groups, dtype=np.int64),
        accuracy_=table[1:, -1],
        class_accuracy_=table[1:, :-1],
        baseline_accuracy_=float(table[0, -1]),
        baseline_class_accuracy_=table[0, :-1],
        class_counts_=np.bincount(y, minlength=n_classes),
        n_units=len(chosen),
    )


def scaling_sweep(
    model: ModelLike,
    data: DataLike,
    name: str,
    scales: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 3.0),
    units: int | Sequence[int] | None = None,
    *,
    cache: Any = None,
    axis: int | None = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> ScalingSweep:
    """Per-class accuracy with each unit of ``name`` multiplied by each of ``scales``
    (``cache``, ``axis`` and the evaluation-mode rule as in :func:`ablation_sweep`)."""
    require_eval(model, "scaling_sweep")
    X, y, n_classes = _classification_data(data)
    factors = np.asarray(scales, dtype=np.float64)
    if factors.ndim != 1 or len(factors) == 0 or not np.isfinite(factors).all():
        raise ConfigError(f"scales must be a non-empty list of finite numbers, got {scales!r}")
    chosen = _chosen(model, X, name, units, cache, axis)
    edits = [scaling(name, u, float(s), axis=axis) for u in chosen for s in factors]
    table = _class_accuracy_table(model, X, y, n_classes, edits, cache, quiet, max_elements)
    grid = table[1:].reshape(len(chosen), len(factors), n_classes + 1)
    return ScalingSweep(
        name=name,
        units=np.array(chosen, dtype=np.int64),
        scales=factors,
        accuracy_=grid[..., -1],
        class_accuracy_=grid[..., :-1],
        baseline_accuracy_=float(table[0, -1]),
        baseline_class_accuracy_=table[0, :-1],
        class_counts_=np.bincount(y, minlength=n_classes),
    )


def patching_sweep(
    model: ModelLike,
    clean_x: Any,
    corrupted_x: Any,
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
    axis: int | None = None,
    quiet: bool = True,
) -> PatchingSweep:
    """Patch each unit of ``name`` from the clean run into the corrupted run, all at once.

    ``metric`` maps stacked outputs (k, n, *out) to k numbers; by default, the fraction of
    samples whose predicted class (argmax) equals the clean run's. ``axis`` and the
    evaluation-mode rule as in :func:`ablation_sweep`.
    """
    require_eval(model, "patching_sweep")
    clean_x, corrupted_x = np.asarray(clean_x), np.asarray(corrupted_x)
    if clean_x.shape != corrupted_x.shape:
        raise ShapeError(
            f"clean inputs {clean_x.shape} and corrupted inputs {corrupted_x.shape} must pair up"
        )
    from tinylens.interventions._reference import reference_activations

    clean_act = reference_activations(model, clean_x, name)
    with evaluating(model) as h, _no_grad(h):
        clean_out = _as_numpy(h.forward(clean_x))
    chosen = as_units(units)
    if chosen is None:
        chosen = tuple(range(clean_act.shape[unit_axis(axis, clean_act.ndim, name)]))
    edits = [patching(name, clean_act, u, axis=axis) for u in chosen]
    if metric is None:
        target = clean_out.argmax(axis=-1)
        agree = batched_scores(
            model, corrupted_x, edits, correct_predictions(target), baseline=True, quiet=quiet
        )
        scores = agree.mean(axis=1)

        def metric(out: np.ndarray) -> np.ndarray:
            return (out.argmax(axis=-1) == target).mean(axis=1)

    else:
        scores = batched_edits(model, corrupted_x, edits, reduce=metric, baseline=True, quiet=quiet)
    return PatchingSweep(
        name=name,
        units=np.array(chosen, dtype=np.int64),
        effect_=np.asarray(scores[1:], dtype=np.float64),
        corrupted_=float(scores[0]),
        clean_=float(np.asarray(metric(clean_out[None]))[0]),
    )
