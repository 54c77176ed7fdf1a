"""Slivers on boxes and slices (issue 15): regions far thinner than any tolerance stay found.

The oracle (``tests/sliver_oracle.py``) is independent of the enumeration: plain-Python
``Fraction`` arithmetic, every candidate pattern tried one by one, exact half-plane clipping.
The nets use dyadic weights with few bits, so the float composition the enumeration does is
exact too and both sides see the same lines.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tinylens.engine import AffineNet
from tinylens.geometry import Slice, linear_regions
from tinylens.geometry._exact_sides import (
    VERTEX_ATOL,
    crossing_points,
    exact_point,
    exact_sides,
    meet_points,
    meet_sides,
    root_sides,
    signs_at,
    signs_at_pairs,
)
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.conv_segment import split_image_segment

from tests.sliver_oracle import SQUARE, exact_cells, fractions_of

F = Fraction


def wedge(k: int) -> AffineNet:
    """Lines ``y = 0`` and ``y = 2^-k x`` crossing at the origin: two wedges ``2^-k`` wide."""
    return AffineNet.from_lists(
        [([[0, 1], [-(2.0**-k), 1]], [0, 0], "relu"), ([[1, 1]], [0], "identity")]
    )


def corner(k: int) -> AffineNet:
    """The line ``x + y = 2 - 2^-k``: a triangle of legs ``2^-k`` cut off the corner (1, 1)."""
    return AffineNet.from_lists(
        [([[1, 1], [1, 0]], [-(2 - 2.0**-k), 0], "relu"), ([[1, 1]], [0], "identity")]
    )


def deep(k: int) -> AffineNet:
    """A second-layer kink ``x + y = 2^-k`` (and ``x = 2^-k``, ``y = 2^-k``): bent slivers
    along the first layer's kinks ``x = 0`` and ``y = 0``."""
    return AffineNet.from_lists(
        [
            ([[1, 0], [0, 1]], [0, 0], "relu"),
            ([[1, 1], [1, -1]], [-(2.0**-k), 0], "relu"),
            ([[1, 1]], [0], "identity"),
        ]
    )


def star(k: int) -> AffineNet:
    """Three lines exactly through the origin, a fourth ``2^-k`` beside the third, and
    ``x = 1/2`` (so the kinks do not all meet near one point, which the box check refuses)."""
    return AffineNet.from_lists(
        [
            ([[1, 0], [0, 1], [1, -1], [1, -1], [1, 0]], [0, 0, 0, -(2.0**-k), -0.5], "relu"),
            ([[1, 1, 1, 1, 1]], [0], "identity"),
        ]
    )


CASES = {
    # name: (net, exact regions on [-1, 1]^2, counted on the picture by hand)
    "wedge 2^-40 rad": (wedge(40), 4),
    "wedge 2^-52 rad": (wedge(52), 4),
    "corner triangle of legs 2^-40": (corner(40), 3),
    "corner triangle of legs 2^-52": (corner(52), 3),
    "second-layer slivers 2^-45 from the first layer's kinks": (deep(45), None),
    "three lines through a point, a fourth 2^-50 beside": (star(50), 13),
}


@pytest.mark.parametrize("name", list(CASES))
def test_polygons_find_every_sliver_of_the_exact_oracle(name):
    net, expected = CASES[name]
    want = exact_cells(fractions_of(net), SQUARE)
    if expected is not None:
        assert len(want) == expected
    got = linear_regions(net, [(-1, 1), (-1, 1)], method="polygons")
    assert sorted(got.pattern_strings) == sorted(want)
    # every region's float area is its exact area (to rounding), so none is empty or inverted
    areas = dict(zip(got.pattern_strings, got.volumes(), strict=True))
    for pattern, exact in want.items():
        assert areas[pattern] == pytest.approx(float(exact), rel=1e-6, abs=1e-30)
    assert sum(areas.values()) == pytest.approx(4.0, rel=1e-12)


