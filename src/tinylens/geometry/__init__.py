"""Geometry of piecewise-linear networks: exact linear regions, basis decomposition, folding
and polynomial lifting.

Every analysis reads the neutral :class:`~tinylens.engine.AffineNet` view, so it accepts an
engine ``Sequential``, an ``AffineNet`` (trained, loaded or hand-built), a weights-file path or
a torch module alike.
"""

from tinylens.geometry._affine import as_affine_net
from tinylens.geometry.regions import (
    Piece,
    PiecewiseLinear1D,
    Region,
    RegionSet,
    as_box,
    linear_regions,
    pieces_1d,
)

__all__ = [
    "Piece",
    "PiecewiseLinear1D",
    "Region",
    "RegionSet",
    "as_affine_net",
    "as_box",
    "linear_regions",
    "pieces_1d",
]
