"""The partition over training (issue 15): local complexity at every weight snapshot.

At each snapshot of one training run, :func:`partition_over_training` counts, layer by layer,
the linear regions meeting a small 2-D square around each of three point sets (training points,
test points, and points far from the data) with
:func:`~tinylens.geometry.local_complexity.local_complexity_over`, so every snapshot is read on
identical squares; and it enumerates every region of one fixed plane (through the first three
test points, as ``tinylens regions --through`` does) at each snapshot. Counting regions near
and far from the data over training follows Humayun, Balestriero and Baraniuk, "Deep networks
always grok and here is why" (ICML 2024); the exact 2-D squares are our choice.

"Far from the data" (our choice): points drawn uniformly from the bounding box of the training
sample, feature by feature. For images this is uniform noise, away from the image manifold.

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> nets = [(e, MLP([4, 6, 5, 3], rng=e, init="torch")) for e in (0, 1)]
>>> X = np.random.default_rng(0).uniform(size=(5, 4))
>>> r = partition_over_training(nets, X, X, radius=0.3, far_points=3, rng=0)
>>> r.counts["train"].shape  # (snapshots, points, kinked layers)
(2, 5, 2)
>>> r.plane_counts.shape  # (snapshots, kinked layers)
(2, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import Slice, linear_regions
from tinylens.geometry.local_complexity import local_complexity_over
from tinylens.viz.display import html_card, short_repr
from tinylens.viz.display import to_pandas as _to_pandas

__all__ = [
    "CNN_PLANE_MARGIN",
    "CNN_RADIUS",
    "POINTS",
    "POINT_SETS",
    "RADIUS",
    "OverTrainingResult",
    "far_points_like",
    "over_training_of",
    "partition_over_training",
]

POINT_SETS = ("train", "test", "far")
"""The point sets, in the order of the table and the figure's legend."""

POINTS = 16
"""Points per set for ``tinylens mnist --geometry`` (our choice: seconds on the 8x8 digits)."""

RADIUS = 0.5
"""Half-width of each square for ``tinylens mnist --geometry``, in pixel units (inputs in
[0, 1]; our choice: half the pixel range, so a square spans visibly different images)."""


CNN_RADIUS = 0.02
"""Half-width of each square for a conv net (our choice): a conv net meets far more regions
than an MLP of its size (around an 8x8 digit, ``small_cnn`` of the quick study untrained:
about 12,000 regions in a square of half-width 0.5, 1,200 at 0.05, 480 at 0.02), so its squares
are 25 times smaller; a max pool over flat background splits on the smallest move."""

CNN_PLANE_MARGIN = -0.9
"""The fixed plane of a conv net is the triangle through three test images shrunk to a tenth
about its centroid (our choice): the whole triangle holds 10,000 to 20,000 regions per snapshot
for ``small_cnn`` on the 8x8 digits and about a million on MNIST, past the slider's budget."""


