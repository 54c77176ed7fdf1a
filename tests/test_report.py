"""The HTML report: sections, widgets, escaping, and a real browser."""

from __future__ import annotations

import json

import pytest

from tinylens.errors import ConfigError
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.report import render_run

from tests.browser import open_page

FRAMES = {
    "x": [0, 1, 2, 3],
    "xlabel": "x",
    "frames": [
        {
            "label": "epoch 0",
            "lines": [{"name": "net", "y": [0, 0, 0, 0], "kind": "main"}],
            "points": [{"x": 1, "y": 0, "tip": "neuron 0\nslope 1"}],
        },
        {"label": "epoch 5", "lines": [{"name": "net", "y": [0, 1, 2, 3], "kind": "main"}]},
    ],
}


def make_run(tmp_path, figures, extra=None):
    run = RunDir(tmp_path / "run")
    for name, obj in (extra or {}).items():
        (run.file(name)).write_text(obj if isinstance(obj, str) else json.dumps(obj))
    run.add_section(
        Section(
            "s",
            "A section <b>",
            summary="x < y & z",
            metrics={"acc": 0.5, "n": 3},
            figures=figures,
            tables=[Table("t", ["a", "b"], [[1, 2.5]])],
            config={"lr": 0.1},
            notes=["a caveat"],
        ),
        title="Report & test",
    )
    render_run(run.work)
    return run.finish()


def test_sections_render_escaped_with_metrics_tables_and_config(tmp_path):
    out = make_run(tmp_path, [Figure("a.png", "caption")])
    page = (out / "index.html").read_text()
    assert "<title>Report &amp; test</title>" in page
    assert "A section &lt;b&gt;" in page and "x &lt; y &amp; z" in page
    assert "<img src='a.png'" in page and "a caveat" in page and "lr: 0.1" in page
    assert "<script" not in page  # no widgets, no JavaScript


def test_widget_json_cannot_close_its_script_tag(tmp_path):
    spec = dict(FRAMES, xlabel="</script><script>alert(1)</script>")
    out = make_run(
        tmp_path, [Figure("f.json", kind="widget", widget="frames-chart")], {"f.json": spec}
    )
    page = (out / "index.html").read_text()
    assert "</script><script>alert(1)" not in page
    assert "<\\/script><script>alert(1)<\\/script>" in page


def test_invalid_widget_data_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not valid JSON"):
        make_run(
            tmp_path,
            [Figure("f.json", kind="widget", widget="frames-chart")],
            {"f.json": "{not json"},
        )


def test_widgets_draw_and_the_slider_moves_the_curve_in_a_real_browser(tmp_path):
    circuit = {
        "input_names": ["a", "b"],
        "layers": [
            {"weight": [[1, -1], [1, 0], [-1, 0]], "bias": [0, 0, 0], "activation": "relu"},
            {"weight": [[-1, 1, -1]], "bias": [0], "activation": "identity"},
        ],
    }
    regions = {
        "box": [-1, 1, -1, 1],
        "regions": [
            {"vertices": [[-1, -1], [1, -1], [1, 1]], "tip": "pattern 10"},
            {"vertices": [[-1, -1], [1, 1], [-1, 1]], "tip": "pattern 01"},
        ],
    }
    out = make_run(
        tmp_path,
        [
            Figure("f.json", kind="widget", widget="frames-chart"),
            Figure("r.json", kind="widget", widget="regions-map"),
            Figure("c.json", kind="widget", widget="circuit"),
        ],
        {"f.json": FRAMES, "r.json": regions, "c.json": circuit},
    )
    with open_page(out / "index.html") as (page, errors):
        assert page.eval_on_selector_all(".tl-widget", "ws => ws.map(w => w.dataset.ready)") == [
            "1",
            "1",
            "1",
        ]
        before = page.eval_on_selector(".tl-main", "p => p.getAttribute('d')")
        page.eval_on_selector(
            ".tl-slider", "s => { s.value = 0; s.dispatchEvent(new Event('input')); }"
        )
        after = page.eval_on_selector(".tl-main", "p => p.getAttribute('d')")
        assert before != after
        assert page.inner_text(".tl-frame-label") == "epoch 0"
        page.hover(".tl-point")
        assert "slope 1" in page.inner_text(".tl-tip")
        assert page.locator(".tl-region").count() == 2
        labels = page.eval_on_selector_all(".tl-weight", "ts => ts.map(t => t.textContent)")
        assert sorted(labels) == sorted(["1", "-1", "1", "-1", "-1", "1", "-1"])
        assert errors == []


# -- the basis chart of a real run ---------------------------------------------------------------
# A real `tinylens basis` run, small: `abs` puts one rising and one falling neuron near x = 0, so
# both active sides appear among the chart's dots (checked below: the test cannot pass vacuously).
BASIS_ARGS = ["--target", "abs", "--hidden-dim", "6", "--epochs", "60", "--frames", "4"]
BASIS_ARGS += ["--no-animation", "--sweep-widths", "1,2,4", "--sweep-seeds", "2"]
BASIS_ARGS += ["--sweep-epochs", "100", "--seed", "2024", "--quiet"]
# The tooltip and the table print 4 significant digits (widgets.js `fmt`, report `_fmt`): two
# displays of one number agree within half a unit in the 4th digit, relative.
DISPLAY_RTOL = 5e-4