def test_slivers_survive_weights_scaled_into_underflow():
    """The 2^-40 wedge with every weight times 2^-520: the side tests' products underflow
    (their rounding is then not relative), so they go to exact rationals; same regions."""
    s = 2.0**-520
    net = AffineNet.from_lists(
        [([[0, s], [-(2.0**-40) * s, s]], [0, 0], "relu"), ([[1, 1]], [0], "identity")]
    )
    got = linear_regions(net, [(-1, 1), (-1, 1)])
    assert sorted(got.pattern_strings) == sorted(exact_cells(fractions_of(wedge(40)), SQUARE))


def test_a_slice_keeps_a_sliver_at_its_triangle_corner():
    """The plane through three inputs, and a unit whose kink cuts a triangle of legs 2^-40
    off the corner at input b, inside the slice's triangle: found, and the regions tile it."""
    a, b, c = np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    k = 40
    net = AffineNet.from_lists(
        [
            ([[1, 0, 0], [0, 1, 0], [1, 0, 1]], [-(1 - 2.0**-k), 0, 0], "relu"),
            ([[1, 1, 1]], [0], "identity"),
        ]
    )
    plane = Slice.through(a, b, c)
    got = linear_regions(net, slice=plane)
    triangle = [(F(0), F(0)), (F(1), F(0)), (F(0), F(1))]
    on_plane = AffineNet.from_lists(  # the same net in slice coordinates: x = (s, t, 0)
        [(net.layers[0].weight[:, :2], net.layers[0].bias, "relu"), ([[1, 1, 1]], [0], "identity")]
    )
    want = exact_cells(fractions_of(on_plane), triangle)
    assert sorted(got.pattern_strings) == sorted(want)
    assert got.volumes().sum() == pytest.approx(0.5, rel=1e-12)


def test_an_interval_sliver_is_found_on_a_segment():
    """Two kinks 2^-45 apart on a segment: three intervals, the middle one exactly that long."""
    gap = 2.0**-45
    net = AffineNet.from_lists(
        [([[1], [1]], [-0.5, -(0.5 + gap)], "relu"), ([[1, 1]], [0], "identity")]
    )
    got = linear_regions(net, [(-1, 1)])
    assert got.pattern_strings == ["00", "10", "11"]
    assert got.intervals[1].tolist() == [0.5, 0.5 + gap]
    # a root exactly at the domain's end splits nothing; one 2^-50 inside it splits
    edge = AffineNet.from_lists(
        [([[1], [1]], [1.0, 1.0 - 2.0**-50], "relu"), ([[1, 1]], [0], "identity")]
    )
    got = linear_regions(edge, [(-1, 1)])
    assert got.pattern_strings == ["10", "11"]
    assert got.intervals.tolist() == [[-1.0, -1.0 + 2.0**-50], [-1.0 + 2.0**-50, 1.0]]


