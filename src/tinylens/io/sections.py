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

__all__ = ["Figure", "Section", "Table", "read_sections"]


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
        return cls(**d)

    def with_prefix(self, prefix: str) -> Section:
        """A copy whose figure paths are under ``prefix/`` (to embed a sub-run's section)."""
        new = Section.from_dict(self.to_dict())
        for f in new.figures:
            f.path = f"{prefix}/{f.path}"
        return new


def read_sections(run_dir: str | Path) -> tuple[str, list[Section]]:
    """``(title, sections)`` from ``run_dir/report.json`` (empty if there is none)."""
    path = Path(run_dir) / "report.json"
    if not path.exists():
        return "", []
    data = json.loads(path.read_text())
    return data.get("title", ""), [Section.from_dict(s) for s in data.get("sections", [])]
