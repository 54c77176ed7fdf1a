"""Progress of a CNN plane's enumeration: the share of the domain's area whose regions are
final, shown only once the work runs past ``PROGRESS_AFTER_S``, ending at 100% with the
regions counted; silent for quick work and with ``quiet``; and no bar left open on an error."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinylens.progress as tp
from tinylens.errors import ConfigError
from tinylens.geometry import Slice, conv_slice
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.conv_slice import split_image_slice
from tinylens.geometry.image_regions import image_slice_regions

torch = pytest.importorskip("torch")
nn = torch.nn


def _net() -> object:
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(18, 3)).double().eval()


def _plane() -> Slice:
    rng = np.random.default_rng(0)
    return Slice.through(*rng.random((3, 36)))


@pytest.fixture
def lines_mode(monkeypatch):
    """Progress as log lines (stderr is captured: not a terminal), printed at every step."""
    monkeypatch.delenv("TINYLENS_QUIET", raising=False)
    monkeypatch.setattr(tp, "LINE_INTERVAL_S", 0.0)
    monkeypatch.setattr(conv_slice, "PROGRESS_AFTER_S", 0.0)


def test_a_long_enumeration_shows_the_share_of_its_area_done(lines_mode, capsys):
    steps, plane = image_layers(_net(), (1, 6, 6)), _plane()
    # chunks of 4 regions: many leaf batches, so the share grows step by step
    split = split_image_slice(steps, plane.origin, plane.directions, plane.domain, chunk=4)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 2
    shares = [float(re.search(r": ([\d.e+-]+)/100", line).group(1)) for line in err]
    assert shares == sorted(shares) and shares[0] < 100  # it grows, from below 100
    assert all(re.search(r": \d+(\.\d)?/100 ", line) for line in err)  # a share, to a tenth
    assert re.search(r"100/100 \(100%\), done in [\d.]+ s", err[-1])
    # the status counts the regions found so far: the last one counts them all
    assert f"{len(split.codes):,} regions" in err[-1]
    counts = [int(re.search(r"([\d,]+) regions$", line).group(1).replace(",", "")) for line in err]
    assert counts == sorted(counts)


def test_quick_or_quiet_work_prints_nothing(lines_mode, monkeypatch, capsys):
    image_slice_regions(_net(), _plane(), input_shape=(1, 6, 6), quiet=True)
    assert capsys.readouterr().err == ""
    with tp.silenced():  # a CLI's --quiet around calls that have no quiet of their own
        image_slice_regions(_net(), _plane(), input_shape=(1, 6, 6))
    with tp.silenced(False):
        image_slice_regions(_net(), _plane(), input_shape=(1, 6, 6))
    assert capsys.readouterr().err.count("done in") == 1  # only the call not silenced
    monkeypatch.setattr(conv_slice, "PROGRESS_AFTER_S", 1e9)
    image_slice_regions(_net(), _plane(), input_shape=(1, 6, 6))
    assert capsys.readouterr().err == ""


def test_an_error_leaves_no_progress_open(lines_mode, capsys):
    with pytest.raises(ConfigError):
        image_slice_regions(_net(), _plane(), input_shape=(1, 6, 6), max_regions=3)
    assert tp._ACTIVE == []  # later work starts its own progress, not a row of a dead one


def test_the_bar_opens_while_the_first_cut_still_runs(lines_mode, monkeypatch, capsys):
    """A plane whose first ReLU alone takes seconds (the whole MNIST plane: ~13 s, one call)
    opens its bar during that cut, at 0% with no region final yet, not only after it (a
    terminal draws it, a notebook shows the row; a log prints its line too: the next test)."""
    inside: list[bool] = []
    seen: list[tuple[bool, int, bool]] = []
    real_kink, real_show = conv_slice._kink, conv_slice._AreaProgress.show

    def kink(*args):
        inside.append(True)
        try:
            return real_kink(*args)
        finally:
            inside.pop()

    def show(self):
        real_show(self)
        seen.append((bool(inside), self.regions, self.bar is not None))

    monkeypatch.setattr(conv_slice, "_kink", kink)
    monkeypatch.setattr(conv_slice._AreaProgress, "show", show)
    steps, plane = image_layers(_net(), (1, 6, 6)), _plane()
    split = split_image_slice(steps, plane.origin, plane.directions, plane.domain)
    during = [(regions, bar) for was_inside, regions, bar in seen if was_inside]
    assert during and during[0] == (0, True)  # the bar is open inside the first cut, at 0
    assert f"{len(split.codes):,} regions" in capsys.readouterr().err.splitlines()[-1]


def test_a_log_hears_from_a_long_first_cut(lines_mode, monkeypatch, capsys):
    """The whole plane of a trained MNIST CNN spends ~45 s in its first ReLU's cut before any
    region is final; a log gets its line meanwhile (at 0%, no region yet), not silence."""
    during: list[str] = []
    real_kink = conv_slice._kink

    def kink(*args):
        out = real_kink(*args)
        if not during:  # the first cut: what was printed while it ran
            during.append(capsys.readouterr().err)
        return out

    monkeypatch.setattr(conv_slice, "_kink", kink)
    steps, plane = image_layers(_net(), (1, 6, 6)), _plane()
    split_image_slice(steps, plane.origin, plane.directions, plane.domain)
    lines = during[0].splitlines()
    assert lines and all(re.search(r": 0/100 \(0%\), [\d.]+ s, 0 regions$", x) for x in lines)
