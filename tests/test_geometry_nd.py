"""n-D boxes: the batched arrangement against brute force, the reference and the network.

Oracles: a brute-force enumeration that tries every activation pattern and asks HiGHS (and
exact rationals in its grey zone) whether the pattern's piece of the box has an interior; the
reference arrangement (one HiGHS LP per decision, ``arrangement="reference"``); HiGHS and the
exact rational simplex for the certified bounds of the batched simplex; and the network's own
forward pass at every region's interior point.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from tinylens.engine import MLP, AffineNet
from tinylens.geometry import _cells as cells_module
from tinylens.geometry import linear_regions
from tinylens.geometry._affine import forward_patterns, pattern_maps, piecewise_stack
from tinylens.geometry._arrangement import INTERIOR_TOL, RESOLUTION
from tinylens.geometry._chebyshev import largest_balls
from tinylens.geometry._exact_lp import chebyshev_ball
from tinylens.geometry.regions import _linear_regions

# The affine map of a region reproduces the network up to float64 rounding of a few composed
# layers (values O(1-10), ~1e-15 relative); 1e-9 leaves room without hiding any real error.
MAP_ATOL = 1e-9
# HiGHS solves to feasibility and optimality tolerances of 1e-9 (our options); its radius and
# the batched simplex's certified bounds may differ by that much, no more.
LP_ATOL = 1e-8


def random_net(sizes, seed, activation="relu", output_activation="identity"):
    """A float64 net with nonzero biases (zero biases put every first-layer plane through 0)."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        act = activation if i < len(sizes) - 2 else output_activation
        layers.append((rng.normal(size=(b, a)) / math.sqrt(a), rng.normal(size=b) * 0.5, act))
    return AffineNet.from_lists(layers)


def highs_radius(A, b):
    """The largest ball in ``{u in [-1, 1]^d : A u <= b}`` (unit-norm rows) by HiGHS; -1 when
    HiGHS finds the piece empty."""
    d = A.shape[1]
    res = linprog(
        np.r_[np.zeros(d), -1.0],
        A_ub=np.hstack([A, np.ones((len(A), 1))]),
        b_ub=b,
        bounds=[(-1.0, 1.0)] * d + [(0.0, None)],
        method="highs",
        options={"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9},
    )
    return float(res.x[-1]) if res.status == 0 else -1.0


def brute_force_patterns(net, box):
    """Every pattern whose piece of the box holds a ball of radius above RESOLUTION, tried one
    by one: HiGHS decides clear cases, exact rationals the grey zone."""
    stack = piecewise_stack(net)
    box = np.asarray(box, dtype=float)
    half, shift = (box[:, 1] - box[:, 0]) / 2, box.mean(axis=1)
    unit = stack.with_input_affine(half, shift)
    d, n = stack.n_inputs, stack.n_units
    kinked = [j for j, (i, _) in enumerate(stack.units) if unit.layers[i].activation != "identity"]
    found = set()
    eye = np.eye(d)
    for bits in itertools.product([0, 1], repeat=len(kinked)):
        pattern = np.ones((1, n), dtype=np.uint8)
        pattern[0, kinked] = bits
        pre, _ = pattern_maps(unit, pattern)
        G = np.concatenate([g[0] for g, _ in pre])[kinked]
        H = np.concatenate([h[0] for _, h in pre])[kinked]
        sign = np.where(pattern[0, kinked] == 1, -1.0, 1.0)  # on: -g.u <= h; off: g.u <= -h
        A, b = sign[:, None] * G, sign * -H
        norm = np.linalg.norm(A, axis=1)
        keep = norm > 0
        if (~keep & (b < 0)).any() or (~keep & (b == 0) & (sign < 0)).any():
            continue  # a constant unit on the wrong side
        A = np.vstack([A[keep] / norm[keep, None], eye, -eye])
        b = np.concatenate([b[keep] / norm[keep], np.ones(2 * d)])
        radius = highs_radius(A, b)
        if radius <= INTERIOR_TOL:  # HiGHS cannot tell: decide exactly
            radius = float(chebyshev_ball(A, b)[1])
        if radius > RESOLUTION:
            found.add("".join(map(str, pattern[0])))
    return found


# At most 8 kinked units: the brute force tries 2^8 patterns, one LP each.
ORACLE_NETS = [
    ([3, 4, 3, 1], 0, "relu", "identity"),
    ([3, 4, 4, 2], 1, "leaky_relu", "identity"),
    ([3, 3, 3, 1], 2, "relu", "relu"),
    ([4, 4, 3, 1], 3, "relu", "identity"),
    ([4, 3, 4, 2], 4, "relu", "identity"),
]


@pytest.mark.parametrize(("sizes", "seed", "activation", "output"), ORACLE_NETS)
def test_batched_regions_equal_brute_force(sizes, seed, activation, output):
    net = random_net(sizes, seed, activation, output)
    box = [(-1.0, 1.0)] * (sizes[0] - 1) + [(-0.5, 2.0)]
    regions = linear_regions(net, box)
    assert regions.method == "arrangement"
    assert set(regions.pattern_strings) == brute_force_patterns(net, box)
    assert len(set(regions.pattern_strings)) == regions.count


REFERENCE_NETS = [
    ([3, 6, 6, 1], 5, "relu"),
    ([4, 6, 5, 1], 6, "relu"),
    ([5, 6, 4, 2], 7, "leaky_relu"),
    ([3, 5, 5, 5, 1], 8, "relu"),
]


@pytest.mark.parametrize(("sizes", "seed", "activation"), REFERENCE_NETS)
def test_batched_and_reference_arrangements_find_the_same_regions(sizes, seed, activation):
    net = random_net(sizes, seed, activation)
    box = [(-1.0, 1.0)] * sizes[0]
    new = _linear_regions(net, box, method="arrangement")
    ref = _linear_regions(net, box, method="arrangement", arrangement="reference")
    assert new.pattern_strings == ref.pattern_strings
    assert new.counts_per_layer == ref.counts_per_layer


@pytest.mark.slow
def test_batched_and_reference_agree_on_a_torch_initialised_5_8_8_1():
    """The issue's kind of net (PyTorch's default initialisation), one size down."""
    net = MLP([5, 8, 8, 1], rng=0, init="torch")
    box = [(-1.0, 1.0)] * 5
    new = _linear_regions(net, box, method="arrangement")
    ref = _linear_regions(net, box, method="arrangement", arrangement="reference")
    assert new.count == ref.count == 816  # measured with the reference
    assert new.pattern_strings == ref.pattern_strings


def test_every_region_is_really_there_and_carries_the_network():
    """Each region's interior point has the region's pattern, lies inside its own inequalities
    with the ball's radius to spare, and the region's map equals the network there."""
    net = random_net([6, 6, 5, 2], seed=9)
    box = [(-1.0, 1.0)] * 6
    regions = linear_regions(net, box)
    stack = piecewise_stack(net)
    np.testing.assert_array_equal(
        forward_patterns(stack, regions.interior_points), regions.patterns
    )
    out = np.einsum("rod,rd->ro", regions.W, regions.interior_points) + regions.c
    np.testing.assert_allclose(out, net(regions.interior_points), atol=MAP_ATOL, rtol=0)
    A, b = regions.hrep()
    slack = b - np.einsum("rkd,rd->rk", A, regions.interior_points)
    assert (slack.min(axis=1) > 0).all()
    # and no two regions share a point: a point inside one violates a row of every other
    X = np.random.default_rng(0).uniform(-1, 1, size=(3000, 6))
    inside = np.einsum("rkd,nd->nrk", A, X) <= b[None]
    assert (inside.all(axis=2).sum(axis=1) == 1).all()


def random_polytopes(n, d, extra, seed, low=-0.5):
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(n, extra, d))
    R /= np.linalg.norm(R, axis=2)[:, :, None]
    eye = np.eye(d)
    A = np.concatenate([np.broadcast_to(np.vstack([eye, -eye]), (n, 2 * d, d)), R], axis=1)
    b = np.concatenate([np.ones((n, 2 * d)), rng.uniform(low, 0.8, size=(n, extra))], axis=1)
    return A, b


