"""Minimality: MILP searches whose answers are verified exactly, and the is_even bound.

Oracles: exact verification of every network found (every integer point, or the exact linear
pieces of a real box), exhaustive evaluation of the constructions, and an independent exact
piece counter for networks with skip connections (the counting lemma behind the bound).
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction as F

import numpy as np
import pytest

from tinylens.circuits import parse, parse_domain, verify
from tinylens.circuits.minimal import (
    SkipNet,
    folding_net,
    is_even_bound,
    lap_count,
    minimal_width,
    size_table,
    zigzag_net,
)
from tinylens.cli.main import main


@pytest.mark.parametrize(
    "source, domain, width, infeasible",
    [
        ("x", "x=-1:1", 0, ()),
        ("relu(x)", "x=-1:1", 1, (0,)),
        ("abs(x)", "x=-1:1", 2, (0, 1)),
        ("x < 10", "x=0..19", 2, (0, 1)),
        # with biases on a bounded box, min needs 2 units, not the sources' 3
        ("min(x1, x2)", "x1=-1:1,x2=-1:1", 2, (0, 1)),
        # is_even on 0..3: 3 units in one hidden layer (2 pieces bound, but no 2-unit net)
        ("is_even(x, bits=2)", "x=0..3", 3, (0, 1, 2)),
    ],
)
def test_smallest_one_hidden_layer(source, domain, width, infeasible):
    r = minimal_width(source, domain, max_width=4)
    assert r.width == width and r.infeasible == infeasible and r.proven_minimal
    # the network is a proof by itself: check it again, independently of the search
    v = verify(r.net, parse(source), parse_domain(domain, names=parse(source).sorted_variables()))
    assert v.verified is True and v.max_error == 0
    assert r.net.sizes[1:-1] == ([width] if width else [])


def test_counterexamples_refine_the_points_on_a_real_box():
    # from the four corners alone, HiGHS finds nets that are wrong inside the square; each
    # exact check's counterexample joins the points until the network is proved
    r = minimal_width("min(x1, x2)", "x1=-1:1,x2=-1:1", per_axis=2, max_width=3)
    assert r.width == 2 and r.rounds >= 1 and r.points == 4 + r.rounds
    assert r.verification.verified is True and r.verification.method == "exact regions"


def test_lap_count():
    assert lap_count([F(1), F(0), F(1), F(0)]) == 3
    assert lap_count([F(0), F(1), F(2), F(1), F(1), F(0)]) == 2  # up, then down (a plateau)
    assert lap_count([F(3)] * 4) == 1 and lap_count([F(1)]) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_folding_with_skip_connections_uses_n_units(n):
    net = folding_net(n)
    assert net.neurons == (n if n >= 2 else 0)
    assert [net(F(x)) for x in range(2**n)] == [F(1 - x % 2) for x in range(2**n)]


def test_the_zigzag_in_one_hidden_layer():
    for n in (2, 3, 4):
        net = zigzag_net(n)
        assert net.sizes == [1, 2**n - 1, 1]
        v = verify(net, parse(f"is_even(x, bits={n})"), parse_domain(f"x=0..{2**n - 1}"))
        assert v.verified is True


def test_the_is_even_bound_for_n_up_to_4():
    for n, lower in ((1, 0), (2, 2), (3, 3), (4, 4)):
        b = is_even_bound(n, milp=n >= 2)
        assert b.laps == 2**n - 1 and b.lower_bound == lower and b.skip_units == lower
        assert b.lower_bound_one_layer == max(2**n - 2, 0)
        if n >= 2:
            assert b.layered_units == 2 * n  # the compiler's folds: a carry costs a unit
            # HiGHS: no one-hidden-layer network with fewer than n units (within the bound)
            assert b.milp.width is None and b.milp.infeasible == tuple(range(n))
            assert not b.milp.unknown


def _pieces(net: SkipNet, lo: F, hi: F) -> int:
    """Exact number of linear pieces of a one-input SkipNet on [lo, hi] (independent code:
    intervals carrying each value's affine form, split where a unit's input changes sign)."""
    cells = [(lo, hi, [(F(1), F(0))])]  # each value as (slope, intercept) in x
    for w, b in net.units:
        out = []
        for a, z, vals in cells:
            s = sum((wi * v[0] for wi, v in zip(w, vals, strict=True)), F(0))
            c = sum((wi * v[1] for wi, v in zip(w, vals, strict=True)), b)
            parts = [(a, z)]
            if s != 0 and a < -c / s < z:
                parts = [(a, -c / s), (-c / s, z)]
            for p, q in parts:
                mid = (p + q) / 2
                on = s * mid + c > 0
                out.append((p, q, [*vals, (s, c) if on else (F(0), F(0))]))
        cells = out
    w, b = net.output
    slopes = []
    for _, _, vals in cells:
        slopes.append(sum((wi * v[0] for wi, v in zip(w, vals, strict=True)), F(0)))
    return 1 + sum(1 for s, t in itertools.pairwise(slopes) if s != t)


def test_a_network_with_k_units_has_at_most_2_to_the_k_pieces():
    # the counting lemma behind the bound, on random skip-connection networks
    rng = np.random.default_rng(0)
    for trial in range(60):
        k = 1 + trial % 4
        units = []
        for j in range(k):
            w = tuple(F(int(v), 2) for v in rng.integers(-6, 7, size=1 + j))
            units.append((w, F(int(rng.integers(-8, 9)), 3)))
        out = (tuple(F(int(v)) for v in rng.integers(-3, 4, size=1 + k)), F(0))
        net = SkipNet(tuple(units), out)
        assert _pieces(net, F(-8), F(8)) <= 2**k
    # the folds on [0, 7]: exactly the 7 pieces the laps demand, within 2**3
    assert _pieces(folding_net(3), F(0), F(7)) == 7


def test_the_size_table():
    rows = {r["expression"]: r for r in size_table()}
    for r in rows.values():
        assert r["compiled_verified"]
        if r["hand_derived"] is not None:
            assert r["compiled"] <= r["hand_derived"]
        if r["one_layer_minimal"] is not None:
            assert r["one_layer_proven"]
    assert rows["min(x1, x2)"]["one_layer_minimal"] == 2 == rows["min(x1, x2)"]["compiled"]
    assert rows["is_even(x, bits=4)"]["hand_derived"] == 11
    assert rows["is_even(x, bits=4)"]["skip_connections"] == 4
    assert rows["is_even(x, bits=4)"]["one_layer_minimal"] is None  # the MILP needs --slow
    # issue 16: each hand row says what it is and whose it is; the x < 10 row is ours, not the
    # article's (one sigmoid unit)
    for r in rows.values():
        assert (r["hand_source"] is None) == (r["hand_derived"] is None)
    step = rows["x < 10"]["hand_source"]
    assert "our construction" in step and "sigmoid" in step and "A gentle introduction" in step
    assert rows["relu(x1 - x2)"]["hand_source"].startswith("sosier/")

    from tinylens.studies.circuits.config import MinimalConfig
    from tinylens.studies.circuits.result import SizeTable
    from tinylens.studies.circuits.write import table_lines

    text = "\n".join(table_lines(SizeTable(MinimalConfig(table=True), list(rows.values()))))
    assert "the sources' network" not in text
    assert f"  {'x < 10':20} tinylens's exact ReLU step" in text


def test_minimal_command(capsys):
    assert main(["circuits", "minimal", "min", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["width"] == 2 and data["verified"] is True and data["infeasible_widths"] == [0, 1]
    assert main(["circuits", "minimal", "is_even(x, bits=2)", "--domain", "x=0..3"]) == 0
    text = capsys.readouterr().out
    assert "smallest width found: 3" in text and "so k >= ceil(log2(3)) = 2 units" in text
    assert main(["circuits", "minimal", "abs(x)"]) == 2  # no domain
    assert "--domain" in capsys.readouterr().err
