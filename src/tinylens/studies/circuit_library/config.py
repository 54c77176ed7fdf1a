"""The settings of the circuit-library report (``tinylens circuits list --out``): which
circuits to draw, and whether to compile their expressions beside them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tinylens.circuits import CIRCUITS, get_circuit
from tinylens.errors import ConfigError, reject_unknown_keys

__all__ = ["LibraryConfig"]


@dataclass(frozen=True)
class LibraryConfig:
    """Which circuits to show (``None``: all of them, with their default parameters)."""

    names: tuple[str, ...] | None = None
    compile: bool = True

    def __post_init__(self) -> None:
        for name in self.names or ():
            if name not in CIRCUITS:
                get_circuit(name)  # raises UnknownNameError with suggestions (aliases work)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names) if self.names else None, "compile": self.compile}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> LibraryConfig:
        """Build from :meth:`to_dict`'s layout; an unknown key is an error.

        >>> LibraryConfig.from_dict({"names": ["min"], "compile": False})
        LibraryConfig(names=('min',), compile=False)
        """
        d = dict(d or {})
        reject_unknown_keys(d, [f.name for f in dataclasses.fields(cls)], "library setting")
        names = d.get("names")
        if names is not None:
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                raise ConfigError(f"names must be a list of circuit names, not {names!r}")
            d["names"] = tuple(names)
        return cls(**d)
