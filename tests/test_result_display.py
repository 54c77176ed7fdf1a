"""Every result a user gets from a public call shows itself in a notebook.

One table, :data:`RESULTS`, lists each result type with a factory that builds it by a real public
call on a tiny problem, and an oracle that recomputes its table and key numbers another way
(torch, a NumPy forward written here, plain Python, the sweep's files on disk). Each entry is
checked for:

* a short ``repr`` (< 300 characters, no array dump, the type's name);
* ``_repr_html_``: HTML holding a table and the recomputed key numbers, as the reports print
  them (:func:`tinylens.io.format_number`);
* ``to_pandas()`` (and ``to_dict()`` where there is one): every cell equals the oracle's;
* ``plot()`` and ``plot(ax=ax)``: a Figure with something drawn.

To add a type (a study's result, ``NeuronStats``, ``RegionSet``...), add a :class:`Case`.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tinylens as tl
from tinylens.data import load_dataset
from tinylens.errors import ConfigError
from tinylens.geometry import linear_regions as tl_regions
from tinylens.io import format_number

pd = pytest.importorskip("pandas")
torch = pytest.importorskip("torch")

# Activations and accuracies recomputed by another route agree to rounding: both sum the same
# float64 products, in another order (NumPy's BLAS against torch's, pairwise against fsum).
RTOL = 1e-9
# float32 activations from two routes (the engine's BLAS and torch's) differ by a few ulps.
F32 = 1e-5


@dataclass
class Case:
    name: str
    build: Callable[[], Any]
    # (table recomputed, key numbers recomputed) for a built object
    oracle: Callable[[Any], tuple[dict[str, list[Any]], list[float]]]


# -- a tiny trained classifier, shared ------------------------------------------------------------


@pytest.fixture(scope="module")
def problem():
    data = load_dataset("spiral", n=240, classes=3, rng=0)
    net = tl.MLP([2, 12, 3], rng=0)
    history = tl.fit(
        net, data, tl.TrainConfig(epochs=8, lr=0.05, optimizer="adam"), rng=0, val=data, quiet=True
    )
    return data, net, history


def _hidden(net: Any, X: np.ndarray) -> np.ndarray:
    """The ReLU layer's output, by hand (``x @ W.T + b``, then max(0, .))."""
    lin = net.layers[0]
    return np.maximum(X @ lin.weight.data.T + lin.bias.data, 0.0)


def _logits(net: Any, h: np.ndarray) -> np.ndarray:
    out = net.layers[2]
    return h @ out.weight.data.T + out.bias.data


def _class_accuracy(pred: np.ndarray, y: np.ndarray, k: int) -> list[float]:
    return [float(np.mean(pred[y == c] == c)) for c in range(k)]


# -- the oracles ---------------------------------------------------------------------------------


def history_oracle(problem):
    data, net, _ = problem

    def oracle(history):
        # the last epoch's validation loss and accuracy, recomputed by torch on the final weights
        logits = torch.from_numpy(net.forward(data.X))
        y = torch.from_numpy(data.y.astype(np.int64))
        val_loss = float(torch.nn.functional.cross_entropy(logits, y))
        val_acc = float((logits.argmax(1) == y).double().mean())
        assert math.isclose(history.val_loss[-1], val_loss, rel_tol=RTOL)
        assert history.val_accuracy[-1] == val_acc
        table = {
            "epoch": list(range(1, 9)),
            "train_loss": history.train_loss,
            "train_accuracy": history.train_accuracy,
            "val_loss": history.val_loss,
            "val_accuracy": history.val_accuracy,
            "seconds": history.seconds,
        }
        return table, [val_loss, val_acc, history.train_loss[-1]]

    return oracle