@pytest.fixture(scope="module")
def basis_run(tmp_path_factory):
    from tinylens.cli.main import main

    out = tmp_path_factory.mktemp("basis") / "run"
    assert main(["basis", *BASIS_ARGS, "--out", str(out)]) == 0
    return out


def _tables(page_html):
    """Every report table as (title, header, rows of cell texts)."""
    import html as html_lib
    import re

    found = re.findall(
        r"<div class='table-title'>(.*?)</div><table><thead><tr>(.*?)</tr></thead>"
        r"<tbody>(.*?)</tbody></table>",
        page_html,
    )

    def cells(s, tag):
        return [html_lib.unescape(c) for c in re.findall(f"<{tag}[^>]*>(.*?)</{tag}>", s)]

    return {
        html_lib.unescape(title): (
            cells(head, "th"),
            [cells(r, "td") for r in re.findall(r"<tr>(.*?)</tr>", body)],
        )
        for title, head, body in found
    }


def test_basis_tooltips_of_a_real_run_match_its_table_and_its_weights(basis_run):
    from safetensors.numpy import load_file

    page_html = (basis_run / "index.html").read_text()
    header, rows = _tables(page_html)["the neurons at the end of training"]
    table = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows}
    # The oracle: the saved weights, read in plain Python.
    state = load_file(str(basis_run / "model.safetensors"))
    w_in, b_in = state["layers.0.weight"][:, 0], state["layers.0.bias"]
    w_out = state["layers.1.weight"][0]
    metrics = json.loads((basis_run / "metrics.json").read_text())
    # the summary's count of kinks in the data range, recomputed from the weights
    from tinylens.data import TARGETS

    lo, hi = TARGETS["abs"].x_range
    inside = sum(lo <= -b / w <= hi for w, b in zip(w_in, b_in, strict=True) if w != 0)
    assert metrics["kinks_in_domain"] == inside
    assert f"{inside} kinks lie inside the data range" in page_html
    assert f"({int((w_in == 0).sum())} neurons have no kink: a zero slope)" in page_html

    with open_page(basis_run / "index.html") as (page, errors):
        page.wait_for_selector(".tl-widget[data-ready='1']")
        dots = page.locator(".tl-point")
        assert dots.count() == metrics["kinks_in_domain"] > 0  # one dot per kink in the range
        tips = []
        for i in range(dots.count()):
            dots.nth(i).dispatch_event("mousemove", {"clientX": 10, "clientY": 10})
            tips.append(page.inner_text(".tl-tip"))
        page.locator(".tl-point").last.hover()  # a real pointer, on the dot drawn on top
        assert page.inner_text(".tl-tip") == tips[-1]
        assert errors == []

    sides = set()
    for tip in tips:
        lines = tip.split("\n")
        h = int(lines[0].split()[1])
        row, slope, kink = table[h], float(w_in[h]), float(-b_in[h] / w_in[h])
        side = "right" if slope > 0 else "left"
        sides.add(side)
        labels = [line.split(" = ")[0] for line in lines[1:4]]
        assert labels == ["slope w_in", "kink -b/w", "importance w_out"]
        shown = dict(
            zip(("w", "k", "imp"), (float(x.split(" = ")[1]) for x in lines[1:4]), strict=True)
        )
        for value, cell, truth in [
            (shown["w"], row["slope"], slope),
            (shown["k"], row["kink"], kink),
            (shown["imp"], row["importance"], float(w_out[h])),
        ]:
            assert value == pytest.approx(float(cell), rel=DISPLAY_RTOL)
            assert value == pytest.approx(truth, rel=DISPLAY_RTOL)
        assert row["active"] == side
        assert lines[4] == ("active for x > kink" if side == "right" else "active for x < kink")
        assert ("(dead on the data)" in lines[0]) == (row["dead (data)"] == "yes")
    assert sides == {"right", "left"}  # both branches of the widget were shown


