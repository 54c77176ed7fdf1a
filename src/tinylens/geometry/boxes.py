"""Boxes: parsing them, and refusing those too large for the enumeration to be exact."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError

__all__ = [
    "PROMISED_RESOLUTION",
    "SCALE_MARGIN",
    "as_box",
    "check_box_scale",
    "check_magnitudes",
    "kink_scale",
    "too_large",
]


def as_box(box: Any, n_inputs: int | None = None) -> np.ndarray:
    """A box as an array of shape (d, 2) of ``[lo, hi]`` rows.

    Accepts ``[(lo, hi), ...]``, a flat ``[lo, hi, lo, hi, ...]`` or an array of shape (d, 2).

    Raises
    ------
    ShapeError
        An odd number of bounds, or ``d`` differs from ``n_inputs``.
    ConfigError
        A bound that is not a finite number, or ``lo >= hi``.
    """
    try:
        arr = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"box must be numbers like [(-1, 1), (-1, 1)], not {box!r}") from None
    flat = arr.reshape(-1)
    if arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 2) or flat.size % 2 or not flat.size:
        raise ShapeError(
            f"box has {flat.size} bounds; give LO,HI for each input, e.g. -1,1,-1,1 for two"
        )
    arr = flat.reshape(-1, 2)
    if not np.isfinite(arr).all():
        raise ConfigError(f"box bounds must be finite numbers, got {flat.tolist()}")
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if len(bad):
        i = int(bad[0])
        raise ConfigError(
            f"box interval {i + 1} is [{arr[i, 0]:g}, {arr[i, 1]:g}]; each needs LO < HI"
        )
    if n_inputs is not None and len(arr) != n_inputs:
        example = ",".join(["-1,1"] * n_inputs)
        raise ShapeError(
            f"box has {len(arr)} interval{'s' * (len(arr) != 1)} but the network has "
            f"{n_inputs} input{'s' * (n_inputs != 1)}; give LO,HI for each, e.g. {example}"
        )
    return arr


PROMISED_RESOLUTION = 1e-9
"""Every method resolves regions down to a ball of radius ``PROMISED_RESOLUTION`` times the
box's half-width (see :func:`~tinylens.geometry.linear_regions`); in input units, that is
coarser the larger the box."""

SCALE_MARGIN = 1e-3
"""The box is *trusted* when its resolution in input units is at most ``SCALE_MARGIN`` times
the distance from its centre to the farthest first-layer kink that crosses it (our own choice
of margin: the resolution is then a thousand times finer than the structure inside)."""


def kink_scale(weight: np.ndarray, bias: np.ndarray, box: np.ndarray) -> float:
    """The distance from the box's centre to the farthest first-layer kink (hyperplane
    ``w . x + b = 0``) that crosses the box; 0 when none does or all pass through the centre.

    Parameters
    ----------
    weight, bias : arrays of shape (width, d) and (width,)
        The first kinked layer.
    box : array of shape (d, 2)
    """
    centre = box.mean(axis=1)
    half = (box[:, 1] - box[:, 0]) / 2
    # Rows divided by their largest entry first, so that squaring cannot overflow.
    peak = np.abs(weight).max(axis=1)
    live = peak > 0
    if not live.any():
        return 0.0
    weight, bias = weight[live] / peak[live, None], bias[live] / peak[live]
    norm = np.linalg.norm(weight, axis=1)
    dist = np.abs(weight @ centre + bias) / norm
    reach = np.abs(weight) @ half / norm  # the box's extent along each normal
    crossing = dist[dist <= reach]
    return float(crossing.max()) if len(crossing) else 0.0


def check_box_scale(weight: np.ndarray, bias: np.ndarray, box: np.ndarray) -> float | None:
    """Refuse a box so large that the enumeration's relative resolution would merge regions;
    return the largest trusted half-width when the box exceeds it (else None).

    All methods work in the unit box with tolerances relative to it, so on a box of
    half-width 1e10 anything smaller than ~10 input units is below their resolution, and the
    count *drops* as the box grows (593 regions at 1e6 and 56 at 1e300 on one net). The
    first layer's kinks that cross the box set the scale of the structure inside (deeper
    kinks are bent copies of them within the same regions):

    * resolution coarser than that scale: refused outright (the regions certainly merge);
    * finer, but not :data:`SCALE_MARGIN` times finer: the caller enumerates the box and also
      the trusted box (same centre, half-width the returned limit) and refuses when the larger
      box shows fewer regions.

    Raises
    ------
    ConfigError
        The box's volume overflows, or its resolution is coarser than the kinks' scale.
    """
    half = (box[:, 1] - box[:, 0]) / 2
    with np.errstate(over="ignore"):
        volume = float(np.prod(2 * half))
    if not np.isfinite(volume) or not np.isfinite(half).all():
        raise ConfigError(
            f"the box's volume overflows float64 (widths {(2 * half).tolist()}); areas and "
            "volumes could not be reported; use a smaller box"
        )
    scale = kink_scale(weight, bias, box)
    if scale == 0:  # no kink, or all through the centre: a cone, the same at any size
        return None
    resolution = PROMISED_RESOLUTION * float(half.max())
    limit = SCALE_MARGIN * scale / PROMISED_RESOLUTION
    if resolution > scale:
        raise too_large(float(half.max()), limit, f"the first-layer kinks lie within {scale:.3g}")
    return limit if half.max() > limit else None


def too_large(half: float, limit: float, why: str) -> ConfigError:
    """The one-line refusal of a box too large for exact enumeration."""
    return ConfigError(
        f"box half-width {half:g} is too large to enumerate exactly: regions are resolved to "
        f"{PROMISED_RESOLUTION:g} of the half-width ({PROMISED_RESOLUTION * half:.3g} input "
        f"units here) and {why}, so regions would merge; use a half-width of at most "
        f"{limit:.3g}"
    )


def check_magnitudes(layers: Any, readout: Any, box: np.ndarray) -> None:
    """Refuse a network whose values on ``box`` could overflow float64 (weights of 1e200).

    Propagates the bound ``|x_l| <= |W_l| |x_(l-1)| + |b_l|`` from the box through every layer
    (it also bounds every composed affine map's terms); an infinite bound is refused before
    any enumeration, so no overflow can happen inside it.
    """
    bound = np.abs(box).max(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in (*layers, readout):
            bound = np.abs(layer.weight) @ bound + np.abs(layer.bias)
            scale = np.abs(layer.weight).sum(axis=1).max(initial=0.0) * float(bound.max())
            if not (np.isfinite(bound).all() and np.isfinite(scale)):
                raise ConfigError(
                    "the network's values on this box overflow float64 (weights or box too "
                    "large); rescale the network's weights or use a smaller box"
                )
