"""1-D slices of conv nets (issue 15): the exact intervals along a segment between two images.

Oracles: a brute-force search over patterns written here in plain Python (dense layer matrices
read from torch on basis vectors, one feasible interval per pattern prefix, no enumeration
code), torch's forward pass at dense samples and at every interval's midpoint, and the
decision boundary's points against torch's logits on both sides."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import tinylens as tl
from test_geometry_conv_slices import TORCH_RTOL, mid_cnn, tiny_cnn, torch_patterns
from tinylens.engine import small_cnn
from tinylens.geometry import ImageRegionSet, Slice, decision_boundary, linear_regions
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.conv_segment import split_image_segment

torch = pytest.importorskip("torch")
nn = torch.nn

ORACLE_LENGTH = 1e-9
"""The brute force counts a pattern as an interval when its feasible set is longer than this
(the segment has length 1): far below the random nets' shortest intervals, far above the
rounding of the few products that make a breakpoint."""

SAMPLE_GAP = 1e-7
"""Dense samples closer than this to a breakpoint are skipped: there torch's float64 forward
and the breakpoint (a ratio of two rounded numbers) may disagree about the side."""


def _dense(layer: nn.Module, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The layer as a matrix and bias, read on basis vectors (plain torch, no tinylens)."""
    n = int(np.prod(shape))
    with torch.no_grad():
        zero = layer(torch.zeros(1, *shape, dtype=torch.float64)).reshape(-1)
        basis = layer(torch.eye(n, dtype=torch.float64).reshape(n, *shape)).reshape(n, -1)
    return (basis - zero).numpy().T, zero.numpy()


