"""Issue 13: `circuits/` in sub-packages that show its pipeline. The public API stays where users
import it, each stage's `__init__` is its API, and the stages import each other one way only
(`lint-imports` checks the order too; this recomputes it from the source in plain Python)."""

import ast
import importlib
from pathlib import Path

import tinylens.circuits as tc

CIRCUITS = Path(tc.__file__).parent

# tinylens.circuits.__all__ before the split (commit 7e3dd3a): users' `from tinylens.circuits
# import X` must keep working.
PUBLIC = {
    "BoxComparison", "CIRCUITS", "CIRCUIT_ALIASES", "CanonicalNet", "Circuit", "CircuitMatch",
    "CompiledCircuit", "Domain", "Explanation", "Expr", "FUNCTIONS", "Interval", "Motif",
    "Verification", "WidthSearch", "canonicalize", "circuit_names", "compare_on_box",
    "compile_expression", "count_neurons", "evaluate", "exact_net", "exact_outputs", "explain",
    "find_motifs", "get_circuit", "interpret", "is_even_bound", "load_exact", "match_circuit",
    "minimal_width", "net_from_strings", "net_to_strings", "network_cells", "parse",
    "parse_domain", "same_circuit", "to_sympy_string", "verify", "verify_real_box",
}  # fmt: skip

# bottom to top; a stage may import only the stages before it (compile and library are
# independent of each other, and so are readback and minimal)
STAGES = ["expr", "exact", "compile", "library", "readback", "minimal"]
INDEPENDENT = [{"compile", "library"}, {"readback", "minimal"}]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["tinylens", "circuits"] else None


def circuits_imports():
    """(importing stage, imported module, names) for every import in circuits/, also the ones
    inside functions."""
    for path in sorted(CIRCUITS.rglob("*.py")):
        rel = path.relative_to(CIRCUITS).parts
        if len(rel) == 1:  # tinylens/circuits/__init__.py: the re-exports
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                yield rel[0], node.module, [a.name for a in node.names], str(path)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    yield rel[0], a.name, [], str(path)


def test_the_public_api_is_unchanged_and_every_name_resolves():
    assert set(tc.__all__) == PUBLIC and len(tc.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert getattr(tc, name) is not None


def test_the_stages_are_the_subpackages_and_each_exports_its_api():
    found = sorted(p.name for p in CIRCUITS.iterdir() if (p / "__init__.py").exists())
    assert found == sorted(STAGES)
    exported = {}
    for stage in STAGES:
        package = importlib.import_module(f"tinylens.circuits.{stage}")
        assert package.__all__ and len(set(package.__all__)) == len(package.__all__)
        for name in package.__all__:
            assert not name.startswith("_")
            exported.setdefault(name, getattr(package, name))  # raises if missing
    # every top-level public name is one a stage exports, the very same object
    for name in PUBLIC:
        assert getattr(tc, name) is exported[name], name


def test_no_module_reaches_past_another_stage_init():
    """Inside a stage, modules import each other directly; across stages only through the
    stage's `__init__` (so never a private name of another stage), and never through
    `tinylens.circuits` itself (which imports every stage: a circle)."""
    bad = []
    for stage, module, names, path in circuits_imports():
        target = stage_of(module)
        if module == "tinylens.circuits":
            bad.append((path, module))
        elif (
            target is not None
            and target != stage
            and (module != f"tinylens.circuits.{target}" or any(n[0] == "_" for n in names))
        ):
            bad.append((path, module, names))
    assert not bad


def test_the_stages_import_each_other_one_way_only():
    edges = set()
    for stage, module, _, _ in circuits_imports():
        target = stage_of(module)
        if target is not None and target != stage:
            edges.add((stage, target))
    assert edges  # the scan saw the cross-stage imports
    for importer, imported in edges:
        assert STAGES.index(imported) < STAGES.index(importer), (importer, imported)
        assert {importer, imported} not in INDEPENDENT, (importer, imported)
    # the order is not looser than the code needs: expr is imported by every other stage
    assert {s for s, t in edges if t == "expr"} == set(STAGES) - {"expr"}
