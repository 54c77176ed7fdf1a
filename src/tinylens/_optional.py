"""Optional dependencies: import one, or raise one line naming the ``pip install`` that brings it.

The core install is what ``tinylens demo`` needs. UMAP (umap-learn, with numba and llvmlite),
Dask's distributed scheduler and pandas are extras; asking for them without the extra raises
:class:`MissingExtraError`: a :class:`~tinylens.errors.ConfigError`, which the command line prints
as one line (exit code 2), and an :class:`ImportError`, which is what it is.

>>> import math
>>> require("math", extra="all", feature="this example") is math
True
>>> require("no_such_module_xyz", extra="umap", feature="method='umap'")
Traceback (most recent call last):
...
tinylens._optional.MissingExtraError: method='umap' needs no_such_module_xyz, which is not \
installed; run: pip install 'tinylens[umap]'

Every result's ``to_pandas()`` imports pandas through :func:`require_pandas`, so that all of
them say the same thing when it is missing.

This module imports nothing but the standard library and :mod:`tinylens.errors`, so every layer
may use it.
"""

from __future__ import annotations

import sys
from types import ModuleType

from tinylens.errors import ConfigError

__all__ = ["EXTRAS", "PIP_NAMES", "MissingExtraError", "require", "require_pandas"]

# The extras of pyproject.toml that bring an optional module, by the module's import name.
EXTRAS = {"umap": "umap", "distributed": "dask", "dask": "dask", "pandas": "notebook"}
# Where the import name differs from the name pip installs.
PIP_NAMES = {"umap": "umap-learn", "distributed": "dask[distributed]"}


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install``."""


def require(module: str, *, extra: str | None = None, feature: str = "this") -> ModuleType:
    """The imported ``module``, or :class:`MissingExtraError` saying which extra installs it.

    ``extra`` defaults to the one :data:`EXTRAS` names for the module's top-level package.
    """
    try:
        __import__(module)  # as an import statement does (import hooks, a None in sys.modules)
        return sys.modules[module]
    except ImportError:
        pass
    top = module.split(".")[0]
    extra = extra or EXTRAS.get(top, "all")
    raise MissingExtraError(
        f"{feature} needs {PIP_NAMES.get(top, top)}, which is not installed; "
        f"run: pip install 'tinylens[{extra}]'"
    ) from None


def require_pandas(alternative: str = "to_dict()") -> ModuleType:
    """pandas, for a result's ``to_pandas()``; without it, the one message every result gives,
    naming the extra and ``alternative``, what gives the same table without pandas.

    >>> import sys
    >>> saved, sys.modules["pandas"] = sys.modules.get("pandas"), None  # as if not installed
    >>> require_pandas("summary(), a dict")
    Traceback (most recent call last):
    ...
    tinylens._optional.MissingExtraError: to_pandas() (or use summary(), a dict) needs pandas, \
which is not installed; run: pip install 'tinylens[notebook]'
    >>> del sys.modules["pandas"]
    >>> sys.modules.update({} if saved is None else {"pandas": saved})
    """
    return require("pandas", feature=f"to_pandas() (or use {alternative})")
