"""Sweeps: the file, expansion and run ids, local = Dask = serial, failures, resuming."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml

from tinylens.cli.main import main
from tinylens.errors import ConfigError
from tinylens.sweeps import SweepSpec, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent


def spec_dict(**over):
    d = {
        "name": "t",
        "study": "train",
        "config": {
            "data": "spiral",
            "data_params": {"n": 150},
            "arch": [2, 16, 3],
            "train": {"epochs": 4, "batch_size": 32},
        },
        # lr 1e6 diverges: those runs fail, and must not take the others down.
        "grid": {"train.optimizer": ["sgd", "adam"], "train.lr": [0.05, 1e6]},
        "seeds": 2,
    }
    d.update(over)
    return d


def test_expansion_count_order_and_stable_ids():
    spec = SweepSpec.from_dict(spec_dict())
    runs = spec.expand()
    assert len(runs) == 2 * 2 * 2
    assert [(r.params["train.optimizer"], r.params["train.lr"], r.seed) for r in runs[:3]] == [
        ("sgd", 0.05, 0),
        ("sgd", 0.05, 1),
        ("sgd", 1e6, 0),
    ]
    assert len({r.run_id for r in runs}) == len(runs)
    assert [r.run_id for r in runs] == [r.run_id for r in SweepSpec.from_dict(spec_dict()).expand()]
    # The id is the resolved config's: spelling out a default does not change it ...
    d = spec_dict()
    d["config"]["train"]["optimizer"] = "sgd"  # overridden by the grid anyway
    d["config"]["val_fraction"] = 0.2  # the default
    assert [r.run_id for r in SweepSpec.from_dict(d).expand()] == [r.run_id for r in runs]
    # ... and it does not depend on the grid's order.
    d = spec_dict(grid={"train.lr": [0.05, 1e6], "train.optimizer": ["sgd", "adam"]})
    assert {r.run_id for r in SweepSpec.from_dict(d).expand()} == {r.run_id for r in runs}
    assert runs[0].config["seed"] == 0 and runs[0].config["train"]["lr"] == 0.05


@pytest.mark.parametrize(
    "over, message",
    [
        ({"grids": {}}, "unknown sweep key 'grids' (did you mean 'grid'?)"),
        ({"grid": {"train.lrr": [0.1]}}, "unknown training setting 'lrr' (did you mean 'lr'?)"),
        ({"grid": {"dta": ["xor"]}}, "unknown training-study setting 'dta'"),
        ({"grid": {"train.lr": 0.1}}, "grid.train.lr must be a list of values"),
        ({"grid": {"seed": [1, 2]}}, "give seeds with the top-level 'seeds' key"),
        ({"study": "optimiser"}, "unknown sweep study 'optimiser'"),
        ({"seeds": [1, 1]}, "seeds repeat"),
        ({"plot": {"x": "train.epochs"}}, "plot.x is 'train.epochs', not a grid key"),
    ],
)
def test_bad_sweep_files_fail_before_running(over, message):
    with pytest.raises(ConfigError) as info:
        SweepSpec.from_dict(spec_dict(**over)).expand()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "sweep"
    return run_sweep(SweepSpec.from_dict(spec_dict()), out, workers=1, quiet=True)


def _numbers(result):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in result.rows()]


def test_failures_are_recorded_and_the_others_finish(serial):
    rows = serial.rows()
    assert len(rows) == 8
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["train.lr"] for r in failed} == {1e6} and len(failed) == 4
    for r in failed:
        assert r["error"].startswith("training diverged at epoch 1")
        assert "\n" not in r["error"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 4 and all(0 <= r["val_accuracy"] <= 1 for r in ok)
    section = serial.section()
    assert any("4 run(s) failed" in n for n in section.notes)
    assert [t.title for t in section.tables] == ["mean ± sd over seeds", "failed runs"]


def test_mean_and_sd_over_seeds_are_numpys_and_pythons(serial):
    """The aggregate recomputed from the per-run rows: NumPy (ddof=1) and plain Python's
    statistics.mean / statistics.stdev (the sample sd: see SweepResult.aggregate)."""
    rows = serial.rows()
    metrics = serial.metric_names()
    checked_sd = 0
    for agg in serial.aggregate():
        group = [
            r for r in rows if all(r[k] == agg[k] for k in serial.spec.grid) and r["status"] == "ok"
        ]
        assert agg["n_ok"] == len(group)
        for m in metrics:
            vals = [float(r[m]) for r in group if isinstance(r[m], (int, float))]
            vals = [v for v in vals if math.isfinite(v)]
            if not vals:
                assert math.isnan(agg[f"{m}_mean"])
                continue
            assert agg[f"{m}_mean"] == pytest.approx(statistics.mean(vals), rel=1e-12)
            assert agg[f"{m}_mean"] == pytest.approx(np.mean(vals), rel=1e-12)
            if len(vals) < 2:
                assert math.isnan(agg[f"{m}_sd"])
                continue
            assert agg[f"{m}_sd"] == pytest.approx(statistics.stdev(vals), rel=1e-12, abs=1e-15)
            assert agg[f"{m}_sd"] == pytest.approx(np.std(vals, ddof=1), rel=1e-12, abs=1e-15)
            if np.std(vals) > 0:
                checked_sd += 1  # here ddof=0 would give another number
    assert checked_sd >= 2


def test_local_processes_and_dask_give_the_same_numbers(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = SweepSpec.from_dict(spec_dict())
    local = run_sweep(spec, tmp_path / "local", workers=2, quiet=True)
    assert local.executor == "2 local processes"
    with (
        distributed.LocalCluster(
            processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_sweep(spec, tmp_path / "dask", scheduler=client, quiet=True)
    assert _numbers(local) == _numbers(serial) == _numbers(on_dask)

    # The table files agree too (apart from the timing column).
    def table(path):
        lines = (path / "results.csv").read_text().splitlines()
        header = lines[0].split(",")
        drop = header.index("seconds")
        return [[c for i, c in enumerate(line.split(",")) if i != drop] for line in lines]

    assert table(tmp_path / "local") == table(tmp_path / "dask")


def test_rerun_skips_done_runs_and_retries_failed_ones(tmp_path):
    spec = SweepSpec.from_dict(spec_dict(grid={"train.lr": [0.05, 0.1, 1e6]}, seeds=1))
    out = tmp_path / "s"
    first = run_sweep(spec, out, workers=1, quiet=True)
    assert (first.ran, first.skipped, len(first.failed)) == (3, 0, 1)
    ok_ids = [r["run_id"] for r in first.records if r["status"] == "ok"]
    stamps = {rid: (out / "runs" / f"{rid}.json").stat().st_mtime_ns for rid in ok_ids}
    again = run_sweep(spec, out, workers=1, quiet=True)
    assert (again.ran, again.skipped) == (1, 2)  # only the failed run is tried again
    assert {rid: (out / "runs" / f"{rid}.json").stat().st_mtime_ns for rid in ok_ids} == stamps
    # A killed sweep leaves some records missing: the next run does exactly those.
    (out / "runs" / f"{ok_ids[0]}.json").unlink()
    resumed = run_sweep(spec, out, workers=1, quiet=True)
    assert resumed.ran == 2 and resumed.skipped == 1
    assert _numbers(resumed) == _numbers(first)
    # Adding seeds runs only the new ones.
    bigger = SweepSpec.from_dict(spec_dict(grid={"train.lr": [0.05, 0.1, 1e6]}, seeds=2))
    grown = run_sweep(bigger, out, workers=1, quiet=True)
    assert grown.ran == 3 + 1 and grown.skipped == 2
    # --force starts over.
    forced = run_sweep(spec, out, workers=1, force=True, quiet=True)
    assert forced.ran == 3 and forced.skipped == 0


def test_the_sweep_directory_is_protected(tmp_path):
    spec = SweepSpec.from_dict(spec_dict(grid={}, seeds=1))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not a sweep directory"):
        run_sweep(spec, tmp_path / "other", workers=1, quiet=True)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    run_sweep(spec, tmp_path / "s", workers=1, quiet=True)
    renamed = SweepSpec.from_dict(spec_dict(grid={}, seeds=1, name="u"))
    with pytest.raises(ConfigError, match="holds sweep 't', not 'u'"):
        run_sweep(renamed, tmp_path / "s", workers=1, quiet=True)


def test_table_files_and_report(serial):
    pq = pytest.importorskip("pyarrow.parquet")
    out = serial.path
    table = pq.read_table(out / "results.parquet").to_pylist()
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(table) == len(csv_lines) - 1 == 8
    assert csv_lines[0].split(",")[:5] == [
        "run_id",
        "status",
        "seed",
        "train.optimizer",
        "train.lr",
    ]
    assert [r["run_id"] for r in table] == [r.run_id for r in serial.runs]
    report = json.loads((out / "report.json").read_text())
    (section,) = report["sections"]
    assert {f["path"] for f in section["figures"]} == {
        "val_accuracy.png",
        "val_loss.png",
        "train_loss.png",
    }
    assert all((out / f["path"]).is_file() for f in section["figures"])
    stored = yaml.safe_load((out / "sweep.yaml").read_text())
    assert stored["name"] == "t" and stored["seeds"] == [0, 1]


def test_optimizers_study_in_a_sweep(tmp_path):
    spec = SweepSpec.from_dict(
        {
            "name": "opt",
            "study": "optimizers",
            "config": {
                "dataset": "spiral",
                "optimizers": ["sgd", "adam"],
                "seeds": 1,
                "paths": False,
                "data": {"spiral": {"n_points": 30}},
                "training": {"epochs": 2},
            },
            "grid": {"optimizer_params.adam.lr": [0.001, 0.01]},
            "seeds": 1,
            "collect": ["adam.test_accuracy_mean", "sgd.test_accuracy_mean", "adam.bogus"],
        }
    )
    res = run_sweep(spec, tmp_path / "o", workers=1, quiet=True)
    assert all(r["status"] == "ok" for r in res.records)
    assert all(0 <= row["adam.test_accuracy_mean"] <= 1 for row in res.rows())
    assert res.missing_metrics() == ["adam.bogus"]
    assert any("No run reported adam.bogus" in n for n in res.section().notes)


def test_example_sweep_file_expands():
    spec = load_sweep(ROOT / "examples" / "sweep_spiral.yaml")
    assert spec.name == "spiral-optimizers" and len(spec.expand()) == 4 * 5 * 3


def test_cli_sweep(tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec_dict(grid={"train.lr": [0.05, 1e6]}, seeds=1)))
    out = tmp_path / "out"
    args = ["sweep", str(path), "--workers", "1", "--out", str(out), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["runs"], summary["ran"], summary["failed"]) == (2, 2, 1)
    assert (out / "index.html").is_file() and "Sweep t" in (out / "index.html").read_text()
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngrid: {train.lr: [0.1]}\nseed: 3\n")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "b"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown sweep key 'seed' (did you mean 'seeds'?)" in err and len(err.splitlines()) == 1


def test_force_replaces_the_earlier_sweep_only_when_the_new_one_completes(tmp_path, monkeypatch):
    import tinylens.sweeps.runner as runner

    spec = SweepSpec.from_dict(spec_dict(grid={"train.lr": [0.05, 0.1]}, seeds=1))
    out = tmp_path / "s"
    run_sweep(spec, out, workers=1, quiet=True)
    before = sorted(p.name for p in (out / "runs").iterdir())

    def killed(todo, threads):  # the new sweep dies after its first run
        yield todo[0], runner.run_one(runner._payload(todo[0], None))
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_serial", killed)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, workers=1, force=True, quiet=True)
    assert sorted(p.name for p in (out / "runs").iterdir()) == before  # the earlier sweep
    assert (out / "results.csv").exists()
    monkeypatch.undo()
    again = run_sweep(spec, out, workers=1, force=True, quiet=True)
    assert again.ran == 2 and again.path == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # nothing left beside it


def test_a_second_sweep_into_the_same_directory_is_refused_as_in_use(tmp_path):
    from tinylens.io import RunDir

    spec = SweepSpec.from_dict(spec_dict(grid={}, seeds=1))
    holder = RunDir(tmp_path / "s")  # any tinylens run holding the path
    with pytest.raises(ConfigError, match="in use"):
        run_sweep(spec, tmp_path / "s", workers=1, quiet=True)
    holder.close()


# -- any study package can be swept (the registry is generic over the study contract) -------------


def _records_by_id(result):
    return {r["run_id"]: r for r in result.records}


def test_topology_sweeps_with_no_adapter_and_its_metrics_are_the_studys(tmp_path):
    from tinylens.studies.topology import TopologyConfig, run
    from tinylens.training.threads import limit_blas_threads

    spec = SweepSpec.from_dict(
        {
            "study": "topology",
            "config": {"classes": [3], "points": 150, "degree": 2, "train": {"epochs": 8}}
            | {"lift_epochs": 20},
            "grid": {"hidden": [[4], [6, 4]]},
            "seeds": 1,
        },
        name="topo",
    )
    swept = run_sweep(spec, tmp_path / "s", workers=1, quiet=True)
    assert swept.failed == [] and len(swept.records) == 2
    for rs in swept.runs:
        metrics = _records_by_id(swept)[rs.run_id]["metrics"]
        with limit_blas_threads(1):  # as the sweep's worker runs
            direct = run(TopologyConfig.from_dict(rs.config), progress=False)
        pc = direct.per_class[3]
        assert metrics["K3.mlp.test_accuracy"] == pc["mlp"]["test_accuracy"]
        assert metrics["K3.lift.test_accuracy"] == pc["lift"]["test_accuracy"]
        assert metrics["K3.mlp.parameters"] == direct.mlps[3].n_parameters()
        assert metrics["K3.regions"] == direct.regions[3].count
    widths = {tuple(rs.config["hidden"]): rs for rs in swept.runs}
    assert set(widths) == {(4,), (6, 4)}
    params = {w: _records_by_id(swept)[rs.run_id]["metrics"]["K3.mlp.parameters"]
              for w, rs in widths.items()}  # fmt: skip
    assert params == {(4,): 2 * 4 + 4 + 4 * 3 + 3, (6, 4): 2 * 6 + 6 + 6 * 4 + 4 + 4 * 3 + 3}


def test_superposition_sweeps_with_no_adapter_and_its_metrics_are_the_studys(tmp_path):
    from tinylens.studies.superposition import SuperpositionConfig, run

    spec = SweepSpec.from_dict(
        {
            "study": "superposition",
            "config": {"sparsity": [0.0, 0.9], "train": {"steps": 30, "batch_size": 64}},
            "grid": {"importance": [[0.9], [0.7]]},
            "seeds": 1,
            "collect": ["best.0.represented", "best.1.represented", "best.1.loss"],
        },
        name="sup",
    )
    swept = run_sweep(spec, tmp_path / "s", workers=1, quiet=True)
    assert swept.failed == [] and len(swept.records) == 2
    for rs in swept.runs:
        metrics = _records_by_id(swept)[rs.run_id]["metrics"]
        direct = run(SuperpositionConfig.from_dict(rs.config), progress=False).metrics()
        for i, best in enumerate(direct["best"]):
            assert metrics[f"best.{i}.represented"] == best["represented"]
            assert metrics[f"best.{i}.loss"] == best["loss"]
            assert metrics[f"best.{i}.sparsity"] == best["sparsity"]
    rows = swept.rows()
    assert [row["importance"] for row in rows] == [[0.9], [0.7]]
    assert {"best.1.represented", "best.1.loss"} <= set(rows[0])


def test_unknown_study_names_every_sweepable_study():
    with pytest.raises(ConfigError) as info:
        SweepSpec.from_dict(spec_dict(study="superpositon")).expand()
    message = str(info.value)
    assert "did you mean 'superposition'" in message
    for name in ("topology", "optimizers", "sae", "geometry", "train"):
        assert name in message


def test_a_study_packages_config_errors_come_before_any_run(tmp_path):
    spec = spec_dict(study="topology", config={"classes": [3], "hiden": [4]}, grid={})
    with pytest.raises(ConfigError, match="unknown topology setting 'hiden'"):
        SweepSpec.from_dict(spec).expand()


def test_package_study_reads_any_package_with_the_contract(tmp_path, monkeypatch):
    """A package outside tinylens, whose run also names a type imported only for type
    checking: its config class is still found, and its metrics are flattened."""
    from tinylens.sweeps import package_study

    pkg = tmp_path / "toystudy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from __future__ import annotations\n"
        "from dataclasses import dataclass\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from numpy import ndarray\n"
        "@dataclass(frozen=True)\n"
        "class ToyConfig:\n"
        "    n: int = 3\n"
        "    seed: int = 0\n"
        "    @classmethod\n"
        "    def from_dict(cls, d):\n"
        "        return cls(**d)\n"
        "class ToyResult:\n"
        "    def __init__(self, n):\n"
        "        self.metrics = {'sum': sum(range(n)), 'parts': {'first': 0, 'flag': True}}\n"
        "def run(config: ToyConfig, *, data: ndarray | None = None, progress: bool = True):\n"
        "    assert progress is False\n"
        "    return ToyResult(config.n)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    study = package_study("toystudy")
    cfg = study.build({"n": 5, "seed": 1})
    assert type(cfg).__name__ == "ToyConfig" and cfg.n == 5
    assert study.run(cfg) == {"sum": 10.0, "parts.first": 0.0, "parts.flag": 1.0}