def test_exact_sides_against_fractions_on_near_degenerate_vertices():
    """Random lines through (or 2^-60 beside) random vertices: the sign agrees with a plain
    Fraction evaluation at the exact crossing, including exact zeros."""
    rng = np.random.default_rng(0)
    n = 400
    A, B = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    P = exact_point(A, B)
    g = rng.normal(size=(n, 2))
    h = -(g * P).sum(axis=1) + rng.choice([0.0, 2.0**-60, -(2.0**-60), 1e-3], size=n)
    L = np.concatenate([g, h[:, None]], axis=1)
    want = []
    for i in range(n):
        a, b, ell = ([F(float(v)) for v in r] for r in (A[i], B[i], L[i]))
        d = a[0] * b[1] - a[1] * b[0]
        x, y = (a[1] * b[2] - a[2] * b[1]) / d, (a[2] * b[0] - a[0] * b[2]) / d
        z = ell[0] * x + ell[1] * y + ell[2]
        want.append((z > 0) - (z < 0))
    assert signs_at(A, B, L).tolist() == want
    z = (g * P).sum(axis=1) + h
    sides = exact_sides(np.stack([A, B], axis=1)[:, None], L, z[:, None], 1e-9)
    assert sides[:, 0].tolist() == want
    # a vertex's own line (or its negation) is exactly zero there: the shortcut that skips
    # the rationals, and lines a hair off them, which must not take it
    own = np.where(rng.random((n, 1)) < 0.5, A, B) * rng.choice([1.0, -1.0], size=(n, 1))
    assert not signs_at(A, B, own).any()
    near = own + np.array([0.0, 0.0, 2.0**-60])
    want_near = []
    for i in range(n):
        a, b, ell = ([F(float(v)) for v in r] for r in (A[i], B[i], near[i]))
        d = a[0] * b[1] - a[1] * b[0]
        x, y = (a[1] * b[2] - a[2] * b[1]) / d, (a[2] * b[0] - a[0] * b[2]) / d
        z = ell[0] * x + ell[1] * y + ell[2]
        want_near.append((z > 0) - (z < 0))
    assert signs_at(A, B, near).tolist() == want_near
    # crossing points within VERTEX_ATOL of the exact ones, even for near-parallel lines
    B2 = A + rng.normal(size=(n, 3)) * 1e-9
    Q = crossing_points(A / 10, B2 / 10)
    inside = (np.abs(exact_point(A, B2)) <= 1).all(axis=1)
    err = np.abs(Q - exact_point(A / 10, B2 / 10))[inside]
    assert err.max() <= VERTEX_ATOL


def test_an_exact_clip_keeps_the_triangle_a_snapping_clip_drops():
    """The line ``x + y = 2 - 2^-45`` cuts a triangle of legs 2^-45 off the unit box's corner
    (1, 1): the exact clip keeps it (its corners on the box's edges and the line), the
    snapping clip, as the decision boundary still uses, sees the corner on the line."""
    from tinylens.geometry._polygons import (
        BOX_LINES,
        _LineTable,
        clip_halfplane,
        clip_halfplane_exact,
        pack,
    )

    V, nv = pack([np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])])
    E, lines = np.arange(4, dtype=np.int32)[None], _LineTable(BOX_LINES)
    g, h = np.array([[1.0, 1.0]]), np.array([-(2 - 2.0**-45)])
    cut, n_cut, E_cut, alive = clip_halfplane_exact(V, nv, E, lines, g, h)
    assert alive[0] and n_cut[0] == 3
    tri = cut[0, :3]
    want = {(1.0, 1.0), (1.0, 1 - 2.0**-45), (1 - 2.0**-45, 1.0)}
    assert set(map(tuple, tri.tolist())) == want
    # each vertex is the crossing of its two edge lines: the line just added and the box's
    rows = lines.rows[E_cut[0, :3]]
    assert {int(i) for i in E_cut[0, :3]} == {1, 2, 4}
    assert np.allclose((rows[:, :2] * tri).sum(1) + rows[:, 2], 0, atol=0)
    assert not clip_halfplane(V, nv, g, h)[2][0]


def _fraction_sign(a, b, ell):
    d = a[0] * b[1] - a[1] * b[0]
    x, y = (a[1] * b[2] - a[2] * b[1]) / d, (a[2] * b[0] - a[0] * b[2]) / d
    z = ell[0] * x + ell[1] * y + ell[2]
    return (z > 0) - (z < 0)


