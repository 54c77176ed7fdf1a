"""Slices (issue 15): regions of a plane or segment through input space, checked against torch,
dense sampling, a brute-force exact oracle and the network's own forward pass."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinylens as tl
from test_geometry_thin import oracle_patterns
from tinylens.cli.main import main
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError
from tinylens.geometry import Slice, decision_boundary, linear_regions
from tinylens.geometry._affine import forward_patterns, piecewise_stack
from tinylens.studies.geometry import SliceStudyConfig, run

torch = pytest.importorskip("torch")

TORCH_RTOL = 1e-9
"""NumPy (OpenBLAS) against torch (MKL) in float64: the same sums in a different order agree
to ~1e-15 relative; 1e-9 leaves room for the few composed layers of the region's map."""


def mnist_like(seed: int = 0):
    """A 784-32-16-10 MLP (torch init) and three inputs in [0, 1], like MNIST test images."""
    net = tl.MLP([784, 32, 16, 10], rng=seed, init="torch")
    X = np.random.default_rng(seed).random((3, 784))
    return net, X


def triangle_grid(n: int) -> np.ndarray:
    """Points strictly inside the triangle (0,0), (1,0), (0,1), on an n x n grid."""
    g = (np.arange(n) + 0.5) / n
    s, t = np.meshgrid(g, g)
    pts = np.stack([s.ravel(), t.ravel()], axis=1)
    return pts[pts.sum(axis=1) < 1]


def test_plane_through_three_inputs_tiles_the_triangle_and_matches_torch():
    net, X = mnist_like()
    plane = Slice.through(*X)
    regions = linear_regions(net, slice=plane)
    assert regions.slice is plane and regions.n_inputs == 2
    assert regions.volumes().sum() == pytest.approx(0.5, rel=1e-12)  # the triangle's area
    # every region's map, restricted to the slice, against torch at its interior point
    module = tl.to_torch(net).double()
    inside = plane.to_input(regions.interior_points)
    with torch.no_grad():
        want = module(torch.from_numpy(inside)).numpy()
    got = np.einsum("nod,nd->no", regions.W, regions.interior_points) + regions.c
    np.testing.assert_allclose(got, want, rtol=TORCH_RTOL, atol=TORCH_RTOL * np.abs(want).max())
    # ... and each interior point has the region's own pattern (forward pass in input space)
    stack = piecewise_stack(net)
    pats = forward_patterns(stack, inside)
    assert ["".join(map(str, p)) for p in pats] == regions.pattern_strings


def test_dense_sampling_is_a_lower_bound_and_region_of_agrees():
    net, X = mnist_like(1)
    plane = Slice.through(*X)
    regions = linear_regions(net, slice=plane)
    pts = triangle_grid(120)
    pats = forward_patterns(piecewise_stack(net), plane.to_input(pts))
    sampled = {"".join(map(str, p)) for p in pats}
    assert sampled <= set(regions.pattern_strings)
    assert len(sampled) <= regions.count
    for p, pat in zip(pts[::97], pats[::97], strict=True):
        assert regions.region_of(p).pattern == "".join(map(str, pat))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slice_regions_equal_the_brute_force_oracle(seed):
    """A 3-4-3-2 net on a random plane (square domain): every pattern tried, decided exactly."""
    net = tl.MLP([3, 4, 3, 2], rng=seed, init="torch")
    plane = Slice.plane(np.zeros(3), radius=2.0, rng=seed)
    regions = linear_regions(net, slice=plane)
    want = oracle_patterns(plane.compose(net), plane.box)
    assert set(regions.pattern_strings) == want
    lp = linear_regions(net, slice=plane, method="arrangement")
    assert set(lp.pattern_strings) == want


