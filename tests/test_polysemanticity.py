"""Polysemanticity measures recomputed in plain Python, on hand-made and random class means."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinylens.errors import ShapeError
from tinylens.probes import class_selectivity
from tinylens.superposition import (
    RESPONSE_FRACTION,
    compare_units,
    polysemanticity,
    superposition_score,
)


def test_hand_made_units():
    # unit 0: class 2 only; unit 1: classes 0 and 1 alike; unit 2: dead; unit 3: all three
    means = np.array([[0, 1, 0, 1], [0, 1, 0, 1], [3, 0, 0, 1.0]])
    p = polysemanticity(means, class_selectivity(means), name="h", kind="neuron")
    assert p.n_classes_.tolist() == [1, 2, 0, 3]
    assert p.dead_.tolist() == [False, False, True, False]
    assert p.entropy_[0] == 0 and p.entropy_[1] == pytest.approx(1.0)
    assert math.isnan(p.entropy_[2]) and p.entropy_[3] == pytest.approx(math.log2(3))
    assert p.classes_of(1) == [0, 1] and p.classes_of(0) == [2] and p.classes_of(2) == []
    assert p.most_polysemantic(2).tolist() == [3, 1]
    s = p.summary()
    assert (
        s["live"] == 3 and s["monosemantic (1 class)"] == 1 and s["polysemantic (2+ classes)"] == 2
    )


def test_random_units_against_plain_python():
    rng = np.random.default_rng(0)
    means = np.maximum(rng.normal(size=(10, 40)), 0) ** 2
    p = polysemanticity(means, class_selectivity(means))
    for u in range(40):
        col = [float(means[c, u]) for c in range(10)]
        top = max(col)
        n = sum(1 for v in col if top > 0 and v >= RESPONSE_FRACTION * top)
        assert p.n_classes_[u] == n
        total = sum(col)
        if total == 0:
            assert math.isnan(p.entropy_[u])
        else:
            h = -sum(v / total * math.log2(v / total) for v in col if v > 0)
            assert p.entropy_[u] == pytest.approx(h, rel=1e-12)


def test_superposition_score_by_hand():
    f = [0.5, 0.5, 0.0, 0.0]  # two latents fire, equally often: 2 effective latents
    s = superposition_score(f, d=4)
    assert s["alive latents per dimension"] == 0.5
    assert s["effective latents per dimension (exp-entropy)"] == pytest.approx(0.5)
    uneven = superposition_score([0.9, 0.1, 0.0], d=1)
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert uneven["effective latents per dimension (exp-entropy)"] == pytest.approx(
        math.exp(h), abs=1e-6
    )
    assert superposition_score([0, 0], d=2)["alive latents per dimension"] == 0


def test_compare_table_and_display():
    means = np.array([[1.0, 0.0], [0.0, 1.0]])
    a = polysemanticity(means, class_selectivity(means), name="h", kind="neuron")
    b = polysemanticity(means[:, :1], class_selectivity(means[:, :1]), name="h", kind="latent")
    table = compare_units(a, b)
    assert table["measure"][0] == "units" and table["neurons of h"][0] == 2
    assert table["latents of h"][0] == 1
    assert "live=2" in repr(a) and "<table>" in a._repr_html_()
    assert a.to_dict()["classes"] == ["0", "1"]
    assert a.plot().axes[0].get_xlabel() == "classes responded to"
    with pytest.raises(ShapeError):
        polysemanticity(means, means[:, :1])
