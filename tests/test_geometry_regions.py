"""Exact linear regions: tiling, non-emptiness, patterns, affine maps, degenerate cases.

Oracles: the network's own forward pass (patterns and outputs at sampled points), exact
rational arithmetic (1-D), the region-count formula of hyperplane arrangements in general
position, brute-force intersection counting in plain Python, Qhull volumes, and the two
independent enumerations (polygons vs. LP arrangement) checked against each other.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest

import tinylens as tl
from tinylens.engine import MLP, AffineLayer, AffineNet
from tinylens.errors import ConfigError, ShapeError, UnknownNameError
from tinylens.geometry import linear_regions, pieces_1d
from tinylens.geometry._affine import forward_patterns, piecewise_stack

# The affine map of a region reproduces the network up to float64 rounding of a few composed
# layers (values O(1-10), ~1e-15 relative); 1e-9 leaves room without hiding any real error.
MAP_ATOL = 1e-9
# Areas are sums of a few thousand shoelace terms of O(1): rounding ~1e-13.
AREA_RTOL = 1e-10


def random_net(sizes, seed, activation="relu", output_activation="identity"):
    """A float64 net with nonzero biases (zero biases put every first-layer line through 0)."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        act = activation if i < len(sizes) - 2 else output_activation
        layers.append((rng.normal(size=(b, a)) / math.sqrt(a), rng.normal(size=b) * 0.5, act))
    return AffineNet.from_lists(layers)


def sample_box(box, n, seed):
    box = np.asarray(box, dtype=float)
    return np.random.default_rng(seed).uniform(box[:, 0], box[:, 1], size=(n, len(box)))


def pattern_strings(stack, X):
    return {"".join(map(str, row)) for row in forward_patterns(stack, X).tolist()}


def check_exact_2d(net, box):
    """Every property the issue asks of 2-D regions, against the network as oracle."""
    regions = linear_regions(net, box)
    stack = piecewise_stack(net)
    box = np.asarray(box, dtype=float)
    box_area = np.prod(box[:, 1] - box[:, 0])
    # tiling: areas sum to the box's area, and every area is positive (non-empty)
    areas = regions.volumes()
    assert areas.min() > 0
    assert abs(areas.sum() - box_area) <= AREA_RTOL * box_area
    # one region per pattern
    assert len(set(regions.pattern_strings)) == regions.count
    # every sampled point's pattern is one of the regions
    X = sample_box(box, 20_000, 1)
    assert pattern_strings(stack, X) <= set(regions.pattern_strings)
    # each region's centroid has the region's own pattern: the region is really there
    centre_patterns = forward_patterns(stack, regions.interior_points)
    np.testing.assert_array_equal(centre_patterns, regions.patterns)
    # the affine map reproduces the network inside each region (random convex combinations)
    rng = np.random.default_rng(2)
    for region in regions:
        V = region.vertices
        weights = rng.dirichlet(np.ones(len(V)), size=5)
        inside = weights @ V
        np.testing.assert_allclose(region(inside), net(inside), atol=MAP_ATOL, rtol=0)
        assert region.contains(V).all()  # vertices satisfy the H-representation
        assert region.contains(inside).all()
        assert region.area == pytest.approx(region.volume)
    # and piecewise evaluation at arbitrary points equals the network
    np.testing.assert_allclose(regions.evaluate(X[:2000]), net(X[:2000]), atol=MAP_ATOL, rtol=0)
    return regions


# -- 2-D: random networks of every shape the issue names -----------------------------------------
@pytest.mark.parametrize(
    "sizes, activation, output_activation",
    [
        ([2, 8, 1], "relu", "identity"),
        ([2, 16, 12, 1], "relu", "identity"),
        ([2, 10, 10, 10, 3], "relu", "identity"),  # deep, several outputs
        ([2, 12, 8, 2], "leaky_relu", "identity"),
        ([2, 8, 6, 2], "relu", "relu"),  # kinked output: output units join the pattern
        ([2, 9, 5, 1], "identity", "identity"),  # linear: a single region
        ([2, 10, 4, 3], "relu", "sigmoid"),  # maps are the logits
    ],
)
def test_2d_regions_are_exact(sizes, activation, output_activation):
    net = random_net(sizes, seed=sum(sizes), activation=activation)
    last = net.layers[-1]
    net = AffineNet((*net.layers[:-1], AffineLayer(last.weight, last.bias, output_activation)))
    if output_activation == "sigmoid":
        logits = AffineNet((*net.layers[:-1], AffineLayer(last.weight, last.bias, "identity")))
        regions = linear_regions(net, [(-1.5, 1), (-1, 2)])
        X = sample_box([(-1.5, 1), (-1, 2)], 500, 3)
        np.testing.assert_allclose(regions.evaluate(X), logits(X), atol=MAP_ATOL, rtol=0)
        assert regions.output_activation == "sigmoid"
        return
    regions = check_exact_2d(net, [(-1.5, 1), (-1, 2)])
    if activation == "identity":
        assert regions.count == 1
        assert set(regions.pattern_strings[0]) == {"1"}
    expected_units = sum(sizes[1:-1]) + (sizes[-1] if output_activation == "relu" else 0)
    assert len(regions.units) == expected_units
    assert regions.counts_per_layer[-1] == regions.count


