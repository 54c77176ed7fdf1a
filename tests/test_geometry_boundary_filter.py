"""The decision boundary reads only regions where the top class may change (issue 15: a
million-region plane took 24 s, most of it clipping regions one class wins throughout).

Oracles: the same boundary with nothing left out (bit for bit), and the top class at many
points of every region left out, each computed in exact rationals."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import tinylens as tl
from test_geometry_conv_slices import mid_cnn
from test_geometry_slices import mnist_like
from tinylens.geometry import Slice, decision_boundary, image_slice_regions, linear_regions, slices
from tinylens.geometry._polygons import pack

pytest.importorskip("torch")


def _sets():
    net, X = mnist_like(2)
    yield "MNIST-like MLP plane", linear_regions(net, slice=Slice.through(*X, margin=0.5))
    net = tl.MLP([2, 16, 16, 4], rng=0, init="torch")
    yield "2-16-16-4 box", linear_regions(net, [(-3, 3)] * 2)
    cnn = mid_cnn(0)
    plane = Slice.plane(np.zeros(64), radius=2.0, rng=0)
    yield "8x8 CNN plane", image_slice_regions(cnn, plane, quiet=True)


@pytest.mark.parametrize("name", ["MNIST-like MLP plane", "2-16-16-4 box", "8x8 CNN plane"])
def test_leaving_out_one_class_regions_changes_nothing(name, monkeypatch):
    regions = dict(_sets())[name]
    got = decision_boundary(regions)
    one = slices._one_class(pack(regions.vertices)[0], regions.W, regions.c, chunk=7)
    monkeypatch.setattr(slices, "_one_class", lambda V, W, c: np.zeros(len(V), dtype=bool))
    want = decision_boundary(regions)
    assert len(want.segments) > 0
    np.testing.assert_array_equal(got.segments, want.segments)
    np.testing.assert_array_equal(got.classes, want.classes)
    np.testing.assert_array_equal(got.regions, want.regions)
    # not vacuous: most regions are left out, and none that holds a segment
    assert one.mean() > 0.5 and not one[want.regions].any()


def test_a_region_left_out_has_one_top_class_at_every_point_in_exact_arithmetic():
    net, X = mnist_like(2)
    regions = linear_regions(net, slice=Slice.through(*X, margin=0.5))
    V, _ = pack(regions.vertices)
    one = slices._one_class(V, regions.W, regions.c)
    rng = np.random.default_rng(0)
    for r in np.flatnonzero(one)[:60]:
        poly = regions.vertices[r]
        weights = np.vstack([np.eye(len(poly)), rng.dirichlet(np.ones(len(poly)), 30)])
        W = [[Fraction(float(x)) for x in row] for row in regions.W[r]]
        c = [Fraction(float(x)) for x in regions.c[r]]
        tops = set()
        for w in weights:  # vertices, then points inside, as exact convex combinations
            q = [(Fraction(float(a)), v) for a, v in zip(w, poly, strict=True)]
            p = [sum(a * Fraction(float(v[i])) for a, v in q) for i in (0, 1)]
            logits = [W[k][0] * p[0] + W[k][1] * p[1] + c[k] for k in range(len(c))]
            best = max(logits)
            assert sorted(logits)[-2] < best  # no tie anywhere
            tops.add(logits.index(best))
        assert len(tops) == 1, r


def test_regions_touching_a_tie_of_every_class_are_all_read():
    """Bias-free: every region is a cone from the origin, where all logits are 0."""
    regions = linear_regions(tl.engine.MLP([2, 12, 12, 4], rng=5), [(-2, 2)] * 2)
    assert not slices._one_class(pack(regions.vertices)[0], regions.W, regions.c).any()


def test_a_near_tie_or_a_change_of_class_is_kept():
    square = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]] * 4)
    W = np.zeros((4, 3, 2))
    c = np.array([[1.0, 0.0, 0.0]] * 4)
    c[1, 1] = 1.0 - 1e-12  # class 1 a hair behind everywhere: a near tie, read in full
    W[2, 1] = [2.0, 0.0]  # class 1 overtakes class 0 at s = 1/2: the boundary crosses it
    W[3, 1] = [1.0, 0.0]  # class 1 ties class 0 exactly at the corner s = 1
    np.testing.assert_array_equal(slices._one_class(square, W, c), [True, False, False, False])
