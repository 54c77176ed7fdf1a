"""The exceptions tinylens raises for mistakes a user can fix.

Every error a user can cause derives from :class:`TinylensError`. Its message is one line that
names the offending value and says how to fix it; the command line prints that line and exits
with code 2, with no traceback. Anything else that escapes is a bug in tinylens.

This module imports nothing, so every layer (the NumPy engine included) may use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "DivergenceError",
    "ShapeError",
    "TinylensError",
    "UnknownNameError",
    "WeightsFileError",
    "close_matches",
]


class TinylensError(Exception):
    """Base class of every error caused by user input (shapes, names, files, configs)."""


class ShapeError(TinylensError, ValueError):
    """An array has the wrong shape, e.g. ``input has 3 features; the network expects 2``."""


class ConfigError(TinylensError, ValueError):
    """A configuration value, flag or expression is malformed or out of range."""


class UnknownNameError(ConfigError, KeyError):
    """A name (activation, optimizer, dataset, hook point, ...) is not one tinylens knows."""

    def __init__(self, kind: str, name: object, known: Iterable[str]) -> None:
        known = sorted(known)
        near = close_matches(str(name), known)
        message = f"unknown {kind} {name!r}; expected one of {', '.join(known)}"
        if near:
            message += f" (did you mean {' or '.join(repr(n) for n in near)}?)"
        super().__init__(message)
        self.kind, self.name, self.known = kind, name, known

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class DataError(TinylensError, ValueError):
    """Data is missing, corrupt, non-finite or inconsistent (e.g. a failed MNIST checksum)."""


class WeightsFileError(TinylensError, ValueError):
    """A weights file is missing, truncated, corrupt, tampered with or of an unknown format."""


class DivergenceError(TinylensError, FloatingPointError):
    """Training produced a NaN or infinite loss or weight.

    ``epoch`` and ``step`` say where (1-based epoch, 0-based step within it); ``history`` holds
    what was recorded before; the network holds the last good weights (see ``restored_epoch``).
    """

    def __init__(
        self,
        message: str,
        *,
        epoch: int,
        step: int,
        history: object = None,
        restored_epoch: int | None = None,
    ) -> None:
        super().__init__(message)
        self.epoch, self.step = epoch, step
        self.history, self.restored_epoch = history, restored_epoch


def close_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``known`` that look like ``name`` (for "did you mean")."""
    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)