def test_signs_at_pairs_orders_nearly_equal_pieces_as_fractions_do():
    """Three max-pool pieces equal at a vertex up to 2^-60, far below the rounding of their
    float differences: compared as exact differences, the signs are those of Fractions, so
    the three pieces are in a true order (no cycle a < b < c < a), also at vertices on
    difference lines; the rounded differences get many of them wrong."""
    rng = np.random.default_rng(1)
    n = 300
    A, B = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    A2 = np.where(rng.random((n, 1)) < 0.5, 0.0, rng.normal(size=(n, 3)))  # some differences
    P = exact_point(A - A2, B)
    pieces = []
    for _ in range(3):
        g = rng.normal(size=(n, 2))
        h = -(g * P).sum(axis=1) + rng.choice([0.0, 2.0**-60, -(2.0**-60)], size=n)
        pieces.append(np.concatenate([g, h[:, None]], axis=1))
    zero = np.zeros((n, 3))
    for a, b in ((0, 1), (1, 2), (2, 0)):
        got = signs_at_pairs(A, B, pieces[a], A2, zero, pieces[b])
        want = []
        for i in range(n):
            fa = [F(float(x)) - F(float(y)) for x, y in zip(A[i], A2[i], strict=True)]
            fb = [F(float(x)) for x in B[i]]
            ell = [
                F(float(x)) - F(float(y)) for x, y in zip(pieces[a][i], pieces[b][i], strict=True)
            ]
            want.append(_fraction_sign(fa, fb, ell))
        assert got.tolist() == want
        assert (signs_at(A - A2, B, pieces[a] - pieces[b]) != got).any()  # rounded: wrong
    # plain lines (A2 = 0, L2 = 0) agree with signs_at
    L = pieces[0]
    assert (signs_at_pairs(A, B, L, zero, zero, zero) == signs_at(A, B, L)).all()


def test_root_sides_against_fractions():
    rng = np.random.default_rng(1)
    roots = rng.normal(size=(200, 2))
    g = rng.normal(size=200)
    u = np.array([float(-F(r[1]) / F(r[0])) for r in roots])
    lines = np.stack([g, -g * u + rng.choice([0.0, 1e-300, -1e-17, 1.0], size=200)], axis=1)
    want = []
    for (a1, a0), (l1, l0) in zip(roots, lines, strict=True):
        z = F(l1) * (-F(a0) / F(a1)) + F(l0)
        want.append((z > 0) - (z < 0))
    assert root_sides(roots, lines).tolist() == want


def test_a_cnn_segment_keeps_an_interval_of_2_to_the_minus_45():
    """A conv net whose two channels kink 2^-45 apart along the segment (and a third exactly
    where the first does): three intervals, each end exactly its root, found by the CNN path."""
    torch = pytest.importorskip("torch")
    gap = 2.0**-45
    conv = torch.nn.Conv2d(1, 3, 1).double()
    with torch.no_grad():
        conv.weight[:] = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64).reshape(3, 1, 1, 1)
        conv.bias[:] = torch.tensor([-0.5, -(0.5 + gap), -1.0], dtype=torch.float64)
    head = torch.nn.Linear(3, 2).double()
    model = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.Flatten(), head)
    steps = image_layers(model, (1, 1, 1))
    got = split_image_segment(steps, np.zeros(1), np.ones(1))
    assert got.ends.tolist() == [[0.0, 0.5], [0.5, 0.5 + gap], [0.5 + gap, 1.0]]
    assert got.codes.tolist() == [[0, 0, 0], [1, 0, 1], [1, 1, 1]]


@pytest.mark.parametrize("margin", [0.0, 0.1, None])
def test_a_slice_domain_enumerated_directly_matches_the_clipped_arrangement(margin):
    """The through-triangle (any margin) and a pentagon: enumerating on the domain itself
    gives the patterns and areas that clipping the arrangement's box regions gives."""
    from tinylens.engine import MLP

    rng = np.random.default_rng(3)
    net = MLP([5, 8, 8, 3], rng=3, init="torch")
    a, b, c = rng.normal(size=(3, 5))
    if margin is None:
        angles = np.linspace(0, 2 * np.pi, 6)[:-1] + 0.3
        pentagon = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 0.8
        plane = Slice(a, np.stack([b - a, c - a]), pentagon, np.zeros((1, 2)))
        area = 0.5 * np.sum(
            pentagon[:, 0] * np.roll(pentagon[:, 1], -1)
            - np.roll(pentagon[:, 0], -1) * pentagon[:, 1]
        )
    else:
        plane = Slice.through(a, b, c, margin=margin)
        area = 0.5 * (1 + margin) ** 2
    got = linear_regions(net, slice=plane)
    ref = linear_regions(net, slice=plane, method="arrangement")
    assert got.count > 5
    assert sorted(got.pattern_strings) == sorted(ref.pattern_strings)
    assert got.volumes().sum() == pytest.approx(area, rel=1e-12)
    mine = dict(zip(got.pattern_strings, got.volumes(), strict=True))
    for pattern, v in zip(ref.pattern_strings, ref.volumes(), strict=True):
        assert mine[pattern] == pytest.approx(v, rel=1e-6, abs=1e-12)