def test_basis_width_sweep_caption_states_the_tables_numbers(basis_run):
    import re

    page_html = (basis_run / "index.html").read_text()
    caption = next(
        c for c in re.findall(r"<figcaption>(.*?)</figcaption>", page_html) if "Median RMSE" in c
    )
    _, rows = _tables(page_html)["width sweep"]
    cells = {(r[0], int(r[1])): r[2] for r in rows}
    median = {k: float(v) for k, v in cells.items()}
    rmse = json.loads((basis_run / "metrics.json").read_text())["width_sweep"]["rmse"]
    widths = sorted({w for _, w in median})
    for target in ("sine", "polynomial", "abs", "rough"):
        m = re.search(
            rf"{target} (falls from|rises from|is) ([\d.e+-]+) at width (\d+) (?:to|and) "
            rf"([\d.e+-]+) at width (\d+)",
            caption,
        )
        assert m, caption
        verb, first, w0, last, w1 = m.groups()
        assert (int(w0), int(w1)) == (widths[0], widths[-1])
        assert (first, last) == (cells[target, widths[0]], cells[target, widths[-1]])  # as shown
        lowest = re.search(rf"{target} [^;]*\(lowest ([\d.e+-]+) at width (\d+)\)", caption)
        best = min(widths, key=lambda w: median[target, w])
        if best not in (widths[0], widths[-1]):
            assert lowest and lowest.groups() == (cells[target, best], str(best)), caption
        else:
            assert lowest is None, caption
        assert float(first) == pytest.approx(median[target, widths[0]], rel=DISPLAY_RTOL)
        assert float(last) == pytest.approx(median[target, widths[-1]], rel=DISPLAY_RTOL)
        # ... and the table's medians are the medians of metrics.json's per-seed errors
        for i, w in enumerate(widths):
            seeds = sorted(rmse[target][i])
            mid = (seeds[(len(seeds) - 1) // 2] + seeds[len(seeds) // 2]) / 2
            assert median[target, w] == pytest.approx(mid, rel=DISPLAY_RTOL)
        a, b = median[target, widths[0]], median[target, widths[-1]]
        assert verb == ("falls from" if b < a else "rises from" if b > a else "is")
    assert "needs" not in caption  # no claim beyond the numbers


def test_sweep_caption_says_falls_rises_and_lowest_as_the_medians_do():
    import numpy as np

    from tinylens.studies.basis import WidthSweep, sweep_caption

    errors = {
        "dip": np.array([[0.5, 0.7], [0.1, 0.3], [0.3, 0.3]]),  # medians 0.6, 0.2, 0.3
        "up": np.array([[0.0001, 0.0001], [0.2, 0.4], [0.9, 0.9]]),  # 1e-4, 0.3, 0.9
        "flat": np.array([[0.25, 0.25], [0.25, 0.25], [0.25, 0.25]]),
    }
    caption = sweep_caption(WidthSweep((1, 2, 4), errors, epochs=10))
    assert "median over 2 seeds" in caption
    assert "dip falls from 0.6 at width 1 to 0.3 at width 4 (lowest 0.2 at width 2)" in caption
    assert "up rises from 1.000e-04 at width 1 to 0.9 at width 4;" in caption
    assert "flat is 0.25 at width 1 and 0.25 at width 4." in caption


# -- a report reads only its own run directory -------------------------------------------------


def _report_dir(tmp_path, figures):
    root = tmp_path / "someone-elses-run"
    root.mkdir()
    sections = [{"id": "s", "title": "t", "figures": figures}]
    (root / "report.json").write_text(json.dumps({"title": "x", "sections": sections}))
    return root


@pytest.mark.parametrize("kind", ["html", "widget", "image"])
@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
def test_a_report_never_reads_a_file_outside_its_run_directory(tmp_path, kind, where):
    secret = tmp_path / "secret.txt"
    secret.write_text('{"password": "hunter2"}')
    root = _report_dir(tmp_path, [])
    path = {"absolute": str(secret), "dotdot": "../secret.txt", "symlink": "link.txt"}[where]
    if where == "symlink":
        (root / "link.txt").symlink_to(secret)
    sections = [{"id": "s", "title": "t", "figures": [{"path": path, "kind": kind}]}]
    (root / "report.json").write_text(json.dumps({"title": "x", "sections": sections}))
    with pytest.raises(ConfigError, match="outside the run directory"):
        render_run(root)
    assert not (root / "index.html").exists()
    # and from the command line: one line, exit code 2, nothing written
    from tinylens.cli.main import main

    assert main(["report", str(root)]) == 2
    assert not (root / "index.html").exists()


MALFORMED = {
    "not json": "{title: x",
    "a list": "[1, 2]",
    "sections a string": '{"sections": "abc"}',
    "section a number": '{"sections": [3]}',
    "unknown section key": '{"sections": [{"id": "a", "title": "b", "colour": 1}]}',
    "figure without path": '{"sections": [{"id": "a", "title": "b", "figures": [{}]}]}',
    "title an object": '{"title": {}, "sections": []}',
    "rows not lists": '{"sections": [{"id": "a", "title": "b", "tables": '
    '[{"title": "t", "columns": ["a"], "rows": [5]}]}]}',
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "binary": b"\xff\xfe\x00\x01".decode("latin-1"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_report_json_is_one_line_and_exit_2(tmp_path, name, capsys):
    from tinylens.cli.main import main

    root = tmp_path / "run"
    root.mkdir()
    (root / "report.json").write_text(MALFORMED[name], encoding="latin-1")
    assert main(["report", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "report.json" in err
    assert not (root / "index.html").exists()
