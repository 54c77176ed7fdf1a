"""The HTML report: sections, widgets, escaping, and a real browser."""

from __future__ import annotations

import json

import pytest

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
    with pytest.raises(json.JSONDecodeError):
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
