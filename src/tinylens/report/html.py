"""Render a run directory's ``report.json`` as ``index.html`` (offline: no CDN, no network).

Images are referenced by relative path, so the run directory can be moved or zipped whole and
still opens from ``file://``. Interactive fragments (``Figure.kind == "html"``) are inlined.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from pathlib import Path
from typing import Any

from tinylens.io.atomic import atomic_write_text
from tinylens.io.sections import Section, Table, format_number, read_sections

__all__ = ["render_html", "render_run"]

_CSS = """
:root { --fg: #1d2330; --muted: #5b6477; --line: #dde2ea; --accent: #2f5fd0; --bg: #fbfcfe; }
* { box-sizing: border-box; }
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
header { padding: 28px 40px 12px; border-bottom: 1px solid var(--line); background: #fff; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
nav { padding: 8px 40px; background: #fff; border-bottom: 1px solid var(--line); }
nav a { margin-right: 18px; color: var(--accent); text-decoration: none; font-weight: 500; }
main { padding: 8px 40px 60px; max-width: 1200px; }
section { margin: 28px 0 40px; }
h2 { font-size: 21px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
.metrics { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.metric { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px;
          min-width: 140px; }
.metric .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.metric .k { color: var(--muted); font-size: 12.5px; }
figure { margin: 14px 0; background: #fff; border: 1px solid var(--line); border-radius: 8px;
         padding: 10px; display: inline-block; max-width: 100%; vertical-align: top; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 760px; }
table { border-collapse: collapse; margin: 10px 0; background: #fff; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left;
         font-variant-numeric: tabular-nums; vertical-align: top; }
th { background: #f1f4f9; } td.num { text-align: right; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 6px 12px; margin: 8px 0; }
details { margin: 10px 0; } summary { cursor: pointer; color: var(--muted); }
pre { background: #f4f6fa; padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 12.5px; }
.table-title { font-weight: 600; margin-top: 16px; }
"""


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return format_number(value)
    return html.escape(str(value))


def _cell(value: Any) -> str:
    """A table cell: numbers right-aligned in tabular figures, text left-aligned."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"<td class='num'>{_fmt(value)}</td>" if numeric else f"<td>{_fmt(value)}</td>"


def _table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in t.rows)
    note = f"<div class='note'>{html.escape(t.note)}</div>" if t.note else ""
    return (
        f"<div class='table-title'>{html.escape(t.title)}</div>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    )


_ASSETS = Path(__file__).parent / "assets"


def inside(root: Path, relpath: str, *, must_exist: bool = True) -> Path:
    """``root/relpath`` resolved (symlinks followed), refused unless it is a regular file inside
    ``root``: a report reads only its own run directory's files, so rendering someone else's run
    directory cannot paste ``/etc/hostname`` or ``../../secret`` into the page."""
    from tinylens.errors import ConfigError

    base = root.resolve()
    target = (base / relpath).resolve()
    if not target.is_relative_to(base) or target == base:
        raise ConfigError(
            f"report.json names {relpath!r}, outside the run directory {root}; a report reads "
            "only files inside its run directory (re-run the study to rewrite report.json)"
        )
    if must_exist and not target.is_file():
        raise ConfigError(
            f"report.json names {relpath!r}, which is not a file in the run directory {root}"
        )
    return target


def _widget(f: Any, root: Path, caption: str) -> str:
    """An interactive widget: a placeholder div and its JSON, drawn by widgets.js."""
    from tinylens.errors import ConfigError

    data = _read_text(inside(root, f.path))
    try:
        json.loads(data)  # refuse to embed anything but valid JSON
    except (ValueError, RecursionError):
        raise ConfigError(f"widget data {f.path!r} in {root} is not valid JSON") from None
    spec_id = "spec-" + hashlib.sha1(f.path.encode()).hexdigest()[:10]
    # NOTE: "</" inside a <script> would end it early; "<\/" is the same JSON string.
    safe = data.replace("</", "<\\/")
    return (
        f"<figure class='interactive'><div class='tl-widget' data-kind='{html.escape(f.widget)}' "
        f"data-spec='{spec_id}'></div><script type='application/json' id='{spec_id}'>{safe}"
        f"</script>{caption}</figure>"
    )


def _read_text(path: Path) -> str:
    from tinylens.errors import ConfigError

    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; a report inlines only text files") from None


def _yaml(obj: Any) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=None)


def _section(s: Section, root: Path) -> str:
    parts = [f"<section id='{html.escape(s.id)}'><h2>{html.escape(s.title)}</h2>"]
    if s.summary:
        parts.append(f"<p>{html.escape(s.summary)}</p>")
    parts += [f"<div class='note'>{html.escape(n)}</div>" for n in s.notes]
    if s.metrics:
        cards = "".join(
            f"<div class='metric'><div class='v'>{_fmt(v)}</div>"
            f"<div class='k'>{html.escape(k)}</div></div>"
            for k, v in s.metrics.items()
        )
        parts.append(f"<div class='metrics'>{cards}</div>")
    for f in s.figures:
        cap = f"<figcaption>{html.escape(f.caption)}</figcaption>" if f.caption else ""
        if f.kind == "html":
            fragment = _read_text(inside(root, f.path))
            parts.append(f"<figure class='interactive'>{fragment}{cap}</figure>")
        elif f.kind == "widget":
            parts.append(_widget(f, root, cap))
        else:
            inside(root, f.path, must_exist=False)  # an <img> may only show the run's own files too
            alt = html.escape(f.caption or Path(f.path).stem)
            parts.append(f"<figure><img src='{html.escape(f.path)}' alt='{alt}'>{cap}</figure>")
    parts += [_table(t) for t in s.tables]
    if s.config:
        parts.append(
            f"<details><summary>configuration</summary><pre>{html.escape(_yaml(s.config))}"
            "</pre></details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_html(title: str, sections: list[Section], root: Path, subtitle: str = "") -> str:
    """The full HTML page for ``sections`` whose paths are relative to ``root``."""
    from tinylens import __version__

    nav = "".join(f"<a href='#{html.escape(s.id)}'>{html.escape(s.title)}</a>" for s in sections)
    body = "\n".join(_section(s, root) for s in sections)
    sub = html.escape(subtitle or f"tinylens {__version__}")
    widgets = any(f.kind == "widget" for s in sections for f in s.figures)
    css = _CSS + ((_ASSETS / "widgets.css").read_text() if widgets else "")
    script = f"<script>{(_ASSETS / 'widgets.js').read_text()}</script>" if widgets else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{sub}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>{script}</body></html>\n"
    )


def render_run(run_dir: str | Path) -> Path:
    """Write ``run_dir/index.html`` from ``run_dir/report.json``; returns its path."""
    root = Path(run_dir)
    title, sections = read_sections(root)
    page = render_html(title or f"tinylens run {root.name}", sections, root)
    return atomic_write_text(root / "index.html", page)
