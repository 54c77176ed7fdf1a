"""Optional dependencies (extras): asking for one without it installed is one line naming the
``pip install`` to run, raised as a ConfigError (so the command line prints it and exits 2)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from tinylens._optional import require
from tinylens.errors import ConfigError


def _hide(monkeypatch, *modules):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError


def test_umap_without_the_extra(monkeypatch):
    from tinylens.probes import embed

    _hide(monkeypatch, "umap")
    with pytest.raises(ConfigError) as info:
        embed(np.random.default_rng(0).normal(size=(20, 3)), method="umap")
    message = str(info.value)
    assert "umap-learn" in message and "pip install 'tinylens[umap]'" in message
    assert "\n" not in message


def test_a_dask_scheduler_without_the_extra(monkeypatch, tmp_path):
    from tinylens.sweeps import SweepSpec, run_sweep

    _hide(monkeypatch, "distributed")
    spec = SweepSpec.from_dict(
        {"name": "t", "study": "train", "config": {"data": "xor"}, "grid": {}, "seeds": 1}
    )
    with pytest.raises(ConfigError, match=re.escape("pip install 'tinylens[dask]'")):
        run_sweep(spec, tmp_path / "sweep", scheduler="tcp://127.0.0.1:9", quiet=True)
    assert not (tmp_path / "sweep" / "runs").exists() or not any(
        (tmp_path / "sweep" / "runs").iterdir()
    )


def test_require_returns_the_module_when_it_is_there():
    import json

    assert require("json", feature="this test") is json


@pytest.mark.parametrize(
    "module, extra", [("umap", "umap"), ("distributed", "dask"), ("pandas", "notebook")]
)
def test_each_optional_module_names_its_extra(monkeypatch, module, extra):
    _hide(monkeypatch, module)
    with pytest.raises(ConfigError, match=re.escape(f"pip install 'tinylens[{extra}]'")):
        require(module, feature="x")


def test_the_extras_exist_in_pyproject():
    from pathlib import Path

    import tomllib

    from tinylens._optional import EXTRAS

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(EXTRAS.values()) <= set(extras)
    assert "tinylens[all]" in extras["test"]  # CI covers every optional path
    core = " ".join(project["dependencies"])
    assert "umap" not in core and "dask" not in core


def test_every_to_pandas_imports_pandas_through_the_one_helper():
    from pathlib import Path

    src = Path(__file__).parents[1] / "src" / "tinylens"
    by_hand = {
        p.relative_to(src).as_posix()
        for p in src.rglob("*.py")
        if re.search(r"^\s*import pandas|^\s*from pandas", p.read_text(), re.M)
    }
    assert not by_hand, sorted(by_hand)


@pytest.mark.parametrize(
    "build",
    [
        "tinylens.superposition:as_dataframe",
        "tinylens.viz.display:to_pandas",
        "tinylens.studies.circuits.result:_pandas",
    ],
)
def test_a_missing_pandas_is_one_message_naming_the_extra(monkeypatch, build):
    import importlib

    from tinylens._optional import MissingExtraError

    module, name = build.split(":")
    convert = getattr(importlib.import_module(module), name)
    _hide(monkeypatch, "pandas")
    with pytest.raises(MissingExtraError) as info:
        convert({"a": [1]})
    assert str(info.value) == (
        "to_pandas() (or use to_dict()) needs pandas, which is not installed; "
        "run: pip install 'tinylens[notebook]'"
    )
    assert isinstance(info.value, ImportError) and isinstance(info.value, ConfigError)
