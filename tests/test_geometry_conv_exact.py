"""Image-slice regions (issue 15), region for region: every region's cell rebuilt by an
independent oracle, the bulk shortcuts against the plain comparisons, and packed codes.

The oracle reads each layer as a dense matrix (torch on basis vectors, not the enumeration's
three-column propagation), writes a region's cell as the half-planes its pattern implies
(ReLU signs, and "the winning piece beats every other" per pool window), and intersects them
with scipy's Qhull. If every region's cell has the enumeration's area and the areas add up to
the domain's, the regions are exactly the cells with an interior: none missing, none invented.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.geometry import Slice, linear_regions
from tinylens.geometry._codes import CodeLayout
from tinylens.geometry._windows import _bounds, _first_winners, _winners_pairwise
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.conv_slice import split_image_slice

torch = pytest.importorskip("torch")
spatial = pytest.importorskip("scipy.spatial")
nn = torch.nn

AREA_RTOL = 1e-9
"""A region's area against its cell's area from Qhull: both float64, the polygon's vertices
rounded after one or two line intersections (~1e-15 relative); 1e-9 is far from a real
disagreement (a missing or extra piece changes an area by whole percents)."""

MARGIN = 1e-12
"""A centroid at least this far (slice units) inside every half-plane is a safe interior point
for Qhull; thinner slivers are checked by the tiling only."""


def six_by_six(seed: int) -> nn.Sequential:
    """6x6 images: conv 3x3 (pad 1) -> 2 channels, ReLU, 2x2 max pool (18 windows of 4
    pieces), linear to 3 classes."""
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(18, 3)).double().eval()


def dense(layer: nn.Module, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The layer as ``W.T @ x + b`` from its outputs on zero and the basis vectors, and its
    output shape."""
    n = int(np.prod(shape))
    with torch.no_grad():
        basis = torch.cat([torch.zeros(1, n), torch.eye(n)]).double().reshape(n + 1, *shape)
        out = layer(basis)
    flat = out.reshape(n + 1, -1).numpy()
    return flat[1:] - flat[0], flat[0], tuple(out.shape[1:])


def dense_layers(model: nn.Sequential) -> list:
    """Each affine layer as a dense matrix (None for ReLU and max pool), with shapes."""
    shape: tuple[int, ...] = (1, 6, 6)
    out = []
    for layer in model:
        if isinstance(layer, nn.MaxPool2d):
            out.append((None, None, shape))
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
        elif isinstance(layer, nn.ReLU):
            out.append((None, None, shape))
        else:
            W, b, next_shape = dense(layer, shape)
            out.append((W, b, shape))
            shape = next_shape
    return out


