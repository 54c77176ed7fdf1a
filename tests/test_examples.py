"""The scripts in examples/ run from start to finish (they assert their own results)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    env = {**os.environ, "TINYLENS_QUIET": "1", "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, f"{script.name} failed:\n{out.stdout}\n{out.stderr}"
    assert not list(tmp_path.iterdir()), "examples must not leave files behind"
