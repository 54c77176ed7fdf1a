"""The exact oracle for 2-D regions: plain-Python ``Fraction`` arithmetic, no enumeration.

Every candidate activation pattern is tried one by one; the network's layers are composed
exactly from its float weights, and the pattern's cell (the domain cut by one closed half-plane
per unit) is built by exact half-plane clipping. A pattern is a region iff that polygon has
positive area: the exact arrangement, with no resolution at all.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from tinylens.engine import AffineNet

F = Fraction
SQUARE = [(F(-1), F(-1)), (F(1), F(-1)), (F(1), F(1)), (F(-1), F(1))]


def clip(poly, a1, a2, a0):
    """The part of convex ``poly`` (Fraction points, counter-clockwise) where
    ``a1 x + a2 y + a0 >= 0``, exactly (Sutherland-Hodgman)."""
    out = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        zp, zq = a1 * p[0] + a2 * p[1] + a0, a1 * q[0] + a2 * q[1] + a0
        if zp >= 0:
            out.append(p)
        if (zp > 0 and zq < 0) or (zp < 0 and zq > 0):
            t = zp / (zp - zq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def area(poly):
    n = len(poly)
    return (
        sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1] for i in range(n))
        / 2
    )


def exact_cells(layers, domain) -> dict[str, Fraction]:
    """``{pattern: area}`` of every pattern whose cell in ``domain`` has positive area.

    ``layers``: ``[(W, b, activation)]`` of Fractions, hidden ``relu``, last ``identity``."""
    assert all(act == "relu" for _, _, act in layers[:-1]) and layers[-1][2] == "identity"
    widths = [len(b) for _, b, _ in layers[:-1]]
    found = {}
    for bits in itertools.product([0, 1], repeat=sum(widths)):
        G = [[F(1), F(0)], [F(0), F(1)]]  # this layer's input = G^T (x, y) + m
        m = [F(0), F(0)]
        poly, start, ok = list(domain), 0, True
        for (W, b, _), width in zip(layers, widths, strict=False):
            g = [
                [sum(W[j][i] * G[i][c] for i in range(len(m))) for c in range(2)]
                for j in range(width)
            ]
            h = [b[j] + sum(W[j][i] * m[i] for i in range(len(m))) for j in range(width)]
            on = bits[start : start + width]
            for j in range(width):
                if g[j] == [0, 0]:
                    ok &= (h[j] > 0) == bool(on[j])  # constant: relu(0) = 0 is "off"
                s = 1 if on[j] else -1
                poly = clip(poly, s * g[j][0], s * g[j][1], s * h[j])
            G = [[g[j][c] if on[j] else F(0) for c in range(2)] for j in range(width)]
            m = [h[j] if on[j] else F(0) for j in range(width)]
            start += width
        if ok and len(poly) >= 3 and area(poly) > 0:
            found["".join(map(str, bits))] = area(poly)
    return found


def fractions_of(net: AffineNet):
    return [
        (
            [[F(float(v)) for v in row] for row in L.weight],
            [F(float(v)) for v in L.bias],
            L.activation,
        )
        for L in net.layers
    ]


def conv_plane_cells(units, windows, domain) -> dict[tuple[int, ...], Fraction]:
    """``{code: area}`` of every code of a one-kink, one-pool image net on a plane whose cell in
    ``domain`` has positive area: the code as ``forward_codes`` writes it (one ReLU bit per
    unit, then each window's winning piece, first of equals).

    ``units``: each ReLU unit's pre-activation ``(g1, g2, h)`` in Fractions; ``windows``: each
    pooling window's unit indices. A piece is its unit where the bit is 1, else zero; piece
    ``a`` wins where ``piece_a >= piece_b`` for later ``b`` and ``piece_a > piece_b`` for
    earlier ones (an identically equal earlier piece wins instead)."""
    found = {}

    def pools(poly, bits, w, code):
        if w == len(windows):
            found[(*bits, *code)] = area(poly)
            return
        piece = [(units[u] if bits[u] else (F(0), F(0), F(0))) for u in windows[w]]
        for a in range(len(piece)):
            cell = poly
            for b in range(len(piece)):
                d = [x - y for x, y in zip(piece[a], piece[b], strict=True)]
                if b == a or (d == [0, 0, 0] and b > a):
                    continue
                cell = [] if d == [0, 0, 0] else clip(cell, *d)
                if len(cell) < 3 or area(cell) <= 0:
                    break
            if len(cell) >= 3 and area(cell) > 0:
                pools(cell, bits, w + 1, (*code, a))

    def kinks(poly, bits):
        if len(bits) == len(units):
            pools(poly, bits, 0, ())
            return
        g1, g2, h = units[len(bits)]
        for on in (0, 1):
            s = 1 if on else -1
            if (g1, g2) == (0, 0) and (h > 0) != bool(on):
                continue  # a constant unit: relu(0) = 0 is "off"
            cell = clip(poly, s * g1, s * g2, s * h)
            if len(cell) >= 3 and area(cell) > 0:
                kinks(cell, (*bits, on))

    kinks(list(domain), ())
    return found