def test_decision_boundary_ties_and_separates():
    net, X = mnist_like(2)
    plane = Slice.through(*X, margin=0.5)
    regions = linear_regions(net, slice=plane)
    boundary = decision_boundary(regions)
    assert len(boundary.segments) > 0
    module = tl.to_torch(net).double()
    mid = boundary.segments.mean(axis=1)
    with torch.no_grad():
        logits = module(torch.from_numpy(plane.to_input(mid))).numpy()
    top2 = np.sort(np.argsort(logits, axis=1)[:, -2:], axis=1)
    np.testing.assert_array_equal(top2, boundary.classes)  # the two classes that tie there
    gap = np.abs(np.take_along_axis(logits, boundary.classes, axis=1) @ [1, -1])
    assert gap.max() <= 1e-9 * np.abs(logits).max()
    # completeness: neighbouring grid points of different classes have a segment between them
    pts = triangle_grid(60) * 2 - 0.5  # the grown triangle's box, roughly
    inside = regions.locate(pts) >= 0
    pts = pts[inside]
    cls = net(plane.to_input(pts)).argmax(axis=1)
    for i in np.flatnonzero(cls[:-1] != cls[1:])[:40]:
        a, b = pts[i], pts[i + 1]
        if np.linalg.norm(a - b) > 0.1:
            continue  # not neighbours (a new grid row)
        assert any(_crosses(a, b, s) for s in boundary.segments), (a, b)


def _crosses(a, b, seg) -> bool:
    p, q = seg

    def side(u, v, w):
        return np.sign((v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0]))

    return side(a, b, p) != side(a, b, q) and side(p, q, a) != side(p, q, b)


def test_segment_between_two_inputs():
    net, X = mnist_like(3)
    seg = Slice.segment(X[0], X[1])
    regions = linear_regions(net, slice=seg)
    ends = regions.intervals
    assert ends[0, 0] == 0 and ends[-1, 1] == 1
    np.testing.assert_array_equal(ends[1:, 0], ends[:-1, 1])  # the pieces tile [0, 1]
    boundary = decision_boundary(regions)
    for (t,), (k, j) in zip(boundary.segments[:, 0], boundary.classes, strict=True):
        left = net(seg.to_input([[t - 1e-7]])).argmax()
        right = net(seg.to_input([[t + 1e-7]])).argmax()
        assert {int(left), int(right)} == {int(k), int(j)}
    # every class change along a dense sample is one of the boundary points
    ts = np.linspace(0, 1, 2001)
    cls = net(seg.to_input(ts[:, None])).argmax(axis=1)
    assert (cls[1:] != cls[:-1]).sum() <= len(boundary.segments)


def test_slice_errors_are_one_line():
    net, X = mnist_like()
    with pytest.raises(ConfigError, match="parallel"):
        Slice.through(X[0], X[1], X[1])
    with pytest.raises(ConfigError, match="rng"):
        Slice.plane(X[0])
    with pytest.raises(ConfigError, match="either a box or a slice"):
        linear_regions(net, [-1, 1], slice=Slice.segment(X[0], X[1]))
    with pytest.raises(ConfigError, match="unknown slice setting 'throgh'"):
        SliceStudyConfig.from_dict({"weights": "m", "throgh": [1, 2, 3]})
    with pytest.raises(ConfigError, match="2 indices"):
        SliceStudyConfig("m", through=(1, 2, 3, 4))


def test_random_plane_is_reproducible_and_orthonormal():
    a = Slice.plane(np.zeros(10), rng=3)
    b = Slice.plane(np.zeros(10), rng=3)
    np.testing.assert_array_equal(a.directions, b.directions)
    np.testing.assert_allclose(a.directions @ a.directions.T, np.eye(2), atol=1e-12)


