"""Reports: a run directory's sections rendered as one offline HTML page."""

from tinylens.report.html import render_html, render_run

__all__ = ["render_html", "render_run"]
