"""Issue 18's speed fixes that are not the engine's: figures drawn once, no pyplot import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from matplotlib.figure import Figure

from tinylens.io import save_figure
from tinylens.viz.figure import new_axes


def _count_draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = Figure.draw

    def counting(self, renderer):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counting)
    return calls


def test_a_laid_out_figure_is_drawn_once_and_keeps_its_size(monkeypatch, tmp_path):
    calls = _count_draws(monkeypatch)
    fig, ax = new_axes(width=4.0, height=3.0)
    ax.plot([0, 1], [1, 0])
    ax.set_title("a title that constrained layout makes room for")
    path = save_figure(fig, tmp_path / "f.png", dpi=50)
    assert calls[0] == 1  # bbox_inches="tight" would draw it twice
    header = path.read_bytes()[16:24]  # PNG IHDR: width, height
    assert (int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")) == (200, 150)


def test_drawn_once_gives_the_pixels_savefig_gives(tmp_path):
    import matplotlib.image as mimage
    import numpy as np

    def make() -> Figure:
        fig, ax = new_axes(width=5.0, height=3.0)
        im = ax.imshow(np.arange(12.0).reshape(3, 4))
        fig.colorbar(im, ax=ax)
        ax.set_title("title")
        fig.suptitle("a figure with a colorbar")
        return fig

    once = save_figure(make(), tmp_path / "once.png", dpi=60)
    make().savefig(tmp_path / "ref.png", dpi=60)
    np.testing.assert_array_equal(mimage.imread(once), mimage.imread(tmp_path / "ref.png"))


def test_a_figure_without_layout_engine_is_still_cropped_tight(monkeypatch, tmp_path):
    calls = _count_draws(monkeypatch)
    fig = Figure(figsize=(4.0, 3.0))
    fig.subplots().plot([0, 1])
    path = save_figure(fig, tmp_path / "g.png", dpi=50)
    width = int.from_bytes(path.read_bytes()[16:20], "big")
    assert calls[0] == 2 and width < 200  # measured, then cropped


def test_saving_a_figure_does_not_import_pyplot(tmp_path):
    code = (
        "import sys\n"
        "from tinylens.io import save_figure\n"
        "from tinylens.viz.figure import new_axes\n"
        "fig, ax = new_axes()\n"
        "ax.plot([0, 1])\n"
        f"save_figure(fig, {str(tmp_path / 'h.png')!r})\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