def test_the_study_and_command_on_digits(tmp_path, capsys):
    from tinylens.data import digits

    data = digits()
    net = tl.MLP([64, 12, 10], rng=0, init="torch")
    path = tmp_path / "digits.safetensors"
    tl.save(net, path)
    result = run(SliceStudyConfig(str(path), through=(0, 1, 2), data="digits"), data=data)
    assert "SliceResult(plane through digits 0,1,2" in repr(result)
    assert "<table>" in result._repr_html_()
    fig = result.plot()
    assert fig.axes
    frame = result.to_dict()
    assert frame["count"] == result.regions.count == len(frame["regions"])
    assert frame["slice"]["labels"] == [int(v) for v in data.y[:3]]
    out = tmp_path / "run"
    assert (
        main(
            [
                "regions",
                str(path),
                "--through",
                "0,1,2",
                "--data",
                "digits",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    saved = json.loads((out / "regions.json").read_text())
    assert saved["count"] == result.regions.count
    spec = json.loads((out / "regions_map.json").read_text())
    assert [r["color"] for r in spec["regions"]] == result.regions.predicted_class.tolist()
    # the decision boundary is drawn on the hover map, rounded to 5 decimals as the polygons
    assert len(spec["lines"]) == len(result.boundary.segments) > 0
    np.testing.assert_allclose(spec["lines"], result.boundary.segments, atol=5e-6)
    assert spec["anchors"] == [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    assert (out / "regions.png").stat().st_size > 1000
    capsys.readouterr()
    for bad in (
        ["--through", "0,1,99999", "--data", "digits"],  # outside the test set
        ["--through", "0,1,2", "--data", "spiral"],  # not an image dataset
        ["--through", "0,1,2", "--box", "-1,1", "--data", "digits"],  # both
        ["--through", "1,1,2", "--data", "digits"],  # repeated
        ["--through", "0,1,2,3", "--data", "digits"],  # four
        ["--through", "0,1,2", "--data", "mnist", "--data-dir", str(tmp_path)],  # no files
    ):
        assert exit_code(["regions", str(path), *bad, "--out", str(tmp_path / "bad")]) == 2, bad
        assert not (tmp_path / "bad").exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err


def exit_code(argv: list[str]) -> int:
    """The command's exit code, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def test_mnist_mlp_plane_through_three_test_images(mnist_dir, capsys):
    from tinylens.data.mnist import load_mnist

    test = load_mnist(mnist_dir, split="test", download=False)
    net = tl.MLP([784, 32, 16, 10], rng=0, init="torch")
    plane = Slice.through(*test.X[:3])
    regions = linear_regions(net, slice=plane)
    assert regions.volumes().sum() == pytest.approx(0.5, rel=1e-12)
    pats = forward_patterns(piecewise_stack(net), plane.to_input(triangle_grid(100)))
    assert {"".join(map(str, p)) for p in pats} <= set(regions.pattern_strings)


def test_engine_network_weights_file_and_torch_module_give_the_same_regions(tmp_path):
    net, X = mnist_like(4)
    path = tmp_path / "m.safetensors"
    tl.save(net, path)
    plane = Slice.through(*X)
    a = linear_regions(net, slice=plane)
    b = linear_regions(path, slice=plane)
    c = linear_regions(tl.to_torch(net), slice=plane)
    assert a.pattern_strings == b.pattern_strings == c.pattern_strings
    assert AffineNet.from_module(net).n_inputs == 784


def test_decision_boundary_equals_a_plain_region_by_region_reading():
    """The vectorised boundary against the definition read region by region in plain Python:
    a region's class-k cell (exact Fraction clipping of its polygon by the float lines
    l_k - l_j >= 0), and its edges that lie on the line of a later class j, in class, region
    and edge order."""
    from fractions import Fraction as F

    from tests.sliver_oracle import clip

    net = tl.engine.MLP([2, 12, 12, 4], rng=5)
    regions = linear_regions(net, [(-2.0, 2.0), (-2.0, 2.0)])
    got = decision_boundary(regions)
    W, c = regions.W, regions.c
    want_classes, want_regions, want_segments = [], [], []
    for k in range(4):
        for r, poly in enumerate(regions.vertices):
            lines = {
                j: [F(float(x)) for x in (*(W[r, k] - W[r, j]), c[r, k] - c[r, j])]
                for j in range(4)
                if j != k
            }
            cell = [tuple(F(float(x)) for x in p) for p in poly]
            for j in lines:
                cell = clip(cell, *lines[j]) if cell else cell
            for p, q in zip(cell, cell[1:] + cell[:1], strict=True):
                mid = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
                on = [j for j, (a1, a2, a0) in lines.items() if a1 * mid[0] + a2 * mid[1] + a0 == 0]
                if p != q and len(on) == 1 and on[0] > k:
                    want_classes.append([k, on[0]])
                    want_regions.append(r)
                    want_segments.append([[float(x) for x in p], [float(x) for x in q]])
    assert len(want_classes) >= 6 and len({tuple(x) for x in want_classes}) >= 3
    assert got.classes.tolist() == want_classes
    assert got.regions.tolist() == want_regions
    assert np.abs(got.segments - np.array(want_segments)).max() < 1e-9