def cell(model: nn.Sequential, layers: list, plane: Slice, pattern: str) -> tuple:
    """The half-planes ``G u + h >= 0`` (rows of G (m, 2), h (m,)) of a pattern's cell on the
    plane, and the network's output map (outputs, 3) on it, written out layer by layer."""
    A = np.stack([plane.origin, *plane.directions], axis=1)  # input features as maps of (1,s,t)
    rows: list[np.ndarray] = []
    at = 0
    for layer, (W, b, shape) in zip(model, layers, strict=True):
        if isinstance(layer, nn.ReLU):
            bits = np.array([int(ch) for ch in pattern[at : at + len(A)]])
            at += len(A)
            rows.append(np.where(bits[:, None] == 1, A, -A))
            A = A * bits[:, None]
        elif isinstance(layer, nn.MaxPool2d):
            c, h, w = shape
            picked = []
            for ch in range(c):
                for r in range(h // 2):
                    for q in range(w // 2):
                        win = [
                            ch * h * w + (2 * r + i) * w + 2 * q + j for i in (0, 1) for j in (0, 1)
                        ]
                        a = int(pattern[at])
                        at += 1
                        rows.append(np.array([A[win[a]] - A[win[b]] for b in range(4) if b != a]))
                        picked.append(win[a])
            A = A[picked]
        else:
            A = W.T @ A
            A[:, 0] += b
    assert at == len(pattern)
    H = np.concatenate([np.atleast_2d(r) for r in rows])
    return H[:, 1:], H[:, 0], A


def test_every_region_is_its_patterns_cell_and_they_tile_the_square():
    model = six_by_six(0)
    plane = Slice.plane(np.random.default_rng(0).random(36), radius=2.0, rng=0)
    regions = linear_regions(model, slice=plane)
    assert regions.count > 100
    r = 2.0
    box = np.array([[1.0, 0, r], [-1.0, 0, r], [0, 1.0, r], [0, -1.0, r]])  # g, h: g.u + h >= 0
    checked = 0
    layers = dense_layers(model)
    for region in regions:
        G, h, A = cell(model, layers, plane, region.pattern)
        keep = np.abs(G).sum(axis=1) > 0
        assert (h[~keep] >= 0).all()  # a constant row never excludes the region
        G = np.concatenate([G[keep], box[:, :2]])
        h = np.concatenate([h[keep], box[:, 2]])
        centre = regions.interior_points[region.index]
        slack = (G @ centre + h) / np.linalg.norm(G, axis=1)
        # the region's own map is the network's on its cell
        np.testing.assert_allclose(region.W, A[:, 1:], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(region.c, A[:, 0], rtol=1e-12, atol=1e-12)
        if slack.min() <= MARGIN:
            continue
        hull = spatial.HalfspaceIntersection(np.column_stack([-G, -h]), centre)
        area = spatial.ConvexHull(hull.intersections).volume
        assert region.area == pytest.approx(area, rel=AREA_RTOL)
        checked += 1
    assert checked >= 0.99 * regions.count
    assert regions.volumes().sum() == pytest.approx((2 * r) ** 2, rel=1e-12)
    assert len(set(regions.pattern_strings)) == regions.count
    # every pattern a dense grid reads is a region (its forward pass, not the enumeration's)
    g = (np.arange(120) + 0.5) / 120 * 2 * r - r
    pts = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    found = {row.tobytes() for row in regions.codes_at(pts)[0]}
    assert found <= {row.tobytes() for row in regions.patterns}


def test_codes_formats_and_chunks_give_the_same_regions():
    model = six_by_six(1)
    plane = Slice.plane(np.random.default_rng(1).random(36), radius=2.0, rng=1)
    steps = image_layers(model, (1, 6, 6))
    args = (steps, plane.origin, plane.directions, plane.domain)
    full = split_image_slice(*args)
    layout = CodeLayout.of(steps)
    assert layout.n_codes == full.codes.shape[1] == 72 + 18
    assert layout.n_bits == 72 + 18 * 2
    for chunk in (7, 1000):
        packed = split_image_slice(*args, chunk=chunk, codes="packed")
        assert packed.codes.shape == (len(full.codes), 14)
        same = {r.tobytes() for r in layout.unpack(packed.codes)}
        assert same == {r.tobytes() for r in full.codes}
        assert packed.counts_per_layer == full.counts_per_layer
    digest = split_image_slice(*args, codes="digest")
    assert digest.codes.shape == (len(full.codes), 16)
    assert len({r.tobytes() for r in digest.codes}) == len(full.codes)
    np.testing.assert_array_equal(digest.areas, full.areas)


def test_max_regions_and_a_bad_codes_format_are_clear_errors():
    from tinylens.errors import ConfigError

    model = six_by_six(1)
    plane = Slice.plane(np.random.default_rng(1).random(36), radius=3.0, rng=1)
    args = (image_layers(model, (1, 6, 6)), plane.origin, plane.directions, plane.domain)
    with pytest.raises(ConfigError, match="more than 20 linear regions"):
        split_image_slice(*args, max_regions=20)
    with pytest.raises(ConfigError, match="unknown codes format 'bits'"):
        split_image_slice(*args, codes="bits")


def test_bounds_enclose_the_vertices_and_are_exact_on_a_rectangle():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 3, 40))
    tri = rng.random((5, 3, 2))
    low, high, size = _bounds(tri, M)
    z = M[:, :1] + tri @ M[:, 1:]  # (5, 3 vertices, 40)
    assert (low <= z.min(axis=1) + 1e-12).all() and (high >= z.max(axis=1) - 1e-12).all()
    np.testing.assert_allclose(size, np.abs(M).sum(axis=1))
    # on an axis-aligned rectangle the box bound is attained at a corner
    rect = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    V = np.repeat(rect[None], 5, axis=0)
    low, high, _ = _bounds(V, M)
    z = M[:, :1] + V @ M[:, 1:]
    np.testing.assert_allclose(low, z.min(axis=1), atol=1e-12)
    np.testing.assert_allclose(high, z.max(axis=1), atol=1e-12)


def test_bulk_window_decisions_equal_the_pairwise_comparisons():
    """Random maps with the degenerate cases planted: dead pieces (exact zeros), one live
    piece touching zero at a vertex, equal pieces, and winners that change inside."""
    rng = np.random.default_rng(3)
    R, F, k = 40, 48, 4
    windows = np.arange(F).reshape(-1, k)
    M = rng.standard_normal((R, 3, F))
    M[:, :, 4:8] = 0.0  # window 1: all dead
    M[:, :, [8, 9, 11]] = 0.0  # window 2: one live piece ...
    M[:, 1:, 10] = 0.0
    M[:, 0, 10] = 1.0  # ... constant 1
    M[:, :, 13] = M[:, :, 12]  # window 3: two equal pieces (the first wins ties)
    M[:, 0, 16:20] += 50.0 * np.arange(4)  # window 4: piece 3 wins by far
    V = rng.random((R, 4, 2))  # vertices; the comparisons need no convexity
    code, undecided = _first_winners(V, M, windows)
    z = M[:, :1] + V @ M[:, 1:]  # (R, cap, F)
    zz = z[:, :, windows].transpose(0, 2, 1, 3).reshape(R * len(windows), -1, k)
    size = np.abs(M).sum(axis=1)[:, windows].reshape(R * len(windows), k)
    want, found = _winners_pairwise(zz, size)
    np.testing.assert_array_equal(undecided.ravel(), ~found)
    np.testing.assert_array_equal(code.ravel()[found], want[found])
    assert (code[:, 1] == 0).all() and (code[:, 2] == 2).all() and (code[:, 4] == 3).all()
    assert undecided.any() and (~undecided).any()


def test_through_plane_of_sparse_images_every_interior_grid_pattern_is_a_region():
    """Images with mostly zero pixels (as digits) and zero biases (small_cnn's init): a unit
    whose pixels are zero in two of the three images vanishes on a whole edge of the triangle,
    so a forward pass on that edge may read a segment's pattern, which no region has. Strictly
    inside, every grid pattern is a region; the mismatches, if any, lie on the edges."""
    from tinylens.engine import small_cnn

    rng = np.random.default_rng(0)
    X = rng.random((3, 64)) * (rng.random((3, 64)) < 0.4)
    net = small_cnn((8, 8), channels=(2, 3), classes=3, rng=0, dtype=np.float64)
    regions = linear_regions(net, slice=Slice.through(*X))
    exact = {r.tobytes() for r in regions.patterns}
    assert regions.volumes().sum() == pytest.approx(0.5, rel=1e-12)
    for g, inside in (((np.arange(150) + 1 / 3) / 150, True), (np.linspace(0, 1, 150), False)):
        a, b = np.meshgrid(g, g)
        w = np.column_stack([a.ravel(), b.ravel()])
        w = w[w.sum(axis=1) <= 1]
        bad = np.array([r.tobytes() not in exact for r in regions.codes_at(w)[0]])
        on_edge = (w.min(axis=1) == 0) | (w.sum(axis=1) == 1)
        assert not bad.any() if inside else not (bad & ~on_edge).any()
