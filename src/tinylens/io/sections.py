"""Report sections: what a study wants its report to show, stored as ``report.json``.

Studies build :class:`Section` objects and add them to their run directory
(:meth:`tinylens.io.RunDir.add_section`); :mod:`tinylens.report` renders them as HTML. Keeping
the schema here, at the bottom of the package, lets studies describe their report without
importing the renderer, which sits above them.

Paths in a section are relative to the directory holding ``report.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Figure", "Section", "Table", "format_number", "read_sections"]


@dataclass
class Figure:
    """Something to show, and its caption.

    ``kind`` is ``"image"`` (a PNG/SVG file), ``"html"`` (an HTML fragment file, inlined), or
    ``"widget"``: an interactive chart drawn offline by the report's own JavaScript from the
    JSON file at ``path``; ``widget`` names its type (``"frames-chart"``, ``"regions-map"``,
    ``"circuit"``; schemas in ``tinylens/report/assets/widgets.js``).
    """

    path: str
    caption: str = ""
    kind: str = "image"
    widget: str = ""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class Section:
    """One study's part of a report.

    Attributes
    ----------
    id : str
        Anchor name (``"basis"``).
    title : str
    summary : str
        A paragraph (plain text) saying what was done and what it shows.
    metrics : dict
        Key numbers by label (``{"test accuracy": 0.948}``).
    figures, tables : lists
    config : dict
        The resolved configuration that produced the section.
    notes : list of str
        Caveats (offline data substituted, an unfair comparison, ...).
    """

    id: str
    title: str
    summary: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        d = dict(d)
        d["figures"] = [Figure(**f) for f in d.get("figures", [])]
        d["tables"] = [Table(**t) for t in d.get("tables", [])]
        return cls(**d)  # unknown or missing keys: TypeError

    def with_prefix(self, prefix: str) -> Section:
        """A copy whose figure paths are under ``prefix/`` (to embed a sub-run's section)."""
        new = Section.from_dict(self.to_dict())
        for f in new.figures:
            f.path = f"{prefix}/{f.path}"
        return new


MAX_REPORT_BYTES = 64 * 2**20
"""Largest ``report.json`` read (64 MiB; our own choice: real reports are a few kB to a few MB)."""


def format_number(value: float) -> str:
    """How a report prints a float in a table cell (and how captions quote the same number):
    4 significant digits, scientific notation below 1e-3 or from 1e6 on."""
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.3e}"
    return f"{value:.4g}"


def read_sections(run_dir: str | Path) -> tuple[str, list[Section]]:
    """``(title, sections)`` from ``run_dir/report.json`` (empty if there is none).

    A malformed file (not JSON, wrong types, unknown keys, too large, not a regular file) raises
    :class:`~tinylens.errors.ConfigError` naming what is wrong.
    """
    from tinylens.errors import ConfigError

    path = Path(run_dir) / "report.json"
    if not path.exists():
        return "", []
    where = f"{path} is not a valid tinylens report"
    if not path.is_file():
        raise ConfigError(f"{path} is not a regular file; a report.json must be one")
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise ConfigError(f"{where}: it is larger than {MAX_REPORT_BYTES // 2**20} MiB")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{where}: {str(exc)[:200]}; re-run the study to rewrite it") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sections", []), list):
        raise ConfigError(f"{where}: expected an object with a list of 'sections'")
    title = data.get("title", "")
    try:
        if not isinstance(title, str):
            raise TypeError("'title' must be a string")
        return title, [_section_from(s) for s in data.get("sections", [])]
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{where}: {str(exc)[:200]}; re-run the study to rewrite it") from None


_TEXT = {"id", "title", "summary"}


def _section_from(d: object) -> Section:
    """A :class:`Section` from one entry of ``report.json``, every field's type checked."""
    if not isinstance(d, dict):
        raise TypeError(f"a section must be an object, got {type(d).__name__}")
    s = Section.from_dict(d)
    for name in _TEXT:
        if not isinstance(getattr(s, name), str):
            raise TypeError(f"section field {name!r} must be a string")
    if not isinstance(s.metrics, dict) or not isinstance(s.config, dict):
        raise TypeError("section 'metrics' and 'config' must be objects")
    if not all(isinstance(n, str) for n in s.notes):
        raise TypeError("section 'notes' must be a list of strings")
    for f in s.figures:
        if not all(isinstance(v, str) for v in (f.path, f.caption, f.kind, f.widget)):
            raise TypeError("figure 'path', 'caption', 'kind' and 'widget' must be strings")
    for t in s.tables:
        if not (isinstance(t.columns, list) and isinstance(t.rows, list)):
            raise TypeError("table 'columns' and 'rows' must be lists")
        if not all(isinstance(r, list) for r in t.rows):
            raise TypeError("every table row must be a list")
    return s
