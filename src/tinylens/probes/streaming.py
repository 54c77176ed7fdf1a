"""Streaming neuron statistics: per-unit mean, variance, extremes, sparsity and class means,
over any number of batches, without storing activations.

Running every MNIST image through a network every epoch and keeping the activations costs
60,000 x width floats per hook point per epoch; these accumulators keep O(width) numbers
instead, and give the same answers as the full arrays would (tested to 1e-12).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> acts, labels = rng.normal(size=(1000, 4)), rng.integers(0, 3, size=1000)
>>> stats = NeuronStats(n_classes=3)
>>> for start in range(0, 1000, 128):
...     _ = stats.update(acts[start:start + 128], labels[start:start + 128])
>>> bool(np.allclose(stats.var_, acts.var(axis=0)))
True
>>> bool(np.allclose(stats.class_means_[2], acts[labels == 2].mean(axis=0)))
True

Means and variances are merged with Chan et al.'s pairwise update (each batch's mean and sum
of squared deviations computed in float64, then combined), which stays accurate where the
textbook ``E[x^2] - E[x]^2`` cancels catastrophically (activations with a large mean and a
small spread).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.hooks import NameSelector, evaluating
from tinylens.progress import progress
from tinylens.training.callbacks import Callback
from tinylens.typing import ModelLike

__all__ = ["NeuronStats", "StatsCallback", "StatsRow", "StreamingStats", "neuron_stats"]


class NeuronStats:
    """Running statistics of the units of one hook point.

    Parameters
    ----------
    n_classes : int, optional
        With labels, per-class means are kept for classes ``0 .. n_classes - 1`` (grown on
        demand when None).
    per_channel : bool
        For activations of shape (batch, channels, height, width): treat every spatial position
        as a sample of its channel, so statistics are per channel, shape (channels,).

    Attributes
    ----------
    count_ : int
        Samples seen (samples times positions with ``per_channel``).
    mean_, var_, std_, max_, min_, frac_active_ : arrays of the unit shape
        ``var_`` is the population variance (``ddof=0``, as ``np.var``); ``frac_active_`` is
        the fraction of samples where the unit is > 0.
    class_means_ : array of shape (n_classes, *unit_shape)
        Mean activation per class (NaN for a class with no sample yet).
    class_counts_ : array of shape (n_classes,)
    """

    def __init__(self, n_classes: int | None = None, *, per_channel: bool = False) -> None:
        self.n_classes = n_classes
        self.per_channel = per_channel
        self.count_ = 0
        self.unit_shape: tuple[int, ...] | None = None
        self._mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None
        self._max: np.ndarray | None = None
        self._min: np.ndarray | None = None
        self._active: np.ndarray | None = None
        self._class_sums: np.ndarray | None = None
        self._class_counts: np.ndarray | None = None

    # -- accumulation ---------------------------------------------------------------------------
    def _rows(self, act: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """(rows of shape (samples, units...) in float64, labels repeated to match)."""
        a = np.asarray(act)
        if a.ndim < 2:
            raise ShapeError(f"activations must be (batch, units...), got shape {a.shape}")
        if self.per_channel:
            if a.ndim < 3:
                raise ShapeError(
                    f"per_channel statistics need (batch, channels, height, width) activations, "
                    f"got shape {a.shape}"
                )
            positions = int(np.prod(a.shape[2:]))
            a = np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])
            if labels is not None:
                labels = np.repeat(labels, positions)
        return a.astype(np.float64, copy=False), labels

    def update(self, act: np.ndarray, labels: np.ndarray | None = None) -> NeuronStats:
        """Add a batch of activations (shape (batch, *unit_shape)) and optional class labels."""
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (len(act),):
                raise ShapeError(
                    f"labels have shape {labels.shape}; expected ({len(act)},), one per sample"
                )
            if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0):
                raise DataError("labels must be non-negative integer class indices")
        a, labels = self._rows(act, labels)
        if len(a) == 0:
            return self
        unit_shape = tuple(a.shape[1:])
        if self.unit_shape is None:
            self._start(unit_shape)
        elif unit_shape != self.unit_shape:
            raise ShapeError(
                f"activations have unit shape {unit_shape}; earlier batches had {self.unit_shape}"
            )
        nb = len(a)
        mean_b = a.mean(axis=0)
        dev = a - mean_b
        m2_b = np.einsum("i...,i...->...", dev, dev)
        self._combine(nb, mean_b, m2_b)
        np.maximum(self._max, a.max(axis=0), out=self._max)
        np.minimum(self._min, a.min(axis=0), out=self._min)
        self._active += np.count_nonzero(a > 0, axis=0)
        if labels is not None:
            top = int(labels.max()) + 1
            self._grow_classes(top)
            assert self._class_sums is not None and self._class_counts is not None
            k = len(self._class_counts)
            onehot = np.zeros((nb, k))
            onehot[np.arange(nb), labels] = 1.0
            # Class sums as one matrix product: (k, batch) @ (batch, units).
            self._class_sums += (onehot.T @ a.reshape(nb, -1)).reshape(self._class_sums.shape)
            self._class_counts += np.bincount(labels, minlength=k)
        return self

    def _start(self, unit_shape: tuple[int, ...]) -> None:
        self.unit_shape = unit_shape
        self._mean = np.zeros(unit_shape)
        self._m2 = np.zeros(unit_shape)
        self._max = np.full(unit_shape, -np.inf)
        self._min = np.full(unit_shape, np.inf)
        self._active = np.zeros(unit_shape, dtype=np.int64)
        if self.n_classes is not None:
            self._grow_classes(self.n_classes)

    def _grow_classes(self, k: int) -> None:
        assert self.unit_shape is not None
        if self.n_classes is not None and k > self.n_classes:
            raise DataError(f"label {k - 1} is out of range for n_classes={self.n_classes}")
        have = 0 if self._class_counts is None else len(self._class_counts)
        if k <= have:
            return
        sums = np.zeros((k, *self.unit_shape))
        counts = np.zeros(k, dtype=np.int64)
        if self._class_sums is not None and self._class_counts is not None:
            sums[:have] = self._class_sums
            counts[:have] = self._class_counts
        self._class_sums, self._class_counts = sums, counts

    def _combine(self, nb: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        """Chan et al.: merge (count, mean, M2) of a new part into the running ones."""
        assert self._mean is not None and self._m2 is not None
        na = self.count_
        n = na + nb
        delta = mean_b - self._mean
        self._mean += delta * (nb / n)
        self._m2 += m2_b + delta * delta * (na * nb / n)
        self.count_ = n

    def merge(self, other: NeuronStats) -> NeuronStats:
        """Fold another accumulator (same hook point, other data) into this one; returns self.

        Lets batches be processed in parallel (per worker) and combined: the result equals
        accumulating every batch here.
        """
        if other.count_ == 0:
            return self
        if other.per_channel != self.per_channel:
            raise ConfigError("cannot merge per-channel statistics with per-unit ones")
        if self.unit_shape is None:
            self._start(other.unit_shape)  # type: ignore[arg-type]
        elif other.unit_shape != self.unit_shape:
            raise ShapeError(f"cannot merge unit shape {other.unit_shape} into {self.unit_shape}")
        assert other._mean is not None and other._m2 is not None
        self._combine(other.count_, other._mean, other._m2)
        np.maximum(self._max, other._max, out=self._max)
        np.minimum(self._min, other._min, out=self._min)
        self._active += other._active  # type: ignore[operator]
        if other._class_counts is not None and other._class_sums is not None:
            self._grow_classes(len(other._class_counts))
            assert self._class_sums is not None and self._class_counts is not None
            k = len(other._class_counts)
            self._class_sums[:k] += other._class_sums
            self._class_counts[:k] += other._class_counts
        return self

    # -- results --------------------------------------------------------------------------------
    def _need(self) -> None:
        if self.count_ == 0:
            raise DataError("no activations seen yet; call update() with at least one sample")

    @property
    def mean_(self) -> np.ndarray:
        self._need()
        assert self._mean is not None
        return self._mean.copy()

    @property
    def var_(self) -> np.ndarray:
        self._need()
        assert self._m2 is not None
        return self._m2 / self.count_

    @property
    def std_(self) -> np.ndarray:
        return np.sqrt(self.var_)

    @property
    def max_(self) -> np.ndarray:
        self._need()
        assert self._max is not None
        return self._max.copy()

    @property
    def min_(self) -> np.ndarray:
        self._need()
        assert self._min is not None
        return self._min.copy()

    @property
    def frac_active_(self) -> np.ndarray:
        self._need()
        assert self._active is not None
        return self._active / self.count_

    @property
    def dead_(self) -> np.ndarray:
        """Units never > 0 on any sample seen (dead ReLUs)."""
        return self.frac_active_ == 0

    @property
    def class_counts_(self) -> np.ndarray:
        self._need()
        if self._class_counts is None:
            raise DataError("no labels were given to update(); class statistics need them")
        return self._class_counts.copy()

    @property
    def class_means_(self) -> np.ndarray:
        counts = self.class_counts_
        assert self._class_sums is not None
        shape = (-1,) + (1,) * (self._class_sums.ndim - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._class_sums / counts.reshape(shape)

    def __repr__(self) -> str:
        if self._mean is None:
            return f"NeuronStats(units={self.unit_shape}, count={self.count_})"
        from tinylens.viz.display import short_repr

        return short_repr(
            "NeuronStats",
            units=self.unit_shape,
            count=self.count_,
            dead=int(self.dead_.sum()),
            frac_active=float(self.frac_active_.mean()),
        )

    # -- display (notebooks): tinylens.probes.stats_display ---------------------------------------
    def to_dict(self) -> dict[str, list[Any]]:
        """One row per unit (flattened in C order): mean, std, min, max, fraction active, dead;
        ``pandas.DataFrame`` accepts it directly."""
        from tinylens.probes.stats_display import unit_table

        return unit_table(self)

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame``."""
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """Mean activation (bars, with the standard deviation) and the fraction of samples where
        each unit is active (dots, right axis), unit by unit; dead units in grey."""
        from tinylens.probes.stats_display import plot_units

        return plot_units(self.to_dict(), ax)

    def _repr_html_(self) -> str:
        from tinylens.probes.stats_display import card

        return card(self)


