"""The geometry studies' settings: the slice study (which network, which inputs, which slice)
and the box study behind ``tinylens regions --box`` (which network, which box)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, UnknownNameError, reject_unknown_keys
from tinylens.geometry.image_regions import CODES
from tinylens.geometry.regions import METHODS

__all__ = ["SLICE_DATASETS", "RegionsStudyConfig", "SliceStudyConfig"]

SLICE_DATASETS = ("mnist", "digits")
"""Where ``through`` and ``plane`` indices point: the MNIST test set (10,000 images, as
stored: pixels in [0, 1]) or scikit-learn's 8x8 digits (1,797 images)."""


@dataclass(frozen=True)
class SliceStudyConfig:
    """One slice through a dataset's inputs.

    Attributes
    ----------
    weights : str
        A tinylens weights file: a piecewise-linear MLP, or a CNN (conv, ReLU, max pool).
    through : tuple of int
        Two indices (a segment) or three (the plane through them), into ``data``'s test set.
        Empty when ``plane`` is given.
    plane : int or None
        One index: the plane through that input along two random orthonormal directions
        (drawn from ``seed``), the square ``[-radius, radius]^2``.
    data : {"mnist", "digits"}
    data_dir : str or None
        MNIST IDX files (default: tinylens's cache); never downloaded by this study.
    margin : float
        Grow the triangle of ``through`` by this fraction on each side (0: the images are the
        corners); above -1, a negative margin shrinks it about its centroid (-0.9: a tenth of
        its size, for a conv net whose whole triangle has a million regions).
    radius : float
        Half-width of the ``plane`` square, in input units (pixels in [0, 1]).
    method : str
        ``auto`` or ``arrangement`` (see :data:`tinylens.geometry.regions.METHODS`).
    seed : int
        Draws the random directions of ``plane``.
    codes : {"auto", "full", "packed", "digest"}
        How a conv net's regions keep their codes on a plane
        (:data:`tinylens.geometry.image_regions.CODES`): ``auto`` packs them when full ones
        would not fit the memory budget; ``digest`` holds the most regions and keeps 16-byte
        digests instead of patterns. An MLP's regions always keep their patterns.
    workers : int or None
        Threads sharing a conv net's plane (None: the cores, up to 4,
        :data:`tinylens.geometry.conv_slice.WORKERS`); the regions are the same for any count.
    """

    weights: str
    through: tuple[int, ...] = ()
    plane: int | None = None
    data: str = "mnist"
    data_dir: str | None = None
    margin: float = 0.0
    radius: float = 1.0
    method: str = "auto"
    seed: int = 0
    codes: str = "auto"
    workers: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "through", tuple(int(i) for i in self.through))
        if self.workers is not None and not (isinstance(self.workers, int) and self.workers >= 1):
            raise ConfigError(f"workers must be a positive integer, got {self.workers!r}")
        if bool(self.through) == (self.plane is not None):
            raise ConfigError("give --through I,J[,K] or --plane I (one of them)")
        if self.through and len(self.through) not in (2, 3):
            raise ConfigError(
                f"--through takes 2 indices (a segment) or 3 (a plane), got {len(self.through)}"
            )
        if len(set(self.through)) != len(self.through):
            raise ConfigError(
                f"--through repeats an index: {list(self.through)}; give distinct ones"
            )
        if self.data not in SLICE_DATASETS:
            raise UnknownNameError("slice dataset", self.data, SLICE_DATASETS)
        if self.method not in METHODS:
            raise UnknownNameError("region method", self.method, METHODS)
        if self.codes not in CODES:
            raise UnknownNameError("codes format", self.codes, CODES)
        if not self.margin > -1:
            raise ConfigError(
                f"margin must be > -1 (-0.9 shrinks the triangle to 0.1 of its size), got "
                f"{self.margin}"
            )
        if not self.radius > 0:
            raise ConfigError(f"radius must be > 0, got {self.radius}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SliceStudyConfig:
        reject_unknown_keys(d, [f.name for f in fields(cls)], "slice setting")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["through"] = list(self.through)
        return out


@dataclass(frozen=True)
class RegionsStudyConfig:
    """A weights file, a box (flat ``lo, hi, lo, hi, ...``) and the enumeration method."""

    weights: str
    box: tuple[float, ...]
    method: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UnknownNameError("region method", self.method, METHODS)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "box": list(self.box), "method": self.method}

    def check(self) -> tuple[Any, np.ndarray]:
        """Load the network and check the box against it: ``(AffineNet, box array)``.

        Raises WeightsFileError, ShapeError or ConfigError (a bad box, a hidden activation
        that is not piecewise linear) with one line.
        """
        from tinylens.geometry import as_box
        from tinylens.geometry.regions import check_piecewise_linear

        net = check_piecewise_linear(self.weights)
        return net, as_box(self.box, net.n_inputs)
