"""Local complexity (issue 15): regions meeting a small square around each point, counted
exactly and checked against a brute-force oracle (every pattern tried, decided by LP)."""

from __future__ import annotations

import numpy as np
import pytest

from test_geometry_thin import oracle_patterns
from tinylens.engine import MLP
from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry import Slice
from tinylens.geometry._affine import piecewise_stack
from tinylens.geometry.local_complexity import local_complexity, local_complexity_over


def test_counts_equal_the_brute_force_oracle_layer_by_layer():
    net = MLP([4, 5, 4, 2], rng=3, init="torch")
    X = np.random.default_rng(3).normal(size=(4, 4))
    counts = local_complexity(net, X, radius=1.5, rng=7)
    assert counts.shape == (4, 2)
    seeds = np.random.default_rng(7).integers(0, 2**63, size=4)
    widths = piecewise_stack(net).widths
    for x, seed, row in zip(X, seeds, counts, strict=True):
        plane = Slice.plane(x, radius=1.5, rng=int(seed))
        want = oracle_patterns(plane.compose(net), plane.box)
        # a layer's count: the distinct pattern prefixes up to that layer
        assert row[-1] == len(want)
        assert row[0] == len({p[: widths[0]] for p in want})
    assert counts[:, -1].max() > 1  # the squares are not all inside one region


def test_snapshots_share_neighbourhoods_and_bad_input_is_one_line():
    nets = [MLP([3, 6, 2], rng=s, init="torch") for s in range(3)]
    X = np.zeros((2, 3))
    over = local_complexity_over(nets, X, radius=1.0, rng=0)
    assert over.shape == (3, 2, 1)
    again = local_complexity_over(nets, X, radius=1.0, rng=0)
    np.testing.assert_array_equal(over, again)  # derandomised
    with pytest.raises(ShapeError):
        local_complexity(nets[0], np.zeros(3), radius=1.0, rng=0)
    with pytest.raises(ConfigError, match="radius"):
        local_complexity(nets[0], X, radius=0.0, rng=0)
    with pytest.raises(ConfigError, match="finite"):
        local_complexity(nets[0], np.full((1, 3), np.nan), radius=1.0, rng=0)
