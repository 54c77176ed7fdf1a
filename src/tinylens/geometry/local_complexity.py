"""Local complexity: how many linear regions meet a small neighbourhood of each point.

The neighbourhood of a point ``x`` is a small 2-D slice: the square ``[-radius, radius]^2``
around ``x`` along two random orthonormal directions (one pair per point, drawn from ``rng``).
Its regions are counted exactly, layer by layer (the regions of the sub-network up to each
kinked layer), with :func:`~tinylens.geometry.linear_regions` on the slice, so MLPs and CNNs
(max pools included) both work. Counting regions that meet a small neighbourhood of data
points, and of points far from the data, follows Humayun, Balestriero and Baraniuk, "Deep
networks always grok and here is why" (ICML 2024), who measure it on a
neighbourhood made of random directions around each point; the 2-D slice and the exact count
are our choice.

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> net = MLP([4, 8, 8, 3], rng=0, init="torch")
>>> counts = local_complexity(net, np.zeros((2, 4)), radius=0.5, rng=0)
>>> counts.shape  # (points, kinked layers)
(2, 2)
>>> bool((counts[:, 1] >= counts[:, 0]).all())  # deeper layers only refine
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry.slices import Slice

__all__ = ["local_complexity", "local_complexity_over"]


def local_complexity(
    net: Any, points: Any, *, radius: float, rng: np.random.Generator | int
) -> np.ndarray:
    """Regions of ``net`` meeting the 2-D neighbourhood of each point, layer by layer.

    Parameters
    ----------
    net : any network :func:`~tinylens.geometry.linear_regions` reads on a slice
    points : array of shape (n_points, n_inputs)
    radius : float
        Half-width of each square neighbourhood, in input units.
    rng : numpy Generator or int
        Draws each point's two directions (the same seed gives the same neighbourhoods, so
        snapshots of one training run are compared on identical squares).

    Returns
    -------
    array of shape (n_points, n_kinked_layers), int
        Column ``l``: the regions of the network up to kinked layer ``l`` (max pools count as
        layers for CNNs) that meet the square; the last column is the whole network's.
    """
    from tinylens.geometry.regions import linear_regions

    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2 or not len(X):
        raise ShapeError(f"points have shape {X.shape}; expected (n_points, n_inputs)")
    if not np.isfinite(X).all():
        raise ConfigError("points must be finite")
    if not radius > 0:
        raise ConfigError(f"radius must be positive, got {radius}")
    gen = np.random.default_rng(rng)
    seeds = gen.integers(0, 2**63, size=len(X))
    rows = []
    for x, seed in zip(X, seeds, strict=True):
        plane = Slice.plane(x, radius=radius, rng=int(seed))
        rows.append(list(linear_regions(net, slice=plane).counts_per_layer))
    return np.array(rows, dtype=np.int64)


def local_complexity_over(
    nets: Sequence[Any], points: Any, *, radius: float, rng: np.random.Generator | int
) -> np.ndarray:
    """:func:`local_complexity` of every network in ``nets`` (e.g. the snapshots of one
    training run) on the same neighbourhoods: array of shape (n_nets, n_points, n_layers)."""
    seed = int(np.random.default_rng(rng).integers(0, 2**63))
    return np.stack([local_complexity(n, points, radius=radius, rng=seed) for n in nets])
