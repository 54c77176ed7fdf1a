"""Input maps of neurons: single-pixel perturbation maps and averaged saliency maps.

*Single-pixel maps* (the source's figure, done on the right input scale): for an image of
``h x w`` pixels, build the ``h * w`` images that are blank (``off``) except for one pixel set
to ``on``, run them all in one batch, and subtract the blank image's activation. Unit ``u``'s
map is an ``h x w`` picture: pixel ``(i, j)`` holds how much turning on that pixel alone moves
the unit. ``on`` and ``off`` must be the values a lit and a dark pixel have *for this model*:
1 and 0 for inputs in [0, 1]; ``(1 - mean) / std`` and ``-mean / std`` for normalized inputs.

*Saliency maps* average an attribution of one unit (``tinylens.interventions``: saliency,
gradient x input, integrated gradients) over many real inputs.

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([4, 3, 2], rng=0, dtype=np.float64)
>>> maps = single_pixel_maps(net, "layers.0", (2, 2))  # a linear layer: the map is its weights
>>> bool(np.allclose(maps.maps_.reshape(3, 4), net.layers[0].weight.data))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, ShapeError, UnknownNameError
from tinylens.hooks import evaluating, hooked
from tinylens.probes._data import classification_arrays
from tinylens.typing import DataLike, ModelLike

__all__ = [
    "ATTRIBUTIONS",
    "InputMaps",
    "class_saliency_maps",
    "saliency_maps",
    "single_pixel_inputs",
    "single_pixel_maps",
]

ATTRIBUTIONS = ("saliency", "gradient_x_input", "integrated_gradients")


@dataclass
class InputMaps:
    """One picture per unit (or class), over the input image.

    Attributes
    ----------
    name : str
        The hook point the maps are of.
    units : array of int of shape (n_maps,)
        The unit (or class) of each map.
    maps_ : array of shape (n_maps, height, width)
        Channel-summed over a multi-channel input.
    kind : str
        ``"single_pixel"`` or an attribution method.
    info : dict
        ``on``/``off`` values or the number of samples averaged.
    """

    name: str
    units: np.ndarray
    maps_: np.ndarray
    kind: str
    info: dict[str, Any]


def single_pixel_inputs(
    image_shape: Sequence[int], *, on: float = 1.0, off: float = 0.0, channels: int = 1
) -> np.ndarray:
    """The ``height * width`` one-pixel images (every channel of the pixel lit), flat.

    Returns
    -------
    array of shape (height * width, channels * height * width), float32
        Row ``i * width + j`` has pixel ``(i, j)`` at ``on`` and every other at ``off``.
    """
    h, w = (int(s) for s in image_shape)
    if h < 1 or w < 1 or channels < 1:
        raise ShapeError(f"image_shape must be positive (h, w), got {tuple(image_shape)}")
    eye = np.full((h * w, h * w), off, dtype=np.float32)
    np.fill_diagonal(eye, on)
    return np.tile(eye.reshape(h * w, 1, h * w), (1, channels, 1)).reshape(h * w, -1)


def _unit_values(act: Any) -> np.ndarray:
    """(n, units) from a dense (n, units) or image (n, channels, h, w) activation (channel mean)."""
    a = np.asarray(act, dtype=np.float64)
    if a.ndim > 2:
        return a.reshape(a.shape[0], a.shape[1], -1).mean(axis=2)
    return a.reshape(a.shape[0], -1)


def single_pixel_maps(
    model: ModelLike,
    name: str,
    image_shape: Sequence[int],
    *,
    on: float = 1.0,
    off: float = 0.0,
    channels: int = 1,
    flat: bool = True,
    batch_size: int = 1024,
) -> InputMaps:
    """Every unit's response to each pixel lit alone, minus its response to the blank image.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    name : str
        The hook point. At an image hook point a unit is a channel (its mean over positions).
    image_shape : (height, width)
        Of the model's input (``Dataset.image_shape``: (28, 28) for MNIST, (8, 8) for digits).
    on, off : float
        A lit and a dark pixel, in the model's input scale.
    channels : int
        Input channels (every channel of the pixel is lit).
    flat : bool
        The model takes flat rows (tinylens MLPs and ``small_cnn``); False feeds images of shape
        (n, channels, height, width).
    batch_size : int

    Returns
    -------
    InputMaps with ``maps_`` of shape (n_units, height, width).
    """
    h, w = (int(s) for s in image_shape)
    images = single_pixel_inputs((h, w), on=on, off=off, channels=channels)
    blank = np.full((1, images.shape[1]), off, dtype=np.float32)
    shape = (-1, channels, h, w)
    batch = np.concatenate([blank, images])  # row 0: the blank image
    parts = []
    with evaluating(model) as net:
        for start in range(0, len(batch), batch_size):
            xb = batch[start : start + batch_size]
            act = net.forward_to(xb if flat else xb.reshape(shape), name)
            parts.append(_unit_values(act))
    values = np.concatenate(parts)
    diff = values[1:] - values[0]  # (pixels, units)
    return InputMaps(
        name=name,
        units=np.arange(diff.shape[1]),
        maps_=diff.T.reshape(-1, h, w),
        kind="single_pixel",
        info={"on": float(on), "off": float(off), "blank": values[0].tolist()},
    )


def _attribution(method: str) -> Any:
    from tinylens.interventions import gradient_x_input, integrated_gradients, saliency

    if method not in ATTRIBUTIONS:
        raise UnknownNameError("attribution method", method, ATTRIBUTIONS)
    return {
        "saliency": saliency,
        "gradient_x_input": gradient_x_input,
        "integrated_gradients": integrated_gradients,
    }[method]


def _as_image_map(attr: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """Mean over samples, channel-summed, as (height, width)."""
    h, w = image_shape
    a = np.asarray(attr, dtype=np.float64).reshape(len(attr), -1, h * w)
    return a.sum(axis=1).mean(axis=0).reshape(h, w)


def saliency_maps(
    model: ModelLike,
    X: Any,
    name: str,
    image_shape: Sequence[int],
    units: Sequence[int] | None = None,
    *,
    method: str = "saliency",
    n_samples: int | None = 200,
    rng: Any = 0,
) -> InputMaps:
    """Each unit's attribution map averaged over (a random subsample of) the inputs ``X``.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    X : array of shape (n_samples, n_features) (or a Dataset: its ``X``)
    name : str
    image_shape : (height, width)
    units : sequence of int, optional
        Default: every unit of ``name`` (channels at an image hook point).
    method : {"saliency", "gradient_x_input", "integrated_gradients"}
        Saliency maps are mean |gradient|; the others keep their sign.
    n_samples : int, optional
    rng : int or Generator

    Returns
    -------
    InputMaps with ``maps_`` of shape (n_units, height, width).
    """
    fn = _attribution(method)
    Xa = np.asarray(getattr(X, "X", X))
    if n_samples is not None and n_samples < len(Xa):
        Xa = Xa[np.sort(as_rng(rng).choice(len(Xa), size=n_samples, replace=False))]
    hw = (int(image_shape[0]), int(image_shape[1]))
    if units is None:
        with evaluating(model) as h:
            units = range(np.asarray(h.forward_to(Xa[:1], name)).shape[1])
    chosen = [int(u) for u in units]
    maps = np.stack([_as_image_map(fn(model, Xa, name, u), hw) for u in chosen])
    return InputMaps(name, np.array(chosen), maps, method, {"samples": len(Xa)})


def class_saliency_maps(
    model: ModelLike,
    data: DataLike,
    image_shape: Sequence[int],
    *,
    name: str | None = None,
    method: str = "saliency",
    n_per_class: int | None = 50,
    rng: Any = 0,
) -> InputMaps:
    """For each class ``c``: the attribution of logit ``c`` averaged over samples of class ``c``.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    image_shape : (height, width)
    name : str, optional
        The hook point holding the logits (default: the last hook point).
    method : {"saliency", "gradient_x_input", "integrated_gradients"}
    n_per_class : int, optional
        Samples of each class to average over (None: all).
    rng : int or Generator

    Returns
    -------
    InputMaps with ``maps_`` of shape (n_classes, height, width); ``units`` are the classes.
    """
    fn = _attribution(method)
    X, y, n_classes = classification_arrays(data)
    point = name or hooked(model).hook_names[-1]
    gen = as_rng(rng)
    hw = (int(image_shape[0]), int(image_shape[1]))
    maps, classes = [], []
    for c in range(n_classes):
        rows = np.flatnonzero(y == c)
        if len(rows) == 0:
            continue
        if n_per_class is not None and n_per_class < len(rows):
            rows = np.sort(gen.choice(rows, size=n_per_class, replace=False))
        maps.append(_as_image_map(fn(model, X[rows], point, c), hw))
        classes.append(c)
    if not maps:
        raise ConfigError("no class has samples")
    return InputMaps(point, np.array(classes), np.stack(maps), method, {"per_class": n_per_class})
