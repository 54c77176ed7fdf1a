"""Which ReLU units of a network are dead, always active or switching on a box: the first step
of :func:`~tinylens.circuits.readback.explain`.

Both functions take an exact network (Fraction weights) and give one status per ReLU unit, in
the order of :func:`~tinylens.circuits.exact.relu_units`. The cells are exact; the interval
bounds are sound (a unit they call dead or always active is), and exact for the first layer,
whose pre-activations are affine on the box: their bounds are attained at its corners.
"""

from __future__ import annotations

import numpy as np

from tinylens.circuits.exact import box_polytope, network_cells
from tinylens.circuits.expr import Domain
from tinylens.engine import AffineNet

__all__ = ["cell_status", "interval_status"]


def interval_status(net: AffineNet, domain: Domain) -> list[str]:
    """Sound unit status from interval arithmetic (exact rationals): ``dead`` when the upper
    bound of the pre-activation is <= 0, ``linear`` when the lower bound is >= 0."""
    lo = np.array([iv.lo for _, iv in domain.intervals], dtype=object)
    hi = np.array([iv.hi for _, iv in domain.intervals], dtype=object)
    status: list[str] = []
    for layer in net.layers:
        W = layer.weight
        Wp = np.where(W > 0, W, 0 * W)
        Wn = np.where(W < 0, W, 0 * W)
        zlo = Wp @ lo + Wn @ hi + layer.bias
        zhi = Wp @ hi + Wn @ lo + layer.bias
        if layer.activation == "relu":
            for a, b in zip(zlo, zhi, strict=True):
                status.append("dead" if b <= 0 else "linear" if a >= 0 else "switching")
            lo = np.where(zlo > 0, zlo, 0 * zlo)
            hi = np.where(zhi > 0, zhi, 0 * zhi)
        else:
            lo, hi = zlo, zhi
    return status


def cell_status(net: AffineNet, domain: Domain, max_cells: int) -> tuple[list[str], int]:
    """Exact unit status from the network's linear pieces on the box (``dead``: > 0 on none,
    ``linear``: < 0 on none), and the number of pieces; ConfigError past ``max_cells``."""
    cells = network_cells(
        net, box_polytope([(iv.lo, iv.hi) for _, iv in domain.intervals]), max_cells=max_cells
    )
    signs = np.stack([c.signs for c in cells]) if cells else np.zeros((0, 0))
    status = []
    for j in range(signs.shape[1]):
        col = signs[:, j]
        if not (col > 0).any():
            status.append("dead")
        elif not (col < 0).any():
            status.append("linear")
        else:
            status.append("switching")
    return status, len(cells)
