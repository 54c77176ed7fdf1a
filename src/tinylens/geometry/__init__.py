"""Geometry of piecewise-linear networks: exact linear regions, basis decomposition, folding
and polynomial lifting.

Every analysis reads the neutral :class:`~tinylens.engine.AffineNet` view, so it accepts an
engine ``Sequential``, an ``AffineNet`` (trained, loaded or hand-built), a weights-file path or
a torch module alike.

* :mod:`~tinylens.geometry.regions`: :func:`linear_regions` (every region in a box, any input
  dimension, any depth) and :func:`pieces_1d` (exact breakpoints of one-input networks);
* :mod:`~tinylens.geometry.slices`: :class:`Slice` (a segment or plane through input space,
  e.g. through three MNIST images), ``linear_regions(net, slice=...)`` and
  :func:`decision_boundary`;
* :mod:`~tinylens.geometry.layers_affine`: :func:`affine_from_torch`, torch models with Conv2d,
  AvgPool2d, BatchNorm (evaluation mode) and Flatten read as the same affine view;
* :mod:`~tinylens.geometry.basis`: :func:`decompose`, a one-hidden-layer net as a sum of ghost
  functions;
* :mod:`~tinylens.geometry.folding`: the input grid through each layer, linear separability
  and region counts per layer;
* :mod:`~tinylens.geometry.lifting`: monomial features and a linear classifier on them.
"""

from tinylens.geometry._affine import as_affine_net
from tinylens.geometry.basis import BasisDecomposition, decompose
from tinylens.geometry.folding import (
    fold_grid,
    layer_representations,
    linear_separability,
    region_counts_per_layer,
)
from tinylens.geometry.image_regions import ImageRegionSet, image_slice_regions
from tinylens.geometry.layers_affine import affine_from_torch
from tinylens.geometry.lifting import (
    LiftedClassifier,
    PolynomialLift,
    fit_lifted_classifier,
    monomial_exponents,
)
from tinylens.geometry.regions import (
    Piece,
    PiecewiseLinear1D,
    Region,
    RegionSet,
    as_box,
    linear_regions,
    pieces_1d,
)
from tinylens.geometry.slices import DecisionBoundary, Slice, decision_boundary, is_image_net

__all__ = [
    "BasisDecomposition",
    "DecisionBoundary",
    "ImageRegionSet",
    "LiftedClassifier",
    "Piece",
    "PiecewiseLinear1D",
    "PolynomialLift",
    "Region",
    "RegionSet",
    "Slice",
    "affine_from_torch",
    "as_affine_net",
    "as_box",
    "decision_boundary",
    "decompose",
    "fit_lifted_classifier",
    "fold_grid",
    "image_slice_regions",
    "is_image_net",
    "layer_representations",
    "linear_regions",
    "linear_separability",
    "monomial_exponents",
    "pieces_1d",
    "region_counts_per_layer",
]
