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
