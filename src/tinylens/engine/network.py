"""Networks: :class:`Sequential` (any stack of engine modules) and :func:`MLP`.

The code lives in :mod:`tinylens.engine.sequential` (the container and its hooks) and
:mod:`tinylens.engine.builders` (``MLP``, ``small_cnn``, ``build_module``); this module keeps
the old import path.

>>> import numpy as np
>>> net = MLP([2, 3, 1], rng=np.random.default_rng(0))
>>> net.hook_names
['layers.0', 'layers.1', 'layers.2']
>>> net.forward(np.zeros((4, 2))).shape
(4, 1)
"""

from tinylens.engine.builders import MLP, MODULE_TYPES, build_module, small_cnn
from tinylens.engine.sequential import Sequential

__all__ = ["MLP", "MODULE_TYPES", "Sequential", "build_module", "small_cnn"]
