"""What every command shares: the parser, common options, value parsers, run directories.

Only the standard library is imported here: ``tinylens --help`` must stay instant, so command
modules import numpy, torch and the studies inside their ``run`` functions.
"""

from __future__ import annotations

import argparse
import errno
import itertools
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
    "check_data_dir",
    "check_network_size",
    "emit",
    "finite_float",
    "float_list",
    "fraction",
    "int_between",
    "int_list",
    "key_values",
    "nonnegative_float",
    "nonnegative_int",
    "open_run",
    "positive_float",
    "positive_int",
    "seed_int",
]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


MAX_INT = 10**9
"""Largest count any option accepts (epochs, samples, seeds, widths...): our own bound, far above
any real use, so that a mistyped 99999999999999999999 is one clear line, not a MemoryError."""

MAX_SEED = 2**63 - 1
"""Largest seed: NumPy's generators take any integer >= 0; 2**63 - 1 keeps seeds int64."""


def _short(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def int_between(minimum: int, maximum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 30 else maximum + 1
        except ValueError:
            value = minimum - 1
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {_short(text)}")
        return value

    return parse


positive_int = int_between(1, MAX_INT, f"a positive integer up to {MAX_INT:,}")
nonnegative_int = int_between(0, MAX_INT, f"an integer from 0 to {MAX_INT:,}")
seed_int = int_between(0, MAX_SEED, "a seed: an integer >= 0 (below 2**63)")


def finite_float(text: str) -> float:
    """Any finite number (NaN and infinities are refused)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not abs(value) < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {_short(text)}")
    return value


def nonnegative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {_short(text)}")
    return value


def fraction(text: str) -> float:
    """A fraction in [0, 1) (a held-out share)."""
    value = finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {_short(text)}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {_short(text)}")
    return value


def int_list(text: str) -> tuple[int, ...]:
    """``"2,64,32,3"`` -> (2, 64, 32, 3)."""
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v and len(v) < 30)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 2,64,32,3, got {_short(text)}"
        ) from None
    if not values or any(not 1 <= v <= MAX_INT for v in values) or len(values) > 1000:
        raise argparse.ArgumentTypeError(
            f"expected up to 1000 positive integers up to {MAX_INT:,} like 2,64,32,3, "
            f"got {_short(text)}"
        )
    return values


MAX_PARAMETERS = 50_000_000
"""Largest network (weights and biases) a command builds: 50 million numbers, 400 MB in float64
(our own bound; the networks tinylens studies have thousands)."""


def check_network_size(sizes: tuple[int, ...] | list[int], option: str = "--arch") -> None:
    """Refuse widths whose network would not fit, before anything is allocated."""
    from tinylens.errors import ConfigError

    n = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    if n > MAX_PARAMETERS:
        raise ConfigError(
            f"{option} {','.join(map(str, sizes))} makes a network of {n:,} parameters, more "
            f"than the {MAX_PARAMETERS:,} tinylens builds; use narrower layers"
        )


def float_list(text: str) -> tuple[float, ...]:
    """``"-1,1,-2,2"`` -> (-1.0, 1.0, -2.0, 2.0)."""
    try:
        values = tuple(finite_float(v) for v in text.replace(" ", "").split(",") if v)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like -1,1 (finite), got {_short(text)}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {_short(text)}")
    return values


def key_values(pairs: list[str] | None) -> dict[str, Any]:
    """``["n=500", "noise=0.3"]`` -> {"n": 500, "noise": 0.3} (values parsed as YAML scalars)."""
    from tinylens.errors import ConfigError
    from tinylens.io.files import load_yaml_text

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}")
        out[key.strip()] = load_yaml_text(value, f"the value of {key.strip()!r}")
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


def check_data_dir(dataset: str | None, data_dir: str | None) -> None:
    """Refuse ``--data-dir`` where it would be ignored or cannot be read: only the image
    datasets (mnist, digits) read it, and it must be a directory."""
    if data_dir is None:
        return
    from tinylens.data import IMAGE_DATASETS
    from tinylens.errors import ConfigError

    if dataset not in IMAGE_DATASETS:
        raise ConfigError(
            f"--data-dir is read only for {', '.join(sorted(IMAGE_DATASETS))}, not for "
            f"{dataset!r}; leave it out"
        )
    if not Path(data_dir).is_dir():
        raise ConfigError(
            f"--data-dir {data_dir[:80]!r} is not a directory; give the directory holding the "
            "MNIST IDX files"
        )


def add_common(parser: argparse.ArgumentParser, *, seed: int | None = 0) -> None:
    """The options every study command has: --out, --seed, --force, --quiet, --json."""
    g = parser.add_argument_group("common options")
    g.add_argument("--out", metavar="DIR", help="run directory (default: runs/<command>-<time>)")
    if seed is not None:
        g.add_argument("--seed", type=seed_int, default=seed, help=f"random seed (default {seed})")
    g.add_argument("--force", action="store_true", help="replace an existing output directory")
    g.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    g.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def default_out(command: str) -> Path:
    return Path("runs") / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"


@contextmanager
def open_run(args: argparse.Namespace, command: str, *, resumable: bool = False) -> Iterator[Any]:
    """A :class:`~tinylens.io.RunDir` for ``--out`` (checked before any work starts).

    On success the report is rendered and the run moved into place; on error nothing
    replaces an earlier run, and the unfinished files are removed. ``resumable`` keeps what an
    interrupted run with the same ``--out`` left behind (its checkpoint), unless ``--force`` asks
    to start over, or the disk filled up (the files would keep it full).
    """
    from tinylens.io import RunDir
    from tinylens.report import render_run

    force = getattr(args, "force", False)
    out = Path(args.out) if getattr(args, "out", None) else default_out(command)
    run = RunDir(out, force=force, resume=resumable and not force)
    try:
        yield run
        if (run.work / "report.json").exists():
            render_run(run.work)
        run.finish()
    except BaseException as exc:
        if not resumable or _out_of_space(exc):
            run.discard()
        raise
    finally:
        run.close()  # the lock on --out goes, finished or not


def _out_of_space(exc: BaseException | None) -> bool:
    """Whether a full disk (or quota) is anywhere in the chain of ``exc``'s causes."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


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
