"""The partition over training (issue 15): local complexity at every snapshot, recounted
snapshot by snapshot with ``local_complexity`` and the brute-force oracle; the plane's regions
against ``linear_regions`` directly; the table against plain Python; ``tinylens mnist
--geometry`` end to end; bad input is one line."""

from __future__ import annotations

import csv
import json
import statistics

import numpy as np
import pytest

from test_geometry_thin import oracle_patterns
from tinylens.cli.main import main
from tinylens.engine import MLP
from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import Slice, linear_regions
from tinylens.geometry.local_complexity import local_complexity
from tinylens.studies.geometry.over_training import (
    POINT_SETS,
    over_training_of,
    partition_over_training,
)


def _snapshots(sizes, n=3):
    return [(e, MLP(sizes, rng=10 + e, init="torch")) for e in range(n)]


def _square_seeds(rng, far_points, n_inputs):
    """The per-set seeds partition_over_training hands to local_complexity_over, and the
    per-snapshot seed that one hands on: the far points are drawn first, then one seed per set."""
    gen = np.random.default_rng(rng)
    gen.uniform(size=(far_points, n_inputs))
    return [
        int(np.random.default_rng(int(s)).integers(0, 2**63))
        for s in gen.integers(0, 2**63, size=len(POINT_SETS))
    ]


def test_counts_equal_local_complexity_on_each_snapshot_and_the_plane_linear_regions():
    snaps = _snapshots([5, 7, 6, 3], n=3)
    data = np.random.default_rng(1)
    Xtr, Xte = data.uniform(size=(4, 5)), data.uniform(size=(5, 5))
    r = partition_over_training(snaps, Xtr, Xte, radius=0.4, far_points=3, rng=5)
    assert r.epochs == [0, 1, 2]
    seeds = _square_seeds(5, 3, 5)
    for name, seed in zip(POINT_SETS, seeds, strict=True):
        assert r.counts[name].shape == (3, len(r.points[name]), 2)
        for i, (_, net) in enumerate(snaps):
            want = local_complexity(net, r.points[name], radius=0.4, rng=seed)
            np.testing.assert_array_equal(r.counts[name][i], want)
    np.testing.assert_array_equal(r.points["train"], Xtr)
    plane = Slice.through(*Xte[:3])
    for i, (_, net) in enumerate(snaps):
        assert list(r.plane_counts[i]) == list(linear_regions(net, slice=plane).counts_per_layer)
    # the squares are not trivially inside one region, and snapshots differ
    assert r.counts["train"][:, :, -1].max() > 1
    assert len({tuple(r.plane_counts[i]) for i in range(3)}) > 1


def test_far_counts_equal_the_brute_force_oracle_on_a_tiny_net():
    snaps = _snapshots([3, 4, 3, 2], n=2)
    X = np.random.default_rng(2).normal(size=(3, 3))
    r = partition_over_training(snaps, X, X, radius=1.0, far_points=3, rng=9)
    far_seed = _square_seeds(9, 3, 3)[2]
    squares = np.random.default_rng(far_seed).integers(0, 2**63, size=3)
    for i, (_, net) in enumerate(snaps):
        for j, (x, s) in enumerate(zip(r.points["far"], squares, strict=True)):
            plane = Slice.plane(x, radius=1.0, rng=int(s))
            assert r.counts["far"][i, j, -1] == len(oracle_patterns(plane.compose(net), plane.box))
    lo, hi = X.min(axis=0), X.max(axis=0)
    assert ((r.points["far"] >= lo) & (r.points["far"] <= hi)).all()


