"""Datasets by name: ``load_dataset("spiral", n=500, rng=0)``.

>>> load_dataset("xor", n=8, rng=0).X.shape
(8, 2)
>>> load_dataset("spirale")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tinylens.errors.UnknownNameError: unknown dataset 'spirale'; ... (did you mean 'spiral'?)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from tinylens.data import arithmetic, synthetic
from tinylens.data.dataset import Dataset
from tinylens.data.digits import digits
from tinylens.data.mnist import load_mnist
from tinylens.errors import ConfigError, UnknownNameError, did_you_mean

__all__ = ["DATASETS", "load_dataset"]


def _target(name: str) -> Callable[..., Dataset]:
    factory = functools.partial(synthetic.regression_1d, name)
    # NOTE: not functools.update_wrapper: its __wrapped__ would make inspect.signature report
    # regression_1d's own signature, target included, and load_dataset checks parameters by it.
    factory.__doc__ = (
        f"regression_1d({name!r}, n, noise, *, rng, x_range): {synthetic.TARGETS[name].description}"
    )
    return factory


#: name -> factory returning a :class:`~tinylens.data.dataset.Dataset`
DATASETS: dict[str, Callable[..., Dataset]] = {
    # 1-D regression curves
    "sine": synthetic.sine,
    "polynomial": synthetic.polynomial,
    "abs": _target("abs"),
    "rough": _target("rough"),
    # 2-D classification
    "spiral": synthetic.spiral,
    "xor": synthetic.xor,
    "moons": synthetic.moons,
    # arithmetic regression tasks
    "identity": arithmetic.identity,
    "negative_identity": arithmetic.negative_identity,
    "add": arithmetic.add,
    "sum": arithmetic.add,
    "subtract": arithmetic.subtract,
    "difference": arithmetic.subtract,
    "weighted_sum": arithmetic.weighted_sum,
    "product": arithmetic.product,
    "min": arithmetic.minimum,
    "max": arithmetic.maximum,
    "less_than": arithmetic.less_than,
    "is_even": arithmetic.is_even,
    "parity": arithmetic.parity,
    # images
    "mnist": load_mnist,
    "digits": digits,
}


def load_dataset(name: str, **params: Any) -> Dataset:
    """Build the dataset ``name`` from :data:`DATASETS` with keyword ``params``.

    Raises
    ------
    UnknownNameError
        ``name`` is not in :data:`DATASETS` (the message suggests close matches).
    ConfigError
        A parameter the factory does not accept, or a required one that is missing.
    """
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, DATASETS)
    factory = DATASETS[name]
    signature = inspect.signature(factory)
    accepted = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    for key in params:
        if key not in accepted:
            hint = did_you_mean(key, accepted)
            takes = ", ".join(accepted) if accepted else "no parameters"
            raise ConfigError(
                f"dataset {name!r} does not accept parameter {key!r}{hint}; it takes {takes}"
            )
    for p in signature.parameters.values():
        if p.default is p.empty and p.name not in params:
            raise ConfigError(f"dataset {name!r} needs parameter {p.name!r}")
    return factory(**params)