def cache_oracle(problem):
    data, net, _ = problem

    def oracle(cache):
        # the cached activations are the torch twin's (float32, as the engine's MLP: rounding
        # apart); the statistics are recomputed from them in plain Python
        with torch.no_grad():
            x = torch.from_numpy(data.X)
            for i, layer in enumerate(tl.to_torch(net).layers):
                x = layer(x)
                np.testing.assert_allclose(cache[f"layers.{i}"], x.numpy(), rtol=F32, atol=F32)
        acts = {name: np.asarray(a, dtype=np.float64).ravel().tolist() for name, a in cache.items()}
        table: dict[str, list[Any]] = {
            c: [] for c in ("hook point", "shape", "mean", "std", "min", "max", "fraction > 0")
        }
        for name, values in acts.items():
            table["hook point"].append(name)
            table["shape"].append(tuple(cache[name].shape))
            table["mean"].append(math.fsum(values) / len(values))
            table["std"].append(statistics.pstdev(values))
            table["min"].append(min(values))
            table["max"].append(max(values))
            table["fraction > 0"].append(sum(v > 0 for v in values) / len(values))
        return table, [table["mean"][1], table["fraction > 0"][1]]

    return oracle


def ablation_oracle(problem):
    data, net, _ = problem

    def oracle(sweep):
        # each hidden unit zeroed by hand, accuracy counted per class
        h = _hidden(net, data.X)
        base = _logits(net, h).argmax(1)
        rows: dict[str, list[Any]] = {"units": [], "accuracy": [], "drop": []}
        rows.update({f"class_{c}": [] for c in range(3)})
        base_acc = float(np.mean(base == data.y))
        for u in range(12):
            hu = h.copy()
            hu[:, u] = 0.0
            pred = _logits(net, hu).argmax(1)
            acc = float(np.mean(pred == data.y))
            rows["units"].append(str(u))
            rows["accuracy"].append(acc)
            rows["drop"].append(base_acc - acc)
            for c, a in enumerate(_class_accuracy(pred, data.y, 3)):
                rows[f"class_{c}"].append(a)
        return rows, [base_acc, max(rows["drop"])]

    return oracle


def scaling_oracle(problem):
    data, net, _ = problem

    def oracle(sweep):
        h = _hidden(net, data.X)
        rows: dict[str, list[Any]] = {"unit": list(range(12))}
        for s in (0.0, 2.0):
            col = []
            for u in range(12):
                hu = h.copy()
                hu[:, u] *= s
                col.append(float(np.mean(_logits(net, hu).argmax(1) == data.y)))
            rows[f"x{s:g}"] = col
        return rows, [float(np.mean(_logits(net, h).argmax(1) == data.y))]

    return oracle


def _corrupted(data):
    """The clean inputs with their two features swapped (another point of the spiral)."""
    return data.X[:, ::-1].copy()


def patching_oracle(problem):
    data, net, _ = problem

    def oracle(sweep):
        # each hidden unit's clean activation copied into the corrupted run, by hand
        clean = _hidden(net, data.X)
        target = _logits(net, clean).argmax(1)
        corrupted = _hidden(net, _corrupted(data))
        effect = []
        for u in range(12):
            h = corrupted.copy()
            h[:, u] = clean[:, u]
            effect.append(float(np.mean(_logits(net, h).argmax(1) == target)))
        base = float(np.mean(_logits(net, corrupted).argmax(1) == target))
        restored = [(e - base) / (1.0 - base) for e in effect]
        return {"unit": list(range(12)), "effect": effect, "restored": restored}, [base]

    return oracle


def sweep_oracle(tmp_path_factory):
    def oracle(result):
        # the table from the run records on disk; the aggregate means in plain Python
        records = [json.loads(p.read_text()) for p in (result.path / "runs").glob("*.json")]
        by_id = {r["run_id"]: r for r in records}
        ids = [r.run_id for r in result.runs]
        table = {
            "run_id": ids,
            "status": [by_id[i]["status"] for i in ids],
            "seed": [by_id[i]["seed"] for i in ids],
            "train.lr": [by_id[i]["params"]["train.lr"] for i in ids],
        }
        means = []
        for lr in (0.01, 0.1):
            vals = [
                by_id[i]["metrics"]["val_accuracy"]
                for i in ids
                if by_id[i]["params"]["train.lr"] == lr
            ]
            means.append(statistics.fmean(vals))
        return table, means

    return oracle


