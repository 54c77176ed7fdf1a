"""Issue 13: no module over about 500 lines in the packages split so far, and the old import
paths of the split modules still give the same objects (tests, docs and users import them)."""

import importlib
from pathlib import Path

import pytest

import tinylens

SRC = Path(tinylens.__file__).parent

MAX_LINES = 500
"""Issue 13's "no module over about 500 lines" (our own bound, from the issue)."""

SPLIT_PACKAGES = ("circuits", "engine")


@pytest.mark.parametrize("package", SPLIT_PACKAGES)
def test_no_module_of_the_split_packages_is_over_500_lines(package):
    lines = {
        str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines())
        for p in sorted((SRC / package).rglob("*.py"))
    }
    long = {name: n for name, n in lines.items() if n > MAX_LINES}
    assert len(lines) > 10  # the package was found
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# (old module, name, module that now defines it)
MOVED = [
    ("tinylens.engine.network", "Sequential", "tinylens.engine.sequential"),
    ("tinylens.engine.network", "MLP", "tinylens.engine.builders"),
    ("tinylens.engine.network", "small_cnn", "tinylens.engine.builders"),
    ("tinylens.engine.network", "build_module", "tinylens.engine.builders"),
    ("tinylens.engine.network", "MODULE_TYPES", "tinylens.engine.builders"),
    ("tinylens.circuits.exact.piecewise", "compare_on_box", "tinylens.circuits.exact.compare"),
    ("tinylens.circuits.exact.piecewise", "BoxComparison", "tinylens.circuits.exact.compare"),
    ("tinylens.circuits.exact.piecewise", "network_cells", "tinylens.circuits.exact.cells"),
    ("tinylens.circuits.exact.piecewise", "expression_cells", "tinylens.circuits.exact.cells"),
    ("tinylens.circuits.exact.piecewise", "exact_copy", "tinylens.circuits.exact.cells"),
    ("tinylens.circuits.exact.piecewise", "relu_units", "tinylens.circuits.exact.cells"),
    ("tinylens.circuits.exact.piecewise", "NetCell", "tinylens.circuits.exact.cells"),
    ("tinylens.circuits.exact.piecewise", "DEFAULT_MAX_CELLS", "tinylens.circuits.exact.cells"),
    ("tinylens.circuits.readback.explain", "Explanation", "tinylens.circuits.readback.explanation"),
    ("tinylens.circuits.readback.explain", "UnitReading", "tinylens.circuits.readback.explanation"),
    ("tinylens.circuits.compile.expr_to_graph", "Graph", "tinylens.circuits.compile.graph"),
    ("tinylens.circuits.compile.expr_to_graph", "Neuron", "tinylens.circuits.compile.graph"),
    ("tinylens.circuits.compile.expr_to_graph", "Value", "tinylens.circuits.compile.graph"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_the_old_import_path_gives_the_moved_object(old, name, new):
    old_module, new_module = importlib.import_module(old), importlib.import_module(new)
    assert getattr(old_module, name) is getattr(new_module, name)
    assert name in old_module.__all__ and name in new_module.__all__
    if isinstance(getattr(new_module, name), type):  # defined there, not re-exported again
        assert getattr(new_module, name).__module__ == new


def test_the_builder_keeps_every_function_construction():
    """expr_functions.py holds the function-call constructions as a mixin of the builder:
    every one must still be reachable from the builder, or compiling a call breaks."""
    from tinylens.circuits import compile_expression
    from tinylens.circuits.compile.expr_functions import _FunctionBuilder
    from tinylens.circuits.compile.expr_to_graph import _Builder

    assert issubclass(_Builder, _FunctionBuilder)
    for expr, domain in [
        ("abs(x)", "x=-1:1"),
        ("min(x1, x2, x3)", "x1=-1:1,x2=-1:1,x3=-1:1"),
        ("clamp(x, 0, 1/2)", "x=-1:1"),
        ("is_even(x, bits=3)", "x=0..7"),
        ("where(x > 0, x, -x)", "x=-2..2"),
    ]:
        v = compile_expression(expr, domain=domain, verify=True).verification
        assert v.verified and v.max_error == 0, expr
