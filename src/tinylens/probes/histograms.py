"""Activation histograms per layer over training: how the distribution of each layer's
activations moves from epoch to epoch (eriktholmes/interpreting_mnist draws these for its first
linear and ReLU layers, notebook 01).

One forward pass of a fixed subsample through the weights of every snapshot; per layer, the
counts of all its activations (every unit of every sample) in bins shared across epochs, so the
histograms of one layer can be compared and stacked.

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([4, 8, 3], rng=0)
>>> X = np.random.default_rng(0).normal(size=(50, 4))
>>> snaps = [(0, net.state_dict())]
>>> h = activation_histograms(net, X, ["layers.0", "layers.1"], snaps, bins=10)
>>> h.counts_["layers.1"].shape, int(h.counts_["layers.1"][0].sum())
((1, 10), 400)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError
from tinylens.hooks import evaluating
from tinylens.typing import ModelLike

__all__ = ["ActivationHistograms", "activation_histograms"]


@dataclass
class ActivationHistograms:
    """Histograms of each layer's activations at each snapshot.

    Attributes
    ----------
    epochs : array of int of shape (n_snapshots,)
    edges_ : dict of str -> array of shape (bins + 1,)
        Bin edges per layer, the same for every epoch: from the smallest to the largest
        activation seen at any epoch.
    counts_ : dict of str -> array of int of shape (n_snapshots, bins)
        Every activation of every unit on every sample falls in exactly one bin (the last bin
        is closed, as in ``numpy.histogram``).
    n_samples : int
    zero_fraction_ : dict of str -> array of shape (n_snapshots,)
        The share of activations exactly 0 (a ReLU's silent units).
    """

    epochs: np.ndarray
    edges_: dict[str, np.ndarray]
    counts_: dict[str, np.ndarray]
    n_samples: int
    zero_fraction_: dict[str, np.ndarray]

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs.tolist(),
            "samples": self.n_samples,
            "layers": {
                n: {
                    "edges": self.edges_[n].tolist(),
                    "counts": self.counts_[n].tolist(),
                    "zero_fraction": self.zero_fraction_[n].tolist(),
                }
                for n in self.counts_
            },
        }


def activation_histograms(
    model: ModelLike,
    X: Any,
    names: Sequence[str],
    snapshots: Sequence[tuple[int, dict[str, np.ndarray]]],
    *,
    bins: int = 40,
) -> ActivationHistograms:
    """Histograms of the activations at ``names`` on ``X`` for every weight snapshot.

    Parameters
    ----------
    model : engine Sequential
        Its weights are replaced by each snapshot's in a copy; ``model`` is not changed.
    X : array of shape (n_samples, n_features)
    names : sequence of str
        Hook points (image activations are flattened).
    snapshots : sequence of (epoch, state_dict)
        E.g. ``History.snapshots``.
    bins : int
    """
    if bins < 1:
        raise ConfigError(f"bins must be a positive integer, got {bins}")
    if not snapshots:
        raise DataError("no weight snapshots: train with TrainConfig(snapshot_every=1)")
    A = np.asarray(X)
    net = model.copy()
    acts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for _, state in snapshots:
        net.load_state_dict(state)
        with evaluating(net) as h:
            _, cache = h.run_with_cache(A, names=list(names))
        for n in names:
            acts[n].append(np.asarray(cache[n], dtype=np.float64).reshape(-1))
    edges, counts, zeros = {}, {}, {}
    for n in names:
        lo = min(float(a.min()) for a in acts[n])
        hi = max(float(a.max()) for a in acts[n])
        if hi <= lo:  # every activation equal (a dead layer): one bin around it
            lo, hi = lo - 0.5, hi + 0.5
        edges[n] = np.linspace(lo, hi, bins + 1)
        counts[n] = np.stack([np.histogram(a, bins=edges[n])[0] for a in acts[n]])
        zeros[n] = np.array([float(np.mean(a == 0)) for a in acts[n]])
    epochs = np.array([int(e) for e, _ in snapshots])
    return ActivationHistograms(epochs, edges, counts, len(A), zeros)
