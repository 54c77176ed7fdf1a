"""Polynomial lifting and layer folding, against scikit-learn and the network's own trace."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinylens.data import xor
from tinylens.engine import MLP, AffineNet
from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import linear_regions
from tinylens.geometry.folding import (
    Projection,
    fold_grid,
    grid_lines,
    layer_representations,
    linear_separability,
    region_counts_per_layer,
)
from tinylens.geometry.lifting import (
    PolynomialLift,
    fit_lifted_classifier,
    monomial_exponents,
    monomial_names,
    n_monomials,
)
from tinylens.training import TrainConfig


@pytest.mark.parametrize("n, degree", [(1, 4), (2, 5), (3, 3), (4, 2)])
def test_monomials_match_scikit_learn(n, degree):
    from sklearn.preprocessing import PolynomialFeatures

    exps = monomial_exponents(n, degree)
    ref = PolynomialFeatures(degree, include_bias=False).fit(np.zeros((1, n)))
    np.testing.assert_array_equal(exps, ref.powers_)
    assert len(exps) == n_monomials(n, degree) == math.comb(n + degree, degree) - 1
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, n))
    np.testing.assert_allclose(PolynomialLift(degree).monomials(X), ref.transform(X), rtol=1e-12)


def test_monomial_names_and_standardisation():
    assert monomial_names(monomial_exponents(2, 3), ["a", "b"])[-4:] == [
        "a^3",
        "a^2*b",
        "a*b^2",
        "b^3",
    ]
    X = np.random.default_rng(1).normal(size=(200, 2))
    F = PolynomialLift(3).fit_transform(X)
    np.testing.assert_allclose(F.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(F.std(axis=0), 1, atol=1e-12)
    with pytest.raises(ConfigError, match="before fit"):
        PolynomialLift(2).transform(X)
    with pytest.raises(ConfigError, match="degree"):
        monomial_exponents(2, 0)


def test_lifting_makes_xor_linearly_separable():
    """XOR is not linearly separable; its degree-2 lift is (x1 * x2 decides it)."""
    data = xor(400, noise=0.1, rng=0)
    config = TrainConfig(epochs=300, batch_size=400, optimizer="adam", lr=0.1, loss="cross_entropy")
    linear = fit_lifted_classifier(data.X, data.y, 1, config, rng=0)
    lifted = fit_lifted_classifier(data.X, data.y, 2, config, rng=0)
    assert linear.accuracy(data.X, data.y) < 0.8
    assert lifted.accuracy(data.X, data.y) == 1.0
    assert lifted.n_parameters == 5 * 2 + 2
    assert lifted.scores(data.X).shape == (400, 2)


def test_layer_representations_and_projection():
    net = MLP([2, 6, 5, 3], rng=0, dtype=np.float64)
    X = np.random.default_rng(2).normal(size=(100, 2))
    reps = layer_representations(net, X)
    assert [r.shape[1] for r in reps] == [2, 6, 5, 3]
    np.testing.assert_allclose(reps[-1], net.forward(X), atol=1e-12)
    # PCA: the same subspace and explained variance as scikit-learn
    from sklearn.decomposition import PCA

    H = reps[1]
    proj = Projection.fit(H)
    ref = PCA(2).fit(H)
    np.testing.assert_allclose(np.abs(proj.components), np.abs(ref.components_), atol=1e-8)
    assert proj.explained == pytest.approx(ref.explained_variance_ratio_.sum())
    # widths 1 and 2 are shown as they are
    np.testing.assert_array_equal(Projection.fit(X)(X), X)
    np.testing.assert_array_equal(Projection.fit(X[:, :1])(X[:, :1])[:, 1], 0)


def test_fold_grid_pushes_the_grid_through_each_layer():
    net = MLP([2, 8, 4, 3], rng=1, dtype=np.float64)
    box = [(-1, 1), (-2, 2)]
    X = np.random.default_rng(3).uniform(-1, 1, size=(30, 2))
    layers = fold_grid(net, box, X=X, n_lines=5, n_points=50)
    assert [f.name for f in layers] == ["input", "layer 1", "layer 2"]
    assert [f.width for f in layers] == [2, 8, 4]
    lines = grid_lines(box, 5, 50)
    assert len(lines) == 10 and len(layers[1].lines) == 10
    np.testing.assert_allclose(layers[0].lines[3], lines[3])
    h1 = AffineNet.from_module(net).trace(lines[7])[1]
    np.testing.assert_allclose(layers[1].lines[7], layers[1].projection(h1))
    assert layers[2].points.shape == (30, 2)
    with pytest.raises(ShapeError, match="2 inputs"):
        fold_grid(MLP([3, 4, 1], rng=0), [(-1, 1)] * 3)


def test_linear_separability_measures_what_it_should():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    noise = rng.integers(0, 2, size=400)
    out = linear_separability([X, rng.normal(size=(400, 3))], y, rng=0)
    assert out[0]["test_accuracy"] == 1.0
    assert 0.3 < out[1]["test_accuracy"] < 0.7
    assert linear_separability([X], noise, rng=0)[0]["test_accuracy"] < 0.7


def test_region_counts_per_layer_are_the_exact_counts():
    net = MLP([2, 10, 10, 2], rng=6, init="torch")
    box = [(-1, 1), (-1, 1)]
    counts = region_counts_per_layer(net, box)
    assert counts == list(linear_regions(net, box).counts_per_layer)
    first = AffineNet((AffineNet.from_module(net).layers[0],))
    # the sub-network up to layer 1, with a relu output, has the first count
    assert linear_regions(first, box).count == counts[0]
    assert counts[1] >= counts[0]