def test_polygons_and_lp_arrangement_agree():
    """Two independent algorithms find the same regions (and the LP one tiles the box too)."""
    for sizes, seed in [([2, 10, 6, 1], 0), ([2, 7, 7, 2], 5)]:
        net = random_net(sizes, seed)
        box = [(-1, 1), (-2, 1)]
        poly = linear_regions(net, box)
        arr = linear_regions(net, box, method="arrangement")
        assert poly.pattern_strings == arr.pattern_strings
        assert poly.counts_per_layer == arr.counts_per_layer
        np.testing.assert_allclose(arr.volumes(), poly.volumes(), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(arr.W, poly.W)
        for a, p in zip(arr, poly, strict=True):  # the same polygons (up to the start vertex)
            va, vp = a.vertices, p.vertices
            assert len(va) == len(vp)
            start = np.argmin(np.linalg.norm(va - vp[0], axis=1))
            np.testing.assert_allclose(np.roll(va, -start, axis=0), vp, atol=1e-7)
        assert set(arr[0].to_dict()) == {"pattern", "affine", "vertices", "area"}


def test_count_matches_plain_python_line_arrangement():
    """One hidden layer: regions = 1 + lines + crossings inside the box (lines in general
    position, each crossing the box), counted by brute force in plain Python."""
    rng = np.random.default_rng(7)
    W, b = rng.normal(size=(12, 2)), rng.normal(size=12) * 0.3
    net = AffineNet.from_lists([(W, b, "relu"), (rng.normal(size=(1, 12)), [0.0], "identity")])
    lo, hi = -1.0, 1.0
    crossings = 0
    for i, j in itertools.combinations(range(12), 2):
        (a1, a2), (c1, c2) = W[i], W[j]
        det = a1 * c2 - a2 * c1
        x = (-b[i] * c2 + b[j] * a2) / det
        y = (-a1 * b[j] + c1 * b[i]) / det
        crossings += lo < x < hi and lo < y < hi
    # every line crosses the box: it has box corners on both sides
    corners = np.array(list(itertools.product([lo, hi], repeat=2)))
    z = corners @ W.T + b
    assert ((z.max(axis=0) > 0) & (z.min(axis=0) < 0)).all()
    regions = linear_regions(net, [(lo, hi), (lo, hi)])
    assert regions.count == 1 + 12 + crossings


@pytest.mark.parametrize("d, m", [(2, 9), (3, 8), (4, 7)])
def test_general_position_arrangement_formula(d, m):
    """m hyperplanes in general position cut R^d into sum_{i<=d} C(m, i) regions; on a box
    holding every vertex of the arrangement, all of them appear."""
    rng = np.random.default_rng(d * 10 + m)
    W, b = rng.normal(size=(m, d)), rng.normal(size=m)
    vertices = [
        np.linalg.solve(W[list(s)], -b[list(s)]) for s in itertools.combinations(range(m), d)
    ]
    reach = np.abs(vertices).max() * 1.5
    net = AffineNet.from_lists([(W, b, "relu"), (np.ones((1, m)), [0.0], "identity")])
    regions = linear_regions(net, [(-reach, reach)] * d)
    assert regions.count == sum(math.comb(m, i) for i in range(d + 1))


def test_nd_regions_tile_the_box_and_carry_their_maps():
    net = random_net([3, 7, 5, 2], seed=11)
    box = [(-1, 1), (-0.5, 1.5), (-2, 0)]
    regions = linear_regions(net, box)
    stack = piecewise_stack(net)
    assert regions.method == "arrangement"
    X = sample_box(box, 20_000, 4)
    assert pattern_strings(stack, X) <= set(regions.pattern_strings)
    np.testing.assert_array_equal(
        forward_patterns(stack, regions.interior_points), regions.patterns
    )
    np.testing.assert_allclose(
        np.einsum("rod,rd->ro", regions.W, regions.interior_points) + regions.c,
        net(regions.interior_points),
        atol=MAP_ATOL,
    )
    # tiling: a random point satisfies exactly one region's inequalities (strictly, rtol=0)
    A, b = regions.hrep()
    inside = np.einsum("rkd,nd->nrk", A, X[:3000]) <= b[None]
    assert (inside.all(axis=2).sum(axis=1) == 1).all()
    # and the regions' volumes (Qhull) sum to the box's
    assert regions.volumes().sum() == pytest.approx(2 * 2 * 2, rel=1e-9)
    np.testing.assert_allclose(regions.evaluate(X[:500]), net(X[:500]), atol=MAP_ATOL)


def test_six_inputs():
    net = random_net([6, 6, 4, 1], seed=3)
    box = [(-1, 1)] * 6
    regions = linear_regions(net, box)
    X = sample_box(box, 20_000, 5)
    stack = piecewise_stack(net)
    assert pattern_strings(stack, X) <= set(regions.pattern_strings)
    np.testing.assert_array_equal(
        forward_patterns(stack, regions.interior_points), regions.patterns
    )
    region = regions.region_of(X[0])
    assert region.contains(X[0])
    np.testing.assert_allclose(region(X[0]), net(X[:1])[0], atol=MAP_ATOL)


# -- degenerate cases ----------------------------------------------------------------------------
def two_input_net(rows, biases, out=None):
    rows = np.asarray(rows, dtype=float)
    out = np.ones((1, len(rows))) if out is None else np.asarray(out, dtype=float)
    return AffineNet.from_lists([(rows, biases, "relu"), (out, [0.0], "identity")])


def test_coincident_lines_and_lines_through_one_point():
    # x1 = 0 three times (x1, 2 x1, -x1) and x2 = 0: four quadrants, nothing thinner
    net = two_input_net([[1, 0], [2, 0], [-1, 0], [0, 1]], [0, 0, 0, 0])
    regions = check_exact_2d(net, [(-1, 1), (-1, 1)])
    assert regions.count == 4
    np.testing.assert_allclose(sorted(regions.volumes()), [1, 1, 1, 1])
    # six lines through the origin: twelve sectors
    angles = np.arange(6) * np.pi / 6
    net = two_input_net(np.column_stack([np.cos(angles), np.sin(angles)]), np.zeros(6))
    assert check_exact_2d(net, [(-1, 1), (-1, 1)]).count == 12


def test_parallel_lines_zero_rows_and_lines_through_corners():
    # three parallel lines: four strips of width 0.5
    net = two_input_net([[1, 0], [1, 0], [1, 0]], [0.5, 0.0, -0.5])
    regions = check_exact_2d(net, [(-1, 1), (-1, 1)])
    assert regions.count == 4
    np.testing.assert_allclose(sorted(regions.volumes()), [1, 1, 1, 1])
    # zero rows never split; their bit is their bias's sign (relu(0) = 0 counts as off)
    net = two_input_net([[0, 0], [0, 0], [0, 0], [1, 1]], [1.0, -1.0, 0.0, 0.0])
    regions = check_exact_2d(net, [(-1, 1), (-1, 1)])
    assert sorted(regions.pattern_strings) == ["1000", "1001"]
    # a line touching the box at one corner does not split; a diagonal through two does
    net = two_input_net([[1, 1], [1, -1]], [-2.0, 0.0])
    regions = check_exact_2d(net, [(-1, 1), (-1, 1)])
    assert regions.count == 2
    np.testing.assert_allclose(regions.volumes(), [2, 2])


def test_dead_network_is_one_region():
    net = two_input_net([[1, 0], [0, 1]], [-10.0, -10.0])
    regions = linear_regions(net, [(-1, 1), (-1, 1)])
    assert regions.count == 1 and regions.pattern_strings == ["00"]
    np.testing.assert_allclose(regions[0].W, [[0, 0]])


def test_arrangement_handles_the_same_degenerate_cases():
    net = two_input_net([[1, 0], [2, 0], [-1, 0], [0, 1], [0, 0]], [0, 0, 0, 0, 1.0])
    poly = linear_regions(net, [(-1, 1), (-1, 1)])
    arr = linear_regions(net, [(-1, 1), (-1, 1)], method="arrangement")
    assert poly.pattern_strings == arr.pattern_strings and poly.count == 4


# -- the API -------------------------------------------------------------------------------------
def test_region_api_and_json_schema(tmp_path):
    net = MLP([2, 6, 2], rng=0, init="torch", input_names=["a", "b"])
    path = tmp_path / "net.safetensors"
    tl.save(net, path)
    regions = linear_regions(path, [-1, 1, -1, 1])  # a path and a flat box both work
    same = linear_regions(net, [(-1, 1), (-1, 1)])
    assert regions.pattern_strings == same.pattern_strings
    data = json.loads(regions.to_json())
    assert data["count"] == regions.count == len(data["regions"])
    first = data["regions"][0]
    assert set(first) == {"pattern", "affine", "vertices", "area"}
    assert set(first["affine"]) == {"W", "c"}
    assert len(first["pattern"]) == 6 and set(first["pattern"]) <= {"0", "1"}
    assert np.shape(first["affine"]["W"]) == (2, 2)
    region = regions[0]
    assert region.pattern == first["pattern"]
    assert region.pattern_array.tolist() == [int(ch) for ch in region.pattern]
    assert region.A.shape == (6 + 4, 2) and region.b.shape == (10,)
    assert regions.by_pattern(region.pattern).index == 0
    assert len(list(regions)) == len(regions) == regions.count
    assert "a" in region.formula()[0] or "b" in region.formula()[0]
    assert "inequalities" in region.to_dict(hrep=True)
    # locate: -1 outside the box; region_of outside is a one-line error
    idx = regions.locate([[0.1, 0.2], [5.0, 0.0]])
    assert idx[0] == regions.region_of([0.1, 0.2]).index and idx[1] == -1
    with pytest.raises(ConfigError, match="outside the box"):
        regions.region_of([5.0, 0.0])


def test_points_on_boundaries_find_a_region_that_contains_them():
    net = two_input_net([[1, 0], [0, 1]], [0.0, 0.0])
    regions = linear_regions(net, [(-1, 1), (-1, 1)])
    for point in ([0.0, 0.0], [0.0, 0.5], [-1.0, -1.0], [1.0, 1.0]):
        assert regions.region_of(point).contains(point)


def test_errors_are_one_line():
    net = MLP([2, 4, 1], rng=0)
    with pytest.raises(ShapeError, match="3 bounds"):
        linear_regions(net, [-1, 1, 0])
    with pytest.raises(ConfigError, match="LO < HI"):
        linear_regions(net, [1, -1, -1, 1])
    with pytest.raises(ShapeError, match="2 inputs"):
        linear_regions(net, [-1, 1])
    with pytest.raises(ConfigError, match="not piecewise linear"):
        linear_regions(MLP([2, 4, 1], "tanh", rng=0), [-1, 1, -1, 1])
    with pytest.raises(UnknownNameError, match="polygons"):
        linear_regions(net, [-1, 1, -1, 1], method="polygon")
    with pytest.raises(ConfigError, match="needs 1 input"):
        linear_regions(net, [-1, 1, -1, 1], method="intervals")


def test_torch_module_is_read_too():
    torch = pytest.importorskip("torch")
    net = MLP([2, 5, 1], rng=1, init="torch")
    module = tl.to_torch(net)
    assert isinstance(module, torch.nn.Module)
    a = linear_regions(module, [-1, 1, -1, 1])
    b = linear_regions(net, [-1, 1, -1, 1])
    assert a.pattern_strings == b.pattern_strings


# -- 1-D -----------------------------------------------------------------------------------------
def exact_net(sizes, seed):
    """Exact-rational weights with small denominators."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        w = np.array(
            [
                [Fraction(int(rng.integers(-9, 10)), int(rng.integers(1, 5))) for _ in range(a)]
                for _ in range(b)
            ],
            dtype=object,
        )
        bias = np.array([Fraction(int(rng.integers(-9, 10)), 4) for _ in range(b)], dtype=object)
        layers.append((w, bias, "relu" if i < len(sizes) - 2 else "identity"))
    return AffineNet.from_lists(layers)


def test_1d_exact_pieces_agree_with_exact_evaluation():
    net = exact_net([1, 6, 5, 2], seed=4)
    fn = pieces_1d(net, -3, 3)
    assert fn.exact and all(isinstance(b, Fraction) for b in fn.breakpoints)
    rng = np.random.default_rng(0)
    for piece in fn.pieces:
        # exact rational points inside the piece, and its ends (continuity)
        points = [piece.lo, piece.hi] + [
            piece.lo + (piece.hi - piece.lo) * Fraction(int(k), 97)
            for k in rng.integers(1, 97, size=4)
        ]
        X = np.array([[p] for p in points], dtype=object)
        expected = net(X)
        got = np.array([piece(p) for p in points], dtype=object)
        assert (expected == got).all()  # exact equality, no tolerance
    # every breakpoint is a real change of slope
    slopes = [tuple(p.slope) for p in fn.pieces]
    assert all(s != t for s, t in itertools.pairwise(slopes))
    assert set(fn.breakpoints) <= set(fn.kinks)


def test_1d_one_hidden_layer_breakpoints_are_the_kinks_plain_python():
    F = Fraction
    w = [F(2), F(-1), F(3), F(0), F(1), F(1, 3)]
    b = [F(-1), F(1, 2), F(1), F(5), F(-1, 2), F(0)]
    out = [F(1), F(2), F(0), F(-1), F(-1), F(3)]  # unit 2 has zero outgoing weight
    net = AffineNet.from_lists(
        [
            (np.array([[v] for v in w], dtype=object), np.array(b, dtype=object), "relu"),
            (np.array([out], dtype=object), np.array([F(0)], dtype=object), "identity"),
        ]
    )
    kinks = sorted({-bj / wj for wj, bj in zip(w, b, strict=True) if wj != 0 and -2 < -bj / wj < 2})
    visible = sorted(
        {
            -bj / wj
            for wj, bj, o in zip(w, b, out, strict=True)
            if wj != 0 and o != 0 and -2 < -bj / wj < 2
        }
    )
    fn = pieces_1d(net, -2, 2)
    assert list(fn.kinks) == kinks
    assert list(fn.breakpoints) == visible


def test_1d_float_pieces_and_regions_match_the_exact_ones():
    net = exact_net([1, 5, 4, 1], seed=9)
    exact = pieces_1d(net, -2, 2)
    approx = pieces_1d(net.to_float(), -2, 2)
    np.testing.assert_allclose(approx.breakpoints, [float(b) for b in exact.breakpoints])
    regions = linear_regions(net.to_float(), [-2, 2])
    assert regions.method == "intervals"
    assert regions.count == len(exact.kinks) + 1
    np.testing.assert_allclose(regions.intervals[1:, 0], [float(k) for k in exact.kinks])
    assert regions.volumes().sum() == pytest.approx(4.0)
    lp = linear_regions(net.to_float(), [-2, 2], method="arrangement")
    assert lp.pattern_strings == regions.pattern_strings
    np.testing.assert_allclose(lp.intervals, regions.intervals, atol=1e-9)
    data = regions.to_dict()["regions"][0]
    assert set(data) == {"pattern", "affine", "interval", "length"}
    X = np.linspace(-2, 2, 41)[:, None]
    np.testing.assert_allclose(approx(X[:, 0])[:, 0], net.to_float()(X)[:, 0], atol=MAP_ATOL)


def test_1d_errors():
    with pytest.raises(ShapeError, match="one input"):
        pieces_1d(MLP([2, 3, 1], rng=0), -1, 1)
    with pytest.raises(ConfigError, match="LO < HI"):
        pieces_1d(MLP([1, 3, 1], rng=0), 1, -1)


# -- robustness on degenerate nets (integer weights: coincident lines, lines through vertices,
# -- units cancelling to zero) -------------------------------------------------------------------
def integer_net(seed, d):
    rng = np.random.default_rng(seed)
    sizes = [d] + [int(rng.integers(2, 7 - d)) for _ in range(int(rng.integers(1, 4)))] + [1]
    layers = [
        (
            rng.integers(-2, 3, size=(b, a)).astype(float),
            rng.integers(-1, 2, size=b).astype(float),
            "relu" if i < len(sizes) - 2 else "identity",
        )
        for i, (a, b) in enumerate(itertools.pairwise(sizes))
    ]
    return AffineNet.from_lists(layers)


@pytest.mark.parametrize("seed", [89, 104, 106, 124, *range(8)])
def test_degenerate_integer_nets_in_2d(seed):
    """Seeds 89, 104, 106 and 124 once exposed units that cancel to exactly zero on a region."""
    net = integer_net(seed, 2)
    box = [(-1, 1), (-1, 1)]
    regions = check_exact_2d(net, box)
    assert regions.pattern_strings == linear_regions(net, box, method="arrangement").pattern_strings
    lattice = np.array(list(itertools.product(np.linspace(-1, 1, 9), repeat=2)))  # on the kinks
    np.testing.assert_allclose(regions.evaluate(lattice), net(lattice), atol=MAP_ATOL)
    for point in lattice[::5]:
        assert regions.region_of(point).contains(point)


@pytest.mark.parametrize("seed", range(4))
def test_degenerate_integer_nets_in_3d(seed):
    net = integer_net(seed, 3)
    box = [(-1, 1)] * 3
    regions = linear_regions(net, box)
    stack = piecewise_stack(net)
    X = sample_box(box, 5000, seed)
    assert pattern_strings(stack, X) <= set(regions.pattern_strings)
    np.testing.assert_array_equal(
        forward_patterns(stack, regions.interior_points), regions.patterns
    )
    assert regions.volumes().sum() == pytest.approx(8.0, rel=1e-9)
    np.testing.assert_allclose(regions.evaluate(X), net(X), atol=MAP_ATOL)


def test_a_unit_that_cancels_to_zero_everywhere():
    # layer 2 unit 0 is relu(x1) - relu(x1) = 0 on the whole box; unit 1 is relu(x2)
    net = AffineNet.from_lists(
        [
            ([[1, 0], [1, 0], [0, 1]], [0, 0, 0], "relu"),
            ([[1, -1, 0], [0, 0, 1]], [0, 0], "relu"),
            ([[5, 1]], [0], "identity"),
        ]
    )
    regions = check_exact_2d(net, [(-1, 1), (-1, 1)])
    assert all(p[3] == "0" for p in regions.pattern_strings)
    X = sample_box([(-1, 1), (-1, 1)], 3000, 9)
    for i in regions.locate(X)[:50]:
        assert i >= 0
    assert all(regions[i].contains(x) for i, x in zip(regions.locate(X[:50]), X[:50], strict=True))


def test_exact_maps_of_an_exact_network():
    F = Fraction
    # 3/2 * relu(x1 - x2) + x2/3 - relu(-x2) / 7 + 1/5
    w1 = np.array([[F(1), F(-1)], [F(0), F(1)], [F(0), F(-1)]], dtype=object)
    b1 = np.array([F(0), F(0), F(0)], dtype=object)
    w2 = np.array([[F(3, 2), F(1, 3), F(-1, 3) - F(1, 7)]], dtype=object)
    b2 = np.array([F(1, 5)], dtype=object)
    net = AffineNet.from_lists([(w1, b1, "relu"), (w2, b2, "identity")])
    regions = linear_regions(net, [(-1, 1), (-1, 1)])
    assert regions.is_exact and regions.count == 4
    W, c = regions.exact_maps()
    assert W.dtype == object and all(isinstance(v, Fraction) for v in W.ravel())
    np.testing.assert_allclose(W.astype(float), regions.W)
    np.testing.assert_allclose(c.astype(float), regions.c)
    # exact check against the exact network at a rational point inside every region
    for region in regions:
        point = np.array([[F(v).limit_denominator(1000) for v in region.interior_point]])
        Wr, cr = region.exact_affine()
        assert (Wr @ point[0] + cr == net(point)[0]).all()
    # by hand: x1 > x2 > ... gives 3/2 (x1 - x2) + (1/3 + 1/7) x2 + 1/5 for x2 < 0
    assert regions.region_of([0.5, -0.5]).formula() == ["3/2*x1 - 43/42*x2 + 1/5"]
    assert regions.region_of([-0.5, 0.5]).formula() == ["1/3*x2 + 1/5"]
    assert regions.region_of([-0.5, 0.5]).formula(exact=False) == ["0.3333*x2 + 0.2"]
    with pytest.raises(ConfigError, match="exact-rational"):
        linear_regions(net.to_float(), [(-1, 1), (-1, 1)]).exact_maps()
