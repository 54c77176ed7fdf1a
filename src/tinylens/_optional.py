"""Optional dependencies: import one, or raise one line naming the ``pip install`` that brings it.

The core install is what ``tinylens demo`` needs. UMAP (umap-learn, with numba and llvmlite),
Dask's distributed scheduler and pandas are extras; asking for them without the extra raises a
:class:`~tinylens.errors.ConfigError`, which the command line prints as one line (exit code 2).

>>> import math
>>> require("math", extra="all", feature="this example") is math
True
>>> require("no_such_module_xyz", extra="umap", feature="method='umap'")
Traceback (most recent call last):
...
tinylens.errors.ConfigError: method='umap' needs no_such_module_xyz, which is not installed; \
run: pip install 'tinylens[umap]'

This module imports nothing but the standard library and :mod:`tinylens.errors`, so every layer
may use it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tinylens.errors import ConfigError

__all__ = ["EXTRAS", "PIP_NAMES", "require"]

# The extras of pyproject.toml that bring an optional module, by the module's import name.
EXTRAS = {"umap": "umap", "distributed": "dask", "dask": "dask", "pandas": "notebook"}
# Where the import name differs from the name pip installs.
PIP_NAMES = {"umap": "umap-learn", "distributed": "dask[distributed]"}


def require(module: str, *, extra: str | None = None, feature: str = "this") -> ModuleType:
    """The imported ``module``, or :class:`ConfigError` saying which extra installs it.

    ``extra`` defaults to the one :data:`EXTRAS` names for the module's top-level package.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    top = module.split(".")[0]
    extra = extra or EXTRAS.get(top, "all")
    raise ConfigError(
        f"{feature} needs {PIP_NAMES.get(top, top)}, which is not installed; "
        f"run: pip install 'tinylens[{extra}]'"
    ) from None
