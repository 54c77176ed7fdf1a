"""Basis decomposition: ghosts + b_out are the network; kinks, sides and dead neurons exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tinylens.engine import MLP, AffineNet
from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry.basis import decompose

# Ghosts + b_out re-add the same float64 terms the network adds, in another order: the
# difference is rounding of a sum of ~20 terms of O(1), ~1e-15. 1e-12 leaves room, no more.
SUM_ATOL = 1e-12
# Against the float32 engine forward: float32 rounding of O(1) values, ~1e-6.
FLOAT32_ATOL = 2e-5


def one_hidden(w_in, b_in, w_out, b_out, activation="relu"):
    return AffineNet.from_lists(
        [(np.asarray(w_in, float), b_in, activation), (np.asarray(w_out, float), b_out, "identity")]
    )


@pytest.mark.parametrize("sizes", [[1, 15, 1], [1, 7, 3], [2, 9, 1], [3, 6, 2]])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_ghosts_plus_b_out_equal_the_network(sizes, activation):
    net = MLP(sizes, activation, rng=sum(sizes), init="torch", dtype=np.float64)
    X = np.random.default_rng(0).uniform(-3, 3, size=(500, sizes[0]))
    basis = decompose(net, X=X)
    ghosts = basis.ghosts(X)
    assert ghosts.shape == (500, sizes[1], sizes[2])
    np.testing.assert_allclose(ghosts.sum(axis=1) + basis.b_out, net.forward(X), atol=SUM_ATOL)
    np.testing.assert_allclose(basis.output(X), net.forward(X), atol=SUM_ATOL)
    # the partial sums start at b_out and end at the network
    partial = basis.partial_sums(X)
    assert partial.shape == (sizes[1] + 1, 500, sizes[2])
    np.testing.assert_allclose(partial[0], np.broadcast_to(basis.b_out, (500, sizes[2])))
    np.testing.assert_allclose(partial[-1], net.forward(X), atol=SUM_ATOL)


def test_against_the_float32_engine_network_and_a_weights_file(tmp_path):
    import tinylens as tl

    net = MLP([1, 15, 1], rng=3, init="torch")  # float32, as trained
    path = tl.save(net, tmp_path / "net.safetensors")
    x = np.linspace(-2, 2, 101)[:, None]
    for source in (net, path, AffineNet.from_module(net)):
        basis = decompose(source, domain=[(-2, 2)])
        np.testing.assert_allclose(
            basis.output(x), net.forward(x.astype(np.float32)), atol=FLOAT32_ATOL
        )


def test_kinks_sides_and_dead_neurons_by_hand():
    #   neuron:   0: 2x - 1  1: -x + 0.5  2: 0x + 1  3: 0x - 1  4: x - 10  5: 0x + 0
    net = one_hidden(
        [[2], [-1], [0], [0], [1], [0]],
        [-1, 0.5, 1, -1, -10, 0],
        [[1, 2, 3, 4, 5, 6]],
        [0.5],
    )
    X = np.linspace(-1, 1, 21)[:, None]
    basis = decompose(net, X=X)
    assert basis.kinks == [0.5, 0.5, None, None, 10.0, None]
    assert basis.active_side == ["right", "left", "always", "never", "right", "never"]
    assert basis.constant.tolist() == [False, False, True, True, False, True]
    assert basis.dead_on_data.tolist() == [False, False, False, True, True, True]
    assert basis.dead_on_domain.tolist() == [False, False, False, True, True, True]
    assert basis.kink_in_domain.tolist() == [True, True, False, False, False, False]
    assert basis.slopes.tolist() == [2, -1, 0, 0, 1, 0]
    assert basis.importances.tolist() == [1, 2, 3, 4, 5, 6]
    # kinkless neurons first (by index), then by kink position
    assert basis.kink_order.tolist() == [2, 3, 5, 0, 1, 4]
    rows = basis.table()
    assert rows[2]["kink"] is None and rows[2]["active_side"] == "always"


def test_tiny_slopes_are_not_divided_by_a_fudge_factor():
    net = one_hidden([[1e-300], [5e-324], [-1e-300]], [1.0, 1.0, 2.0], [[1, 1, 1]], [0.0])
    basis = decompose(net, domain=[(-1, 1)])
    k = basis.kinks
    assert k[0] == pytest.approx(-1e300) and k[2] == pytest.approx(2e300)
    assert k[1] is None  # -1 / 5e-324 overflows: no representable kink
    # on [-1, 1] all three are always on (their kinks are far away)
    assert not basis.dead_on_domain.any() and not basis.kink_in_domain.any()


def test_dead_on_domain_matches_brute_force_in_2d():
    rng = np.random.default_rng(5)
    net = one_hidden(rng.normal(size=(40, 2)), rng.normal(size=40) * 2 - 1, np.ones((1, 40)), [0])
    box = [(-0.5, 1.0), (-1.0, 0.25)]
    basis = decompose(net, domain=box)
    g = np.array(list(itertools.product(np.linspace(-0.5, 1, 61), np.linspace(-1, 0.25, 61))))
    z = basis.pre_activations(g)
    np.testing.assert_array_equal(basis.dead_on_domain, z.max(axis=0) <= 0)
    assert basis.active_side[0] == "halfspace"
    w, b = basis.hyperplanes
    assert w.shape == (40, 2) and b.shape == (40,)
    with pytest.raises(ShapeError, match="hyperplane"):
        basis.kinks


def test_errors():
    with pytest.raises(ConfigError, match="one hidden layer"):
        decompose(MLP([1, 4, 4, 1], rng=0))
    with pytest.raises(ConfigError, match="relu or leaky_relu"):
        decompose(MLP([1, 4, 1], "tanh", rng=0))
    with pytest.raises(ShapeError):
        decompose(MLP([2, 4, 1], rng=0), X=np.zeros((3, 3)))
    with pytest.raises(ConfigError, match="no domain"):
        decompose(MLP([1, 4, 1], rng=0)).kink_in_domain


def test_kinks_are_where_the_network_bends():
    """Oracle: second differences of the network on a fine grid are nonzero only next to a
    kink of a neuron with nonzero importance."""
    net = MLP([1, 12, 1], rng=7, init="torch", dtype=np.float64)
    basis = decompose(net, domain=[(-3, 3)])
    x = np.linspace(-3, 3, 6001)
    y = net.forward(x[:, None])[:, 0]
    bend = np.abs(np.diff(y, 2)) > 1e-9
    bent_at = x[1:-1][bend]
    kinks = [k for k, w in zip(basis.kinks, basis.importances, strict=True) if k is not None and w]
    step = x[1] - x[0]
    for point in bent_at:
        assert min(abs(point - k) for k in kinks) <= 1.5 * step
    inside = [k for k in kinks if -3 + 2 * step < k < 3 - 2 * step]
    for k in inside:
        assert np.min(np.abs(bent_at - k)) <= 1.5 * step
    assert len(inside) >= 4 and len(bent_at) >= 4  # the check above is not vacuous
