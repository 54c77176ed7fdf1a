"""Compute the geometry studies: a slice study (load the network and the inputs, enumerate, find
the boundary) or a box study (``tinylens regions --box``: load, check the box, enumerate).

>>> import tempfile, pathlib, tinylens as tl
>>> path = pathlib.Path(tempfile.mkdtemp()) / "net.safetensors"
>>> _ = tl.save(tl.MLP([2, 4, 1], rng=0, init="torch"), path)
>>> result = run_regions(RegionsStudyConfig(str(path), (-1.0, 1.0, -1.0, 1.0)))
>>> result.regions.count == len(result.regions.to_dict()["regions"])
True
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import (
    Slice,
    decision_boundary,
    image_slice_regions,
    is_image_net,
    linear_regions,
)
from tinylens.geometry.regions import check_piecewise_linear
from tinylens.studies.geometry.config import RegionsStudyConfig, SliceStudyConfig
from tinylens.studies.geometry.result import RegionsResult, SliceResult

__all__ = ["load_inputs", "make_slice", "run", "run_regions"]


def load_inputs(config: SliceStudyConfig) -> Any:
    """The dataset whose test images the slice indices point into (never downloads)."""
    if config.data == "digits":
        from tinylens.data import digits

        return digits()
    from tinylens.data.mnist import load_mnist

    return load_mnist(config.data_dir, split="test", download=False)


def make_slice(config: SliceStudyConfig, X: np.ndarray) -> Slice:
    """The :class:`Slice` the config names, through rows of ``X``."""
    picks = config.through or (config.plane,)
    bad = [i for i in picks if not 0 <= int(i) < len(X)]  # type: ignore[arg-type]
    if bad:
        raise ConfigError(
            f"index {bad[0]} is outside the {len(X)} test inputs of {config.data}; "
            f"use 0..{len(X) - 1}"
        )
    rows = [np.asarray(X[int(i)], dtype=np.float64) for i in picks]  # type: ignore[arg-type]
    if len(config.through) == 2:
        return Slice.segment(*rows)
    if len(config.through) == 3:
        return Slice.through(*rows, margin=config.margin)
    return Slice.plane(rows[0], radius=config.radius, rng=config.seed)


def _image_inputs(weights: str) -> int:
    """The flat input size of a CNN weights file (its first layer unflattens flat rows)."""
    from tinylens.io import load

    first = load(weights).layers[0]
    shape = getattr(first, "shape", None)
    if shape is None:
        raise ConfigError(
            f"{weights}: a conv network for slices must start with Unflatten (take flat rows), "
            "as tinylens.engine.small_cnn does"
        )
    return int(np.prod(shape))


def run(
    config: SliceStudyConfig, *, data: Any = None, rng: Any = None, progress: Any = None
) -> SliceResult:
    """Every region of the network on the slice, its classes and decision boundary.

    Parameters
    ----------
    config : SliceStudyConfig
    data : Dataset or array of shape (n, n_inputs), optional
        The inputs the indices point into (default: ``config.data``'s test set).
    rng : ignored
        The random directions of ``plane`` come from ``config.seed`` (so a config reproduces
        its slice); accepted for the one study signature.
    progress : bool, optional
        Show the progress of a conv network's plane (past a few seconds: the share of its
        area done); an MLP's slice is one vectorised pass (well under a second on MNIST MLPs).
        ``None`` (the default) shows it.
    """
    del rng
    image = is_image_net(config.weights)
    if image:  # a CNN: read layer by layer on the plane
        net: Any = config.weights
        n_inputs = _image_inputs(config.weights)
    else:
        if config.codes in ("packed", "digest"):
            raise ConfigError(
                f"--codes {config.codes} is for conv / max-pool networks; an MLP's regions "
                "keep their patterns (use --codes auto or full)"
            )
        net = check_piecewise_linear(config.weights)
        n_inputs = net.n_inputs
    dataset = data if data is not None else load_inputs(config)
    X = np.asarray(getattr(dataset, "X", dataset))
    if X.ndim != 2 or X.shape[1] != n_inputs:
        raise ShapeError(
            f"the {config.data} inputs have {X.shape[-1]} features but the network takes "
            f"{n_inputs}; use a model trained on {config.data}"
        )
    slc = make_slice(config, X)
    t0 = time.perf_counter()
    if image:
        if config.method not in ("auto", "polygons"):
            raise ConfigError(
                f"method {config.method!r} does not apply to conv / max-pool networks; use 'auto'"
            )
        regions = image_slice_regions(
            net, slc, codes=config.codes, quiet=progress is False, workers=config.workers
        )
    else:
        regions = linear_regions(net, slice=slc, method=config.method)
    boundary = decision_boundary(regions) if regions.n_outputs > 1 else None
    seconds = time.perf_counter() - t0
    picks = config.through or (config.plane,)
    images = None
    shape = getattr(dataset, "image_shape", None)
    if shape is not None:
        images = [X[int(i)].reshape(shape) for i in picks]  # type: ignore[arg-type]
    labels = None
    y = getattr(dataset, "y", None)
    if y is not None:
        labels = [int(y[int(i)]) for i in picks]  # type: ignore[arg-type]
    return SliceResult(config, regions, boundary, seconds, images, labels)


def run_regions(config: RegionsStudyConfig) -> RegionsResult:
    """Load the network, check the box against it, and enumerate its regions."""
    net, box = config.check()
    t0 = time.perf_counter()
    regions = linear_regions(net, box, method=config.method)
    return RegionsResult(config, regions, time.perf_counter() - t0)