@dataclass
class StatsRow:
    """One hook point's summary (what ``tinylens inspect`` prints)."""

    name: str
    units: int
    dead: int
    frac_active: float
    mean: float
    std: float
    max: float


class StreamingStats(Mapping[str, NeuronStats]):
    """:class:`NeuronStats` for several hook points: ``stats["layers.1"].frac_active_``.

    Feed it caches (``update(cache, labels)``), e.g. inside a training callback, or let
    :func:`neuron_stats` run a model over a dataset in batches.
    """

    def __init__(
        self,
        names: list[str] | None = None,
        *,
        n_classes: int | None = None,
        per_channel: bool = False,
    ) -> None:
        """``per_channel``: image hook points (batch, channels, h, w) are summarised per channel,
        flat ones per unit."""
        self.n_classes, self.per_channel = n_classes, per_channel
        self._stats: dict[str, NeuronStats] = {}
        for name in names or []:
            if not per_channel:  # per-channel accumulators are made at the first batch
                self._stats[name] = NeuronStats(n_classes)

    def update(self, cache: Mapping[str, np.ndarray], labels: np.ndarray | None = None) -> Any:
        """Add every activation of ``cache`` (an ActivationCache or a dict); returns self."""
        for name, act in cache.items():
            if name not in self._stats:
                # per_channel applies to image hook points; flat ones keep per-unit statistics
                by_channel = self.per_channel and np.ndim(act) >= 3
                self._stats[name] = NeuronStats(self.n_classes, per_channel=by_channel)
            self._stats[name].update(act, labels)
        return self

    def merge(self, other: StreamingStats) -> StreamingStats:
        for name, st in other.items():
            if name not in self._stats:
                self._stats[name] = NeuronStats(self.n_classes, per_channel=st.per_channel)
            self._stats[name].merge(st)
        return self

    def __getitem__(self, name: str) -> NeuronStats:
        try:
            return self._stats[name]
        except KeyError:
            from tinylens.errors import UnknownNameError

            raise UnknownNameError("hook point with statistics", name, self._stats) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._stats)

    def __len__(self) -> int:
        return len(self._stats)

    def summary(self) -> list[StatsRow]:
        """One row per hook point: units, dead units, mean fraction active, value ranges."""
        rows = []
        for name, st in self._stats.items():
            if st.count_ == 0:
                continue
            rows.append(
                StatsRow(
                    name=name,
                    units=int(np.prod(st.unit_shape or ())),
                    dead=int(st.dead_.sum()),
                    frac_active=float(st.frac_active_.mean()),
                    mean=float(st.mean_.mean()),
                    std=float(st.std_.mean()),
                    max=float(st.max_.max()),
                )
            )
        return rows


