"""Headless Chromium for report tests: Debian's /usr/bin/chromium driven by Playwright.

Tests using :func:`open_page` skip when no browser is installed, unless the environment sets
``TINYLENS_REQUIRE_BROWSER=1`` (CI does), in which case a missing browser fails the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    for cand in (os.environ.get("TINYLENS_CHROMIUM"), "/usr/bin/chromium", "chromium"):
        if cand and (Path(cand).exists() or shutil.which(cand)):
            return shutil.which(cand) or cand
    return None


def require_browser() -> tuple[Any, str]:
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if path is None or sync_playwright is None:
        reason = "no Chromium (apt-get install chromium) or no playwright (pip install playwright)"
        if os.environ.get("TINYLENS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright, path


@contextlib.contextmanager
def open_page(html_path: Path, **viewport: int) -> Iterator[tuple[Any, list[str]]]:
    """Open ``html_path`` from file:// and yield ``(page, errors)`` (console errors and page
    exceptions collected as they happen)."""
    sync_playwright, path = require_browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={
                    "width": viewport.get("width", 1100),
                    "height": viewport.get("height", 900),
                }
            )
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html_path.resolve().as_uri())
            page.wait_for_load_state("load")
            yield page, errors
        finally:
            browser.close()
