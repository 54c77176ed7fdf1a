"""How a slice's regions show themselves (issue 15): a segment's boundary points with the class
on either side, the picture of a plane with its decision boundary and anchors, and a triangle
shrunk about its centroid (``margin`` below 0) for conv nets whose whole triangle is too large.

Oracles: torch's forward pass just before and after each boundary point (the side classes), the
boundary's own segments (the lines drawn), and the slice's domain recomputed by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection

from test_geometry_conv_slices import mid_cnn
from tinylens.engine import MLP
from tinylens.errors import ConfigError
from tinylens.geometry import Slice, linear_regions
from tinylens.studies.geometry import SliceStudyConfig, run

torch = pytest.importorskip("torch")

SIDE_STEP = 1e-6
"""How far from a boundary point torch's forward is read on each side: far above the
breakpoint's rounding (~1e-15), far below the gaps between the boundary points of these nets
(checked in the test)."""


def _torch_class(model, seg: Slice, t: float) -> int:
    with torch.no_grad():
        x = torch.from_numpy(seg.to_input([[t]]).reshape(1, 1, 8, 8))
        return int(model(x).argmax())


def _inputs_of_distinct_classes(predict, n_inputs: int, k: int, seed: int) -> np.ndarray:
    """``k`` random inputs (scale 3) that the network puts in ``k`` different classes, so a
    slice through them crosses the decision boundary."""
    X = np.random.default_rng(seed).normal(size=(200, n_inputs)) * 3
    classes = predict(X)
    picks = [int(np.flatnonzero(classes == c)[0]) for c in np.unique(classes)[:k]]
    assert len(picks) == k, "the net predicts too few classes on random inputs"
    return X[picks]


def _cnn_classes(model, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(X.reshape(-1, 1, 8, 8))).argmax(axis=1).numpy()


@pytest.mark.parametrize("seed", [0, 2, 3, 4])  # nets that predict several classes
def test_boundary_points_name_the_class_before_and_after(seed):
    model = mid_cnn(seed)
    a, b = _inputs_of_distinct_classes(lambda X: _cnn_classes(model, X), 64, 2, seed)
    seg = Slice.segment(a, b)
    regions = linear_regions(model, slice=seg)
    points = regions.boundary_points()
    assert points  # the ends are of different classes
    assert len(points) == len(regions.decision_boundary().segments)
    ts = [t for t, _, _ in points]
    assert ts == sorted(ts)
    stops = [0.0, *ts, 1.0]
    assert min(np.diff(stops)) > 10 * SIDE_STEP
    for t, left, right in points:
        assert left != right
        assert _torch_class(model, seg, t - SIDE_STEP) == left
        assert _torch_class(model, seg, t + SIDE_STEP) == right
    # between boundary points the class is constant, and the ends agree with the list
    classes = [left for _, left, _ in points] + [points[-1][2]]
    for (lo, hi), want in zip(itertools.pairwise(stops), classes, strict=True):
        for t in np.linspace(lo, hi, 7)[1:-1]:
            assert _torch_class(model, seg, t) == want


def test_boundary_points_refuse_a_plane():
    regions = linear_regions(mid_cnn(0), slice=Slice.plane(np.zeros(64), radius=1.0, rng=0))
    with pytest.raises(ConfigError, match="segments"):
        regions.boundary_points()


def test_the_plane_picture_draws_the_boundary_and_the_anchors():
    net = MLP([6, 8, 8, 3], rng=0, init="torch")
    X = _inputs_of_distinct_classes(lambda X: net.predict(X).argmax(axis=1), 6, 3, 0)
    regions = linear_regions(net, slice=Slice.through(*X))
    boundary = regions.decision_boundary()
    assert len(boundary.segments) > 0
    ax = regions.plot().axes[0]
    polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(polys[0].get_paths()) == regions.count
    drawn = np.array([p.vertices for p in lines[0].get_paths()])
    np.testing.assert_array_equal(drawn, boundary.segments)
    dots = [c for c in ax.collections if c.get_offsets().shape == (3, 2) and c not in polys]
    np.testing.assert_array_equal(dots[0].get_offsets(), [[0, 0], [1, 0], [0, 1]])


def test_a_shrunk_triangle_leaves_its_corner_images_out():
    net = MLP([6, 8, 8, 3], rng=0, init="torch")
    X = np.random.default_rng(0).normal(size=(3, 6)) * 2
    small = Slice.through(*X, margin=-0.9)
    centre = np.array([1 / 3, 1 / 3])
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(small.domain, centre + 0.1 * (corners - centre), atol=1e-15)
    regions = linear_regions(net, slice=small)
    assert abs(regions.volumes().sum() - 0.5 * 0.01) < 1e-12
    ax = regions.plot().axes[0]
    assert not [c for c in ax.collections if c.get_offsets().shape == (3, 2)]


def test_the_slice_study_takes_a_negative_margin(tmp_path):
    import tinylens as tl
    from tinylens.data import digits

    path = tmp_path / "net.safetensors"
    tl.save(MLP([64, 8, 10], rng=0, init="torch"), path)
    cfg = SliceStudyConfig(str(path), through=(0, 1, 2), data="digits", margin=-0.5)
    result = run(cfg, data=digits())
    assert abs(result.regions.volumes().sum() - 0.5 * 0.25) < 1e-12
    assert not result.plot().axes[0].child_axes  # the corner images lie outside: none drawn
    full = run(SliceStudyConfig(str(path), through=(0, 1, 2), data="digits"), data=digits())
    assert len(full.plot().axes[0].child_axes) == 3
    for bad in (-1.0, -2.0, float("nan")):
        with pytest.raises(ConfigError, match="margin must be > -1"):
            SliceStudyConfig(str(path), through=(0, 1, 2), margin=bad)


def test_the_decision_boundary_is_computed_once_per_set(monkeypatch):
    """The notebook card, the figure and boundary_points share one boundary (it took 24 s on
    a million-region plane, and the card used to compute it again): the same object, equal
    to a fresh computation."""
    from tinylens.geometry import slices

    model = mid_cnn(2)
    a, b = _inputs_of_distinct_classes(lambda X: _cnn_classes(model, X), 64, 2, 2)
    regions = linear_regions(model, slice=Slice.through(a, b, (a + b) / 2 + 1.0))
    calls = []
    real = slices.decision_boundary
    monkeypatch.setattr(slices, "decision_boundary", lambda r: calls.append(1) or real(r))
    assert "<svg" in regions._repr_html_() or "<img" in regions._repr_html_()
    regions.plot()
    first = regions.decision_boundary()
    assert regions.decision_boundary() is first and len(calls) == 1
    fresh = real(regions)
    assert len(first.segments) == len(fresh.segments) > 0
    np.testing.assert_array_equal(first.segments, fresh.segments)
    np.testing.assert_array_equal(first.classes, fresh.classes)
