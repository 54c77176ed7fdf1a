"""Region codes of an image classifier, stored packed: one bit per kink unit, a few per window.

A region's code (:mod:`tinylens.geometry.conv_slice`) has one entry per kink unit (0/1) and one
per max-pool window (the winning piece, ``0 .. k-1``), layer by layer: 11,760 entries for the
MNIST ``small_cnn``. Kept as one byte each that is 11.8 KB per region, and a plane through three
MNIST test images has millions of regions. Packed (1 bit per unit, ``ceil(log2 k)`` bits per
window) it is 1,764 bytes; as a digest (BLAKE2b, 16 bytes) it still tells regions apart and
matches the codes a forward pass reads, which is all a count checked against dense sampling
needs.

Each entry's bits go highest first, so packed rows compared byte by byte sort exactly as the
full codes do entry by entry: a region set orders a million packed codes by their bytes, with
no sort key as large as the codes beside them. (Before 2026-12-03 the lowest bit went first;
packed codes and digests from then differ from today's, the patterns they hold do not.)

>>> import numpy as np
>>> layout = CodeLayout((("kink", 3, 2), ("max", 2, 4)))  # 3 units, 2 windows of 4 pieces
>>> codes = np.array([[1, 0, 1, 3, 2], [0, 0, 0, 0, 1]], dtype=np.uint8)
>>> packed = layout.pack(codes)
>>> packed.shape, layout.n_bits
((2, 1), 7)
>>> bool((layout.unpack(packed) == codes).all())
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = ["CODE_FORMATS", "DIGEST_BYTES", "CodeLayout"]

CODE_FORMATS = ("full", "packed", "digest")
"""How :func:`~tinylens.geometry.conv_slice.split_image_slice` keeps codes: one byte per
entry (``full``), packed bits (``packed``), or a 16-byte digest of the packed bits (``digest``)."""

DIGEST_BYTES = 16
"""BLAKE2b digest size: two of 10^7 regions collide with probability ~1e-25."""


@dataclass(frozen=True)
class CodeLayout:
    """The code's segments, layer by layer: ``(kind, entries, pieces)`` with kind ``kink``
    (pieces 2) or ``max`` (pieces = the window size ``k``)."""

    segments: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, steps: list) -> CodeLayout:
        """The layout of a :func:`~tinylens.geometry.conv_layers.image_layers` step list."""
        return cls(
            tuple(
                (s.kind, s.out_size, 2 if s.kind == "kink" else int(s.windows.shape[1]))
                for s in steps
                if s.kind != "affine"
            )
        )

    @property
    def n_codes(self) -> int:
        return sum(n for _, n, _ in self.segments)

    @property
    def widths(self) -> tuple[int, ...]:
        """Bits per entry of each segment: 1 for a kink, ``ceil(log2 k)`` for a window."""
        return tuple(max(1, int(k - 1).bit_length()) for _, _, k in self.segments)

    @property
    def n_bits(self) -> int:
        return sum(n * b for (_, n, _), b in zip(self.segments, self.widths, strict=True))

    @property
    def byte_aligned(self) -> bool:
        """Whether every segment fills whole bytes (the MNIST CNN's do): then the packed code
        is the packed segments side by side, so a region's code can be packed layer by layer
        as the enumeration goes (:meth:`pack_segment`)."""
        return all(n * b % 8 == 0 for (_, n, _), b in zip(self.segments, self.widths, strict=True))

    def pack(self, codes: np.ndarray) -> np.ndarray:
        """Codes (n, n_codes) uint8 as packed bits (n, ceil(n_bits / 8)) uint8: each entry's
        bits highest first, the bit stream packed as :func:`numpy.packbits` does."""
        if self.byte_aligned:
            parts, at = [], 0
            for i, (_, n, _) in enumerate(self.segments):
                parts.append(self.pack_segment(i, codes[:, at : at + n]))
                at += n
            if parts:
                return np.concatenate(parts, axis=1)
        return _pack_bits(codes, self.segments, self.widths)

    def pack_segment(self, index: int, seg: np.ndarray) -> np.ndarray:
        """One byte-aligned segment's entries (n, entries) packed: (n, entries * width / 8).

        A 1-bit segment is :func:`numpy.packbits`; a ``b``-bit one (``b`` dividing 8) puts
        ``8 / b`` entries in a byte, the first in the highest bits. Equal to the bit-by-bit
        packing (a test checks)."""
        b = self.widths[index]
        if b == 1:
            return np.packbits(seg, axis=1)
        if 8 % b:
            return _pack_bits(seg, (self.segments[index],), (b,))
        per = 8 // b
        r = np.asarray(seg, dtype=np.uint8).reshape(len(seg), -1, per)
        out = r[:, :, 0] << np.uint8(8 - b)
        for j in range(1, per):
            out |= r[:, :, j] << np.uint8(8 - (j + 1) * b)
        return out

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`pack`: (n, n_codes) uint8, in uint8 bit operations only (a
        sum over each entry's bits upcasts to 64-bit integers and was several times slower
        on the MNIST CNN's 11,760 entries)."""
        bits = np.unpackbits(packed, axis=1, count=self.n_bits)
        out = np.empty((len(bits), self.n_codes), dtype=np.uint8)
        at = col = 0
        for (_, n, _), b in zip(self.segments, self.widths, strict=True):
            seg = bits[:, at : at + n * b].reshape(len(bits), n, b)
            value = seg[:, :, 0].copy()  # the highest bit first
            for j in range(1, b):
                value <<= np.uint8(1)
                value |= seg[:, :, j]
            out[:, col : col + n] = value
            at, col = at + n * b, col + n
        return out

    def encode(self, codes: np.ndarray, fmt: str) -> np.ndarray:
        """Codes (n, n_codes) in format ``fmt`` (one of :data:`CODE_FORMATS`)."""
        if fmt == "full":
            return codes
        packed = self.pack(codes)
        if fmt == "packed":
            return packed
        return digest(packed)


def _pack_bits(
    codes: np.ndarray, segments: tuple[tuple[str, int, int], ...], widths: tuple[int, ...]
) -> np.ndarray:
    """Bit-by-bit packing: every entry as ``width`` bits, highest first, then packbits."""
    parts, at = [], 0
    for (_, n, _), b in zip(segments, widths, strict=True):
        seg = codes[:, at : at + n]
        at += n
        parts.append(
            seg
            if b == 1
            else ((seg[:, :, None] >> np.arange(b - 1, -1, -1)) & 1).reshape(len(seg), -1)
        )
    bits = np.concatenate(parts, axis=1) if parts else np.zeros((len(codes), 0), np.uint8)
    return np.packbits(bits.astype(np.uint8), axis=1)


def digest(packed: np.ndarray) -> np.ndarray:
    """A BLAKE2b digest of every row of packed codes: (n, DIGEST_BYTES) uint8."""
    out = np.empty((len(packed), DIGEST_BYTES), dtype=np.uint8)
    rows = np.ascontiguousarray(packed)
    for i, row in enumerate(rows):
        out[i] = np.frombuffer(
            hashlib.blake2b(row.tobytes(), digest_size=DIGEST_BYTES).digest(), np.uint8
        )
    return out