def far_points_like(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform in the per-feature bounding box of ``X`` (our choice of "far from
    the data": for images, uniform noise).

    >>> X = np.array([[0.0, 1.0], [2.0, 1.0]])
    >>> P = far_points_like(X, 50, np.random.default_rng(0))
    >>> bool((P[:, 0] >= 0).all() and (P[:, 0] <= 2).all() and (P[:, 1] == 1).all())
    True
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    return lo + (hi - lo) * rng.uniform(size=(n, X.shape[1]))


@dataclass
class OverTrainingResult:
    """Local complexity and one plane's regions at every snapshot.

    Attributes
    ----------
    epochs : list of int
        The snapshots' epochs.
    counts : dict of str to int array (n_snapshots, n_points, n_layers)
        For ``"train"``, ``"test"`` and ``"far"``: the regions of the network up to kinked
        layer ``l`` meeting each point's square at each snapshot.
    points : dict of str to array (n_points, n_inputs)
        The points of each set.
    radius : float
        The squares' half-width, in input units.
    plane : Slice
        The fixed plane (through the first three test points).
    plane_regions : list of RegionSet
        Every region of ``plane`` at each snapshot.
    """

    epochs: list[int]
    counts: dict[str, np.ndarray]
    points: dict[str, np.ndarray]
    radius: float
    plane: Slice
    plane_regions: list[Any]

    @property
    def n_layers(self) -> int:
        return int(self.counts["train"].shape[2])

    @property
    def plane_counts(self) -> np.ndarray:
        """(n_snapshots, n_layers): regions of the plane, layer by layer, at each snapshot."""
        return np.array([list(r.counts_per_layer) for r in self.plane_regions], dtype=np.int64)

    def table(self) -> dict[str, list[Any]]:
        """One row per snapshot, layer and point set: mean, quartiles, min and max of the
        counts, and the plane's regions at that snapshot and layer."""
        cols: dict[str, list[Any]] = {
            k: []
            for k in ("epoch", "layer", "points", "mean", "q25", "median", "q75", "min", "max")
        }
        cols["plane_regions"] = []
        plane = self.plane_counts
        for i, epoch in enumerate(self.epochs):
            for layer in range(self.n_layers):
                for name in POINT_SETS:
                    c = self.counts[name][i, :, layer]
                    q25, med, q75 = np.percentile(c, [25, 50, 75])
                    row = (epoch, layer + 1, name, float(c.mean()), float(q25), float(med))
                    row += (float(q75), int(c.min()), int(c.max()), int(plane[i, layer]))
                    for k, v in zip(cols, row, strict=True):
                        cols[k].append(v)
        return cols

    def to_pandas(self) -> Any:
        """:meth:`table` as a DataFrame."""
        return _to_pandas(self.table())

    def mean(self, name: str) -> np.ndarray:
        """(n_snapshots, n_layers): the mean count of one point set."""
        return self.counts[name].mean(axis=1)

    def plot(self, ax: Any = None) -> Any:
        """Mean local complexity over epochs: one line per layer (colour) and point set
        (line style). Returns the matplotlib Figure."""
        from tinylens.viz.over_training import plot_local_complexity

        return plot_local_complexity(
            self.epochs, {n: self.mean(n) for n in POINT_SETS}, radius=self.radius, ax=ax
        )

    def plot_planes(self, max_panels: int = 6) -> Any:
        """The plane's regions coloured by predicted class at up to ``max_panels`` epochs
        (evenly spaced, first and last included)."""
        from tinylens.viz.over_training import plot_plane_snapshots

        picks = np.unique(np.linspace(0, len(self.epochs) - 1, max_panels).round().astype(int))
        return plot_plane_snapshots(
            [self.epochs[i] for i in picks], [self.plane_regions[i] for i in picks]
        )

    def _numbers(self) -> dict[str, Any]:
        last = {
            f"mean {n}, last layer, epoch {self.epochs[-1]}": self.mean(n)[-1, -1]
            for n in POINT_SETS
        }
        return {
            "snapshots": len(self.epochs),
            "points per set": len(self.points["train"]),
            "radius": self.radius,
            **last,
            "plane regions at the last epoch": int(self.plane_counts[-1, -1]),
        }

    def __repr__(self) -> str:
        return short_repr(
            "OverTrainingResult",
            epochs=f"{self.epochs[0]}..{self.epochs[-1]}",
            points=len(self.points["train"]),
            layers=self.n_layers,
            radius=self.radius,
            plane_regions=int(self.plane_counts[-1, -1]),
        )

    def _repr_html_(self) -> str:
        return html_card("OverTrainingResult", self._numbers(), self.table(), self.plot())


def _check(X: Any, name: str, n_inputs: int | None) -> np.ndarray:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or not len(A):
        raise ShapeError(f"{name} has shape {A.shape}; expected (n_points, n_inputs)")
    if n_inputs is not None and A.shape[1] != n_inputs:
        raise ShapeError(f"{name} has {A.shape[1]} features; the training sample has {n_inputs}")
    if not np.isfinite(A).all():
        raise ConfigError(f"{name} must be finite")
    return A


def partition_over_training(
    snapshots: Sequence[tuple[int, Any]],
    X_train_sample: Any,
    X_test_sample: Any,
    *,
    radius: float,
    far_points: int,
    rng: np.random.Generator | int,
    plane_margin: float = 0.0,
) -> OverTrainingResult:
    """Local complexity near training, test and far points, and one plane's regions, at
    every snapshot.

    Parameters
    ----------
    snapshots : sequence of (epoch, network)
        Networks :func:`~tinylens.geometry.linear_regions` reads on a slice (ReLU MLPs and conv
        nets with max pools: engine networks, weights files, torch ``nn.Sequential``), in
        epoch order.
    X_train_sample, X_test_sample : arrays (n, n_inputs)
        The points whose squares are counted; the plane passes through the first three test
        points (so at least three are needed).
    radius : float
        Half-width of each square, in input units.
    far_points : int
        How many points far from the data (uniform in the training sample's bounding box).
    rng : numpy Generator or int
        Draws the far points and every square's directions (identical at every snapshot).
    plane_margin : float
        The fixed plane's triangle grown (> 0) or shrunk about its centroid (-1 < margin < 0)
        by this fraction (:meth:`~tinylens.geometry.Slice.through`); a conv net's whole
        triangle has too many regions for every snapshot (:data:`CNN_PLANE_MARGIN`).
    """
    snaps = list(snapshots)
    if not snaps:
        raise ConfigError("no snapshots: train with snapshots kept (one per epoch)")
    epochs = [int(e) for e, _ in snaps]
    if epochs != sorted(epochs):
        raise ConfigError(f"snapshots must be in epoch order, got epochs {epochs}")
    train = _check(X_train_sample, "X_train_sample", None)
    test = _check(X_test_sample, "X_test_sample", train.shape[1])
    if len(test) < 3:
        raise ShapeError(f"the plane needs three test points, got {len(test)}")
    if isinstance(far_points, bool) or not isinstance(far_points, int) or far_points < 1:
        raise ConfigError(f"far_points must be a positive integer, got {far_points!r}")
    if not (isinstance(radius, int | float) and np.isfinite(radius) and radius > 0):
        raise ConfigError(f"radius must be a positive finite number, got {radius!r}")
    gen = np.random.default_rng(rng)
    points = {"train": train, "test": test, "far": far_points_like(train, far_points, gen)}
    seeds = gen.integers(0, 2**63, size=len(POINT_SETS))
    nets = [n for _, n in snaps]
    counts = {
        name: local_complexity_over(nets, points[name], radius=float(radius), rng=int(s))
        for name, s in zip(POINT_SETS, seeds, strict=True)
    }
    if not (isinstance(plane_margin, int | float) and plane_margin > -1):
        raise ConfigError(f"plane_margin must be a number above -1, got {plane_margin!r}")
    plane = Slice.through(*test[:3], margin=float(plane_margin))
    plane_regions = [linear_regions(n, slice=plane) for n in nets]
    return OverTrainingResult(epochs, counts, points, float(radius), plane, plane_regions)


def over_training_of(
    run: Any,
    *,
    points: int = POINTS,
    radius: float | None = None,
    seed: int = 0,
    plane_margin: float | None = None,
) -> OverTrainingResult:
    """:func:`partition_over_training` on a :class:`~tinylens.studies.mnist.ModelRun` (a ReLU
    MLP variant or the CNN): its weight snapshots, ``points`` training and test points drawn
    with ``seed`` (without replacement), as many far points, and the plane through the first
    three test points drawn. ``radius`` and ``plane_margin`` default to :data:`RADIUS` and 0
    for an MLP, :data:`CNN_RADIUS` and :data:`CNN_PLANE_MARGIN` for a conv net.
    """
    from tinylens.geometry import is_image_net
    from tinylens.geometry.regions import check_piecewise_linear

    image = is_image_net(run.net)
    if not image:
        check_piecewise_linear(run.net)
    if radius is None:
        radius = CNN_RADIUS if image else RADIUS
    if plane_margin is None:
        plane_margin = CNN_PLANE_MARGIN if image else 0.0
    gen = np.random.default_rng([seed, 15])
    tr = np.sort(gen.choice(run.train.n, size=min(points, run.train.n), replace=False))
    te = np.sort(gen.choice(run.test.n, size=min(points, run.test.n), replace=False))
    snaps = []
    for epoch, state in run.history.snapshots:
        net = run.net.copy()
        net.load_state_dict(state)
        snaps.append((epoch, net))
    return partition_over_training(
        snaps,
        run.train.X[tr],
        run.test.X[te],
        radius=radius,
        far_points=points,
        rng=gen,
        plane_margin=plane_margin,
    )