def oracle_intervals(model: nn.Sequential, seg: Slice) -> dict[str, tuple[float, float]]:
    """Every pattern (ReLU bits; 2x2 pool winners 0..3, first of equals) whose interval of
    ``t`` in [0, 1] is longer than ORACLE_LENGTH, with that interval: a depth-first search,
    one unit (or window) at a time, each branch a half-line intersected into the interval."""
    shape: tuple[int, ...] = (1, 3, 3)
    plan = []  # ("affine", A, b) | ("relu", slope) | ("max", windows)
    for layer in model:
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            slope = layer.negative_slope if isinstance(layer, nn.LeakyReLU) else 0.0
            plan.append(("relu", slope))
        elif isinstance(layer, nn.MaxPool2d):  # 2x2, stride 2, no padding
            c, h, w = shape
            idx = np.arange(c * h * w).reshape(c, h, w)
            wins = [
                [idx[k, 2 * i + di, 2 * j + dj] for di in (0, 1) for dj in (0, 1)]
                for k in range(c)
                for i in range(h // 2)
                for j in range(w // 2)
            ]
            plan.append(("max", wins))
            shape = (c, h // 2, w // 2)
        else:
            A, b = _dense(layer, shape)
            plan.append(("affine", A, b))
            with torch.no_grad():
                shape = tuple(layer(torch.zeros(1, *shape, dtype=torch.float64)).shape[1:])
    found: dict[str, tuple[float, float]] = {}

    def cut(lo, hi, h, g, positive):
        """[lo, hi] intersected with h + g t > 0 (positive) or <= 0; None when too short."""
        if g == 0:
            ok = (h > 0) == positive
            return (lo, hi) if ok else None
        root = -h / g
        if (g > 0) == positive:
            lo = max(lo, root)
        else:
            hi = min(hi, root)
        return (lo, hi) if hi - lo > ORACLE_LENGTH else None

    def walk(step, v, s, lo, hi, code):
        # v, s: the current features' values at t = 0 and slopes along t
        if step == len(plan):
            found["".join(code)] = (lo, hi)
            return
        kind = plan[step][0]
        if kind == "affine":
            _, A, b = plan[step]
            walk(step + 1, A @ v + b, A @ s, lo, hi, code)
        elif kind == "relu":
            units(step, v, s, 0, lo, hi, code, plan[step][1], [], [])
        else:
            windows(step, v, s, 0, lo, hi, code, plan[step][1], [], [])

    def units(step, v, s, j, lo, hi, code, slope, nv, ns):
        if j == len(v):
            walk(step + 1, np.array(nv), np.array(ns), lo, hi, code)
            return
        for bit in (0, 1):
            got = cut(lo, hi, v[j], s[j], positive=bool(bit))
            if got:
                k = 1.0 if bit else slope
                units(
                    step,
                    v,
                    s,
                    j + 1,
                    *got,
                    [*code, str(bit)],
                    slope,
                    [*nv, k * v[j]],
                    [*ns, k * s[j]],
                )

    def windows(step, v, s, j, lo, hi, code, wins, nv, ns):
        if j == len(wins):
            walk(step + 1, np.array(nv), np.array(ns), lo, hi, code)
            return
        w = wins[j]
        for a in range(4):
            got = (lo, hi)
            for b in range(4):
                if b != a and got:  # a beats b: z_a - z_b >= 0 (b after a), > 0 (b before)
                    h, g = v[w[a]] - v[w[b]], s[w[a]] - s[w[b]]
                    # ">= 0" is "not < 0": the complement of "-(z_a - z_b) > 0"
                    got = cut(*got, h, g, positive=True) if b < a else _ge(got, h, g)
            if got:
                windows(
                    step, v, s, j + 1, *got, [*code, str(a)], wins, [*nv, v[w[a]]], [*ns, s[w[a]]]
                )

    def _ge(interval, h, g):
        lo, hi = interval
        if g == 0:
            return interval if h >= 0 else None
        root = -h / g
        lo, hi = (max(lo, root), hi) if g > 0 else (lo, min(hi, root))
        return (lo, hi) if hi - lo > ORACLE_LENGTH else None

    walk(0, seg.origin.copy(), seg.directions[0].copy(), 0.0, 1.0, [])
    return found


@pytest.mark.parametrize(("seed", "second"), [(0, False), (1, False), (2, True), (3, True)])
def test_intervals_equal_the_brute_force_oracle(seed, second):
    model = tiny_cnn(seed, second)
    rng = np.random.default_rng(seed)
    seg = Slice.segment(rng.normal(size=9) * 3, rng.normal(size=9) * 3)
    regions = linear_regions(model, slice=seg)
    assert isinstance(regions, ImageRegionSet) and regions.n_inputs == 1
    want = oracle_intervals(model, seg)
    assert len(want) > 3  # not a trivial segment
    assert regions.pattern_strings == sorted(want, key=lambda p: want[p][0])  # left to right
    np.testing.assert_allclose(
        regions.intervals, [want[p] for p in regions.pattern_strings], atol=1e-12
    )


def test_dense_sampling_and_midpoints_against_torch():
    model = mid_cnn(0)
    rng = np.random.default_rng(0)
    seg = Slice.segment(rng.random(64), rng.random(64))  # two random 8x8 "images"
    regions = linear_regions(model, slice=seg)
    ends = regions.intervals
    assert regions.count > 30  # kinks and pools both break it
    # the intervals tile [0, 1] exactly, left to right, each with a different code from the next
    assert ends[0, 0] == 0.0 and ends[-1, 1] == 1.0
    assert (ends[1:, 0] == ends[:-1, 1]).all() and (ends[:, 1] > ends[:, 0]).all()
    assert all(a != b for a, b in itertools.pairwise(regions.pattern_strings))
    # every dense sample's torch pattern is the pattern of the interval holding it
    t = (np.arange(5000) + 0.5) / 5000
    near = np.abs(t[:, None] - ends[None, 1:, 0]).min(axis=1) < SAMPLE_GAP
    t = t[~near]
    x = seg.to_input(t[:, None])
    got = [regions.pattern_strings[i] for i in regions.locate(t[:, None])]
    assert torch_patterns(model, x, (1, 8, 8)) == got
    # the maps at every midpoint against torch's forward pass, and the patterns there
    mid = ends.mean(axis=1)
    with torch.no_grad():
        want = model(torch.from_numpy(seg.to_input(mid[:, None])).reshape(-1, 1, 8, 8)).numpy()
    out = regions.W[:, :, 0] * mid[:, None] + regions.c
    np.testing.assert_allclose(out, want, rtol=TORCH_RTOL, atol=TORCH_RTOL * np.abs(want).max())
    assert torch_patterns(model, seg.to_input(mid[:, None]), (1, 8, 8)) == regions.pattern_strings
    assert regions.predicted_class.tolist() == want.argmax(axis=1).tolist()
    # region_of on the segment coordinate
    for k in (0, regions.count // 2, regions.count - 1):
        assert regions.region_of([mid[k]]).index == k
    assert regions.region_of([1.0]).index == regions.count - 1
    with pytest.raises(tl.errors.ConfigError, match="outside"):
        regions.region_of([1.5])


def test_decision_boundary_points_are_ties_in_torch_with_the_classes_on_each_side():
    model = mid_cnn(0)
    rng = np.random.default_rng(1)
    seg = Slice.segment(rng.normal(size=64) * 3, rng.normal(size=64) * 3)
    regions = linear_regions(model, slice=seg)
    boundary = decision_boundary(regions)
    assert len(boundary.segments) == 2  # (checked below: no change of class is missed)
    t = boundary.segments[:, 0, 0]

    def logits(u):
        with torch.no_grad():
            x = torch.from_numpy(seg.to_input(u[:, None])).reshape(-1, 1, 8, 8)
            return model(x).numpy()

    at, left, right = logits(t), logits(t - 1e-6), logits(t + 1e-6)
    for k, (a, b) in enumerate(boundary.classes):
        top2 = np.sort(at[k])[-2:]
        assert top2[1] - top2[0] <= TORCH_RTOL * np.abs(at[k]).max()  # a tie at the point
        assert {int(left[k].argmax()), int(right[k].argmax())} == {a, b}
    # and the class changes nowhere else: torch's argmax is constant between boundary points
    cuts = np.concatenate([[0.0], t, [1.0]])
    for lo, hi in itertools.pairwise(cuts):
        u = np.linspace(lo, hi, 200)[1:-1]
        assert len(set(logits(u).argmax(axis=1).tolist())) == 1


def test_chunking_does_not_change_the_intervals():
    model = mid_cnn(1)
    seg = Slice.segment(np.zeros(64), np.linspace(-2, 2, 64))
    steps = image_layers(model, (1, 8, 8))
    a = split_image_segment(steps, seg.origin, seg.directions[0])
    b = split_image_segment(steps, seg.origin, seg.directions[0], chunk=3)
    assert len(a.ends) > 10
    assert a.counts_per_layer == b.counts_per_layer
    np.testing.assert_array_equal(a.ends, b.ends)
    np.testing.assert_array_equal(a.codes, b.codes)


def test_regions_command_on_a_cnn_segment(tmp_path, capsys):
    from tinylens.cli.main import main
    from tinylens.data import digits

    net = small_cnn((8, 8), channels=(2, 3), classes=10, rng=1, dtype=np.float64)
    path = tmp_path / "cnn.safetensors"
    tl.save(net, path)
    out = tmp_path / "run"
    code = main(["regions", str(path), "--through", "0,1", "--data", "digits", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    X = digits().X
    want = linear_regions(net, slice=Slice.segment(X[0], X[1]))
    assert f"{want.count} linear regions on the segment" in text
    # a segment's boundary is points, each with the class before and after it
    crossings = want.boundary_points()
    listed = ", ".join(f"t={t:.4g} ({a} -> {b})" for t, a, b in crossings[:6])
    assert f"decision boundary: {len(crossings)} point" in text
    assert listed in text
    saved = json.loads((out / "regions.json").read_text())
    assert saved["count"] == want.count and saved["n_inputs"] == 1
    assert [r["interval"] for r in saved["regions"]] == want.intervals.tolist()
    assert (out / "regions.png").stat().st_size > 1000 and (out / "index.html").exists()


@pytest.mark.parametrize("dim", [1, 2])
def test_image_region_sets_share_the_region_set_surface(dim):
    """The shared base: the same repr, card, table, figure and JSON as a RegionSet, on a
    segment and on a plane of a conv net (each number against the set's own arrays)."""
    model = tiny_cnn(0)
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(3, 9)) * 3
    regions = linear_regions(
        model, slice=Slice.segment(a, b) if dim == 1 else Slice.through(a, b, c)
    )
    assert repr(regions).startswith(f"ImageRegionSet(count={regions.count}, n_inputs={dim}, ")
    assert len(repr(regions)) < 200 and len(repr(regions[0])) < 120
    assert "ImageRegionSet" in regions._repr_html_()
    frame = regions.to_pandas()
    size = "length" if dim == 1 else "area"
    assert frame["pattern"].tolist() == regions.pattern_strings
    assert frame[size].sum() == pytest.approx(1.0 if dim == 1 else 0.5, rel=1e-12)
    assert frame["predicted_class"].tolist() == regions.predicted_class.tolist()
    assert regions.plot().axes
    saved = json.loads(regions.to_json())
    assert saved["n_inputs"] == dim and len(saved["regions"]) == regions.count
    assert ("interval" if dim == 1 else "vertices") in saved["regions"][0]
    # evaluate rebuilds the network from the regions' maps: torch at the interior points
    with torch.no_grad():
        x = torch.from_numpy(regions.slice.to_input(regions.interior_points))
        want = model(x.reshape(-1, 1, 3, 3)).numpy()
    np.testing.assert_allclose(regions.evaluate(regions.interior_points), want, rtol=TORCH_RTOL)
