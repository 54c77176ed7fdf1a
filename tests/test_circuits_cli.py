"""``tinylens circuits``: list, show, compile (and its weights file), recover, and mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction as F

import numpy as np
import pytest

from tinylens.cli.main import main


def cli_json(capsys, *args):
    code = main(["circuits", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_list_with_sizes_reports_hand_and_compiled(capsys):
    code, data = cli_json(capsys, "list", "--sizes")
    assert code == 0
    rows = {r["name"]: r for r in data["circuits"]}
    # on the library's box [-1, 1]^2 the compiler carries x1 in one unit: relu(x1 + 1) - 1
    assert rows["min"]["sizes"] == [2, 3, 1] and rows["min"]["compiled"]["neurons"] == 2
    assert rows["parity_net"]["neurons"] == 11 and rows["parity_net"]["compiled"]["neurons"] == 8
    assert rows["less_than_sigmoid"]["compiled"] is None
    for r in rows.values():
        if r["compiled"]:
            assert r["compiled"]["neurons"] <= r["neurons"], r["name"]


def test_show_prints_weights_formula_and_checked_examples(capsys):
    assert main(["circuits", "show", "is_even"]) == 0
    out = capsys.readouterr().out
    assert "W [out, in] = [2, 1]" in out and "b [8, -8]" in out
    assert "verified: checked all 16 points" in out
    assert "WRONG" not in out and out.count(" ok") == 4
    code, data = cli_json(
        capsys, "show", "identity_family", "--param", "w1=4", "--param", "w2=-1/3"
    )
    assert code == 0 and data["examples_ok"]
    assert data["layers"][1]["weight"] == [["1/4", "-3"]]


def test_compile_json_has_the_promised_keys_and_writes_exact_weights(capsys, tmp_path):
    out = tmp_path / "even.safetensors"
    code, data = cli_json(
        capsys,
        "compile",
        "is_even(x, bits=4)",
        "--domain",
        "x=0..15",
        "--verify",
        "--out",
        str(out),
    )
    assert code == 0
    for key in ("expression", "inputs", "neurons", "depth", "verified", "max_error", "path"):
        assert key in data
    assert data["verified"] is True and data["max_error"] == 0 and data["neurons"] == 8
    assert data["path"] == str(out) and data["inputs"] == ["x"]
    import tinylens as tl
    from tinylens.circuits import load_exact

    net = tl.load(out)  # the standard weights file, readable by everything
    x = np.arange(16, dtype=np.float32).reshape(-1, 1)
    assert net.predict(x).ravel().tolist() == [1.0 - v % 2 for v in range(16)]
    exact = load_exact(out)
    assert all(isinstance(v, F) for v in exact.layers[0].weight.ravel())


def test_compile_on_a_real_box_is_verified_exactly(capsys):
    code, data = cli_json(
        capsys, "compile", "max(x1, x2)", "--domain", "x1=-1:1,x2=-1:1", "--verify"
    )
    assert code == 0 and data["verified"] is True and data["max_error"] == 0
    assert "2 linear pieces" in data["verification"]  # max = x1 + relu(x2 - x1), x1 in 1 unit


def test_an_unnamed_domain_may_start_with_a_minus_sign(capsys):
    # "--domain -3..3" (no "=") used to be taken for an option by argparse
    code, data = cli_json(capsys, "compile", "min(x, y)", "--domain", "-3..3", "--verify")
    assert code == 0 and data["domain"] == "x=-3..3,y=-3..3" and data["verified"] is True
    assert "checked all 49 points" in data["verification"]


def test_compile_human_output(capsys):
    assert main(["circuits", "compile", "x < 10", "--domain", "x=0..19", "--verify"]) == 0
    out = capsys.readouterr().out
    assert "h1_1 = relu(-x + 10)" in out and "h1_2 = relu(-x + 9)" in out
    assert "y = h1_1 - h1_2" in out and "verified: checked all 20 points" in out


def test_compile_refuses_to_overwrite(tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["circuits", "compile", "min(a, b)", "--out", str(out), "--quiet"]) == 0
    assert main(["circuits", "compile", "min(a, b)", "--out", str(out), "--quiet"]) == 2
    assert main(["circuits", "compile", "min(a, b)", "--out", str(out), "--force", "--quiet"]) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["compile", "min(x, y"], "column 9: expected ')'"),
        (["compile", "x * y"], "multiplies two variable quantities"),
        (["compile", "x < 3"], "integer-valued inputs"),
        (["compile", "x + y", "--domain", "x=0..3"], "unknown variable 'y'"),
        (["show", "mni"], "unknown circuit 'mni'"),
        (["show", "identity_family", "--param", "w1=-2"], "w1 > 0 > w2"),
        (["recover", "mn", "--seeds", "2"], "unknown recovery target 'mn'"),
        (["recover", "abs", "--seeds", "2", "--optimizer", "adma"], "unknown optimizer 'adma'"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(args, message, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "tinylens", "circuits", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists()


def test_recover_writes_a_run_with_report_and_json(capsys, tmp_path):
    out = tmp_path / "rec"
    code = main(
        [
            "circuits",
            "recover",
            "identity",
            "--seeds",
            "40",
            "--steps",
            "200",
            "--compare",
            "--compare-seeds",
            "20",
            "--out",
            str(out),
            "--quiet",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == "identity" and data["seeds"] == 40
    assert sum(data["outcomes"].values()) == 40
    assert len(data["grid"]) == 9
    for name in (
        "config.yaml",
        "metrics.json",
        "seeds.csv",
        "losses.png",
        "fits.png",
        "rates.png",
        "index.html",
    ):
        assert (out / name).exists(), name
    assert list((out / "examples").glob("*.safetensors"))
    assert "Does gradient descent find identity?" in (out / "index.html").read_text()


# -- the study behind the commands: results that show themselves (issue 13) ---------------------


def test_the_circuits_results_show_themselves():
    from tinylens.studies.circuits import (
        CompileConfig,
        ListConfig,
        ShowConfig,
        run_compile,
        run_list,
        run_show,
    )

    listing = run_list(ListConfig())
    shown = run_show(ShowConfig(name="min"))
    compiled = run_compile(CompileConfig("min(x1, x2)", domain="x1=-2:2,x2=-2:2", verify=True))
    v = compiled.verification
    for r in (listing, shown, compiled, v):
        assert len(repr(r)) < 200 and "array" not in repr(r)
        assert "<table>" in r._repr_html_()
        assert isinstance(r.to_dict(), dict)
    assert repr(compiled) == "CompileResult('min(x1, x2)', 2-2-1, 2 ReLU units, verified=True)"
    assert repr(v).startswith("Verification(verified=True, max_error=0, exact regions, ")
    assert "<img" in compiled._repr_html_()  # the network over its box
    assert compiled.plot().axes[0].get_xlabel() == "x1"
    assert listing.to_pandas()["name"].tolist() == [r["name"] for r in listing.rows]
    # the JSON of the command is the result's to_dict (one source of truth)
    assert shown.to_dict()["verification"]["verified"] is True


def test_a_command_module_only_parses_and_calls():
    """The CLI modules hold no study logic: each is short and imports the study's run."""
    from pathlib import Path

    import tinylens.cli.circuits as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) < 160, path.name
        if path.name not in ("__init__.py", "recover.py"):
            assert "from tinylens.studies.circuits" in text, path.name


