"""The ``tinylens`` command.

Commands are discovered: every module of :mod:`tinylens.cli` that defines ``register(subparsers)``
adds a subcommand (``ORDER`` sorts them in the help). A command module parses its options, calls
one study, and writes files. User mistakes (:class:`~tinylens.errors.TinylensError`) print one
line and exit with code 2; a traceback means a bug in tinylens.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
import sys
import warnings
from collections.abc import Iterator, Sequence

from tinylens.cli.common import Parser

__all__ = ["build_parser", "main"]

_SKIP = {"main", "common"}


def _command_modules() -> list[object]:
    import tinylens.cli as package

    mods = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"tinylens.cli.{info.name}")
        if hasattr(mod, "register"):
            mods.append(mod)
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> Parser:
    from tinylens import __version__

    parser = Parser(
        prog="tinylens",
        description="A microscope for small neural networks.",
        epilog="Run 'tinylens COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"tinylens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for mod in _command_modules():
        mod.register(sub)  # type: ignore[attr-defined]
    return parser


_UNDERSCORE_OPTION = re.compile(r"^(--[a-z0-9]+(?:_[a-z0-9]+)+)(=.*)?$")


# A value that starts with a minus sign and is more than one number: a list ("-1,1,-2,2") or a
# range ("-3..3", "-1:1", "-3..3,y=0..2"). argparse takes it for an option and fails ("expected
# one argument"), so it is attached to the option before it. A plain "-1" argparse handles.
_NEGATIVE_LIST = re.compile(r"^-\.?\d[\w.+=-]*([,:]|\.\.)[\w.,:+=-]*$")


def normalise_argv(argv: Sequence[str]) -> list[str]:
    """Accept ``--hidden_dim`` for ``--hidden-dim`` (the spelling of our source projects),
    ``--box -1,1,-1,1`` for ``--box=-1,1,-1,1`` and ``--domain -3..3`` for ``--domain=-3..3``."""
    out: list[str] = []
    for token in argv:
        if out and _NEGATIVE_LIST.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
            continue
        m = _UNDERSCORE_OPTION.match(token)
        out.append(m.group(1).replace("_", "-") + (m.group(2) or "") if m else token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from tinylens.errors import TinylensError

    args_list = normalise_argv(sys.argv[1:] if argv is None else argv)
    empty = _empty_option(args_list)
    if empty:
        print(
            f"tinylens: error: {empty} was given an empty value; give a value or leave the "
            "option out",
            file=sys.stderr,
        )
        return 2
    parser = build_parser()
    args = parser.parse_args(args_list)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not args_list else 2
    with _one_line_warnings(args.command) as deferred:
        try:
            code = int(args.func(args) or 0)
        except TinylensError as exc:
            print(f"tinylens {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("tinylens: interrupted", file=sys.stderr)
            return 130
        except RecursionError:
            print(
                f"tinylens {args.command}: error: the input is nested too deeply to process; "
                "simplify it",
                file=sys.stderr,
            )
            return 2
        except OSError as exc:  # the environment: a full disk, a read-only or vanished path
            where = f" ({exc.filename})" if exc.filename else ""
            print(
                f"tinylens {args.command}: error: {exc.strerror or exc}{where}; check the path "
                "and free space, or choose another --out",
                file=sys.stderr,
            )
            return 2
        except MemoryError:
            print(
                f"tinylens {args.command}: error: out of memory; use a smaller problem "
                "(fewer samples, a smaller network or domain)",
                file=sys.stderr,
            )
            return 2
        for line in deferred:
            print(line, file=sys.stderr)
        return code


def _empty_option(argv: list[str]) -> str | None:
    """The first option given an empty value (``--out ""`` or ``--out=``): argparse takes it,
    and "" then reads as "not given" (a default output directory, a default optimizer)."""
    for i, token in enumerate(argv):
        if token == "--":
            return None
        if token.startswith("--") and token.endswith("=") and len(token) > 3:
            return token[:-1]
        if token.startswith("--") and "=" not in token and i + 1 < len(argv) and not argv[i + 1]:
            return token
    return None


MAX_MESSAGE = 500
"""Longest error line printed (characters): a message quoting a huge value (an alias bomb's
expansion) is cut, so an error is always one readable line."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 5] + " ..."


@contextlib.contextmanager
def _one_line_warnings(command: str) -> Iterator[list[str]]:
    """Warnings become one ``warning:`` line each. NumPy's RuntimeWarnings (overflow in a
    diverging run) are held back and printed only if the command succeeds: when it fails,
    its one error line says what went wrong."""
    from tinylens.errors import UnverifiedWeightsWarning

    deferred: list[str] = []

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        text = f"tinylens {command}: warning: {_one_line(message)}"
        if issubclass(category, UnverifiedWeightsWarning) or not issubclass(
            category, RuntimeWarning
        ):
            print(text, file=sys.stderr)
        elif text not in deferred:
            deferred.append(text)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield deferred


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