def build_sweep(tmp_path_factory):
    from tinylens.sweeps import SweepSpec, run_sweep

    spec = SweepSpec.from_dict(
        {
            "name": "display",
            "study": "train",
            "config": {
                "data": "spiral",
                "data_params": {"n": 120},
                "arch": [2, 8, 3],
                "train": {"epochs": 3, "batch_size": 32},
            },
            "grid": {"train.lr": [0.01, 0.1]},
            "seeds": 2,
        }
    )
    return run_sweep(spec, tmp_path_factory.mktemp("sweep"), workers=1, quiet=True)


def neuron_stats_oracle(problem):
    data, net, _ = problem

    def oracle(stats):
        # plain NumPy statistics of the hidden layer, computed by hand from the same float32
        # products the network makes (x @ W.T, then + b: the same calls, the same bits)
        lin = net.layers[0]
        x32 = data.X.astype(net.dtype)
        h = np.maximum(x32 @ lin.weight.data.T + lin.bias.data, 0).astype(np.float64)
        frac = (h > 0).mean(0)
        table = {
            "unit": list(range(12)),
            "mean": h.mean(0).tolist(),
            "std": h.std(0).tolist(),
            "min": h.min(0).tolist(),
            "max": h.max(0).tolist(),
            "frac_active": frac.tolist(),
            "dead": (frac == 0).tolist(),
        }
        return table, [float(frac.mean())]

    return oracle


def build_neuron_stats(problem):
    from tinylens.probes import NeuronStats

    data, net, _ = problem
    _, cache = net.run_with_cache(data.X.astype(net.dtype))
    return NeuronStats(n_classes=3).update(cache["layers.1"], data.y)


def region_oracle(problem):
    _, net, _ = problem

    def oracle(regions):
        # each region's class from a forward pass written here, at the interior point the
        # table reports; the areas tile the box
        frame = regions.to_pandas()
        X = frame[["x1", "x2"]].to_numpy()
        pred = _logits(net, _hidden(net, X)).argmax(1).tolist()
        assert math.isclose(float(frame["area"].sum()), 9.0, rel_tol=1e-9)
        return {"predicted_class": pred}, [regions.count]

    return oracle


@pytest.fixture(scope="module")
def cases(problem, tmp_path_factory):
    from tinylens.interventions import ablation_sweep, patching_sweep, scaling_sweep

    data, net, history = problem
    return {
        c.name: c
        for c in [
            Case("History", lambda: history, history_oracle(problem)),
            Case("ActivationCache", lambda: net.run_with_cache(data.X)[1], cache_oracle(problem)),
            Case(
                "AblationSweep",
                lambda: ablation_sweep(net, data, "layers.1"),
                ablation_oracle(problem),
            ),
            Case(
                "ScalingSweep",
                lambda: scaling_sweep(net, data, "layers.1", scales=(0.0, 2.0)),
                scaling_oracle(problem),
            ),
            Case(
                "PatchingSweep",
                lambda: patching_sweep(net, data.X, _corrupted(data), "layers.1"),
                patching_oracle(problem),
            ),
            Case(
                "SweepResult", lambda: build_sweep(tmp_path_factory), sweep_oracle(tmp_path_factory)
            ),
            Case("NeuronStats", lambda: build_neuron_stats(problem), neuron_stats_oracle(problem)),
            Case(
                "RegionSet",
                lambda: tl_regions(net, [(-1.5, 1.5), (-1.5, 1.5)]),
                region_oracle(problem),
            ),
        ]
    }


NAMES = ["History", "ActivationCache", "AblationSweep", "ScalingSweep", "PatchingSweep"]
NAMES += ["SweepResult", "NeuronStats", "RegionSet"]
TO_DICT_IS_THE_TABLE = {"AblationSweep", "ScalingSweep", "PatchingSweep", "SweepResult"}
TO_DICT_IS_THE_TABLE |= {"NeuronStats"}