def test_recover_takes_the_input_distribution_and_hidden_widths(tmp_path):
    """--distribution and --hidden reach the study: the run's own config says so, and the
    weights of its example networks have the asked widths."""
    import yaml

    from tinylens.io import load

    out = tmp_path / "bp"
    argv = ["circuits", "recover", "bottleneck_sum", "--seeds", "6", "--steps", "30"]
    code = main([*argv, "--distribution", "uniform", "--hidden", "3", "--out", str(out), "--quiet"])
    assert code == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert "uniform" in yaml.safe_dump(config) and "3" in yaml.safe_dump(config)
    nets = [load(p) for p in (out / "examples").glob("*.safetensors")]
    assert nets and all(net.sizes[1:-1] == [3] for net in nets)
    with pytest.raises(SystemExit) as bad:  # argparse's choices: one line, exit code 2
        main([*argv, "--distribution", "cauchy", "--out", str(tmp_path / "x"), "--quiet"])
    assert bad.value.code == 2 and not (tmp_path / "x").exists()


def test_recover_says_what_success_means_where_there_is_no_formula(capsys, tmp_path):
    argv = ["circuits", "recover", "less_than_sigmoid", "--seeds", "8", "--steps", "50"]
    assert main([*argv, "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "success means the gentle-introduction article's solution" in out
