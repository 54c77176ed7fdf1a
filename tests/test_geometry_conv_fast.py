"""The CNN slice enumeration's shortcuts (issue 15, speed) against the plain computations they
replace: codes packed layer by layer against bit-by-bit packing, and the bulk window decisions
against the per-piece comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.geometry._codes import CodeLayout, _pack_bits


@pytest.mark.parametrize(
    "segments",
    [
        (("kink", 16, 2), ("max", 8, 4), ("max", 8, 8), ("max", 16, 9), ("max", 8, 16)),
        (("kink", 3, 2), ("max", 2, 4)),  # not byte-aligned: the bit-by-bit route
        (("kink", 6272, 2), ("max", 1568, 4), ("kink", 3136, 2), ("max", 784, 4)),  # MNIST
    ],
)
def test_packing_by_segment_equals_bit_by_bit_packing(segments):
    rng = np.random.default_rng(0)
    layout = CodeLayout(segments)
    codes = np.concatenate([rng.integers(0, k, (9, n)) for _, n, k in segments], axis=1)
    codes = codes.astype(np.uint8)
    codes[0] = [k - 1 for _, n, k in segments for _ in range(n)]  # every bit of the top value
    want = _pack_bits(codes, layout.segments, layout.widths)
    np.testing.assert_array_equal(layout.pack(codes), want)
    assert layout.pack(codes.astype(np.int64)).dtype == np.uint8  # whatever the entries' type
    np.testing.assert_array_equal(layout.unpack(want), codes)
    # a bit's place in the stream: entry 0 of a 2-bit segment is the first byte's top bits
    if layout.byte_aligned and segments[1][2] == 4:
        one = np.zeros((1, segments[1][1]), dtype=np.uint8)
        one[0, 0] = 1  # the highest bit first: 0b01 000000
        assert layout.pack_segment(1, one)[0, 0] == 0b01000000
        one[0, :2] = [2, 3]  # then entry 1 below it: 0b10 11 0000
        assert layout.pack_segment(1, one)[0, 0] == 0b10110000


def two_relu_cnn(seed: int) -> object:
    """8x8 images through two conv + ReLU + 2x2 max pool stages (as the MNIST small_cnn, so
    both pools follow a ReLU and both take the parents' settled windows), then 4 classes."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(16, 4)).double().eval()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("pairs_up_to", [0.0, 1.0])  # always whole arrays / always pairs
def test_settled_windows_equal_every_polygons_own_box_decision(seed, pairs_up_to, monkeypatch):
    """At every max step the windows handed down by the parents (read as (polygon, window)
    pairs, or as whole arrays from the parents' maps and the bits) give exactly the decisions
    of bounding every window of every polygon's own whole map afresh."""
    from tinylens.geometry import Slice, _windows, conv_slice
    from tinylens.geometry._windows import _first_winners
    from tinylens.geometry.conv_layers import image_layers

    calls = []
    real_max = conv_slice._max
    monkeypatch.setattr(_windows, "PAIRS_UP_TO", pairs_up_to)

    def checked(V, nv, E, lines, M, windows, cap, settled=None, tick=None):
        assert settled is not None  # both pools follow a ReLU: the shortcut is on
        assert not isinstance(M, np.ndarray)  # and the maps are read lazily
        code, undecided = _first_winners(V, M, windows, settled)
        whole = M[:, :, np.arange(M.shape[2])]  # every region's map, built: (R, 3, F)
        assert isinstance(whole, np.ndarray)
        want_code, want_undecided = _first_winners(V, whole, windows)
        np.testing.assert_array_equal(code, want_code)
        np.testing.assert_array_equal(undecided, want_undecided)
        calls.append(float(settled[1].mean()))
        return real_max(V, nv, E, lines, M, windows, cap, settled, tick)

    monkeypatch.setattr(conv_slice, "_max", checked)
    rng = np.random.default_rng(seed)
    X = rng.random((3, 64)) * (rng.random((3, 64)) < 0.5)  # sparse, as digits: dead units
    plane = Slice.through(*X)
    steps = image_layers(two_relu_cnn(seed), (1, 8, 8))
    split = conv_slice.split_image_slice(steps, plane.origin, plane.directions, plane.domain)
    assert len(calls) >= 2 and max(calls) > 0.5  # most windows settled by the parents
    assert len(split.codes) > 50


def test_packed_by_layer_equals_packing_the_full_codes():
    from tinylens.geometry import Slice
    from tinylens.geometry.conv_layers import image_layers
    from tinylens.geometry.conv_slice import split_image_slice

    plane = Slice.plane(np.random.default_rng(4).random(64), radius=1.5, rng=4)
    steps = image_layers(two_relu_cnn(4), (1, 8, 8))
    args = (steps, plane.origin, plane.directions, plane.domain)
    full = split_image_slice(*args)
    packed = split_image_slice(*args, codes="packed")
    assert full.layout is not None and full.layout.byte_aligned  # 192, 48x2, 64, 16x2 bits
    np.testing.assert_array_equal(packed.codes, full.layout.pack(full.codes))
    np.testing.assert_array_equal(packed.areas, full.areas)


def test_a_parent_settles_only_what_every_part_of_it_decides_the_same():
    """Planted pieces on one parent square: a clear winner (settled), two pieces a hair apart
    (left open), a unit that crosses zero (left open), all dead (settled, code 0)."""
    from tinylens.geometry._windows import _settled_after_relu

    square = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    M = np.zeros((1, 3, 16))
    M[0, 0, :4] = [1.0, 5.0, 2.0, -1.0]  # window 0: piece 1 wins by far
    M[0, 1, :4] = 0.1
    M[0, 0, 4:8] = [3.0, 3.0 + 1e-12, 0.0, 0.0]  # window 1: a near tie
    M[0, 0, 8:12] = [0.5, -3.0, -3.0, -3.0]  # window 2: unit 8 crosses zero inside
    M[0, 1, 8] = -1.0
    M[0, 0, 12:16] = [-1.0, -2.0, 0.0, -0.5]  # window 3: all dead after the ReLU
    code, done = _settled_after_relu(square, M, np.arange(16).reshape(4, 4))
    assert done.tolist() == [[True, False, False, True]]
    assert code[0, 0] == 1 and code[0, 3] == 0


@pytest.mark.parametrize("slopes", [(0.0, 1.0), (0.1, 1.0)])
def test_kink_maps_read_lazily_equal_the_whole_maps(slopes):
    """The maps after a kink, read where a pool reads them, are the whole maps' entries."""
    from tinylens.geometry._kink_maps import _KinkMaps
    from tinylens.geometry.conv_layers import Step
    from tinylens.geometry.conv_slice import _thunk

    rng = np.random.default_rng(5)
    M = rng.standard_normal((4, 3, 12))
    root = np.array([0, 0, 2, 3, 3, 1])
    bits = rng.integers(0, 2, (6, 12)).astype(np.uint8)
    step = Step("kink", "relu", (12,), (12,), slopes=slopes)
    whole = _thunk(step, M, root, bits)()  # (6, 3, 12)
    lazy = _KinkMaps(M, root, bits, slopes)
    windows = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(lazy[:, :, windows.T], whole[:, :, windows.T])
    rows = np.array([5, 0, 2])
    idx = rng.integers(0, 12, (3, 2, 4))
    cols = np.arange(3)[None, :, None, None]
    key = (rows[:, None, None, None], cols, idx[:, None])
    np.testing.assert_array_equal(lazy[key], whole[key])
    assert len(lazy) == 6 and lazy.shape == whole.shape