@pytest.fixture(scope="module")
def built(cases):
    return {name: (case, case.build()) for name, case in cases.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=1e-12)
    return a == b


# -- the checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_repr_is_short_and_has_no_array_dump(built, name):
    _, obj = built[name]
    text = repr(obj)
    assert text.startswith(f"{name}("), text
    assert len(text) < 300, text
    assert "[[" not in text and "array([" not in text and "\n" not in text, text


@pytest.mark.parametrize("name", NAMES)
def test_html_card_holds_a_table_and_the_key_numbers(built, name):
    case, obj = built[name]
    page = obj._repr_html_()
    assert page.startswith("<div") and page.endswith("</div>")
    assert page.count("<table>") == page.count("</table>") == 1
    assert page.count("<tr>") - 1 <= 11  # header, at most 10 rows and the "... more" line
    assert "data:image/png;base64," in page
    _, numbers = case.oracle(obj)
    for value in numbers:
        assert format_number(value) in page, (value, format_number(value))


@pytest.mark.parametrize("name", NAMES)
def test_to_pandas_equals_the_recomputed_table(built, name):
    case, obj = built[name]
    frame = obj.to_pandas()
    expected, _ = case.oracle(obj)
    for column, values in expected.items():
        got = frame[column].tolist()
        assert len(got) == len(values), column
        bad = [
            (i, g, v) for i, (g, v) in enumerate(zip(got, values, strict=True)) if not _same(g, v)
        ]
        assert not bad, (column, bad[:3])
    if name in TO_DICT_IS_THE_TABLE:  # History's and the cache's to_dict are their records
        assert pd.DataFrame(obj.to_dict()).equals(frame)


@pytest.mark.parametrize("name", NAMES)
def test_plot_returns_a_figure_with_something_drawn(built, name):
    from matplotlib.figure import Figure

    _, obj = built[name]
    fig = obj.plot()
    assert isinstance(fig, Figure)
    drawn = sum(
        len(ax.lines) + len(ax.images) + len(ax.collections) + len(ax.patches) for ax in fig.axes
    )
    assert drawn > 0
    mine = Figure()
    ax = mine.subplots()
    assert obj.plot(ax=ax) is mine
    assert len(ax.lines) + len(ax.images) + len(ax.collections) + len(ax.patches) > 0


def test_history_table_leaves_out_metrics_never_recorded():
    data = load_dataset("spiral", n=60, rng=1)
    h = tl.fit(tl.MLP([2, 4, 3], rng=1), data, tl.TrainConfig(epochs=2), rng=1, quiet=True)
    assert list(h.table()) == ["epoch", "train_loss", "train_accuracy", "seconds"]
    assert "val_loss" not in repr(h)


def test_ablation_pairs_plot_the_pair_matrix(problem):
    from tinylens.interventions import ablation_sweep

    data, net, _ = problem
    sweep = ablation_sweep(net, data, "layers.1", units=[0, 1, 2], pairs=True)
    fig = sweep.plot()
    assert fig.axes[0].images[0].get_array().shape == (3, 3)
    assert list(sweep.to_pandas()["units"]) == ["0+1", "0+2", "1+2"]


def test_a_long_cache_repr_is_cut(problem):
    from tinylens.engine import ActivationCache

    cache = ActivationCache({f"layers.{i}": np.zeros((2, 3)) for i in range(40)})
    text = repr(cache)
    assert len(text) < 300 and "33 more" in text