def test_a_cnn_segment_keeps_a_max_pool_sliver():
    """Three pixels under one max pool: 1, t + 1/2 and 2t - 2^-45. The middle one wins only
    on [1/2, 1/2 + 2^-45]; a tolerance would give that sliver to the first pixel (1, within
    any tolerance of the max there)."""
    torch = pytest.importorskip("torch")
    gap = 2.0**-45
    model = torch.nn.Sequential(
        torch.nn.MaxPool2d((1, 3)), torch.nn.Flatten(), torch.nn.Linear(1, 2).double()
    )
    steps = image_layers(model, (1, 1, 3))
    got = split_image_segment(steps, np.array([1.0, 0.5, -gap]), np.array([0.0, 1.0, 2.0]))
    assert got.ends.tolist() == [[0.0, 0.5], [0.5, 0.5 + gap], [0.5 + gap, 1.0]]
    assert got.codes[:, 0].tolist() == [0, 1, 2]


def test_meet_sides_against_fractions():
    """Sign of L - M where lines A and B meet: random lines, with L - M made to vanish there
    (exactly, or to rounding), or 2^-60 or 1e-3 away, against plain Fractions."""
    rng = np.random.default_rng(2)
    n = 300
    A, B, M = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    t = np.array([float(x) for x in meet_points(A, B)])
    slope = rng.normal(size=n)
    L = np.stack([slope, M[:, 1] + (M[:, 0] - slope) * t], axis=1)
    L[:, 1] += rng.choice([0.0, 2.0**-60, 1e-3], size=n)
    L[:50], M[:50] = A[:50], B[:50]  # L - M = A - B: exactly zero where they meet
    want = []
    for a, b, ell, m in zip(A, B, L, M, strict=True):
        (a1, a0), (b1, b0), (l1, l0), (m1, m0) = ([F(float(v)) for v in x] for x in (a, b, ell, m))
        tt = (b0 - a0) / (a1 - b1)
        z = (l1 - m1) * tt + (l0 - m0)
        want.append((z > 0) - (z < 0))
    assert meet_sides(A, B, L, M).tolist() == want
    assert 0 in want and len(set(want)) == 3


