"""Dead neurons and their lifecycle through training: birth, death and revival, epoch by epoch.

**Dead**, here, is a property of one statistics pass: a unit is dead at epoch ``t`` when it
was never > 0 on any sample of that pass. :class:`~tinylens.probes.StatsCallback` makes the
passes: after epoch ``t`` (and once before training, ``t = 0``) it runs the network, in
evaluation mode (dropout off) and with the weights at the end of the epoch, over the data it
was given (the studies give it the whole training set). A unit that is silent on every
training image is dead for that epoch, even if some other input would wake it.

Events between consecutive passes ``t - 1 -> t``:

* **death**: alive at ``t - 1``, dead at ``t``;
* **birth**: dead at ``t - 1``, alive at ``t``, and dead at every earlier pass (it was born
  dead, at initialisation, and wakes for the first time);
* **revival**: dead at ``t - 1``, alive at ``t``, and alive at some earlier pass.

>>> import numpy as np
>>> dead = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 1, 0]], dtype=bool)  # 4 passes, 3 units
>>> life = lifecycle_from_dead(dead, epochs=[0, 1, 2, 3])
>>> [(e.epoch, e.unit, e.kind) for e in life.events]
[(1, 0, 'birth'), (1, 1, 'death'), (2, 1, 'revival'), (3, 1, 'death')]
>>> life.dead_counts_.tolist(), life.dead_at_end_.tolist()
([1, 1, 0, 1], [1])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.hooks import NameSelector
from tinylens.probes.streaming import StreamingStats, neuron_stats
from tinylens.typing import ModelLike

__all__ = [
    "EVENT_KINDS",
    "LifeEvent",
    "Lifecycle",
    "dead_matrix",
    "lifecycle",
    "lifecycle_from_dead",
    "stats_from_snapshots",
]

EVENT_KINDS = ("birth", "death", "revival")


@dataclass(frozen=True)
class LifeEvent:
    """Unit ``unit`` was born, died or revived between the passes of ``epoch - 1`` and ``epoch``
    (``epoch`` is the later pass's epoch)."""

    epoch: int
    unit: int
    kind: str


@dataclass
class Lifecycle:
    """Dead units per statistics pass, and the events between passes.

    Attributes
    ----------
    name : str
        The hook point.
    epochs : array of int of shape (n_passes,)
        The epoch of each pass (0: before training).
    dead : array of bool of shape (n_passes, n_units)
    events : list of LifeEvent
        In epoch order, then unit order.
    """

    name: str
    epochs: np.ndarray
    dead: np.ndarray
    events: list[LifeEvent] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return int(self.dead.shape[1])

    @property
    def dead_counts_(self) -> np.ndarray:
        """Shape (n_passes,): dead units per pass."""
        return self.dead.sum(axis=1)

    @property
    def dead_at_end_(self) -> np.ndarray:
        """Units dead at the last pass."""
        return np.flatnonzero(self.dead[-1])

    @property
    def dead_at_start_(self) -> np.ndarray:
        return np.flatnonzero(self.dead[0])

    @property
    def never_alive_(self) -> np.ndarray:
        """Units dead at every pass."""
        return np.flatnonzero(self.dead.all(axis=0))

    def event_counts(self) -> dict[str, np.ndarray]:
        """Per kind, shape (n_passes,): events arriving at each pass (0 at the first)."""
        out = {k: np.zeros(len(self.epochs), dtype=np.int64) for k in EVENT_KINDS}
        pos = {int(e): i for i, e in enumerate(self.epochs)}
        for ev in self.events:
            out[ev.kind][pos[ev.epoch]] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "epochs": self.epochs.tolist(),
            "dead_count": self.dead_counts_.tolist(),
            "dead_units": [np.flatnonzero(row).tolist() for row in self.dead],
            "events": [{"epoch": e.epoch, "unit": e.unit, "kind": e.kind} for e in self.events],
        }


