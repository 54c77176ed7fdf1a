"""Image classifiers on a plane (issue 15): conv, ReLU / LeakyReLU and max pooling, enumerated
layer by layer on the slice, checked against a brute-force LP oracle, torch's forward pass
(patterns read with hooks and max_pool2d's own indices) and dense sampling."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinylens as tl
from tinylens.engine import small_cnn
from tinylens.errors import ConfigError
from tinylens.geometry import ImageRegionSet, Slice, decision_boundary, linear_regions
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.conv_slice import split_image_slice

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

TORCH_RTOL = 1e-9
"""The regions' maps (torch convs on three columns, composed region by region) against torch's
forward pass on the input point, both float64: ~1e-15 relative apart; 1e-9 is far from any
real disagreement."""

ORACLE_RADIUS = 1e-7
"""The brute force counts a pattern as a region when the largest disc inside it (HiGHS, float)
has radius above this: far below the random nets' smallest regions, far above HiGHS's 1e-9
feasibility tolerance."""


SLIVER_AREA = 1e-9
"""A region with less than this fraction of the domain's area is a sliver (a line through a
hair's breadth of a vertex): at its centroid torch's forward pass and the region's own map
can disagree in the last bits, so the pattern torch reads there is decided by rounding. The
enumeration keeps such slivers (it never drops a piece with an interior); the map test skips
them."""


def tiny_cnn(seed: int, second: bool = False) -> nn.Sequential:
    """3x3 images: conv 2x2 -> 2 channels of 2x2, ReLU, 2x2 max pool (2 windows of 4 pieces),
    optionally a 1x1 conv + LeakyReLU(0.2), then a linear layer to 3 classes."""
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2)]
    if second:
        layers += [nn.Conv2d(2, 2, 1), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(2, 3)).double().eval()


def oracle_patterns(
    model: nn.Sequential, plane: Slice, image_shape: tuple[int, ...] = (1, 3, 3)
) -> set[str]:
    """Every pattern (ReLU bits, then pool winners 0..3) whose cell has a disc of radius above
    ORACLE_RADIUS, by a depth-first search over pattern prefixes with one LP per candidate. The
    maps are dense matrices read from each torch layer on basis vectors (not the enumeration's
    column propagation); windows and ties (first maximum wins) are written out here."""
    from scipy.optimize import linprog

    lo, hi = plane.box[:, 0], plane.box[:, 1]

    def feasible(rows: list[tuple[np.ndarray, float, bool]]) -> bool:
        # rows (g, h, strict): g . u + h >= 0 (> 0 when strict) on a disc of radius r
        A, b = [], []
        for g, h, strict in rows:
            n = np.linalg.norm(g)
            if n == 0:
                if h < 0 or (strict and h <= 0):
                    return False
                continue
            A.append([-g[0] / n, -g[1] / n, 1.0])
            b.append(h / n)
        for k in range(2):
            e = np.eye(2)[k]
            A += [[*e, 1.0], [*-e, 1.0]]
            b += [hi[k], -lo[k]]
        res = linprog([0, 0, -1], A_ub=A, b_ub=b, bounds=[(None, None)] * 2 + [(0, None)])
        return res.status == 0 and -res.fun > ORACLE_RADIUS

    def dense(layer: nn.Module, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        n = int(np.prod(shape))
        with torch.no_grad():
            basis = torch.cat([torch.zeros(1, n), torch.eye(n)]).double().reshape(n + 1, *shape)
            out = layer(basis).reshape(n + 1, -1).numpy()
        return out[1:] - out[0], out[0]

    found: set[str] = set()
    shapes = [image_shape]
    with torch.no_grad():
        x = torch.zeros(1, *image_shape, dtype=torch.float64)
        for layer in model:
            x = layer(x)
            shapes.append(tuple(x.shape[1:]))
    # the input as a map of (1, s, t): rows are features
    start = np.stack([plane.origin, *plane.directions], axis=1)

    def search(i: int, A: np.ndarray, rows: list, code: str) -> None:
        if i == len(model):
            found.add(code)
            return
        layer = model[i]
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            low = layer.negative_slope if isinstance(layer, nn.LeakyReLU) else 0.0

            def units(j: int, A_out: np.ndarray, rows: list, code: str) -> None:
                if j == len(A):
                    search(i + 1, A_out, rows, code)
                    return
                g, h = A[j, 1:], A[j, 0]
                for bit in (0, 1):
                    sign = 1.0 if bit else -1.0
                    new = [*rows, (sign * g, sign * h, bit == 1)]
                    if feasible(new):
                        out = A_out.copy()
                        out[j] *= 1.0 if bit else low
                        units(j + 1, out, new, code + str(bit))

            units(0, A.copy(), rows, code)
        elif isinstance(layer, nn.MaxPool2d):
            c, h, w = shapes[i]
            windows = [
                [ch * h * w + (2 * r + dr) * w + 2 * q + dq for dr in (0, 1) for dq in (0, 1)]
                for ch in range(c)
                for r in range(h // 2)
                for q in range(w // 2)
            ]

            def pool(k: int, picked: list, rows: list, code: str) -> None:
                if k == len(windows):
                    search(i + 1, A[picked], rows, code)
                    return
                win = windows[k]
                for a, ia in enumerate(win):
                    new = list(rows)
                    for b, ib in enumerate(win):
                        if b != a:  # a beats b: z_a >= z_b (b after a) or z_a > z_b (before)
                            d = A[ia] - A[ib]
                            new.append((d[1:], d[0], b < a))
                    if feasible(new):
                        pool(k + 1, [*picked, ia], new, code + str(a))

            pool(0, [], rows, code)
        else:
            W, b = dense(layer, shapes[i])
            A_next = W.T @ A
            A_next[:, 0] += b
            search(i + 1, A_next, rows, code)

    search(0, start, [], "")
    return found


def torch_patterns(model: nn.Sequential, x: np.ndarray, shape: tuple[int, ...]) -> list[str]:
    """Patterns by torch's forward pass: ReLU inputs > 0 (hooks) and, for 2x2 pools of stride
    2, the winner's place in its window from max_pool2d's own argmax indices."""
    seen: list[np.ndarray] = []

    def hook(module, inputs, output):
        z = inputs[0]
        if isinstance(module, nn.MaxPool2d):
            _, idx = F.max_pool2d(z, 2, return_indices=True)
            w = z.shape[-1]
            row, col = idx // w, idx % w
            seen.append(((row % 2) * 2 + col % 2).reshape(len(z), -1).numpy())
        else:
            seen.append((z > 0).reshape(len(z), -1).numpy().astype(np.int64))

    kinds = (nn.ReLU, nn.LeakyReLU, nn.MaxPool2d)
    handles = [m.register_forward_hook(hook) for m in model if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model(torch.from_numpy(x).reshape(len(x), *shape))
    finally:
        for h in handles:
            h.remove()
    codes = np.concatenate(seen, axis=1)
    return ["".join(map(str, row)) for row in codes]


@pytest.mark.parametrize(("seed", "second"), [(0, False), (1, False), (2, True), (3, True)])
def test_regions_equal_the_brute_force_oracle(seed, second):
    model = tiny_cnn(seed, second)
    plane = Slice.plane(np.zeros(9), radius=3.0, rng=seed)
    regions = linear_regions(model, slice=plane)
    assert isinstance(regions, ImageRegionSet)
    assert set(regions.pattern_strings) == oracle_patterns(model, plane)
    assert len(set(regions.pattern_strings)) == regions.count  # each region once


def mid_cnn(seed: int) -> nn.Sequential:
    """8x8 images: conv 3x3 (pad 1) -> 3 ch, ReLU, pool 2; conv 3x3 (pad 1) -> 4 ch,
    LeakyReLU(0.1), pool 2; linear to 4 classes."""
    torch.manual_seed(seed)
    return (
        nn.Sequential(
            nn.Conv2d(1, 3, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(3, 4, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16, 4),
        )
        .double()
        .eval()
    )


def grid(box: np.ndarray, n: int) -> np.ndarray:
    (x0, x1), (y0, y1) = box
    g = (np.arange(n) + 0.5) / n
    s, t = np.meshgrid(x0 + (x1 - x0) * g, y0 + (y1 - y0) * g)
    return np.stack([s.ravel(), t.ravel()], axis=1)


def test_maps_tiling_and_dense_sampling_against_torch():
    model = mid_cnn(0)
    plane = Slice.plane(np.random.default_rng(0).random(64), radius=2.5, rng=0)
    regions = linear_regions(model, slice=plane)
    assert regions.count > 1000  # max pools and both kinks cut: not a trivial plane
    assert regions.volumes().sum() == pytest.approx(25.0, rel=1e-12)  # the square, tiled
    # every region's map against torch at its centroid, and the centroid's own pattern
    # (slivers below SLIVER_AREA excepted: see its docstring)
    wide = regions.volumes() > SLIVER_AREA * 25.0
    assert (~wide).sum() <= 0.01 * regions.count
    centroids = regions.interior_points[wide]
    inside = plane.to_input(centroids)
    with torch.no_grad():
        want = model(torch.from_numpy(inside).reshape(-1, 1, 8, 8)).numpy()
    got = np.einsum("nod,nd->no", regions.W[wide], centroids) + regions.c[wide]
    np.testing.assert_allclose(got, want, rtol=TORCH_RTOL, atol=TORCH_RTOL * np.abs(want).max())
    wanted = [p for p, ok in zip(regions.pattern_strings, wide, strict=True) if ok]
    assert torch_patterns(model, inside, (1, 8, 8)) == wanted
    # dense sampling: every sampled pattern is a region (a lower bound on the count)
    pts = grid(plane.box, 150)
    sampled = set(torch_patterns(model, plane.to_input(pts), (1, 8, 8)))
    assert sampled <= set(regions.pattern_strings)
    assert len(sampled) <= regions.count
    # region_of agrees with the forward pattern
    for p in pts[::997]:
        assert regions.region_of(p).pattern in sampled


def test_chunking_does_not_change_the_regions():
    model = mid_cnn(1)
    plane = Slice.plane(np.zeros(64), radius=1.5, rng=1)
    steps = image_layers(model, (1, 8, 8))
    a = split_image_slice(steps, plane.origin, plane.directions, plane.domain)
    b = split_image_slice(steps, plane.origin, plane.directions, plane.domain, chunk=7)
    assert len(a.codes) > 50
    assert a.counts_per_layer == b.counts_per_layer
    key = {row.tobytes(): area for row, area in zip(a.codes, a.areas, strict=True)}
    assert {row.tobytes() for row in b.codes} == set(key)
    for row, area in zip(b.codes, b.areas, strict=True):
        assert area == pytest.approx(key[row.tobytes()], rel=1e-9)


def test_engine_cnn_weights_file_and_torch_module_agree(tmp_path):
    net = small_cnn((8, 8), channels=(2, 3), classes=3, rng=0, dtype=np.float64)
    path = tmp_path / "cnn.safetensors"
    tl.save(net, path)
    X = np.random.default_rng(0).random((3, 64)) * 4
    plane = Slice.through(*X)
    a = linear_regions(net, slice=plane)
    b = linear_regions(str(path), slice=plane)
    c = linear_regions(tl.to_torch(net, torch.float64), slice=plane)
    assert a.count > 10
    assert a.pattern_strings == b.pattern_strings == c.pattern_strings
    assert a.volumes().sum() == pytest.approx(0.5, rel=1e-12)
    np.testing.assert_allclose(a.W, c.W, rtol=1e-12, atol=1e-12)


def test_decision_boundary_on_an_image_slice_ties_in_torch():
    model = tiny_cnn(1, second=True)
    plane = Slice.plane(np.full(9, 0.5), radius=20.0, rng=1)
    regions = linear_regions(model, slice=plane)
    boundary = decision_boundary(regions)
    assert len(boundary.segments) > 5
    mid = boundary.segments.mean(axis=1)
    with torch.no_grad():
        logits = model(torch.from_numpy(plane.to_input(mid)).reshape(-1, 1, 3, 3)).numpy()
    top2 = np.sort(np.argsort(logits, axis=1)[:, -2:], axis=1)
    np.testing.assert_array_equal(top2, boundary.classes)
    gap = np.abs(np.take_along_axis(logits, boundary.classes, axis=1) @ [1, -1])
    assert gap.max() <= 1e-9 * np.abs(logits).max()


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), nn.Flatten()), r"1 \(Sigmoid\)"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, ceil_mode=True)), "ceil_mode"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).train(), "training mode"),
    ],
)
def test_unsupported_layers_are_named(model, match):
    plane = Slice.plane(np.zeros(36), radius=1.0, rng=0)
    with pytest.raises(ConfigError, match=match):
        linear_regions(model.double(), slice=plane)


def test_non_finite_weights_are_refused():  # segments are enumerated now: see
    model = tiny_cnn(0)  # tests/test_geometry_region_segments.py
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(ConfigError, match="non-finite"):
        linear_regions(model, slice=Slice.plane(np.zeros(9), rng=0))
    with pytest.raises(ConfigError, match="non-finite"):
        linear_regions(model, slice=Slice.segment(np.zeros(9), np.ones(9)))


def test_regions_command_on_a_cnn_weights_file(tmp_path, capsys):
    from tinylens.cli.main import main
    from tinylens.data import digits

    net = small_cnn((8, 8), channels=(2, 3), classes=10, rng=1, dtype=np.float64)
    path = tmp_path / "cnn.safetensors"
    tl.save(net, path)
    out = tmp_path / "run"
    code = main(["regions", str(path), "--through", "0,1,2", "--data", "digits", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    X = digits().X
    want = linear_regions(net, slice=Slice.through(*X[:3]))
    assert f"{want.count} linear regions on the plane" in text
    saved = json.loads((out / "regions.json").read_text())
    assert saved["count"] == want.count
    assert [r["pattern"] for r in saved["regions"]] == want.pattern_strings
    assert (out / "index.html").exists()


def test_too_many_regions_is_one_clear_error(monkeypatch):
    from tinylens.geometry import conv_slice

    monkeypatch.setattr(conv_slice, "MAX_REGIONS", 10)
    with pytest.raises(ConfigError, match="more than 10 linear regions"):
        linear_regions(tiny_cnn(1, second=True), slice=Slice.plane(np.zeros(9), radius=3.0, rng=1))