def sliver_cnn(scale: float = 1.0):
    """A 4x4 image on the plane ``x[0, 0] = s``, ``x[0, 1] = t`` (every other pixel 0): conv 3x3
    to two channels, ReLU, 2x2 max pool (one window per channel), linear. Channel 0 is
    ``s - 1/2`` and ``t - 1/2``; channel 1 the same lines turned by ``2^-40`` about (1/2, 1/2)
    (``s + 2^-40 t - 1/2 - 2^-41``) and moved by ``2^-41`` (``t - 1/2 - 2^-41``): a wedge, a
    strip ``2^-41`` wide, and pool boundaries ``s = t`` and ``s = (1 - 2^-40) t`` meeting at a
    tiny angle. The plane's coordinates are ``scale`` times those (a power of two). Dyadic
    weights: the float maps are the exact ones."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2)
    ).double()
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[:, 0, 0, 0] = 1.0
        model[0].weight[1, 0, 0, 1] = 2.0**-40
        model[0].bias[:] = torch.tensor([-0.5, -0.5 - 2.0**-41])
        model[4].weight[:] = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
        model[4].bias.zero_()
    origin, directions = np.zeros(16), np.zeros((2, 16))
    directions[0, 0] = directions[1, 1] = 1.0 / scale
    return model.eval(), origin, directions


UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


AREA_ATOL = 2.0**-50
"""Float shoelace areas (about each polygon's first vertex) against the exact ones, per unit
of the domain's area: rounding of unit-square coordinates, far below the slivers' 2^-41."""


@pytest.mark.parametrize("scale", [1.0, 8.0])  # 8: coordinates beyond [-1, 1], scaled inside
def test_a_cnn_plane_keeps_every_sliver_of_the_exact_oracle(scale):
    from tinylens.geometry.conv_slice import split_image_slice

    from tests.sliver_oracle import conv_plane_cells

    model, origin, directions = sliver_cnn(scale)
    steps = image_layers(model, (1, 4, 4))
    w, b = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    units = []  # each conv unit's (g1, g2, h) in Fractions, channel-major as torch flattens
    for c in range(2):
        for i in range(2):
            for j in range(2):
                # pixel (0, 0) is s and (0, 1) is t: unit (i, j) reads kernel entry
                # (p, q) at pixel (i + p, j + q)
                g_s = w[c, 0, 0, 0] if (i, j) == (0, 0) else 0.0
                g_t = w[c, 0, 0, 1 - j] if i == 0 else 0.0
                g_s, g_t = F(float(g_s)) / F(scale), F(float(g_t)) / F(scale)
                units.append((g_s, g_t, F(float(b[c]))))
    windows = [list(steps[2].windows[k]) for k in range(2)]
    domain = UNIT_SQUARE * scale
    oracle = conv_plane_cells(units, windows, [(F(x), F(y)) for x, y in domain])
    got = split_image_slice(steps, origin, directions, domain)
    codes = [tuple(int(v) for v in c) for c in got.codes]
    assert len(set(codes)) == len(codes)  # one region per code here (every cell is convex)
    assert set(codes) == set(oracle), (set(oracle) - set(codes), set(codes) - set(oracle))
    assert min(oracle.values()) < 2.0**-40 * scale**2  # the slivers are really there
    assert sum(oracle.values()) == scale**2
    for code, area in zip(codes, got.areas, strict=True):
        assert abs(area - float(oracle[code])) <= AREA_ATOL * scale**2
    # each region's output map against the network at its centroid (not the slivers': their
    # float centroids may round across a line; their codes and areas are checked above)
    torch = pytest.importorskip("torch")
    for W, c, centre, area in zip(got.W, got.c, got.centroids, got.areas, strict=True):
        if area > 2.0**-30 * scale**2:
            x = origin + centre @ directions
            want = model(torch.tensor(x).reshape(1, 1, 4, 4)).detach().numpy()[0]
            np.testing.assert_allclose(W @ centre + c, want, rtol=1e-12, atol=1e-12)


def test_pool_pieces_with_equal_slopes_are_ordered_by_their_intercepts():
    """Pieces ``2^20 u1 + 1`` and ``2^20 u1 + 1 + 2^-52`` on the unit box: at every vertex
    their float values are equal (the 2^-52 is lost in the sum), yet the second is larger
    everywhere: the exact comparison makes it the winner; snapping calls a tie (the first)."""
    from tinylens.geometry._polygons import BOX_LINES, _LineTable, pack
    from tinylens.geometry._windows import _winners

    V, nv = pack([np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])])
    E, lines = np.arange(4, dtype=np.int32)[None], _LineTable(BOX_LINES)
    P = np.array([[[1.0, 1.0 + 2.0**-52], [2.0**20, 2.0**20], [0.0, 0.0]]])  # (1, 3, 2)
    assert _winners(V, P, (nv, E, lines))[0].tolist() == [1]
    assert _winners(V, P)[0].tolist() == [0]  # the snapping's answer
