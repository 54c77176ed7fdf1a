"""What every command shares: the parser, common options, value parsers, run directories.

Only the standard library is imported here: ``tinylens --help`` must stay instant, so command
modules import numpy, torch and the studies inside their ``run`` functions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "Parser",
    "add_common",
    "add_data_options",
    "emit",
    "float_list",
    "int_list",
    "key_values",
    "nonnegative_int",
    "open_run",
    "positive_float",
    "positive_int",
]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = _int_at_least(1, "a positive integer")
nonnegative_int = _int_at_least(0, "an integer >= 0")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def int_list(text: str) -> tuple[int, ...]:
    """``"2,64,32,3"`` -> (2, 64, 32, 3)."""
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 2,64,32,3, got {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers like 2,64,32,3, got {text!r}")
    return values


def float_list(text: str) -> tuple[float, ...]:
    """``"-1,1,-2,2"`` -> (-1.0, 1.0, -2.0, 2.0)."""
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like -1,1, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    return values


def key_values(pairs: list[str] | None) -> dict[str, Any]:
    """``["n=500", "noise=0.3"]`` -> {"n": 500, "noise": 0.3} (values parsed as YAML scalars)."""
    import yaml

    from tinylens.errors import ConfigError

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"cannot read the value of {pair!r}") from None
    return out


def add_data_options(
    parser: argparse.ArgumentParser,
    data_help: str,
    *,
    example: str,
    default: str | None = None,
    required: bool = False,
) -> None:
    """--data NAME, repeatable --data-param KEY=VALUE (read with :func:`key_values`) and
    --data-dir: the options of every command that loads a named dataset."""
    parser.add_argument("--data", default=default, required=required, help=data_help)
    parser.add_argument(
        "--data-param",
        action="append",
        metavar="KEY=VALUE",
        help=f"dataset parameter, repeatable (e.g. --data-param {example})",
    )
    parser.add_argument("--data-dir", help="directory with the MNIST IDX files (for --data mnist)")


def add_common(parser: argparse.ArgumentParser, *, seed: int | None = 0) -> None:
    """The options every study command has: --out, --seed, --force, --quiet, --json."""
    g = parser.add_argument_group("common options")
    g.add_argument("--out", metavar="DIR", help="run directory (default: runs/<command>-<time>)")
    if seed is not None:
        g.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    g.add_argument("--force", action="store_true", help="replace an existing output directory")
    g.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    g.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def default_out(command: str) -> Path:
    return Path("runs") / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"


@contextmanager
def open_run(args: argparse.Namespace, command: str, *, resumable: bool = False) -> Iterator[Any]:
    """A :class:`~tinylens.io.RunDir` for ``--out`` (checked before any work starts).

    On success the report is rendered and the run moved into place; on error nothing
    replaces an earlier run. ``resumable`` keeps what an interrupted run with the same ``--out``
    left behind (its checkpoint), unless ``--force`` asks to start over.
    """
    from tinylens.io import RunDir
    from tinylens.report import render_run

    force = getattr(args, "force", False)
    out = Path(args.out) if getattr(args, "out", None) else default_out(command)
    run = RunDir(out, force=force, resume=resumable and not force)
    yield run
    if (run.work / "report.json").exists():
        render_run(run.work)
    run.finish()


def emit(args: argparse.Namespace, summary: dict[str, Any], lines: list[str]) -> None:
    """Print the JSON summary (``--json``) or human-readable lines (unless ``--quiet``)."""
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(summary, default=_jsonable) + "\n")
    elif not getattr(args, "quiet", False):
        sys.stdout.write("\n".join(lines) + "\n")


def _jsonable(obj: object) -> object:
    if hasattr(obj, "tolist"):
        return obj.tolist()  # type: ignore[no-any-return]
    return str(obj)
