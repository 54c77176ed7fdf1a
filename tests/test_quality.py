"""House rules checked by the test suite: lint, format, architecture, types, import hygiene."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed; install the test extras: pip install -e '.[test]'")
    return path


def check(cmd: list[str]) -> None:
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"


def test_ruff_check():
    check([tool("ruff"), "check", "."])


def test_ruff_format():
    check([tool("ruff"), "format", "--check", "."])


def test_import_contracts():
    check([tool("lint-imports")])


def test_mypy_on_the_engine():
    check([sys.executable, "-m", "mypy"])


def test_importing_tinylens_defines_names_only():
    code = (
        "import sys, tinylens, tinylens.engine, tinylens.data, tinylens.io, tinylens.training;"
        "bad = [m for m in ('torch', 'matplotlib', 'sklearn', 'scipy') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
