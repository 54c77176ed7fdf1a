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
    np.testing.assert_array_equal(layout.unpack(want), codes)
    # a bit's place in the stream: entry 0 of a 2-bit segment is the first byte's top bits
    if layout.byte_aligned and segments[1][2] == 4:
        one = np.zeros((1, segments[1][1]), dtype=np.uint8)
        one[0, 0] = 1  # lowest bit first: 0b10 000000
        assert layout.pack_segment(1, one)[0, 0] == 0b10000000
