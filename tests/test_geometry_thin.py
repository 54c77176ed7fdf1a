"""Thin and near-degenerate regions: every method agrees with a brute-force exact oracle.

The oracle tries every activation pattern, builds its rows from the pattern (as the network
defines them) and asks an exact rational LP whether the piece holds a ball of radius above
``RESOLUTION`` (unit-box coordinates). The enumeration methods never try patterns one by one,
so a region they drop, merge or invent shows up as a different set of patterns.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import linprog

from tinylens.engine import AffineNet
from tinylens.geometry import linear_regions
from tinylens.geometry._affine import pattern_maps, piecewise_stack
from tinylens.geometry._arrangement import RESOLUTION
from tinylens.geometry._exact_lp import chebyshev_ball
from tinylens.geometry.regions import as_box

from tests.sliver_oracle import SQUARE, exact_cells, fractions_of


def oracle_patterns(net: AffineNet, box) -> set[str]:
    """Every pattern whose piece of the box has a ball of radius > RESOLUTION, exactly."""
    stack = piecewise_stack(net)
    box = as_box(box, stack.n_inputs)
    half, shift = (box[:, 1] - box[:, 0]) / 2, box.mean(axis=1)
    unit = stack.with_input_affine(half, shift)
    d, n = stack.n_inputs, stack.n_units
    kinked = [j for j, (i, _) in enumerate(stack.units) if unit.layers[i].activation != "identity"]
    found = set()
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
            continue  # a constant unit on the wrong side (relu(0) = 0: z = 0 is "off")
        A, b = A[keep] / norm[keep, None], b[keep] / norm[keep]
        eye = np.eye(d)
        A = np.vstack([A, eye, -eye])
        b = np.concatenate([b, np.ones(2 * d)])
        if chebyshev_ball(A, b)[1] > RESOLUTION:
            found.add("".join(map(str, pattern[0])))
    return found


def strips(gap: float) -> AffineNet:
    """Two parallel lines ``gap`` apart (x1 = 0.3 and x1 = 0.3 + gap)."""
    return AffineNet.from_lists(
        [
            ([[1, 0], [1, 0], [0, 1]], [-0.3, -0.3 - gap, 0.0], "relu"),
            ([[1, 1, 1]], [0], "identity"),
        ]
    )


def triangle(r: float) -> AffineNet:
    """Three lines bounding a small equilateral triangle of inradius ``r`` around (0.1, 0.2)."""
    angles = np.deg2rad([90.0, 210.0, 330.0])
    normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    centre = np.array([0.1, 0.2])
    bias = -(normals @ centre) - r  # n.x + bias = 0 at distance r from the centre
    return AffineNet.from_lists([(normals, bias, "relu"), ([[1, -2, 1]], [0], "identity")])


def crossing(angle: float) -> AffineNet:
    """Two lines through (0.5, 0.5) at a small angle: thin wedges, not thin everywhere."""
    a = [[0.0, 1.0], [np.sin(angle), np.cos(angle)]]
    b = [-0.5, -(np.sin(angle) * 0.5 + np.cos(angle) * 0.5)]
    return AffineNet.from_lists([(a, b, "relu"), ([[1, 1]], [0], "identity")])


def near_edge(gap: float) -> AffineNet:
    """A line ``gap`` inside the box's right edge, and one through two corners."""
    return AffineNet.from_lists(
        [([[1, 0], [1, -1]], [-(1 - gap), 0.0], "relu"), ([[1, 1]], [0], "identity")]
    )


def deep_thin(gap: float) -> AffineNet:
    """A second layer whose kink lies ``gap`` from a first-layer kink (bent, not parallel)."""
    return AffineNet.from_lists(
        [
            ([[1, 0], [0, 1]], [0.0, 0.0], "relu"),
            ([[1, 0], [1, 0.5]], [-gap, -0.25], "relu"),
            ([[1, 1]], [0], "identity"),
        ]
    )


