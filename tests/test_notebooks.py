"""Every notebook in ``notebooks/`` runs top to bottom, in a kernel of this very Python.

The kernel is described by a kernel spec written to a temporary directory and pointing at
``sys.executable``, so nothing has to be installed (no ``ipykernel install``) and a ``python3``
kernel registered elsewhere on the machine (another Python, without tinylens) is never picked.
The kernel inherits this process's ``sys.path`` through ``PYTHONPATH``, so it imports the same
tinylens as the tests. Notebooks are stored without outputs; a test checks that too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# Each notebook must run "in well under a minute" on a laptop; the cell timeout is generous
# because CI machines are shared and slower.
CELL_TIMEOUT_S = 300


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, path.name


@pytest.fixture(scope="module")
def kernel_spec_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("kernels")
    spec = root / "tinylens-test"
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "tinylens tests", "language": "python"})
    )
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_spec_dir, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    import tinylens

    nb = nbformat.read(path, as_version=4)
    # a last cell (in memory only) that says which tinylens the kernel imported
    nb.cells.append(nbformat.v4.new_code_cell("import tinylens; print(tinylens.__file__)"))
    ksm = KernelSpecManager(kernel_dirs=[str(kernel_spec_dir)], ensure_native_kernel=False)
    km = KernelManager(kernel_name="tinylens-test", kernel_spec_manager=ksm)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["MPLBACKEND"] = "agg"
    env["TINYLENS_QUIET"] = "1"
    km.start_kernel(env=env, cwd=str(tmp_path))
    try:
        client = nbclient.NotebookClient(
            nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute()
    finally:
        km.shutdown_kernel(now=True)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors[0].get("evalue")
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    # the kernel ran this tinylens, not another install
    assert nb.cells[-1].outputs[0]["text"].strip() == tinylens.__file__
