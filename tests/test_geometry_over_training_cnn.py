"""The partition over training of a conv net (issue 15): the CNN of the MNIST study (quick, on
the 8x8 digits), its squares and its fixed plane (the triangle shrunk about its centroid) at
every snapshot, and the report's slider.

Every number is recomputed another way: the networks rebuilt here from the run's saved state
dicts, the plane rebuilt from the test points, the regions of each snapshot by
``linear_regions``, the boundary by ``decision_boundary``, the counts by ``local_complexity``
on the last snapshot, each frame's hover class by the network's forward pass."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from test_geometry_region_slider import _snapshots  # (epoch, net) from the saved states
from tinylens.geometry import Slice, decision_boundary, is_image_net, linear_regions
from tinylens.geometry.local_complexity import local_complexity
from tinylens.io import RunDir
from tinylens.report import render_run
from tinylens.studies.geometry.over_training import (
    CNN_PLANE_MARGIN,
    CNN_RADIUS,
    over_training_of,
)
from tinylens.studies.geometry.write import write_over_training


@pytest.fixture(scope="module")
def cnn_run():
    from tinylens.studies.mnist import MnistStudyConfig, run

    cfg = MnistStudyConfig.quick(
        epochs=3, analyses=(), cnn=True, cnn_channels=(2, 3), variants=("raw",)
    )
    c = run(cfg, progress=False).cnn
    assert is_image_net(c.net)
    return c, over_training_of(c, points=3, seed=0)


def test_the_cnn_plane_is_the_shrunk_triangle_at_every_snapshot(cnn_run):
    c, g = cnn_run
    snaps = _snapshots(c)
    assert g.epochs == [e for e, _ in snaps] == [0, 1, 2, 3]
    assert g.radius == CNN_RADIUS
    plane = Slice.through(*g.points["test"][:3], margin=CNN_PLANE_MARGIN)
    np.testing.assert_array_equal(plane.domain, g.plane.domain)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(plane.domain, 1 / 3 + 0.1 * (corners - 1 / 3), atol=1e-15)
    for i, (_, net) in enumerate(snaps):
        want = linear_regions(net, slice=plane)
        assert list(g.plane_counts[i]) == list(want.counts_per_layer)
        assert g.plane_regions[i].pattern_strings == want.pattern_strings
    assert len({tuple(row) for row in g.plane_counts}) > 1  # training moves the partition
    # the counts at the last snapshot, recounted on the same squares: the seeds drawn as
    # over_training_of draws them (two samples of indices, the far points, one seed per set)
    gen = np.random.default_rng([0, 15])
    gen.choice(c.train.n, size=3, replace=False)
    gen.choice(c.test.n, size=3, replace=False)
    gen.uniform(size=(3, c.train.X.shape[1]))
    for name, s in zip(("train", "test", "far"), gen.integers(0, 2**63, size=3), strict=True):
        seed = int(np.random.default_rng(int(s)).integers(0, 2**63))
        want = local_complexity(snaps[-1][1], g.points[name], radius=CNN_RADIUS, rng=seed)
        np.testing.assert_array_equal(g.counts[name][-1], want)
    assert g.counts["train"][-1, :, -1].max() > 1


def test_the_cnn_slider_frames_hold_each_snapshots_regions_and_boundary(cnn_run, tmp_path):
    c, g = cnn_run
    run = RunDir(tmp_path / "run")
    write_over_training(g, run, model="cnn", title="slider")
    render_run(run.work)
    out = run.finish()
    spec = json.loads((out / "plane_over_training_frames.json").read_text())
    snaps = _snapshots(c)
    assert len(spec["frames"]) == len(snaps)
    assert spec["anchors"] == []  # the shrunk triangle's corners lie outside it
    for frame, (epoch, net) in zip(spec["frames"], snaps, strict=True):
        regions = linear_regions(net, slice=g.plane)  # from the snapshot, not the result
        boundary = decision_boundary(regions)
        assert frame["label"] == f"epoch {epoch}"
        assert frame["info"].startswith(f"{regions.count} regions")
        assert len(frame["regions"]) == regions.count
        assert len(frame["lines"]) == len(boundary.segments)
        assert [r["color"] for r in frame["regions"]] == regions.predicted_class.tolist()
        # one hover tip: its class is the network's at the region's centroid
        k = regions.count // 2
        x = g.plane.to_input(regions.interior_points[k][None])
        assert frame["regions"][k]["tip"].endswith(f"class {int(net.predict(x).argmax())}")
    section = json.loads((out / "report.json").read_text())["sections"][0]
    assert "shrunk to 0.1 of its size" in section["summary"]
    assert "slider is not shown" not in section["summary"]


def test_a_plane_too_large_for_the_slider_is_said_in_the_section(cnn_run, tmp_path, monkeypatch):
    w = sys.modules["tinylens.studies.geometry.write"]  # the module (the package exports write)
    _, g = cnn_run
    counts = [r.count for r in g.plane_regions]
    monkeypatch.setattr(w, "MAX_SLIDER_REGIONS", counts[0] + counts[-1] - 1)
    run = RunDir(tmp_path / "run")
    write_over_training(g, run, model="cnn", title="slider")
    out = run.finish()
    section = json.loads((out / "report.json").read_text())["sections"][0]
    assert "The epoch slider is not shown" in section["summary"]
    assert f"{counts[0] + counts[-1]:,} regions" in section["summary"]
    assert not (out / "plane_over_training_frames.json").exists()
    assert (out / "plane_over_training_map.json").exists() == (counts[-1] <= w.MAX_HOVER_REGIONS)


def test_cli_mnist_cnn_geometry_writes_both_models_apart(tmp_path, capsys, monkeypatch):
    """``tinylens mnist --cnn --geometry``: the MLP variant's partition over training and the
    CNN's, each with its own files (the CNN's start with ``cnn_``) and report section; the
    printed summary's numbers are the CSV's. ``--quiet`` keeps the CNN planes' progress off
    even where every plane would show it (shown from the first second, a line per step)."""
    import csv

    import tinylens.progress as tp
    from tinylens.cli.main import main
    from tinylens.geometry import conv_slice

    monkeypatch.delenv("TINYLENS_QUIET", raising=False)
    monkeypatch.setattr(conv_slice, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(tp, "LINE_INTERVAL_S", 0.0)

    out = tmp_path / "run"
    skip = [
        "--skip",
        "gradients,ablation,scaling,embeddings,subspaces,perturbation,saliency,pruning",
    ]
    argv = ["mnist", "--quick", "--epochs", "1", "--cnn", "--cnn-channels", "2,3", *skip]
    assert main([*argv, "--geometry", "--out", str(out), "--json", "--quiet"]) == 0
    printed = capsys.readouterr()
    assert "regions (% of the area done)" not in printed.err
    summary = json.loads(printed.out)
    lc, cnn = summary["local_complexity"], summary["cnn_local_complexity"]
    assert lc["model"] == "raw" and cnn["model"] == "cnn" and cnn["epochs"] == [0, 1]
    rows = list(csv.DictReader((out / "cnn_local_complexity.csv").open()))
    last = max(int(r["layer"]) for r in rows)  # the whole network: its last kink or pool
    for name in ("train", "test", "far"):
        means = [float(r["mean"]) for r in rows if r["points"] == name and r["layer"] == str(last)]
        assert means == pytest.approx(cnn[name], abs=1e-3)
    planes = [
        int(r["plane_regions"]) for r in rows if r["points"] == "far" and r["layer"] == str(last)
    ]
    assert planes == cnn["plane_regions"]
    mlp_rows = list(csv.DictReader((out / "local_complexity.csv").open()))
    assert {int(r["plane_regions"]) for r in mlp_rows} != {int(r["plane_regions"]) for r in rows}
    ids = [s["id"] for s in json.loads((out / "report.json").read_text())["sections"]]
    assert "local-complexity" in ids and "cnn-local-complexity" in ids
    assert (out / "cnn_local_complexity.png").stat().st_size > 0
    assert (out / "cnn_plane_over_training.png").stat().st_size > 0
