"""The exceptions tinylens raises for mistakes a user can fix.

Every error a user can cause derives from :class:`TinylensError`. Its message is one line that
names the offending value and says how to fix it; the command line prints that line and exits
with code 2, with no traceback. Anything else that escapes is a bug in tinylens.

This module imports nothing, so every layer (the NumPy engine included) may use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "ConfigError",
    "DataError",
    "DivergenceError",
    "ShapeError",
    "TinylensError",
    "UnknownNameError",
    "UnverifiedWeightsWarning",
    "WeightsFileError",
    "close_matches",
    "did_you_mean",
    "reject_unknown_keys",
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
        hint = did_you_mean(name, known)
        super().__init__(f"unknown {kind} {name!r}; expected one of {', '.join(known)}{hint}")
        self.kind, self.name, self.known = kind, name, known

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class DataError(TinylensError, ValueError):
    """Data is missing, corrupt, non-finite or inconsistent (e.g. a failed MNIST checksum)."""


class WeightsFileError(TinylensError, ValueError):
    """A weights file is missing, truncated, corrupt, tampered with or of an unknown format."""


class UnverifiedWeightsWarning(UserWarning):
    """A weights file was loaded whose checksum does not cover all of it: no checksum at all (a
    file written by another tool) or an older tinylens checksum over the tensors only. The
    command line prints it as one ``warning:`` line."""


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


def did_you_mean(name: object, known: Iterable[str], n: int = 3) -> str:
    """``" (did you mean 'a' or 'b'?)"`` with up to ``n`` entries of ``known`` that look like
    ``name``, or ``""`` when none does: the hint every unknown-name message ends its clause with.

    >>> did_you_mean("rleu", ["relu", "gelu", "tanh"], n=1)
    " (did you mean 'relu'?)"
    """
    near = close_matches(str(name), known, n=n)
    return f" (did you mean {' or '.join(repr(m) for m in near)}?)" if near else ""


def reject_unknown_keys(
    keys: Iterable[object], known: Sequence[str], what: str, listing: str = "known keys"
) -> None:
    """Raise :class:`ConfigError` for the first of ``keys`` not in ``known`` (a config file's
    typo is an error, never ignored): ``unknown {what} 'k' (did you mean ...); {listing}: ...``,
    listing ``known`` in the order given.

    >>> reject_unknown_keys(["epoch"], ["epochs", "lr"], "setting")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tinylens.errors.ConfigError: unknown setting 'epoch' (did you mean 'epochs'?); known keys: ...
    """
    for key in keys:
        if key not in known:
            raise ConfigError(
                f"unknown {what} {key!r}{did_you_mean(key, known, n=1)}; {listing}: "
                f"{', '.join(known)}"
            )
