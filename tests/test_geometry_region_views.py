"""A RegionSet shows itself: short reprs, an HTML card, a pandas table and a figure.

Oracles: the network's forward pass (predicted classes), the box's length, area and volume
(the sizes tile it), the set's own patterns and interior points, and the figure's artists
counted against the regions.
"""

from __future__ import annotations

import itertools
import math
import re
import sys

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from tinylens.engine import AffineNet
from tinylens.errors import ConfigError
from tinylens.geometry import linear_regions

# Sizes are sums of O(1) terms (shoelace areas, Qhull volumes): rounding far below 1e-9.
SIZE_RTOL = 1e-9


def random_net(sizes, seed):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        act = "relu" if i < len(sizes) - 2 else "identity"
        layers.append((rng.normal(size=(b, a)) / math.sqrt(a), rng.normal(size=b) * 0.5, act))
    return AffineNet.from_lists(layers)


@pytest.fixture(scope="module", params=[1, 2, 3])
def regions(request):
    d = request.param
    net = random_net([d, 8, 6, 3], seed=d)
    return linear_regions(net, [(-1.0, 1.0)] * (d - 1) + [(0.0, 2.0)])


def test_reprs_are_short_and_name_the_key_numbers(regions):
    text = repr(regions)
    assert len(text) < 200 and "\n" not in text and "array" not in text
    assert f"count={regions.count}" in text and f"n_inputs={regions.n_inputs}" in text
    first = repr(regions[0])
    assert first.startswith(f"Region(0, pattern={regions.pattern_strings[0]!r}, class=")
    if regions.n_inputs == 2:
        assert f"area={regions.volumes()[0]:.4g}" in first
    if regions.n_inputs == 3:
        assert "volume" not in first  # n-D volumes cost a Qhull call each: never in a repr


def test_the_table_has_one_row_per_region_and_recomputes(regions):
    frame = regions.to_pandas()
    d = regions.n_inputs
    assert len(frame) == regions.count
    assert frame["pattern"].tolist() == regions.pattern_strings
    names = regions.net.names
    np.testing.assert_array_equal(frame[names].to_numpy(), regions.interior_points)
    # the class is the network's top output at the interior point (forward pass as oracle)
    out = regions.net(regions.interior_points)
    np.testing.assert_array_equal(frame["predicted_class"].to_numpy(), out.argmax(axis=1))
    box_size = float(np.prod(np.ptp(regions.box, axis=1)))
    if d <= 2:
        size = frame["length" if d == 1 else "area"]
        assert size.sum() == pytest.approx(box_size, rel=SIZE_RTOL)
        assert (size > 0).all()
    else:
        assert "volume" not in frame  # not computed yet: left out, not computed behind the back
        volume = regions.to_pandas(volumes=True)["volume"]
        assert volume.sum() == pytest.approx(box_size, rel=SIZE_RTOL)
        assert "volume" in regions.to_pandas()  # known now


def test_the_html_card_shows_numbers_first_rows_and_a_figure(regions):
    card = regions._repr_html_()
    assert f"<li>regions: {regions.count}</li>" in card and regions.method in card
    shown = min(regions.count, 10)
    for pattern in regions.pattern_strings[:shown]:
        assert f"<td>{pattern}</td>" in card
    for pattern in regions.pattern_strings[shown:]:
        assert f"<td>{pattern}</td>" not in card
    if regions.count > 10:
        assert f"... {regions.count - 10} more rows" in card
    assert ("data:image/png;base64," in card) == (regions.n_inputs <= 2)


def test_plot_draws_every_region(regions):
    fig = regions.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    if regions.n_inputs == 2:
        polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(polys[0].get_paths()) == regions.count
    elif regions.n_inputs == 1:
        line = ax.lines[0]  # output 0 along the interval, with every kink among its points
        assert set(regions.intervals[1:, 0]) <= set(line.get_xdata().tolist())
    else:
        # stacked by class: every region counted once, in the bin of its own volume
        assert sum(p.get_height() for p in ax.patches) == regions.count
        assert ax.get_xlabel() == "log10 region volume"


def test_plot_draws_on_a_given_axes():
    regions = linear_regions(random_net([2, 5, 2], seed=0), [(-1, 1), (-1, 1)])
    fig = Figure()
    ax = fig.subplots()
    assert regions.plot(ax=ax) is fig
    assert ax.get_xlabel() == "x1"


def test_to_pandas_without_pandas_names_the_install(monkeypatch):
    regions = linear_regions(random_net([2, 5, 2], seed=0), [(-1, 1), (-1, 1)])
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ConfigError, match=re.escape("pip install 'tinylens[notebook]'")):
        regions.to_pandas()
