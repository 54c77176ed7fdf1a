"""The hostile-input corpus (issue 17): every registered command against generated bad input.

Cases are generated (tests/hostile_cases.py), not listed: each option and positional of each
command the CLI registers gets each of a family of bad values; damaged weights files come from
mutating a valid file's header, metadata and tensors; malformed YAML files from a few families.
Each command's cases run in one worker process, in-process through ``tinylens.cli.main.main``
(for speed), under an address-space limit (RLIMIT_AS). For every case we assert:

* exit code 0 or 2 (argparse's usage errors are 2 as well), never a traceback in stderr;
* an error is one line (warnings aside);
* bounded time: each case under ``CASE_SECONDS``;
* bounded memory: the worker cannot exceed ``ADDRESS_SPACE`` bytes of address space, and its
  peak resident memory over all of a command's cases stays under ``PEAK_RSS``;
* no silent acceptance: a numeric option given a negative, non-finite, huge, non-numeric or
  empty value exits with code 2.

A sample of cases also runs as real subprocesses (``python -m tinylens``) for true exit codes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile_cases as hc

CASE_SECONDS = 60.0
"""Longest a single case may take (s). Generous: the machine is shared and loaded; a quick case
takes milliseconds, a case that runs a small study a few seconds. A hang hits this."""

ADDRESS_SPACE = 6 * 2**30
"""RLIMIT_AS of a worker (6 GiB of address space; importing torch alone maps about 0.7 GiB). An
allocation past it is a MemoryError inside the case, never the machine's memory."""

PEAK_RSS = 1536 * 2**20
"""Largest resident memory a command may reach on the whole corpus (1.5 GiB)."""

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _run_worker(cases, tmp_path, name):
    """Run ``cases`` in worker processes (a new one after a crash); the results, by id."""
    cases_file = tmp_path / f"{name}.cases.json"
    results = tmp_path / f"{name}.results.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    env["MPLBACKEND"] = "Agg"
    done: dict[str, dict] = {}
    todo = list(cases)
    while todo:
        cases_file.write_text(json.dumps(todo))
        proc = subprocess.run(
            [
                sys.executable,
                str(HERE / "hostile_cases.py"),
                str(cases_file),
                str(results),
                str(CASE_SECONDS),
                str(ADDRESS_SPACE),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=CASE_SECONDS * len(todo) + 120,
        )
        if results.exists():
            for line in results.read_text().splitlines():
                rec = json.loads(line)
                done[rec["id"]] = rec
        rest = [c for c in todo if c["id"] not in done]
        if proc.returncode != 0 and rest:  # the worker died inside a case: that case failed
            crashed = rest[0]
            done[crashed["id"]] = {
                "id": crashed["id"],
                "code": f"worker died ({proc.returncode})",
                "stderr": proc.stderr[-2000:],
                "seconds": 0.0,
                "peak_rss": 0,
            }
            rest = rest[1:]
        todo = rest
    return done


def _problems(cases, done):
    problems = []
    for case in cases:
        rec = done.get(case["id"])
        if rec is None:
            problems.append(f"{case['id']}: no result")
            continue
        err = rec["stderr"]
        lines = [ln for ln in err.splitlines() if ln.strip() and ": warning: " not in ln]
        if rec["code"] not in (0, 2):
            problems.append(f"{case['id']}: exit {rec['code']}: {err[-300:]}")
        elif "Traceback" in err:
            problems.append(f"{case['id']}: traceback: {err[-300:]}")
        elif rec["code"] == 2 and len(lines) != 1:
            problems.append(f"{case['id']}: {len(lines)} error lines: {err[:300]}")
        elif case.get("must_fail") and rec["code"] != 2:
            problems.append(f"{case['id']}: accepted silently (exit {rec['code']})")
        elif rec["seconds"] > CASE_SECONDS:
            problems.append(f"{case['id']}: took {rec['seconds']:.0f} s")
    return problems


def _prepare(cases, tmp_path, paths):
    """Fill fixture paths into argv, give each case its own working directory (deep enough
    that '../../../..' stays inside tmp_path) and its own --out."""
    out = []
    for i, case in enumerate(cases):
        argv = [_fill(a, paths) for a in case["argv"]]
        cwd = tmp_path / "w" / "a" / "b" / "c" / f"case{i}"
        out.append(dict(case, argv=argv, cwd=str(cwd)))
    return out


def _fill(arg, paths):
    for key, value in paths.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def _commands():
    return [" ".join(path) for path, _ in hc.leaf_commands()]


QUICK_COMMANDS = {"circuits list", "circuits show", "circuits compile", "inspect", "report"}
"""Commands whose corpus runs in seconds; the others are marked slow (still run in CI)."""


@pytest.mark.parametrize(
    "command",
    [c if c in QUICK_COMMANDS else pytest.param(c, marks=pytest.mark.slow) for c in _commands()],
)
def test_every_command_survives_generated_bad_arguments(command, tmp_path):
    paths = hc.fixtures(tmp_path / "fixtures")
    cases = [c for c in hc.cli_cases() if c["id"].startswith(command + " ")]
    assert cases, f"no cases for {command}"
    cases = _prepare(cases, tmp_path, paths)
    done = _run_worker(cases, tmp_path, command.replace(" ", "_"))
    problems = _problems(cases, done)
    assert not problems, f"{len(problems)} of {len(cases)} cases failed:\n" + "\n".join(
        problems[:40]
    )
    peak = max(r["peak_rss"] for r in done.values())
    assert peak < PEAK_RSS, f"{command} peaked at {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_damaged_weights_and_malformed_yaml_given_to_every_reader(tmp_path):
    paths = hc.fixtures(tmp_path / "fixtures")
    cases = _prepare(hc.file_cases(tmp_path / "files", paths), tmp_path, paths)
    done = _run_worker(cases, tmp_path, "files")
    problems = _problems(cases, done)
    assert not problems, f"{len(problems)} of {len(cases)} cases failed:\n" + "\n".join(
        problems[:40]
    )


def test_the_reproductions_of_issue_17(tmp_path):
    paths = hc.fixtures(tmp_path / "fixtures")
    cases = _prepare(hc.issue_cases(), tmp_path, paths)
    done = _run_worker(cases, tmp_path, "issue")
    problems = _problems(cases, done)
    assert not problems, "\n".join(problems)


SUBPROCESS_SAMPLE = 12
"""Cases also run as real ``python -m tinylens`` processes (a fixed-seed sample)."""


def test_a_sample_as_real_processes_gives_true_exit_codes(tmp_path):
    import random

    paths = hc.fixtures(tmp_path / "fixtures")
    cases = [c for c in hc.cli_cases() if c["must_fail"]]
    sample = random.Random(17).sample(cases, SUBPROCESS_SAMPLE) + hc.issue_cases()[:3]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    for i, case in enumerate(sample):
        cwd = tmp_path / "w" / "a" / "b" / "c" / f"p{i}"
        cwd.mkdir(parents=True)
        argv = [_fill(a, paths) for a in case["argv"]]
        proc = subprocess.run(
            [sys.executable, "-m", "tinylens", *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=CASE_SECONDS,
        )
        assert proc.returncode == 2, (case["id"], proc.stderr[-500:])
        assert "Traceback" not in proc.stderr, (case["id"], proc.stderr[-500:])
        assert len(proc.stderr.strip().splitlines()) == 1, (case["id"], proc.stderr[-500:])
