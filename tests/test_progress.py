"""Progress in its four modes: off, a log (one line per step, rate-limited), a notebook (an HTML
table updated in place) and a terminal (rich, as before).

The notebook is simulated here by a stand-in ``IPython`` whose shell is named like Jupyter's;
tests/test_notebooks.py runs a real kernel too.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import tinylens as tl
import tinylens.progress as P
from tinylens.data import load_dataset


class FakeClock:
    """``time.monotonic`` that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(P, "time", fake)
    return fake


@pytest.fixture(autouse=True)
def loud(monkeypatch):
    monkeypatch.delenv("TINYLENS_QUIET", raising=False)


def test_modes(monkeypatch):
    assert P.progress_mode(quiet=True) == "off"
    assert P.progress_mode() == "lines"  # pytest captures stderr: not a terminal
    tty = types.SimpleNamespace(isatty=lambda: True, write=sys.__stderr__.write)
    monkeypatch.setattr(sys, "stderr", tty)
    assert P.progress_mode() == "terminal"
    monkeypatch.setenv("TINYLENS_QUIET", "1")
    assert P.progress_mode() == "off" and not P.progress_enabled()


def test_off_prints_nothing(capsys, clock):
    with P.progress(3, "work", quiet=True) as bar:
        for _ in range(3):
            clock.now += 10
            bar.advance()
    assert capsys.readouterr().err == ""


def test_a_log_gets_a_line_per_step_at_most_every_interval_and_a_last_line(capsys, clock):
    with P.progress(12, "work") as bar:
        for i in range(12):
            clock.now += 1.0  # a step a second: lines at 5 s and 10 s
            bar.update(status=f"step {i + 1}")
            bar.advance()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "work: 5/12 (42%), 5.0 s, step 5",
        "work: 10/12 (83%), 10.0 s, step 10",
        "work: 12/12 (100%), done in 12.0 s, step 12",
    ]


def test_a_heartbeat_gives_a_log_a_line_without_a_finished_step(capsys, clock):
    with P.progress(2, "study") as outer:
        with P.progress(10, "inner") as inner:
            clock.now += P.LINE_INTERVAL_S + 1
            inner.heartbeat()  # a log follows the outermost task only
        for _ in range(3):
            clock.now += P.LINE_INTERVAL_S / 2  # at most one line per interval
            outer.update(status="cutting")
            outer.heartbeat()
        outer.advance(2)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [  # nothing from the inner task at 6 s, nor at 11 s (2.5 s after a line)
        "study: 0/2 (0%), 8.5 s, cutting",
        "study: 0/2 (0%), 13.5 s, cutting",
        "study: 2/2 (100%), done in 13.5 s, cutting",
    ]
    with P.progress(2, "quiet", quiet=True) as bar:
        clock.now += 10 * P.LINE_INTERVAL_S
        bar.heartbeat()
    assert capsys.readouterr().err == ""


def test_short_work_stays_silent_in_a_log(capsys, clock):
    with P.progress(4, "work") as bar:
        for _ in range(4):
            clock.now += P.LINE_INTERVAL_S / 5
            bar.advance()
    assert capsys.readouterr().err == ""


def test_a_log_follows_the_outermost_task_only(capsys, clock):
    with P.progress(2, "study") as outer:
        for _ in range(2):
            with P.progress(50, "training") as inner:
                for _ in range(50):
                    clock.now += 1.0
                    inner.advance()
            outer.advance()
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["study: 1/2 (50%), 50.0 s", "study: 2/2 (100%), done in 100.0 s"]


def test_fit_prints_its_epochs_to_a_log(capsys, monkeypatch):
    monkeypatch.setattr(P, "LINE_INTERVAL_S", 0.0)  # every epoch gets its line
    data = load_dataset("spiral", n=60, rng=0)
    tl.fit(tl.MLP([2, 4, 3], rng=0), data, tl.TrainConfig(epochs=3), rng=0)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "training: 1/3 (33%)",
        "training: 2/3 (67%)",
        "training: 3/3 (100%)",
    ]
    assert "done in" in lines[-1] and "loss" in lines[-1]


@pytest.fixture
def notebook(monkeypatch):
    """A stand-in IPython kernel: records every display and every update of its handle."""
    shown: list[tuple[str, str]] = []

    class ZMQInteractiveShell:
        pass

    class Handle:
        def update(self, obj):
            shown.append(("update", obj.data))

    def display(obj, display_id=False):
        assert display_id is True
        shown.append(("display", obj.data))
        return Handle()

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: ZMQInteractiveShell()
    disp = types.ModuleType("IPython.display")
    disp.display = display
    disp.HTML = lambda data: types.SimpleNamespace(data=data)
    ipython.display = disp
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", disp)
    return shown


def test_a_notebook_gets_one_table_updated_in_place(notebook, clock, capsys):
    assert P.progress_mode() == "notebook"
    with P.progress(3, "study") as outer:
        for _ in range(3):
            with P.progress(2, "training") as inner:
                clock.now += 1.0
                inner.advance(2)
            outer.advance()
    kinds = [k for k, _ in notebook]
    assert kinds[0] == "display" and set(kinds[1:]) == {"update"}  # one output, redrawn
    first, last = notebook[0][1], notebook[-1][1]
    assert "<progress value='0' max='3'>" in first and "training" in first  # both rows
    assert "<progress value='3' max='3'>" in last and "3/3" in last
    assert capsys.readouterr().err == ""  # nothing on stderr in a notebook


def test_a_notebook_redraws_at_most_every_interval(notebook, clock):
    with P.progress(100, "work") as bar:
        for _ in range(100):
            clock.now += P.NOTEBOOK_INTERVAL_S / 20
            bar.advance()
    # 100 steps over 5 intervals: a redraw per interval and the final one, not 100
    assert 5 <= len(notebook) <= 7
    assert "100/100" in notebook[-1][1]


def test_terminal_keeps_the_rich_bar(monkeypatch):
    rich_progress = pytest.importorskip("rich.progress")
    made = []
    real = rich_progress.Progress

    class Spy(real):
        def __init__(self, *a, **k):
            made.append(self)
            super().__init__(*a, **k)

    monkeypatch.setattr(rich_progress, "Progress", Spy)
    monkeypatch.setattr(P, "progress_mode", lambda quiet=False: "terminal")
    with P.progress(2, "work") as bar:
        bar.advance(2)
    assert len(made) == 1 and made[0].tasks[0].completed == 2
    assert np.isclose(made[0].tasks[0].total, 2)