def neuron_stats(
    model: ModelLike,
    data: Any,
    names: NameSelector = None,
    *,
    labels: np.ndarray | None = None,
    batch_size: int = 2048,
    per_channel: bool = False,
    n_classes: int | None = None,
    quiet: bool = True,
) -> StreamingStats:
    """Run ``model`` over ``data`` in batches and accumulate statistics at the chosen points.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        Run in evaluation mode (restored afterwards), through ``hooked(model)``.
    data : Dataset, (X, y) or array of shape (n_samples, ...)
        With a classification Dataset or (X, y), class means are kept too.
    names : hook point selection (None: every hook point)
    labels : array of shape (n_samples,), optional
        Class labels when ``data`` is a bare array.
    batch_size : int
    per_channel : bool
        Per-channel statistics at image hook points (see :class:`NeuronStats`); flat hook
        points keep per-unit statistics.
    n_classes : int, optional
    quiet : bool
        No progress bar.
    """
    X, y, k = _unpack(data, labels, n_classes)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    stats = StreamingStats(n_classes=k, per_channel=per_channel)
    with evaluating(model) as net, progress(len(X), "neuron statistics", quiet=quiet) as bar:
        for start in range(0, len(X), batch_size):
            xb = X[start : start + batch_size]
            _, cache = net.run_with_cache(xb, names=names)
            stats.update(cache, None if y is None else y[start : start + batch_size])
            bar.advance(len(xb))
    return stats


