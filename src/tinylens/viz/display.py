"""How a result shows itself: a short ``repr``, an HTML card for notebooks, a pandas table.

Every result a user gets from a public call builds its display from these four helpers, so all
of them look alike and none prints a whole array:

* :func:`short_repr` -- ``History(epochs=20, train_loss=0.0123, ...)``: key numbers, array
  shapes, at most :data:`MAX_REPR` characters;
* :func:`html_card` -- ``_repr_html_``: a title, the key numbers, a small table (first
  :data:`MAX_ROWS` rows) and one inline PNG figure;
* :func:`to_pandas` -- a ``pandas.DataFrame`` of a column table, or one line naming
  ``pip install 'tinylens[notebook]'`` when pandas is missing;
* :func:`figure_png` -- a figure as a base64 ``data:`` URI (closed figures are not kept).

>>> import numpy as np
>>> short_repr("Sweep", name="layers.1", accuracy=0.912345, units=np.zeros((12, 1)))
"Sweep(name='layers.1', accuracy=0.9123, units=array(12, 1))"
>>> card = html_card("Sweep", {"accuracy": 0.912345}, {"unit": [0, 1], "drop": [0.5, 0.25]})
>>> "<b>Sweep</b>" in card and "0.9123" in card and "<td>0.25</td>" in card
True
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinylens._optional import require_pandas
from tinylens.io.sections import format_number

__all__ = [
    "MAX_REPR",
    "MAX_ROWS",
    "figure_img",
    "figure_png",
    "format_value",
    "html_card",
    "html_table",
    "short_repr",
    "to_pandas",
]

# A repr fits a line or two of a notebook; a card's table shows this many rows, then "... n more".
MAX_REPR = 300
MAX_ROWS = 10


def format_value(value: Any) -> str:
    """One value as a repr or a card shows it: floats to 4 significant digits (the reports'
    :func:`~tinylens.io.format_number`), arrays as their shape, strings quoted by ``repr``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return format_number(float(value)) if np.isfinite(value) else str(float(value))
    if isinstance(value, np.ndarray):
        return f"array({', '.join(str(n) for n in value.shape)})"
    if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
        return str(tuple(int(v) for v in value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return f"[{len(value)} items]"
    return repr(value)


def short_repr(type_name: str, /, **fields: Any) -> str:
    """``type_name(a=1, b=0.5)`` with :func:`format_value`; cut to :data:`MAX_REPR` characters."""
    text = f"{type_name}({', '.join(f'{k}={format_value(v)}' for k, v in fields.items())})"
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 4] + "...)"


def figure_png(fig: Any, dpi: int = 80, *, tight: bool = False) -> str:
    """``fig`` (a matplotlib Figure) as a ``data:image/png;base64,...`` URI (``tight``: cropped
    to what is drawn)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_img(fig: Any, dpi: int = 72, *, tight: bool = False, close: bool = False) -> str:
    """``fig`` as an ``<img>`` holding a base64 PNG, for a ``_repr_html_`` (``close``: close the
    figure afterwards, so that a notebook does not show it a second time)."""
    uri = figure_png(fig, dpi, tight=tight)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return f'<img src="{uri}"/>'


def _cell(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else format_value(value))


def html_table(table: Mapping[str, Sequence[Any]], max_rows: int = MAX_ROWS) -> str:
    """A column table (``{column: values}``, all of one length) as an escaped HTML table: the
    first ``max_rows`` rows, then a line saying how many more; numbers as :func:`format_value`
    writes them. The one HTML table of every result's card.

    >>> html_table({"optimizer": ["adam", "<sgd>", "it's"], "accuracy": [0.96, 0.87123, 1]}, 2)
    "<table><tr><th>optimizer</th><th>accuracy</th></tr><tr><td>adam</td><td>0.96</td></tr>\
<tr><td>&lt;sgd&gt;</td><td>0.8712</td></tr><tr><td colspan='2'>... 1 more rows</td></tr></table>"
    """
    columns = list(table)
    n = len(table[columns[0]]) if columns else 0
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(table[c][i])}</td>" for c in columns) + "</tr>"
        for i in range(min(n, max_rows))
    )
    more = f"<tr><td colspan='{len(columns)}'>... {n - max_rows} more rows</td></tr>"
    return f"<table><tr>{head}</tr>{body}{more if n > max_rows else ''}</table>"


def html_card(
    title: str,
    numbers: Mapping[str, Any],
    table: Mapping[str, Sequence[Any]] | None = None,
    figure: Any = None,
    *,
    max_rows: int = MAX_ROWS,
) -> str:
    """A notebook card: ``title`` in bold, ``numbers`` as a definition list, ``table`` (first
    ``max_rows`` rows) and ``figure`` (a matplotlib Figure, inlined as PNG)."""
    parts = [f"<div class='tinylens-card'><b>{html.escape(title)}</b>"]
    if numbers:
        items = "".join(f"<li>{html.escape(str(k))}: {_cell(v)}</li>" for k, v in numbers.items())
        parts.append(f"<ul>{items}</ul>")
    if table:
        parts.append(html_table(table, max_rows))
    if figure is not None:
        parts.append(f"<img src='{figure_png(figure)}' alt='{html.escape(title)}'/>")
    parts.append("</div>")
    return "".join(parts)


def to_pandas(table: Mapping[str, Sequence[Any]]) -> Any:
    """``pandas.DataFrame(table)``; without pandas, one line naming the install (and
    ``to_dict()``, which ``pandas.DataFrame`` accepts too)."""
    pd = require_pandas()
    return pd.DataFrame({k: list(v) for k, v in table.items()})