@pytest.mark.parametrize(("d", "extra"), [(2, 3), (3, 5), (6, 10)])
def test_certified_bounds_hold_and_meet_at_the_optimum(d, extra):
    A, b = random_polytopes(120, d, extra, seed=d)
    centre, lower, upper = largest_balls(A, b)
    radius = np.array([highs_radius(A[i], b[i]) for i in range(len(A))])
    full = radius > 0
    assert 0.2 < full.mean() < 0.95  # both kinds of answer are exercised
    # non-empty: both bounds equal HiGHS's radius, and the centre holds that ball
    np.testing.assert_allclose(lower[full], radius[full], atol=LP_ATOL, rtol=0)
    np.testing.assert_allclose(upper[full], radius[full], atol=LP_ATOL, rtol=0)
    slack = b - np.einsum("nmd,nd->nm", A, centre)
    assert (slack[full].min(axis=1) >= lower[full]).all()
    # empty: the upper bound certifies it
    assert (upper[~full] < 0).all()


def test_certified_bounds_at_the_resolution_match_exact_rationals():
    """Slabs ``0 <= u1 <= w`` around the resolution: the bounds bracket the exact radius
    ``w / 2`` and are no wider than twice CERT_MARGIN."""
    d = 3
    eye = np.eye(d)
    widths = np.array([1e-7, 3e-10, 2e-10, 1e-10, 1e-12])
    A = np.broadcast_to(np.vstack([eye, -eye]), (len(widths), 2 * d, d)).copy()
    b = np.ones((len(widths), 2 * d))
    b[:, 0] = widths  # u1 <= w
    A = np.concatenate([A, np.broadcast_to([[-1.0, 0.0, 0.0]], (len(widths), 1, d))], axis=1)
    b = np.concatenate([b, np.zeros((len(widths), 1))], axis=1)  # -u1 <= 0
    _, lower, upper = largest_balls(A, b)
    for i, w in enumerate(widths):
        exact = float(chebyshev_ball(A[i], b[i])[1])
        assert exact == pytest.approx(w / 2, rel=1e-12)
        assert lower[i] <= exact <= upper[i]
        assert upper[i] - lower[i] < 1e-11


def test_pieces_at_the_resolution_are_settled_exactly(monkeypatch):
    """Strips whose largest ball is RESOLUTION -+ 5e-13 (not a region, a region): the
    certified bounds (CERT_MARGIN 1e-12) straddle the resolution in both, so the exact
    rational LP decides, and the counts are the brute force's."""
    calls = []
    exact = cells_module.chebyshev_ball

    def counting(A, b):
        calls.append(len(A))
        return exact(A, b)

    monkeypatch.setattr(cells_module, "chebyshev_ball", counting)
    for gap, expected in ((2 * RESOLUTION - 1e-12, 4), (2 * RESOLUTION + 1e-12, 6)):
        net = AffineNet.from_lists(
            [
                ([[1, 0, 0], [1, 0, 0], [0, 1, 0]], [-0.3, -0.3 - gap, 0.0], "relu"),
                ([[1, 1, 1]], [0], "identity"),
            ]
        )
        regions = linear_regions(net, [(-1, 1)] * 3)
        assert regions.count == expected
        assert set(regions.pattern_strings) == brute_force_patterns(net, [(-1, 1)] * 3)
    assert len(calls) >= 2  # both straddling strips went to the exact LP