def test_to_pandas_without_pandas_names_the_install(built, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    for name in NAMES:
        with pytest.raises(ConfigError, match=re.escape("pip install 'tinylens[notebook]'")):
            built[name][1].to_pandas()


# -- every result type a public call returns has the notebook surface ---------------------------
LISTED = {
    "tinylens.training": ["History"],
    "tinylens.engine": ["ActivationCache"],
    "tinylens.probes": ["NeuronStats"],
    "tinylens.interventions": ["AblationSweep", "ScalingSweep", "PatchingSweep"],
    "tinylens.geometry": ["RegionSet", "BasisDecomposition"],
    "tinylens.circuits": ["CompiledCircuit", "Verification", "Explanation"],
    "tinylens.sweeps": ["SweepResult"],
    "tinylens.studies.mnist": ["MnistResult"],
    "tinylens.studies.optimizers": ["OptimizerStudyResult"],
    "tinylens.studies.topology": ["TopologyResult"],
    "tinylens.studies.basis": ["BasisResult"],
    "tinylens.studies.recovery": ["RecoveryResult"],
    "tinylens.studies.circuits": ["CompileResult", "ExplainResult", "MinimalResult", "ShowResult"],
    "tinylens.studies.superposition": ["SuperpositionResult"],
    "tinylens.studies.sae": ["SAEStudyResult"],
    "tinylens.studies.geometry": ["SliceResult"],
    "tinylens.studies.train": ["TrainResult"],
    "tinylens.studies.ablate": ["AblateResult"],
    "tinylens.studies.inspect": ["InspectResult"],
    "tinylens.studies.circuit_library": ["LibraryResult"],
}
"""Issue 13's list of result types (the studies' results, History, ActivationCache,
NeuronStats, AblationSweep, RegionSet, BasisDecomposition, compiled circuits and their
verification, explain results, sweep results). Their behaviour is tested with real objects in
this file's table and in each study's tests; this checks that none lacks the surface."""


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in LISTED.items() for n in names])
def test_every_listed_result_type_has_its_own_repr_a_card_and_a_table(module, name):
    import importlib

    cls = getattr(importlib.import_module(module), name)
    own_repr = next(k for k in cls.__mro__ if "__repr__" in k.__dict__)
    assert own_repr is not object, f"{name} has no repr of its own"
    code = getattr(own_repr.__dict__["__repr__"], "__code__", None)
    generated = code is not None and (
        code.co_filename == "<string>" or code.co_filename.endswith("dataclasses.py")
    )
    assert not generated, f"{name} keeps dataclass's repr (every field, arrays and all)"
    assert callable(getattr(cls, "_repr_html_", None)), f"{name} has no _repr_html_"
    assert hasattr(cls, "to_pandas") or hasattr(cls, "to_dict"), f"{name} has no table"


def test_a_compiled_circuit_shows_its_exact_weights():
    from fractions import Fraction

    from tinylens.circuits import compile_expression

    c = compile_expression("min(x1, x2)", domain="x1=-1:1,x2=-1:1").verify()
    text = repr(c)
    assert text == "CompiledCircuit('min(x1, x2)', 2-2-1, 2 ReLU units, verified=True)"
    page = c._repr_html_()
    for layer in c.net.layers:  # every exact weight, as the compiler holds it
        for row in layer.weight:
            for w in row:
                assert str(Fraction(w)) in page or str(w) in page
    assert "<li>verified: True</li>" in page


def test_the_circuit_library_shows_itself():
    from tinylens.circuits import compile_expression, get_circuit
    from tinylens.studies import circuit_library

    result = circuit_library.run(circuit_library.LibraryConfig(names=("min", "abs", "is_even")))
    table = result.to_dict()
    assert table["circuit"] == ["min", "abs", "is_even"]
    for name, hand, compiled in zip(table["circuit"], table["hand-derived"], table["compiled"],
                                    strict=True):  # fmt: skip
        c = get_circuit(name)
        # units with a nonlinearity, counted from the layers (is_even's output is a ReLU too)
        assert hand == sum(la.out_features for la in c.net.layers if la.activation == "relu")
        expected = (
            compile_expression(c.expression, domain=c.domain).neurons if c.expression else None
        )
        assert compiled == expected
    assert repr(result) == "LibraryResult(circuits=3, examples_exact=3)"
    page = result._repr_html_()
    assert page.count("<table>") == 1 and "data:image/png;base64," in page
    assert pd.DataFrame(table).equals(result.to_pandas())
    assert result.plot().axes[0].patches
