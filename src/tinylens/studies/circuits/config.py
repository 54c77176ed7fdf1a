"""The settings of the circuits studies, one frozen dataclass per ``tinylens circuits`` command.

The defaults live here once; the command line reads them from these classes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from tinylens.circuits.exact import MAX_BOX_WORK
from tinylens.circuits.readback import MAX_EXACT_CELLS, MAX_TERMS
from tinylens.errors import ConfigError, reject_unknown_keys

__all__ = [
    "MAX_DIGITS",
    "CompileConfig",
    "ExplainConfig",
    "ListConfig",
    "MinimalConfig",
    "ShowConfig",
]

MAX_DIGITS = 30
"""Most decimals ``explain --digits`` keeps (a float64 weight has 17 significant digits; beyond
that, --exact is the honest choice)."""


class _Settings:
    """``from_dict`` (unknown keys rejected, with a suggestion) and ``to_dict``."""

    what: ClassVar[str] = "circuits"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        if not isinstance(d, dict):
            raise ConfigError(f"the {cls.what} settings must be a mapping, got {d!r}")
        reject_unknown_keys(d, [f.name for f in fields(cls)], f"{cls.what} setting")  # type: ignore[arg-type]
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True)
class ListConfig(_Settings):
    """``circuits list``: every library entry; ``sizes`` also compiles each expression."""

    what: ClassVar[str] = "circuits list"
    sizes: bool = False


@dataclass(frozen=True)
class ShowConfig(_Settings):
    """``circuits show``: one library entry, ``params`` as ``KEY=VALUE`` texts."""

    what: ClassVar[str] = "circuits show"
    name: str = ""
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("give a library name (see 'tinylens circuits list')")
        object.__setattr__(self, "params", tuple(self.params))


@dataclass(frozen=True)
class CompileConfig(_Settings):
    """``circuits compile``: an expression, its domain (``x=0..15`` integers or ``x=-1:1``
    reals; None: no domain), and whether to verify the network on the whole domain;
    ``max_work`` bounds the exact check on a real box (issue 17, :data:`MAX_BOX_WORK`)."""

    what: ClassVar[str] = "circuits compile"
    expression: str = ""
    domain: str | None = None
    verify: bool = False
    max_work: int = MAX_BOX_WORK


@dataclass(frozen=True)
class ExplainConfig(_Settings):
    """``circuits explain``: a weights file read back as a formula on ``box`` (None: the
    domain stored in the file, else -1:1 per input). ``digits``: decimals kept, None for
    exact, ``"auto"`` for 2 on float networks and exact on compiled ones. ``compare``: a
    library name, an expression or a weights file. ``max_cells``: above this many linear
    pieces the unit status comes from interval bounds and the error from a grid;
    ``max_terms``: the largest formula read back (issue 17: above it, one line naming
    ``--max-terms``; see :data:`tinylens.circuits.readback.explain.MAX_TERMS`)."""

    what: ClassVar[str] = "circuits explain"
    model: str = ""
    box: str | None = None
    digits: int | str | None = "auto"
    compare: str | None = None
    max_cells: int = MAX_EXACT_CELLS
    max_terms: int = MAX_TERMS

    def __post_init__(self) -> None:
        d = self.digits
        if d not in ("auto", None) and (
            not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= MAX_DIGITS
        ):
            raise ConfigError(
                f"digits must be 'auto', None or a number of decimals from 0 to {MAX_DIGITS}, "
                f"got {d!r}"
            )


@dataclass(frozen=True)
class MinimalConfig(_Settings):
    """``circuits minimal``: the smallest one-hidden-layer network of ``target`` (a library
    name or an expression) on ``domain``, widths up to ``max_width``, unit weights bounded by
    ``bound`` (``|v| |w|``), ``time_limit`` seconds per MILP; ``table``: the size table of the
    library's small functions instead (``slow`` adds the slow is_even MILPs). The bound 8 and
    the 20 s limit are our own choices."""

    what: ClassVar[str] = "circuits minimal"
    target: str | None = None
    domain: str | None = None
    max_width: int = 8
    bound: float = 8.0
    time_limit: float = 20.0
    table: bool = False
    slow: bool = False

    def __post_init__(self) -> None:
        if not self.table and not self.target:
            raise ConfigError("give a target (a library name or an expression), or --table")