class StatsCallback(Callback):
    """Streaming statistics of the network after every ``every`` epochs of ``fit``.

    Runs the network (in evaluation mode, in batches, nothing stored but O(units) numbers) over
    ``data`` at the chosen hook points; ``stats_[epoch]`` is the :class:`StreamingStats` after
    that epoch, so dead units, sparsity and class means can be followed through training.

    >>> import numpy as np
    >>> import tinylens as tl
    >>> from tinylens.data import digits
    >>> data = digits()
    >>> cb = StatsCallback(data, names="layers.1")
    >>> net = tl.MLP([64, 16, 10], rng=0)
    >>> _ = tl.fit(net, data, tl.TrainConfig(epochs=3), rng=0, callbacks=[cb])
    >>> sorted(cb.stats_), cb.stats_[3]["layers.1"].frac_active_.shape
    ([0, 1, 2, 3], (16,))
    """

    def __init__(
        self,
        data: Any,
        names: NameSelector = None,
        *,
        every: int = 1,
        batch_size: int = 2048,
        per_channel: bool = False,
    ) -> None:
        if every < 1:
            raise ConfigError(f"every must be a positive number of epochs, got {every}")
        self.data, self.names, self.every = data, names, every
        self.batch_size, self.per_channel = batch_size, per_channel
        self.stats_: dict[int, StreamingStats] = {}

    def _measure(self, epoch: int, net: Any) -> None:
        self.stats_[epoch] = neuron_stats(
            net,
            self.data,
            self.names,
            batch_size=self.batch_size,
            per_channel=self.per_channel,
        )

    def on_fit_start(self, net: Any, history: Any) -> None:
        if not history.epoch:  # epoch 0: the initial weights (not again when resuming)
            self._measure(0, net)

    def on_epoch_end(self, epoch: int, net: Any, history: Any) -> bool | None:
        if epoch % self.every == 0:
            self._measure(epoch, net)
        return None


def _unpack(
    data: Any, labels: np.ndarray | None, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    if hasattr(data, "X") and hasattr(data, "y"):
        X = data.X
        if getattr(data, "task", None) == "classification":
            return X, data.y, n_classes or data.n_classes
        return X, labels, n_classes
    if isinstance(data, tuple) and len(data) == 2:
        X, y = np.asarray(data[0]), np.asarray(data[1])
        if y.ndim == 1 and y.dtype.kind in "iu":
            return X, y, n_classes
        return X, labels, n_classes
    return np.asarray(data), labels, n_classes
