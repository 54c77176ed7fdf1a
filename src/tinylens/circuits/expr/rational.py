"""Exact numbers for circuits: parsing rationals, printing them, and exact weights in files.

Circuit weights are :class:`fractions.Fraction` objects held in NumPy object arrays (the
:class:`~tinylens.engine.AffineNet` exact view). A weights file stores float64 tensors, which
cannot hold ``1/3``; :func:`exact_info` writes the exact values as strings into the file's
``info`` so that :func:`load_exact` gets back the very same rationals.

>>> to_fraction("0.1"), to_fraction("-3/4"), to_fraction(2)
(Fraction(1, 10), Fraction(-3, 4), Fraction(2, 1))
>>> fmt(Fraction(-3, 4)), fmt(Fraction(5))
('-3/4', '5')
"""

from __future__ import annotations

import numbers
import os
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError, WeightsFileError

__all__ = [
    "exact_info",
    "exact_net",
    "fmt",
    "is_integer",
    "load_exact",
    "net_from_strings",
    "net_to_strings",
    "to_fraction",
]


def to_fraction(value: object, what: str = "value") -> Fraction:
    """An exact rational from an int, a Fraction, a decimal or ``p/q`` string, or a float.

    Floats are converted exactly (0.1 becomes 3602879701896397/36028797018963968); pass the
    string ``"0.1"`` for one tenth.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number, not {value!r}")
    if isinstance(value, numbers.Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ConfigError(f"{what} must be finite, got {value!r}")
        return Fraction(float(value))
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise ConfigError(
                f"{what} {value!r} is not a number; write an integer, a decimal or p/q"
            ) from None
    raise ConfigError(f"{what} must be a number, not {type(value).__name__}")


def is_integer(q: Fraction) -> bool:
    return q.denominator == 1


def fmt(q: Fraction | int) -> str:
    """``'3'``, ``'-1/2'``: the shortest exact spelling."""
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def exact_net(
    layers: list[tuple[Any, Any, str]], input_names: tuple[str, ...] | list[str]
) -> AffineNet:
    """An exact :class:`AffineNet` from ``[(weight, bias, activation), ...]`` given as nested
    lists of numbers or strings (``"1/2"``); every entry becomes a Fraction."""
    built = []
    for w, b, act in layers:
        W = np.array([[to_fraction(v, "weight") for v in row] for row in w], dtype=object).reshape(
            len(w), -1
        )
        B = np.array([to_fraction(v, "bias") for v in b], dtype=object)
        built.append(AffineLayer(W, B, act))
    return AffineNet(tuple(built), tuple(input_names))


def net_to_strings(net: AffineNet) -> list[dict[str, Any]]:
    """Every layer's exact weight and bias as strings (``[out, in]`` layout) and activation."""
    return [
        {
            "weight": [[fmt(Fraction(v)) for v in row] for row in layer.weight],
            "bias": [fmt(Fraction(v)) for v in layer.bias],
            "activation": layer.activation,
        }
        for layer in net.layers
    ]


def net_from_strings(
    layers: list[dict[str, Any]], input_names: list[str] | tuple[str, ...] | None
) -> AffineNet:
    """Inverse of :func:`net_to_strings`."""
    try:
        triples = [(d["weight"], d["bias"], d["activation"]) for d in layers]
    except (KeyError, TypeError):
        raise WeightsFileError(
            "exact weights are malformed (need weight, bias, activation)"
        ) from None
    net = exact_net(triples, tuple(input_names) if input_names else ())
    if not input_names:
        return AffineNet(net.layers, None)
    return net


def exact_info(net: AffineNet) -> dict[str, Any]:
    """The ``info["exact"]`` entry of a weights file holding ``net``'s exact values."""
    return {"layers": net_to_strings(net), "input_names": list(net.names)}


def load_exact(path: str | os.PathLike[str]) -> AffineNet:
    """The exact network stored by ``tinylens circuits compile --out`` (or any file whose
    ``info`` carries ``exact`` weights); checked against the file's float tensors."""
    from tinylens.io import load_affine, read_info
    from tinylens.io.weights import invalid_as_weights_error

    meta = read_info(path)
    exact = (meta.get("info") or {}).get("exact")
    if not exact:
        raise WeightsFileError(
            f"weights file {os.fspath(path)} has no exact weights in its info; it was not "
            "written by the circuit compiler (use tinylens.load_affine for its float weights)"
        )
    where = f"weights file {os.fspath(path)}"
    if not isinstance(exact, dict) or not isinstance(exact.get("layers"), list):
        raise WeightsFileError(f"{where}: its exact weights are malformed (not a list of layers)")
    names = exact.get("input_names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise WeightsFileError(f"{where}: its exact input names are not a list of strings")
    with invalid_as_weights_error(f"{where}: its exact weights are malformed"):
        net = net_from_strings(exact["layers"], names)
    floats = load_affine(path)
    if net.sizes != floats.sizes or any(
        not np.array_equal(a.weight, b.weight.astype(np.float64))
        or not np.array_equal(a.bias, b.bias.astype(np.float64))
        for a, b in zip(floats.layers, net.layers, strict=True)
    ):
        raise WeightsFileError(
            f"weights file {os.fspath(path)}: the exact weights in its info do not round to its "
            "tensors; the file was edited"
        )
    return net
