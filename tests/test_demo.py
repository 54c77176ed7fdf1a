"""``tinylens demo``: one command, one report, checked in a real browser."""

from __future__ import annotations

import json

import pytest

from tinylens.cli.main import main

from tests.browser import open_page

# Figures of the demo still laid out by constrained layout, made by modules other than the
# demo's figure code (viz/geometry.py, studies/optimizers/write.py): drawn once all the same.
_CONSTRAINED = {
    "optimizers/curves.png",
    "regions/regions.png",
    "topology/regions.png",
    "topology/separability.png",
    "topology/folding_K3.png",
}
_FIGURES: dict[str, list] = {}  # path in the run -> [draws, layout problems]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The quick demo, every figure it saves recorded: how many times it was drawn, and what
    its fixed-margin layout gets wrong with the labels the demo really gives it."""
    import re

    from matplotlib.figure import Figure

    import tinylens.io.rundir as rundir

    from tests.test_fixed_margin_figures import layout_problems

    draws: dict[int, int] = {}
    draw, save = Figure.draw, rundir._draw_png_once

    def counting_draw(fig, renderer):
        draws[id(fig)] = draws.get(id(fig), 0) + 1
        return draw(fig, renderer)

    def recording_save(fig, path, dpi):
        before = draws.get(id(fig), 0)
        save(fig, path, dpi)
        rel = re.sub(
            r"(^|/)\.([^/]+)\.[^./]+\.tmp$", r"\1\2", path.relative_to(out.parent).as_posix()
        )
        rel = rel.removeprefix(".run.partial/")
        problems = [] if rel in _CONSTRAINED else layout_problems(fig, rel, drawn=True)
        _FIGURES[rel] = [draws.get(id(fig), 0) - before, problems]

    out = tmp_path_factory.mktemp("demo") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "draw", counting_draw)
        mp.setattr(rundir, "_draw_png_once", recording_save)
        # in this process (--workers 1), so the figures it draws are seen here
        assert main(["demo", "--quick", "--out", str(out), "--quiet", "--workers", "1"]) == 0
    return out


def test_demo_writes_one_report_with_a_section_per_study(demo_run):
    report = json.loads((demo_run / "report.json").read_text())
    ids = [s["id"] for s in report["sections"]]
    assert ids[0] == "demo"
    for part in (
        "basis",
        "regions",
        "topology",
        "optimizers",
        "circuits",
        "compile",
        "recovery",
        "explain",
    ):
        assert part in ids, part
    for part in (
        "basis",
        "regions",
        "topology",
        "optimizers",
        "circuits/library",
        "circuits/compile",
        "circuits/recover",
    ):
        assert (demo_run / part / "index.html").exists(), part  # every study keeps its own
    metrics = json.loads((demo_run / "metrics.json").read_text())
    assert set(metrics["seconds"]) == {
        "basis",
        "regions",
        "topology",
        "optimizers",
        "circuits",
        "probing",
        "superposition",
        "sae",
    }
    # the demo's SAE highlights are the numbers its own run directory measured
    sae = json.loads((demo_run / "sae" / "metrics.json").read_text())
    assert metrics["highlights"]["sae"] == {
        "variance explained": sae["fraction of variance explained"],
        "classes per neuron": sae["neurons: mean classes responded to"],
        "classes per latent": sae["latents: mean classes responded to"],
    }
    assert sae["data"] == "digits" and 0.5 < sae["fraction of variance explained"] <= 1
    assert "verified" in metrics["highlights"]["circuits"]["compiled"]
    assert "success: Abs(x)" in metrics["highlights"]["circuits"]["read back"]
    assert metrics["highlights"]["probing"]["data"] == "digits"  # offline, never a download


def test_every_demo_figure_is_drawn_once_with_its_labels_inside(demo_run):
    """Issue 18: a figure saved with constrained layout and ``bbox_inches="tight"`` was drawn
    twice or three times; the demo's are drawn once, and (but for the few listed in
    ``_CONSTRAINED``) laid out by fixed margins that hold every label the demo gives them."""
    pngs = {p.relative_to(demo_run).as_posix() for p in demo_run.rglob("*.png")}
    assert set(_FIGURES) == pngs and len(pngs) > 40  # every figure went through save_figure
    assert {name: n for name, (n, _) in _FIGURES.items() if n != 1} == {}
    assert [p for _, problems in _FIGURES.values() for p in problems] == []


def test_parts_side_by_side_give_the_same_report_as_in_order(demo_run, tmp_path, capsys):
    """Two worker processes (issue 18: the demo's second core) change where the parts run, not
    what they find: the same highlights, numbers, files and sections as the in-order run."""
    parts = ["regions", "circuits", "superposition"]  # in the order of the full demo
    out = tmp_path / "side"
    argv = ["demo", "--quick", "--parts", ",".join(parts), "--out", str(out)]
    assert main([*argv, "--workers", "2"]) == 0
    both = [json.loads((d / "metrics.json").read_text()) for d in (out, demo_run)]
    # what it printed: the wall clock, each part's own seconds, and their sum said apart
    lines = capsys.readouterr().out.splitlines()
    m = both[0]
    assert lines[0] == (
        f"tinylens demo: 3 studies in {m['wall_seconds']:.1f} s, side by side in 2 worker "
        "processes; each part's own time:"
    )
    assert [line.split()[0] for line in lines[1:4]] == parts
    total = sum(m["seconds"].values())
    assert lines[4].split() == [
        "together", f"{total:.1f}", "s", "of", "work", "in", f"{m['wall_seconds']:.1f}",
        "s:", "the", "parts", "ran", "in", "parallel",
    ]  # fmt: skip
    assert both[0]["workers"] == 2 and both[1]["workers"] == 1
    assert list(both[0]["seconds"]) == parts  # in the parts' order, whichever finished first
    for part in parts:
        mine, theirs = both[0]["highlights"][part], both[1]["highlights"][part]
        assert {k: v for k, v in mine.items() if k != "seconds"} == {
            k: v for k, v in theirs.items() if k != "seconds"
        }
        files = {p.relative_to(out).as_posix() for p in (out / part).rglob("*")}
        assert files == {p.relative_to(demo_run).as_posix() for p in (demo_run / part).rglob("*")}
    sup = [json.loads((d / "superposition" / "metrics.json").read_text()) for d in (out, demo_run)]
    for m in sup:
        m.pop("seconds", None)
    assert sup[0] == sup[1]
    sections = json.loads((out / "report.json").read_text())["sections"]
    said = f"processes side by side: the table gives each part's own seconds, {total:.0f} s "
    assert said in sections[0]["summary"]
    ids = [s["id"] for s in sections]
    theirs = [s["id"] for s in json.loads((demo_run / "report.json").read_text())["sections"]]
    assert ids[0] == "demo"
    assert set(ids[1:]) == {
        "regions",
        "compile",
        "explain",
        "circuits",
        "recovery",
        "superposition",
    }
    assert ids[1:] == [i for i in theirs if i in ids[1:]]  # the parts' order, not finishing order


def test_the_printed_times_say_what_they_add_up_to():
    """Parts run in parallel each take their own seconds at the same time: the lines print
    the wall clock and the parts' sum apart (issue 18: a column that added up to more than the
    total read as a mistake). In one process the parts' lines add up to the total, unlabelled,
    as before."""
    from tinylens.cli.demo import summary_lines
    from tinylens.studies.demo import DemoConfig, DemoResult

    seconds = {"basis": 2.6, "superposition": 1.04, "topology": 6.5}
    side = DemoResult(DemoConfig(), seconds=seconds, wall=7.31, workers=2)
    assert summary_lines(side) == [
        "tinylens demo: 3 studies in 7.3 s, side by side in 2 worker processes; each part's own "
        "time:",
        "  basis           2.6 s",
        "  superposition   1.0 s",
        "  topology        6.5 s",
        "  together       10.1 s of work in 7.3 s: the parts ran in parallel",
    ]
    alone = DemoResult(DemoConfig(), seconds=seconds, wall=10.3, workers=1)
    assert summary_lines(alone) == [
        "tinylens demo: 3 studies in 10.3 s",
        "  basis           2.6 s",
        "  superposition   1.0 s",
        "  topology        6.5 s",
    ]


def test_demo_refuses_to_overwrite_and_rejects_unknown_parts(demo_run, capsys):
    before = (demo_run / "report.json").read_text()
    assert main(["demo", "--quick", "--out", str(demo_run), "--quiet"]) == 2
    assert (demo_run / "report.json").read_text() == before
    assert main(["demo", "--parts", "basis,regoins", "--out", str(demo_run.parent / "x")]) == 2
    assert "unknown demo part 'regoins'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # an argparse error: one line, exit code 2
        main(["demo", "--workers", "0", "--out", str(demo_run.parent / "y")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--workers: expected a positive integer" in err and "Traceback" not in err
    assert not (demo_run.parent / "y").exists()


def test_demo_report_in_a_real_browser(demo_run):
    with open_page(demo_run / "index.html") as (page, errors):
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.getAttribute('src'),"
            " i.complete && i.naturalWidth > 0])"
        )
        assert images and [src for src, ok in images if not ok] == []
        widgets = page.locator(".tl-widget")
        assert widgets.count() == page.locator(".tl-widget[data-ready='1']").count() > 0

        # the basis slider: moving it changes the plotted network
        basis = page.locator("section#basis .tl-widget").first
        curve = basis.locator("path.tl-main")
        before = curve.get_attribute("d")
        basis.locator(".tl-slider").evaluate(
            "s => { s.value = 0; s.dispatchEvent(new Event('input')); }"
        )
        assert curve.get_attribute("d") != before
        assert basis.locator(".tl-frame-label").inner_text().startswith("epoch 0")

        # the circuits section shows the min circuit's weights: W1 = [[1,-1],[1,0],[-1,0]],
        # W2 = [[-1,1,-1]] (zeros are not drawn)
        figure = page.locator("section#circuits figure", has_text="min: ").first
        weights = figure.locator(".tl-weight").evaluate_all("ts => ts.map(t => t.textContent)")
        assert sorted(weights) == sorted(["1", "-1", "1", "-1", "-1", "1", "-1"])
        assert errors == []


def test_the_command_line_imports_no_heavy_library_it_does_not_use():
    """`tinylens --help` and every command's start pay only for what they use (issue 18: SymPy
    and scikit-learn's linear models cost 2.5 s of imports): importing the CLI loads none of
    them. A fresh interpreter, since this test process has imported them all already."""
    import subprocess
    import sys

    code = (
        "import sys, tinylens.cli.main; "
        "print([m for m in ('sympy', 'sklearn.linear_model', 'umap', 'dask', 'torch') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
