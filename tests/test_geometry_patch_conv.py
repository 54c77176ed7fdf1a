"""The CNN plane's second convolution, computed once per distinct patch
(:mod:`tinylens.geometry._patch_conv`), against torch's conv, a plain-Python sum of the same
products in the same order, and the dense path it replaces."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from tinylens.geometry import _exact_sides, _patch_conv  # noqa: E402
from tinylens.geometry._patch_conv import TORCH_RTOL, _Gathered, patch_conv  # noqa: E402
from tinylens.geometry.conv_layers import image_layers  # noqa: E402

CONVS = [
    dict(kernel_size=3, padding=1),
    dict(kernel_size=3, padding=0, stride=2),
    dict(kernel_size=(2, 3), padding="same"),  # even kernel: torch pads one side more
    dict(kernel_size=3, padding=2, dilation=2),
    dict(kernel_size=3, padding=1, padding_mode="reflect"),
    dict(kernel_size=3, padding=1, padding_mode="replicate"),
    dict(kernel_size=3, padding=(1, 2), padding_mode="circular"),
]


def conv_step(seed: int, c_in: int = 2, c_out: int = 3, side: int = 5, **kw) -> object:
    torch.manual_seed(seed)
    step = image_layers(nn.Sequential(nn.Conv2d(c_in, c_out, **kw)), (c_in, side, side))[0]
    assert step.support is not None and step.kernel is not None
    return step


def repeated_maps(seed: int, regions: int, features: int) -> _Gathered:
    """Maps whose features take one of a few table columns each (as after a ReLU and a max
    pool), so neighbouring regions share patches; the table has an exact zero column too."""
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(3, 3 * features))
    table[:, -1] = 0.0
    choice = rng.integers(0, 3, size=(regions, features))
    choice[rng.random((regions, features)) < 0.6] = 0  # most features alike
    return _Gathered(table, choice * features + np.arange(features))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kw", CONVS, ids=[str(k) for k in CONVS])
def test_patch_conv_equals_torch_conv_and_a_plain_sum(kw):
    step = conv_step(0, **kw)
    G = repeated_maps(1, 7, int(np.prod(step.in_shape)))
    got = patch_conv(G, step.support, step.kernel)
    dense = G.dense()
    want = step.linear(dense.reshape(len(dense) * 3, -1)).reshape(got.shape)  # torch's conv
    np.testing.assert_allclose(got, want, rtol=0, atol=TORCH_RTOL * np.abs(want).max())
    # the same products in the same order (tap 0 first), in plain Python floats
    C = step.kernel.shape[0]
    L = len(step.support)
    for r in range(len(G)):
        for col in range(3):
            x = dense[r, col]
            for c in range(C):
                for p in range(L):
                    terms = [
                        (0.0 if j < 0 else float(x[j])) * float(step.kernel[c, k])
                        for k, j in enumerate(step.support[p])
                    ]
                    total = terms[0]
                    for term in terms[1:]:
                        total += term
                    assert got[r, col, c * L + p] == total


def test_support_reads_the_padding_mode():
    """Reflect padding reads real pixels where zero padding reads nothing (-1)."""
    zeros = conv_step(0, kernel_size=3, padding=1).support
    reflect = conv_step(0, kernel_size=3, padding=1, padding_mode="reflect").support
    assert (zeros < 0).any() and (reflect >= 0).all()
    # top-left output, channel 0: reflect pads row -1 with row 1, column -1 with column 1
    assert reflect[0, :3].tolist() == [6, 5, 6]
    assert zeros[0, :3].tolist() == [-1, -1, -1]


def test_grouped_convs_keep_torchs_conv():
    step = image_layers(nn.Sequential(nn.Conv2d(2, 4, 3, groups=2)), (2, 5, 5))[0]
    assert step.support is None and step.kernel is None


def test_a_region_gets_the_same_bits_in_any_company():
    """Which regions share a call changes which patches are distinct, never a region's
    output (the result of the enumeration does not depend on its chunks)."""
    step = conv_step(2, kernel_size=3, padding=1)
    G = repeated_maps(3, 12, int(np.prod(step.in_shape)))
    whole = patch_conv(G, step.support, step.kernel)
    for part in (np.array([5]), np.array([11, 0, 3]), np.arange(12)[::-1]):
        alone = patch_conv(_Gathered(G.table, G.index[part]), step.support, step.kernel)
        np.testing.assert_array_equal(alone, whole[part])


def test_hash_collisions_are_caught(monkeypatch):
    """Every patch hashing alike (all multipliers zero) gives the same output bit for bit:
    patches are checked index by index, a collision computed on its own."""
    step = conv_step(4, kernel_size=3, padding=1)
    G = repeated_maps(5, 9, int(np.prod(step.in_shape)))
    want = patch_conv(G, step.support, step.kernel)
    monkeypatch.setattr(_exact_sides, "_row_hash", lambda bits: np.zeros(len(bits), np.uint64))
    np.testing.assert_array_equal(patch_conv(G, step.support, step.kernel), want)


def test_gathered_maps_are_the_dense_maps_bit_for_bit():
    """The gathered form of the maps after a ReLU and a max pool holds the numbers the dense
    gather computes (the parents' columns times each side's slope)."""
    from tinylens.geometry._kink_maps import _KinkMaps
    from tinylens.geometry.conv_layers import Step
    from tinylens.geometry.conv_slice import _thunk

    rng = np.random.default_rng(6)
    F = 16
    windows = np.arange(F).reshape(4, 4)
    pool = Step("max", "pool", (1, 4, 4), (1, 2, 2), windows=windows)
    for slopes in ((0.0, 1.0), (0.01, 1.0)):
        parent = rng.normal(size=(1, 3, F))
        bits = rng.integers(0, 2, (5, F)).astype(np.uint8)
        kinked = _KinkMaps(parent, np.zeros(5, np.int64), bits, slopes)
        root, new = np.array([4, 0, 2]), rng.integers(0, 4, (3, 4)).astype(np.uint8)
        dense = _thunk(pool, kinked, root, new)()
        G = _thunk(pool, kinked, root, new, True)()
        assert isinstance(G, _Gathered)
        np.testing.assert_array_equal(G.dense(), dense)
        np.testing.assert_array_equal(np.signbit(G.dense()), np.signbit(dense))  # -0.0 too
    # regions of two parents: no shared table, the dense maps as before
    ones = np.ones((2, F), np.uint8)
    kinked = _KinkMaps(rng.normal(size=(2, 3, F)), np.array([0, 1]), ones, (0.0, 1.0))
    maps = _thunk(pool, kinked, np.array([0, 1]), np.zeros((2, 4), np.uint8), True)()
    assert isinstance(maps, np.ndarray)


def test_the_plane_is_the_same_with_and_without_patches(monkeypatch):
    """A two-stage CNN's plane: the same regions (codes, vertices) whether its second conv
    runs once per distinct patch or as torch's conv on every region's dense map, and the
    same output maps within the conv's rounding."""
    from tinylens.geometry import Slice, conv_slice
    from tinylens.geometry.conv_slice import split_image_slice

    torch.manual_seed(7)
    layers = [nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    net = nn.Sequential(*layers, nn.Linear(16, 4)).double().eval()
    steps = image_layers(net, (1, 8, 8))
    rng = np.random.default_rng(8)
    plane = Slice.through(*rng.random((3, 64)))
    args = (steps, plane.origin, plane.directions, plane.domain)
    calls = []
    real = conv_slice.patch_conv
    monkeypatch.setattr(conv_slice, "patch_conv", lambda *a: calls.append(1) or real(*a))
    fast = split_image_slice(*args, quiet=True)
    assert calls  # the patch path ran
    monkeypatch.setattr(conv_slice, "gathered", lambda *a: None)
    slow = split_image_slice(*args, quiet=True)
    assert len(fast.codes) > 50
    np.testing.assert_array_equal(fast.codes, slow.codes)
    for a, b in zip(fast.vertices, slow.vertices, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    scale = np.abs(slow.W).max()
    np.testing.assert_allclose(fast.W, slow.W, rtol=0, atol=TORCH_RTOL * scale)


def test_the_memo_reuses_outputs_bit_for_bit(monkeypatch):
    """Chunks read through one memo get exactly what computing them afresh gives, also with
    every hash colliding and with the memo full; another table never reads its outputs."""
    from tinylens.geometry._patch_conv import PatchMemo

    step = conv_step(9, kernel_size=3, padding=1)
    F = int(np.prod(step.in_shape))
    G = repeated_maps(10, 30, F)
    chunks = [_Gathered(G.table, G.index[lo : lo + 7], (G.table, 0, None)) for lo in (0, 7, 3, 20)]
    fresh = [patch_conv(c, step.support, step.kernel) for c in chunks]

    def through_memo() -> tuple[list[np.ndarray], object]:
        memo = PatchMemo()
        got = [patch_conv(c, step.support, step.kernel, memo.store(step, c, 18, 3)) for c in chunks]
        return got, memo.store(step, chunks[0], 18, 3)

    got, store = through_memo()
    assert 0 < store.n < sum(len(c) for c in chunks) * len(step.support)  # patches were shared
    for a, b in zip(got, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(_patch_conv, "MEMO_PATCHES", 5)
    got, store = through_memo()
    assert store.n == 5
    for a, b in zip(got, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(_patch_conv, "MEMO_PATCHES", 400_000)
    monkeypatch.setattr(_exact_sides, "_row_hash", lambda bits: np.zeros(len(bits), np.uint64))
    got, _ = through_memo()
    for a, b in zip(got, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    # the same indices into another table: the memo keeps their outputs apart
    memo = PatchMemo()
    other = repeated_maps(11, 30, F).table
    one = _Gathered(G.table, G.index[:7], (G.table, 0, None))
    two = _Gathered(other, G.index[:7], (other, 0, None))
    for c in (one, two):
        got = patch_conv(c, step.support, step.kernel, memo.store(step, c, 18, 3))
        np.testing.assert_array_equal(got, patch_conv(c, step.support, step.kernel))
