"""Drift across epochs: how much each neuron statistic, each selectivity and each weight moves.

A statistic followed over the statistics passes of a run (one per epoch, see
:class:`~tinylens.probes.StatsCallback`) is a series of shape ``(n_passes, *shape)``;
:func:`drift` summarises it: the mean absolute change from one pass to the next (how fast it
moves), the mean absolute distance to the final value (how far it still has to go), and the
correlation with the final value (whether *which* neuron does *what* is settled, even while
magnitudes still grow).

>>> import numpy as np
>>> series = np.array([[0.0, 0.0], [1.0, 2.0], [1.0, 2.0]])
>>> d = drift(series, epochs=[0, 1, 2])
>>> d.step_.tolist(), d.to_final_.tolist()
([1.5, 0.0], [1.5, 0.0, 0.0])
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError, ShapeError, UnknownNameError
from tinylens.probes.selectivity import SELECTIVITY_EPS, class_selectivity

__all__ = ["STATISTICS", "Drift", "drift", "neuron_drift", "stat_series", "weight_drift"]

STATISTICS = ("mean", "std", "frac_active", "class_means", "selectivity")
"""What :func:`stat_series` can follow: per-unit mean, std and fraction active, per-class mean
activations, and class selectivity."""


@dataclass
class Drift:
    """A statistic through training.

    Attributes
    ----------
    epochs : array of int of shape (n_passes,)
    values : array of shape (n_passes, *shape)
    step_ : array of shape (n_passes - 1,)
        Mean absolute change from each pass to the next.
    to_final_ : array of shape (n_passes,)
        Mean absolute difference to the last pass.
    correlation_to_final_ : array of shape (n_passes,)
        Pearson correlation of each pass's values (flattened) with the last pass's; NaN where
        either is constant.
    unit_path_ : array of shape (*shape,)
        Total distance each entry travelled (sum of absolute steps).
    """

    epochs: np.ndarray
    values: np.ndarray
    step_: np.ndarray
    to_final_: np.ndarray
    correlation_to_final_: np.ndarray
    unit_path_: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs.tolist(),
            "step": [round(float(v), 8) for v in self.step_],
            "to_final": [round(float(v), 8) for v in self.to_final_],
            "correlation_to_final": [
                None if np.isnan(v) else round(float(v), 6) for v in self.correlation_to_final_
            ],
        }


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else float("nan")


def drift(values: Any, epochs: Sequence[int] | None = None) -> Drift:
    """Summarise a series of shape (n_passes, *shape) (see :class:`Drift`).

    NaN entries (a class with no sample in some pass) are ignored in the means.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim < 1 or len(v) == 0:
        raise ShapeError(f"values must be (n_passes, ...), got shape {v.shape}")
    ep = np.arange(len(v)) if epochs is None else np.asarray(list(epochs), dtype=np.int64)
    if ep.shape != (len(v),):
        raise ShapeError(f"{len(ep)} epochs for {len(v)} passes")
    flat = v.reshape(len(v), -1)
    with np.errstate(invalid="ignore"):
        steps = np.abs(np.diff(flat, axis=0))
        step = np.array([np.nanmean(s) if np.isfinite(s).any() else np.nan for s in steps])
        gaps = np.abs(flat - flat[-1])
        to_final = np.array([np.nanmean(g) if np.isfinite(g).any() else np.nan for g in gaps])
    ok = np.isfinite(flat).all(axis=0)
    corr = np.array([_corr(row[ok], flat[-1][ok]) if ok.any() else np.nan for row in flat])
    path = np.nansum(np.abs(np.diff(v, axis=0)), axis=0) if len(v) > 1 else np.zeros(v.shape[1:])
    return Drift(ep, v, step, to_final, corr, path)


def stat_series(
    stats_by_epoch: Mapping[int, Mapping[str, Any]],
    name: str,
    what: str,
    *,
    eps: float = SELECTIVITY_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, values)``: one statistic of hook point ``name`` at every pass.

    Parameters
    ----------
    stats_by_epoch : mapping of epoch -> StreamingStats
    name : str
    what : one of :data:`STATISTICS`

    Returns
    -------
    epochs : array of shape (n_passes,)
    values : array of shape (n_passes, n_units), or (n_passes, n_classes, n_units) for
        ``class_means`` and ``selectivity`` (units flattened)
    """
    if what not in STATISTICS:
        raise UnknownNameError("statistic", what, STATISTICS)
    if not stats_by_epoch:
        raise DataError("no statistics passes to follow")
    epochs = np.array(sorted(stats_by_epoch), dtype=np.int64)
    rows = []
    for e in epochs:
        st = stats_by_epoch[int(e)][name]
        if what in ("class_means", "selectivity"):
            means = np.asarray(st.class_means_)
            means = means.reshape(means.shape[0], -1)
            rows.append(class_selectivity(means, eps) if what == "selectivity" else means)
        else:
            rows.append(np.asarray(getattr(st, f"{what}_")).reshape(-1))
    return epochs, np.stack(rows)


def neuron_drift(
    stats_by_epoch: Mapping[int, Mapping[str, Any]],
    name: str,
    statistics: Sequence[str] = STATISTICS,
) -> dict[str, Drift]:
    """:func:`drift` of each of ``statistics`` of hook point ``name``."""
    out = {}
    for what in statistics:
        epochs, values = stat_series(stats_by_epoch, name, what)
        out[what] = drift(values, epochs)
    return out


def weight_drift(
    snapshots: Sequence[tuple[int, Mapping[str, np.ndarray]]],
    names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Relative weight change per epoch, per parameter, from weight snapshots.

    Parameters
    ----------
    snapshots : sequence of (epoch, state_dict)
        E.g. ``history.snapshots`` (state dicts map ``"layers.0.weight"`` to arrays).
    names : sequence of str, optional
        Parameters to follow (default: every weight, not biases).

    Returns
    -------
    dict with ``"epochs"`` (shape (n_snapshots,)) and, per parameter, an array of shape
    (n_snapshots - 1,): ``||W_t - W_{t-1}|| / ||W_{t-1}||`` (Frobenius norms).
    """
    if len(snapshots) < 2:
        raise ConfigError("weight drift needs at least two snapshots (snapshot_every >= 1)")
    first = dict(snapshots[0][1])
    chosen = list(names) if names is not None else [k for k in first if k.endswith("weight")]
    out: dict[str, np.ndarray] = {"epochs": np.array([int(e) for e, _ in snapshots])}
    for key in chosen:
        if key not in first:
            raise UnknownNameError("parameter", key, first)
        ws = [np.asarray(dict(s)[key], dtype=np.float64) for _, s in snapshots]
        out[key] = np.array(
            [
                np.linalg.norm(b - a) / max(np.linalg.norm(a), 1e-300)
                for a, b in itertools.pairwise(ws)
            ]
        )
    return out