def test_table_recomputed_in_plain_python_and_the_display():
    snaps = _snapshots([4, 6, 5, 3], n=2)
    X = np.random.default_rng(4).uniform(size=(6, 4))
    r = partition_over_training(snaps, X, X, radius=0.5, far_points=6, rng=0)
    t = r.table()
    assert len(t["epoch"]) == 2 * 2 * 3
    for k in range(len(t["epoch"])):
        i, layer, name = t["epoch"][k], t["layer"][k], t["points"][k]
        c = [int(v) for v in r.counts[name][i, :, layer - 1]]
        q25, med, q75 = statistics.quantiles(c, n=4, method="inclusive")
        assert t["mean"][k] == pytest.approx(sum(c) / len(c), abs=1e-12)
        assert (t["q25"][k], t["median"][k], t["q75"][k]) == pytest.approx((q25, med, q75))
        assert (t["min"][k], t["max"][k]) == (min(c), max(c))
        assert t["plane_regions"][k] == r.plane_counts[i, layer - 1]
    assert repr(r).startswith("OverTrainingResult(epochs='0..1'") and len(repr(r)) < 200
    assert "<b>OverTrainingResult</b>" in r._repr_html_()
    fig = r.plot()
    assert len(fig.axes[0].lines) == 3 * 2  # one line per point set and layer
    assert len(r.plot_planes().axes) >= 2


def test_bad_input_is_a_clear_error():
    snaps = _snapshots([3, 4, 2], n=1)
    X = np.zeros((3, 3))
    with pytest.raises(ConfigError, match="no snapshots"):
        partition_over_training([], X, X, radius=1.0, far_points=2, rng=0)
    with pytest.raises(ShapeError, match="three test points"):
        partition_over_training(snaps, X, X[:2], radius=1.0, far_points=2, rng=0)
    with pytest.raises(ShapeError, match="features"):
        partition_over_training(snaps, X, np.zeros((3, 4)), radius=1.0, far_points=2, rng=0)
    with pytest.raises(ConfigError, match="finite"):
        partition_over_training(snaps, np.full((3, 3), np.inf), X, radius=1, far_points=2, rng=0)
    with pytest.raises(ConfigError, match="radius"):
        partition_over_training(snaps, X, X, radius=float("nan"), far_points=2, rng=0)
    with pytest.raises(ConfigError, match="far_points"):
        partition_over_training(snaps, X, X, radius=1.0, far_points=0, rng=0)
    with pytest.raises(ConfigError, match="epoch order"):
        partition_over_training(
            snaps * 2 + [(-1, snaps[0][1])], X, X, radius=1, far_points=1, rng=0
        )


def test_over_training_of_a_study_run_reads_its_snapshots():
    from tinylens.studies.mnist import MnistStudyConfig, run

    result = run(MnistStudyConfig.quick(epochs=2, analyses=()), progress=False)
    p = result.primary
    g = over_training_of(p, points=4, radius=0.5, seed=0)
    assert g.epochs == [e for e, _ in p.history.snapshots] == [0, 1, 2]
    # the last snapshot is the trained network: its plane count is the network's own
    assert list(g.plane_counts[-1]) == list(linear_regions(p.net, slice=g.plane).counts_per_layer)
    assert not np.array_equal(g.plane_counts[0], g.plane_counts[-1])


def test_cli_geometry_writes_the_csv_and_section_and_refuses_layernorm(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["mnist", "--quick", "--epochs", "2", "--geometry", "--out", str(out), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = list(csv.DictReader((out / "local_complexity.csv").open()))
    assert len(rows) == 3 * 2 * 3  # epochs 0..2, two layers, three point sets
    lc = summary["local_complexity"]
    assert lc["epochs"] == [0, 1, 2] and lc["model"] == "raw"
    for name in POINT_SETS:
        means = [float(r["mean"]) for r in rows if r["points"] == name and r["layer"] == "2"]
        assert means == pytest.approx(lc[name], abs=1e-3)
    planes = [int(r["plane_regions"]) for r in rows if r["points"] == "far" and r["layer"] == "2"]
    assert planes == lc["plane_regions"]
    sections = json.loads((out / "report.json").read_text())["sections"]
    assert "local-complexity" in [s["id"] for s in sections]
    assert (out / "local_complexity.png").stat().st_size > 0
    # the slider: the plane at every epoch (its last frame is the last epoch's hover map)
    frames = json.loads((out / "plane_over_training_frames.json").read_text())["frames"]
    assert [len(f["regions"]) for f in frames] == lc["plane_regions"]
    assert [f["label"] for f in frames] == [f"epoch {e}" for e in lc["epochs"]]

    bad = tmp_path / "bad"
    argv = ["mnist", "--quick", "--variant", "layernorm", "--geometry", "--out", str(bad)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--geometry needs a ReLU MLP variant" in err
    assert not bad.exists()  # refused before training: nothing written
