"""The report's slider over the partition in training (issue 15): the fixed plane's regions at
every snapshot, with the epoch, the region count and the decision boundary, in a real browser.

Every number the page shows is recomputed here another way: the regions of each snapshot's
network on the plane by ``linear_regions`` on the snapshot itself (not the result's stored
regions), the boundary by ``decision_boundary``, and a hovered region's class by the network's
forward pass at the region's centroid."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from tinylens.geometry import decision_boundary, linear_regions
from tinylens.io import RunDir
from tinylens.report import render_run
from tinylens.studies.geometry.over_training import over_training_of
from tinylens.studies.geometry.write import slider_picks, write_over_training

from tests.browser import open_page


@pytest.fixture(scope="module")
def trained():
    """A real (quick) training run on the 8x8 digits: snapshots at epochs 0..3."""
    from tinylens.studies.mnist import MnistStudyConfig, run

    result = run(MnistStudyConfig.quick(epochs=3, analyses=()), progress=False)
    p = result.primary
    return _snapshots(p), over_training_of(p, points=4, radius=0.5, seed=0)


def _snapshots(p):
    """(epoch, network) of every weight snapshot, rebuilt here from the saved state dicts."""
    out = []
    for epoch, state in p.history.snapshots:
        net = p.net.copy()
        net.load_state_dict(state)
        out.append((epoch, net))
    return out


def _report(tmp_path, g):
    run = RunDir(tmp_path / "run")
    write_over_training(g, run, model="raw", title="slider")
    render_run(run.work)
    return run.finish()


def test_the_slider_frames_hold_each_snapshots_regions_and_boundary(trained, tmp_path):
    snaps, g = trained
    out = _report(tmp_path, g)
    spec = json.loads((out / "plane_over_training_frames.json").read_text())
    assert len(spec["frames"]) == len(snaps) == 4
    assert spec["anchors"] == [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    counts = []
    for frame, (epoch, net) in zip(spec["frames"], snaps, strict=True):
        regions = linear_regions(net, slice=g.plane)  # from the snapshot, not the result
        boundary = decision_boundary(regions)
        assert frame["label"] == f"epoch {epoch}"
        assert len(frame["regions"]) == regions.count
        assert len(frame["lines"]) == len(boundary.segments)
        assert [r["color"] for r in frame["regions"]] == regions.predicted_class.tolist()
        counts.append(regions.count)
    assert len(set(counts)) > 1  # the frames differ: a slider that showed one frame would fail
    section = json.loads((out / "report.json").read_text())["sections"][0]
    widgets = [f for f in section["figures"] if f.get("widget") == "regions-frames"]
    assert len(widgets) == 1
    assert (out / "plane_over_training.png").stat().st_size > 0  # the no-JS / print fallback


def test_the_slider_moves_frame_label_and_count_in_a_real_browser(trained, tmp_path):
    snaps, g = trained
    out = _report(tmp_path, g)
    with open_page(out / "index.html") as (page, errors):
        root = ".tl-widget[data-kind='regions-frames']"
        assert page.eval_on_selector(root, "w => w.dataset.ready") == "1"
        seen = set()
        for i in (len(g.epochs) - 1, 0, 2, 1):  # starts at the last epoch, then moves
            if i != len(g.epochs) - 1:
                page.eval_on_selector(
                    f"{root} .tl-slider",
                    f"s => {{ s.value = {i}; s.dispatchEvent(new Event('input')); }}",
                )
            epoch, net = snaps[i]
            regions = linear_regions(net, slice=g.plane)
            n_lines = len(decision_boundary(regions).segments)
            label = page.eval_on_selector(f"{root} .tl-frame-label", "e => e.textContent")
            assert (
                label
                == f"epoch {epoch}  \u00b7  {regions.count} regions, {n_lines} boundary segments"
            )
            assert page.locator(f"{root} .tl-region").count() == regions.count
            assert page.locator(f"{root} .tl-boundary").count() == n_lines
            assert page.locator(f"{root} .tl-anchor").count() == 3
            seen.add(
                page.eval_on_selector_all(
                    f"{root} .tl-region", "ps => ps[0].getAttribute('points')"
                )
            )
            # hover the largest region: its tip names its pattern and the class the network
            # predicts at its centroid (a forward pass through the snapshot)
            k = int(np.argmax(regions.volumes()))
            centre = g.plane.to_input(regions.interior_points[k][None])
            want = int(np.argmax(net.forward(centre)[0]))
            page.eval_on_selector_all(
                f"{root} .tl-region",
                f"ps => {{ const b = ps[{k}].getBoundingClientRect(); ps[{k}].dispatchEvent("
                "new MouseEvent('mousemove', {clientX: b.x, clientY: b.y, bubbles: true})); }",
            )
            tip = page.eval_on_selector(f"{root} .tl-tip", "e => e.textContent")
            assert tip == f"region {k}\npattern {regions.pattern_strings[k]}\nclass {want}"
        assert len(seen) == 4  # every frame drew different polygons
        assert errors == []


def test_slider_picks_fit_the_cap_and_fall_back_to_the_last_map(trained, tmp_path, monkeypatch):
    assert slider_picks([3, 3, 3, 3, 3], cap=15) == [0, 1, 2, 3, 4]
    assert slider_picks([3, 3, 3, 3, 3], cap=9) == [0, 2, 4]
    assert slider_picks([3, 9, 3], cap=6) == [0, 2]
    assert slider_picks([4, 4], cap=7) == []
    # brute force: the picks are the largest evenly spaced subset that fits
    counts = [5, 1, 7, 2, 9, 3, 4]
    for cap in range(9, 32):  # 9 = first + last
        picks = slider_picks(counts, cap=cap)
        assert picks[0] == 0 and picks[-1] == len(counts) - 1
        assert sum(counts[i] for i in picks) <= cap
        for k in range(len(picks) + 1, len(counts) + 1):
            wider = sorted(set(np.linspace(0, 6, k).round().astype(int).tolist()))
            assert sum(counts[i] for i in wider) > cap
    _, g = trained
    # (the package exports the function write; the module is in sys.modules)
    writer = sys.modules["tinylens.studies.geometry.write"]
    monkeypatch.setattr(writer, "MAX_SLIDER_REGIONS", g.plane_counts[-1, -1])
    out = _report(tmp_path, g)
    assert not (out / "plane_over_training_frames.json").exists()
    hover = json.loads((out / "plane_over_training_map.json").read_text())
    assert len(hover["regions"]) == g.plane_counts[-1, -1]
