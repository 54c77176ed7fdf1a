"""Reading the files a user names (config files, weights) without trusting them.

Only regular files are opened: a device such as ``/dev/zero`` would fill memory, and a named
pipe would wait forever for a writer, so both are refused before opening. YAML is read with a
cap on its size and on aliases: an "alias bomb" (``a: &a [x, x]``, ``b: &b [*a, *a]``, ...) is a
few hundred bytes that expand to gigabytes when traversed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from tinylens.errors import ConfigError, TinylensError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_YAML_ALIASES",
    "MAX_YAML_DEPTH",
    "load_yaml_text",
    "read_regular",
    "read_yaml",
]

MAX_CONFIG_BYTES = 4 * 2**20
"""Largest config file read (4 MiB; our own bound, real ones are under 10 kB)."""

MAX_YAML_ALIASES = 100
"""Most YAML aliases (``*name``) a config may use (our own bound; ours use none)."""

MAX_YAML_NODES = 1_000_000
"""Most values a YAML document may hold once its aliases are expanded."""


def read_regular(
    path: str | os.PathLike[str],
    what: str,
    *,
    error: type[TinylensError] = ConfigError,
    max_bytes: int | None = None,
) -> bytes:
    """The bytes of the regular file ``path``; ``error`` names ``what`` is wrong otherwise
    (missing, a directory, a device or pipe, unreadable, larger than ``max_bytes``)."""
    p = Path(path)
    where = f"{what} {os.fspath(p)}"
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{where} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {where}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{where} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{where} is not a regular file (a device, pipe or socket); give a file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise error(f"{where} is {st.st_size:,} bytes, more than the {max_bytes:,} read")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {where}: {exc.strerror}") from None


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """The YAML document in ``path`` (a regular UTF-8 file), or ConfigError in one line."""
    data = read_regular(path, what, max_bytes=MAX_CONFIG_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {os.fspath(path)} is not UTF-8 text (a binary file?)") from None
    if not text.strip():
        raise ConfigError(f"{what} {os.fspath(path)} is empty; it needs YAML settings")
    return load_yaml_text(text, f"{what} {os.fspath(path)}")


def load_yaml_text(text: str, where: str) -> Any:
    """``yaml.safe_load(text)`` with its aliases, expanded size and nesting bounded."""
    import yaml

    _check_nesting(text, where)
    try:
        aliases = sum(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text))
        if aliases > MAX_YAML_ALIASES:
            raise ConfigError(
                f"{where} uses {aliases} YAML aliases, more than {MAX_YAML_ALIASES}; write the "
                "values out (aliases can expand exponentially)"
            )
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{where} is not valid YAML{at}") from None
    except RecursionError:
        raise ConfigError(f"{where} is nested too deeply to read") from None
    _check_expanded_size(doc, where)
    return doc


MAX_YAML_DEPTH = 64
"""Deepest YAML nesting read (brackets, or indentation in spaces / 4; our own bound). PyYAML's
parser slows down quadratically with depth: 5,000 nested brackets take minutes."""


def _check_nesting(text: str, where: str) -> None:
    """Refuse deep nesting by a linear scan, before the parser sees it."""
    depth = deepest = 0
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    indent = max((len(ln) - len(ln.lstrip(" ")) for ln in text.splitlines()), default=0)
    if deepest > MAX_YAML_DEPTH or indent > 4 * MAX_YAML_DEPTH:
        raise ConfigError(
            f"{where} is nested more than {MAX_YAML_DEPTH} levels deep; write a flatter file"
        )


def _check_expanded_size(doc: Any, where: str) -> None:
    """Count values as a traversal would meet them (aliases counted each time), iteratively."""
    seen, stack = 0, [doc]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise ConfigError(
                f"{where} expands to more than {MAX_YAML_NODES:,} values (an alias bomb?); "
                "write a smaller file"
            )
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
