"""Every notebook in ``notebooks/`` runs top to bottom, in a kernel of this very Python.

The kernel is described by a kernel spec written to a temporary directory and pointing at
``sys.executable``, so nothing has to be installed (no ``ipykernel install``) and a ``python3``
kernel registered elsewhere on the machine (another Python, without tinylens) is never picked.
The kernel inherits this process's ``sys.path`` through ``PYTHONPATH``, so it imports the same
tinylens as the tests. Notebooks are stored without outputs; a test checks that too.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import _mnist_candidates

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DOC = ROOT / "docs" / "notebooks.md"
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


def _mnist_with_training_set():
    """The first of conftest's MNIST places holding both splits, or None."""
    for place in _mnist_candidates():
        if any(place.glob("train-images-idx3-ubyte*")) and any(place.glob("t10k-images*")):
            return place
    return None


def _execute(nb, kernel_spec_dir, cwd, *, quiet=True):
    """Run ``nb`` (in place) in a kernel of this Python; the cells' error outputs."""
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ksm = KernelSpecManager(kernel_dirs=[str(kernel_spec_dir)], ensure_native_kernel=False)
    km = KernelManager(kernel_name="tinylens-test", kernel_spec_manager=ksm)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["MPLBACKEND"] = "agg"
    env.pop("TINYLENS_QUIET", None)
    mnist = _mnist_with_training_set()
    if mnist is not None:  # 05_geometry finds MNIST here whatever checkout the tests run from
        env.setdefault("TINYLENS_MNIST_DIR", str(mnist))
    if quiet:
        env["TINYLENS_QUIET"] = "1"
    km.start_kernel(env=env, cwd=str(cwd))
    try:
        client = nbclient.NotebookClient(
            nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(cwd)}}
        )
        client.execute()
    finally:
        km.shutdown_kernel(now=True)
    return [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_spec_dir, tmp_path):
    nbformat = pytest.importorskip("nbformat")

    import tinylens

    nb = nbformat.read(path, as_version=4)
    # a last cell (in memory only) that says which tinylens the kernel imported
    nb.cells.append(nbformat.v4.new_code_cell("import tinylens; print(tinylens.__file__)"))
    errors = _execute(nb, kernel_spec_dir, tmp_path)
    assert not errors, errors[0].get("evalue")
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    # the kernel ran this tinylens, not another install
    assert nb.cells[-1].outputs[0]["text"].strip() == tinylens.__file__


def test_progress_and_results_show_in_a_real_kernel(kernel_spec_dir, tmp_path):
    """``fit`` draws an HTML progress table (not silence, not lines on stderr), and a result's
    ``_repr_html_`` is what the notebook displays."""
    nbformat = pytest.importorskip("nbformat")
    code = (
        "import tinylens as tl\n"
        "from tinylens.data import load_dataset\n"
        "import tinylens.progress as P\n"
        "P.NOTEBOOK_INTERVAL_S = 0.0  # draw every epoch, however fast\n"
        "data = load_dataset('spiral', n=90, rng=0)\n"
        "history = tl.fit(tl.MLP([2, 8, 3], rng=0), data, tl.TrainConfig(epochs=4), rng=0)\n"
        "history"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    errors = _execute(nb, kernel_spec_dir, tmp_path, quiet=False)
    assert not errors, errors[0].get("evalue")
    outputs = nb.cells[0].outputs
    bars = [o for o in outputs if o["output_type"] == "display_data"]
    assert bars and "<progress value='4' max='4'>" in bars[-1]["data"]["text/html"]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    result = next(o for o in outputs if o["output_type"] == "execute_result")["data"]
    assert result["text/plain"].startswith("History(epochs=4")
    assert "tinylens-card" in result["text/html"]


def _doc_blocks(text):
    """``(code, expected output or None)`` for every python block of a Markdown page, the
    output being a text block that directly follows it."""
    fences = re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)
    return [
        (body, fences[i + 1][1] if i + 1 < len(fences) and fences[i + 1][0] == "text" else None)
        for i, (lang, body) in enumerate(fences)
        if lang == "python"
    ]


def _steady(text):
    # wall times differ from run to run; everything else is the same on this machine
    return re.sub(r"seconds=[0-9.e+-]+", "seconds=...", text).strip()


def test_the_notebook_guide_runs_and_prints_what_it_shows(monkeypatch):
    """docs/notebooks.md: every python block runs, in order, in one namespace, and prints the
    text block under it."""
    pytest.importorskip("pandas")
    monkeypatch.setenv("TINYLENS_QUIET", "1")
    namespace: dict = {}
    blocks = _doc_blocks(DOC.read_text())
    assert len(blocks) >= 6
    for code, expected in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), namespace)
        if expected is not None:
            assert _steady(out.getvalue()) == _steady(expected), code
    for name in ("notebooks-history.png", "notebooks-ablation.png"):
        assert name in DOC.read_text() and (ROOT / "docs" / "images" / name).is_file()
