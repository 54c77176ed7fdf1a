"""Figures and tables inline in a notebook cell (the ``_repr_html_`` of the optimizer and
topology results).

>>> html_table(["optimizer", "accuracy"], [["adam", 0.96], ["<sgd>", 0.87]])
'<table><tr><th>optimizer</th><th>accuracy</th></tr><tr><td>adam</td><td>0.96</td></tr><tr><td>&lt;sgd&gt;</td><td>0.87</td></tr></table>'
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from tinylens.viz.display import figure_img  # one inline-PNG helper for every result

__all__ = ["figure_img", "html_table"]


def html_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """A small HTML table, every cell escaped."""

    def cells(tag: str, row: Sequence[Any]) -> str:
        return "".join(f"<{tag}>{html.escape(str(v))}</{tag}>" for v in row)

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return f"<table><tr>{cells('th', header)}</tr>{body}</table>"