def lifecycle_from_dead(
    dead: Any, epochs: Sequence[int] | None = None, name: str = ""
) -> Lifecycle:
    """The lifecycle of units from a dead/alive matrix.

    Parameters
    ----------
    dead : array of bool of shape (n_passes, n_units)
        Row ``t``: which units were dead at pass ``t``.
    epochs : sequence of int, optional
        The epoch of each pass (default 0, 1, 2, ...); increasing.
    name : str
    """
    d = np.asarray(dead, dtype=bool)
    if d.ndim != 2 or d.shape[0] == 0:
        raise ShapeError(f"dead must be (n_passes, n_units), got shape {d.shape}")
    ep = np.arange(len(d)) if epochs is None else np.asarray(list(epochs), dtype=np.int64)
    if ep.shape != (len(d),):
        raise ShapeError(f"{len(ep)} epochs for {len(d)} passes")
    if len(ep) > 1 and np.any(np.diff(ep) <= 0):
        raise ConfigError(f"epochs must increase, got {ep.tolist()}")
    events: list[LifeEvent] = []
    ever_alive = ~d[0]
    for t in range(1, len(d)):
        woke = d[t - 1] & ~d[t]
        died = ~d[t - 1] & d[t]
        for u in np.flatnonzero(woke | died):
            kind = "death" if died[u] else "revival" if ever_alive[u] else "birth"
            events.append(LifeEvent(int(ep[t]), int(u), kind))
        ever_alive |= ~d[t]
    return Lifecycle(name, ep, d, events)


def dead_matrix(
    stats_by_epoch: Mapping[int, Mapping[str, Any]], name: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, dead)`` at hook point ``name`` from per-epoch statistics.

    Parameters
    ----------
    stats_by_epoch : mapping of epoch -> StreamingStats (or a mapping of name -> NeuronStats)
        What :class:`~tinylens.probes.StatsCallback` keeps in ``stats_``.
    name : str

    Returns
    -------
    epochs : array of int of shape (n_passes,), increasing
    dead : array of bool of shape (n_passes, n_units)
        Units (channels, for per-channel statistics) flattened.
    """
    if not stats_by_epoch:
        raise DataError("no statistics passes to read dead units from")
    epochs = np.array(sorted(stats_by_epoch), dtype=np.int64)
    rows = [np.asarray(stats_by_epoch[int(e)][name].dead_).reshape(-1) for e in epochs]
    return epochs, np.stack(rows)


def lifecycle(stats_by_epoch: Mapping[int, Mapping[str, Any]], name: str) -> Lifecycle:
    """The :class:`Lifecycle` of the units at ``name`` from per-epoch statistics (see
    :func:`dead_matrix`; "dead" as defined in the module docstring)."""
    epochs, dead = dead_matrix(stats_by_epoch, name)
    return lifecycle_from_dead(dead, epochs, name)


def stats_from_snapshots(
    model: ModelLike,
    snapshots: Sequence[tuple[int, Mapping[str, np.ndarray]]],
    data: Any,
    names: NameSelector = None,
    *,
    per_channel: bool = False,
    batch_size: int = 2048,
) -> dict[int, StreamingStats]:
    """Statistics passes over ``data`` for saved weights, one per snapshot.

    The after-the-fact twin of :class:`~tinylens.probes.StatsCallback`: given the weight
    snapshots of a run (``history.snapshots``, or states read back from ``snapshots/*``), it
    gives the same ``{epoch: StreamingStats}``. ``model`` is not changed: each snapshot is
    loaded into a copy.

    Parameters
    ----------
    model : engine Sequential
        The architecture (its own weights are not used).
    snapshots : sequence of (epoch, state_dict)
    data : Dataset, (X, y) or array
    names : hook point selection
    """
    if not hasattr(model, "load_state_dict") or not hasattr(model, "copy"):
        raise ConfigError("stats_from_snapshots needs an engine network (Sequential)")
    net = model.copy()
    out: dict[int, StreamingStats] = {}
    for epoch, state in snapshots:
        net.load_state_dict(dict(state))
        out[int(epoch)] = neuron_stats(
            net, data, names, batch_size=batch_size, per_channel=per_channel
        )
    return out
