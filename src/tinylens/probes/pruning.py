"""Pruning by selectivity: keep each class's most selective neurons, silence the rest.

The source planned this and never ran it. For ``k`` = 1, 2, ...: the kept set of a hook point
is the union over classes of each class's ``k`` most selective live units; every other unit
is zero-ablated (its activation set to 0 for every input) and the network is scored. The
control keeps as many units per hook point, drawn at random from the live units only,
``n_random`` times (a dead unit contributes nothing whether kept or not: a control that drew
one would keep fewer working units than the selective set and look worse than it is). Dead
units are those given, or else the units that never fire on the data scored. Several hook
points can be pruned together (every layer at once).

>>> import numpy as np
>>> S = np.array([[0.9, 0.1, 0.0, 0.5], [0.0, 0.2, 0.8, 0.7]])  # 2 classes, 4 units
>>> keep_set(S, 1).tolist(), keep_set(S, 2).tolist()
([0, 2], [0, 2, 3])
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, ShapeError
from tinylens.hooks import evaluating, is_torch_model
from tinylens.interventions import Edit, batched_scores, correct_predictions, run_with_edits
from tinylens.probes._data import classification_arrays
from tinylens.probes.selectivity import top_units
from tinylens.probes.streaming import neuron_stats
from tinylens.typing import ModelLike

__all__ = ["Pruning", "keep_set", "prune_by_selectivity"]


def keep_set(selectivity: Any, k: int, *, dead: Any = None) -> np.ndarray:
    """Sorted units kept at ``k``: the union over classes of each class's top-``k`` live units.

    ``selectivity`` has shape (n_classes, n_units); ``dead`` (bool, (n_units,)) are never kept.
    """
    S = np.asarray(selectivity, dtype=np.float64)
    top = top_units(S, k, exclude=dead)
    kept = np.unique(top)
    if dead is not None:
        kept = kept[~np.asarray(dead, dtype=bool)[kept]]
    return kept


@dataclass
class Pruning:
    """Accuracy with only the kept units of each hook point left on.

    Attributes
    ----------
    names : list of str
        Hook points pruned together.
    ks : array of int of shape (n_k,)
    kept : list of dict of str -> array of int
        For each ``k``, the kept units of each hook point.
    n_kept_ : array of int of shape (n_k,)
        Units kept in total.
    n_units : int
        Units in total (over ``names``).
    accuracy_ : array of shape (n_k,)
    class_accuracy_ : array of shape (n_k, n_classes)
    random_accuracy_ : array of shape (n_k, n_random)
        The control: as many units per hook point, drawn at random from the live ones.
    baseline_accuracy_ : float
    baseline_class_accuracy_ : array of shape (n_classes,)
    random_kept : list of list of dict of str -> array of int
        For each ``k``, the ``n_random`` keep-sets the control drew (``random_accuracy_``).
    dead : dict of str -> array of bool
        The dead units of each hook point (given, or measured on the data scored).
    """

    names: list[str]
    ks: np.ndarray
    kept: list[dict[str, np.ndarray]]
    n_kept_: np.ndarray
    n_units: int
    accuracy_: np.ndarray
    class_accuracy_: np.ndarray
    random_accuracy_: np.ndarray
    baseline_accuracy_: float
    baseline_class_accuracy_: np.ndarray
    random_kept: list[list[dict[str, np.ndarray]]] = field(default_factory=list, repr=False)
    dead: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def rows(self) -> list[list[Any]]:
        """One row per k: k, kept units, accuracy, random mean, random sd, per-class accuracy."""
        out = []
        for i, k in enumerate(self.ks):
            r = self.random_accuracy_[i]
            out.append(
                [int(k), int(self.n_kept_[i]), round(float(self.accuracy_[i]), 6)]
                + [round(float(r.mean()), 6) if r.size else None]
                + [round(float(r.std()), 6) if r.size else None]
                + [round(float(v), 6) for v in self.class_accuracy_[i]]
            )
        return out

    def columns(self) -> list[str]:
        c = self.class_accuracy_.shape[1]
        return ["k", "kept", "accuracy", "random_mean", "random_sd"] + [
            f"class_{j}" for j in range(c)
        ]


def _per_class(correct: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(m, n) correctness -> (m, n_classes) per-class accuracy (NaN for an empty class)."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    onehot = np.zeros((len(y), n_classes))
    onehot[np.arange(len(y)), y] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return (correct @ onehot) / counts


def _no_grad(model: ModelLike) -> Any:
    if is_torch_model(model):
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def _silence(name: str, n_units: int, kept: np.ndarray) -> Edit:
    off = np.setdiff1d(np.arange(n_units), kept)
    if len(off) == 0:  # everything kept: an identity edit
        return Edit(name, units=(0,), scale=1.0, label="keep all")
    return Edit(name, units=tuple(off.tolist()), scale=0.0, label=f"keep {len(kept)}")


def _dead_units(
    model: ModelLike, X: np.ndarray, y: np.ndarray, S: dict[str, np.ndarray], dead: dict[str, Any]
) -> dict[str, np.ndarray]:
    """``dead`` as bool arrays, completed by the units that never fire on ``X``."""
    missing = [n for n in S if n not in dead]
    if missing:
        measured = neuron_stats(model, (X, y), missing, per_channel=True)
        dead = {**dead, **{n: measured[n].dead_.reshape(-1) for n in missing}}
    out = {}
    for n, s in S.items():
        d = np.asarray(dead[n], dtype=bool)
        if d.shape != (s.shape[1],):
            raise ShapeError(
                f"dead units of {n!r} have shape {d.shape}, selectivity has {s.shape[1]} units; "
                f"pass dead={{{n!r}: array of {s.shape[1]} bools}}"
            )
        out[n] = d
    return out


def prune_by_selectivity(
    model: ModelLike,
    data: Any,
    selectivity: Mapping[str, Any],
    ks: Sequence[int] = (1, 2, 3, 5, 8),
    *,
    dead: Mapping[str, Any] | None = None,
    n_random: int = 10,
    rng: Any = 0,
) -> Pruning:
    """Score the network with only each class's top-``k`` selective units left on.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    selectivity : mapping of hook point -> array of shape (n_classes, n_units)
        One entry prunes that hook point alone (in one batched computation); several prune
        them together.
    ks : sequence of int
    dead : mapping of hook point -> array of bool of shape (n_units,), optional
        Units never kept and never drawn by the control. A hook point not in it gets the units
        whose activation is <= 0 on every sample of ``data`` (one pass of :func:`neuron_stats`).
    n_random : int
        Random keep-sets per ``k`` (0: no control).
    rng : int or Generator
    """
    if not selectivity:
        raise ConfigError("selectivity must name at least one hook point")
    if not ks or min(ks) < 1:
        raise ConfigError(f"ks must be positive integers, got {list(ks)}")
    gen = as_rng(rng)
    X, y, n_classes = classification_arrays(data)
    names = list(selectivity)
    S = {n: np.asarray(selectivity[n], dtype=np.float64) for n in names}
    for n, s in S.items():
        if s.ndim != 2:
            raise ShapeError(f"selectivity[{n!r}] must be (n_classes, n_units), got {s.shape}")
    dead_of = _dead_units(model, X, y, S, dict(dead or {}))
    kept = [{n: keep_set(S[n], k, dead=dead_of[n]) for n in names} for k in ks]
    # the control: per k, n_random sets of as many live units per hook point
    random_sets = [
        [
            {
                n: np.sort(gen.choice(np.flatnonzero(~dead_of[n]), size=len(kk[n]), replace=False))
                for n in names
            }
            for _ in range(n_random)
        ]
        for kk in kept
    ]
    plans = [kk for kk in kept] + [r for rs in random_sets for r in rs]
    widths = {n: S[n].shape[1] for n in names}
    if len(names) == 1:
        (name,) = names
        edits = [_silence(name, widths[name], p[name]) for p in plans]
        scores = batched_scores(model, X, edits, correct_predictions(y), baseline=True)
    else:
        rows = []
        with evaluating(model) as h, _no_grad(model):
            for p in [None, *plans]:
                edits = [] if p is None else [_silence(n, widths[n], p[n]) for n in names]
                out = run_with_edits(h, X, edits)
                out = out if isinstance(out, np.ndarray) else out.detach().cpu().numpy()
                rows.append(out.argmax(axis=1) == y)
        scores = np.stack(rows).astype(np.float64)
    per_class = _per_class(scores, y, n_classes)
    acc = scores.mean(axis=1)
    n_k = len(kept)
    return Pruning(
        names=names,
        ks=np.asarray(list(ks), dtype=np.int64),
        kept=kept,
        n_kept_=np.array([sum(len(v) for v in kk.values()) for kk in kept]),
        n_units=int(sum(widths.values())),
        accuracy_=acc[1 : 1 + n_k],
        class_accuracy_=per_class[1 : 1 + n_k],
        random_accuracy_=acc[1 + n_k :].reshape(n_k, n_random),
        baseline_accuracy_=float(acc[0]),
        baseline_class_accuracy_=per_class[0],
        random_kept=random_sets,
        dead=dead_of,
    )