CASES = {
    # name: (net, regions expected, by counting the picture by hand)
    "strip 1e-2": (strips(1e-2), 6),
    "strip 1e-8 (the issue's case)": (strips(1e-8), 6),
    "strip 4e-9": (strips(4e-9), 6),
    "strip 1e-12 (below resolution: merged)": (strips(1e-12), 4),
    "coincident lines": (strips(0.0), 4),
    "triangle r=1e-3": (triangle(1e-3), 7),
    "triangle r=1e-8": (triangle(1e-8), 7),
    "triangle r=1e-14 (three lines through a point)": (triangle(1e-14), 6),
    "crossing at 1e-6 rad": (crossing(1e-6), 4),
    "line 1e-8 inside the edge": (near_edge(1e-8), 4),
    "line 1e-13 inside the edge (merged)": (near_edge(1e-13), 2),
    "second-layer kink 1e-8 from a first-layer kink": (deep_thin(1e-8), None),
}


EXACT_EXTRA = {
    # cases below the arrangement's RESOLUTION: polygons (the 2-D and slice path, issue 15)
    # settle them exactly and keep the sliver the arrangement merges
    "strip 1e-12 (below resolution: merged)": 6,
    "triangle r=1e-14 (three lines through a point)": 7,
    "line 1e-13 inside the edge (merged)": 4,
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_method_agrees_with_the_exact_oracle(name):
    """The arrangement against the oracle at its resolution; polygons against the exact
    arrangement (``tests/sliver_oracle.py``), which agrees except below the resolution."""
    net, expected = CASES[name]
    box = [(-1, 1), (-1, 1)]
    want = oracle_patterns(net, box)
    if expected is not None:
        assert len(want) == expected, name
    exact = set(exact_cells(fractions_of(net), SQUARE))
    assert len(exact) == EXACT_EXTRA.get(name, len(want)), name
    assert want <= exact
    for method, oracle in (("polygons", exact), ("arrangement", want)):
        got = linear_regions(net, box, method=method)
        assert set(got.pattern_strings) == oracle, (name, method)
        # the areas tile the box: no region is counted twice or lost to a sliver
        assert got.volumes().sum() == pytest.approx(4.0, rel=1e-9)


@pytest.mark.parametrize("name", ["strip 1e-8 (the issue's case)", "triangle r=1e-8"])
def test_the_n_d_method_finds_thin_regions_too(name):
    """A third input the network ignores: same regions, as prisms, by the LP arrangement."""
    net, _ = CASES[name]
    first = net.layers[0]
    wide = AffineNet.from_lists(
        [
            (np.hstack([first.weight, np.zeros((first.out_features, 1))]), first.bias, "relu"),
            *[(L.weight, L.bias, L.activation) for L in net.layers[1:]],
        ]
    )
    got = linear_regions(wide, [(-1, 1)] * 3, method="arrangement")
    assert set(got.pattern_strings) == oracle_patterns(net, [(-1, 1), (-1, 1)])


def test_the_issue_strip_in_input_units():
    """Issue 12: two parallel lines 1e-8 apart in [-1, 1]^2 give 3 regions by every method."""
    net = AffineNet.from_lists(
        [([[1, 0], [1, 0]], [0, -1e-8], "relu"), ([[1, 1]], [0], "identity")]
    )
    counts = {
        m: linear_regions(net, [-1, 1, -1, 1], method=m).count for m in ("polygons", "arrangement")
    }
    assert counts == {"polygons": 3, "arrangement": 3}


def test_exact_lp_matches_highs_on_random_polytopes():
    """The exact simplex against HiGHS (float) on random bounded problems."""
    rng = np.random.default_rng(0)
    for _ in range(25):
        d, m = int(rng.integers(2, 5)), int(rng.integers(1, 9))
        A = rng.normal(size=(m, d))
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        A = np.vstack([A, np.eye(d), -np.eye(d)])
        b = np.concatenate([rng.normal(size=m) * 0.5, np.ones(2 * d)])
        centre, t = chebyshev_ball(A, b)
        cost = np.zeros(d + 1)
        cost[-1] = -1
        res = linprog(
            cost,
            A_ub=np.hstack([A, np.ones((len(A), 1))]),
            b_ub=b,
            bounds=[(-1, 1)] * d + [(0, 1)],
            method="highs",
        )
        want = res.x[-1] if res.status == 0 else 0.0
        assert float(t) == pytest.approx(want, abs=1e-9)
        if t > 0:  # the centre satisfies every row exactly
            for row, bi in zip(A, b, strict=True):
                lhs = sum(
                    Fraction(float(a)) * Fraction(float(c))
                    for a, c in zip(row, centre, strict=True)
                )
                assert lhs + t <= Fraction(float(bi)) + Fraction(1, 10**12)
