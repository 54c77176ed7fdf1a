"""Type aliases for what tinylens's public functions accept.

>>> import numpy as np
>>> from tinylens.typing import Seed
>>> isinstance(np.random.default_rng(0), Seed.__args__[0])
True

* :data:`Seed`: an ``rng`` or ``seed`` argument: a ``numpy.random.Generator`` (used as is), an
  int seed (>= 0) or None (fresh entropy).
* :data:`ModelLike`: a network to analyse: an engine :class:`~tinylens.engine.Sequential`, a
  :class:`~tinylens.engine.AffineNet`, or a ``torch.nn.Module`` (torch is imported only by
  functions that receive one).
* :data:`DataLike`: data to train or evaluate on: a :class:`~tinylens.data.Dataset` or an
  ``(X, y)`` pair of arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, Union

from numpy.typing import ArrayLike

from tinylens.engine.init import Seed

if TYPE_CHECKING:  # pragma: no cover - names for the type checker only
    import torch

    from tinylens.data import Dataset
    from tinylens.engine import AffineNet, Sequential

__all__ = ["DataLike", "ModelLike", "Seed"]

ModelLike: TypeAlias = Union["Sequential", "AffineNet", "torch.nn.Module"]
DataLike: TypeAlias = Union["Dataset", tuple[ArrayLike, ArrayLike]]
