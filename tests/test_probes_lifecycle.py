"""Dead units and their lifecycle, on a model with units killed (and revived) on purpose, and
drift against plain computations.

Tolerance: STAT_TOL = 1e-12 for statistics recomputed from snapshots (the same float64 sums
in the same order, up to the merge order of batches).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinylens as tl
from tinylens.data import digits
from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.probes import (
    StatsCallback,
    dead_matrix,
    drift,
    lifecycle,
    lifecycle_from_dead,
    neuron_drift,
    neuron_stats,
    stat_series,
    stats_from_snapshots,
    weight_drift,
)
from tinylens.training import Callback

STAT_TOL = 1e-12


def _kill(net, units, layer="layers.0"):
    """Make the ReLU after ``layer`` silent for ``units`` on every input: weights 0, bias -1.
    SGD cannot bring them back (a dead ReLU passes no gradient)."""
    lin = net.module(layer)
    lin.weight.data[units] = 0.0
    lin.bias.data[units] = -1.0


class KillAndRevive(Callback):
    """Kill units 3 and 5 after epoch 2; give unit 5 its old weights back after epoch 4."""

    def __init__(self):
        self.saved = None

    def on_epoch_end(self, epoch, net, history):
        lin = net.module("layers.0")
        if epoch == 2:
            self.saved = (lin.weight.data[5].copy(), lin.bias.data[5].copy())
            _kill(net, [3, 5])
        if epoch == 4:
            lin.weight.data[5], lin.bias.data[5] = self.saved
        return None


def _net():
    net = tl.MLP([64, 12, 8, 10], rng=1, dtype=np.float64)
    net.module("layers.0").bias.data[:] = 1.0  # every unit alive on every image at the start
    return net


CFG = tl.TrainConfig(epochs=6, optimizer="sgd", lr=0.05, snapshot_every=1)


@pytest.fixture(scope="module")
def run():
    data = digits()
    net = _net()
    _kill(net, [7])  # born dead: silent from initialisation
    stats = StatsCallback(data, names=["layers.1", "layers.3"])
    # the killer runs first, so each epoch's statistics pass sees its edits
    history = tl.fit(net, data, CFG, rng=0, callbacks=[KillAndRevive(), stats], quiet=True)
    return net, data, stats, history


def test_units_killed_on_purpose_are_found_dead_exactly_when_they_are(run):
    _, _, stats, _ = run
    epochs, dead = dead_matrix(stats.stats_, "layers.1")
    assert epochs.tolist() == [0, 1, 2, 3, 4, 5, 6]
    want = np.zeros_like(dead)
    want[:, 7] = True  # dead from the start and never touched
    want[2:, 3] = True  # killed after epoch 2
    want[2:4, 5] = True  # killed after epoch 2, revived after epoch 4
    np.testing.assert_array_equal(dead, want)


def test_the_lifecycle_names_deaths_and_revivals_and_knows_who_was_born_dead(run):
    _, _, stats, _ = run
    life = lifecycle(stats.stats_, "layers.1")
    events = [(e.epoch, e.unit, e.kind) for e in life.events]
    assert events == [(2, 3, "death"), (2, 5, "death"), (4, 5, "revival")]
    assert life.dead_at_start_.tolist() == [7]
    assert life.dead_at_end_.tolist() == [3, 7]
    assert life.never_alive_.tolist() == [7]
    assert life.dead_counts_.tolist() == [1, 1, 3, 3, 2, 2, 2]
    counts = life.event_counts()
    assert counts["death"].tolist() == [0, 0, 2, 0, 0, 0, 0]
    assert counts["revival"].tolist() == [0, 0, 0, 0, 1, 0, 0]
    d = life.to_dict()
    assert d["dead_units"][3] == [3, 5, 7] and d["dead_count"][-1] == 2


def test_births_are_first_wakings_and_revivals_need_an_earlier_life():
    dead = np.array(
        [[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0]],
        dtype=bool,
    )
    life = lifecycle_from_dead(dead, epochs=[0, 2, 4, 6], name="x")
    kinds = [(e.epoch, e.unit, e.kind) for e in life.events]
    assert kinds == [
        (2, 0, "birth"),
        (2, 2, "death"),
        (4, 0, "death"),
        (4, 1, "birth"),
        (4, 2, "revival"),
        (6, 0, "revival"),
    ]
    with pytest.raises(ConfigError, match="increase"):
        lifecycle_from_dead(dead, epochs=[0, 2, 2, 6])
    with pytest.raises(ShapeError):
        lifecycle_from_dead(dead, epochs=[0, 1])
    with pytest.raises(DataError):
        dead_matrix({}, "layers.1")


def test_snapshots_give_the_same_statistics_as_the_callback():
    data = digits()
    net = _net()
    stats = StatsCallback(data, names=["layers.1", "layers.3"])
    history = tl.fit(net, data, CFG, rng=0, callbacks=[stats], quiet=True)
    again = stats_from_snapshots(net, history.snapshots, data, ["layers.1", "layers.3"])
    assert sorted(again) == sorted(stats.stats_) == list(range(7))
    for e in again:
        for name in ("layers.1", "layers.3"):
            a, b = again[e][name], stats.stats_[e][name]
            np.testing.assert_array_equal(a.dead_, b.dead_)
            np.testing.assert_allclose(a.mean_, b.mean_, rtol=STAT_TOL, atol=STAT_TOL)
            np.testing.assert_allclose(a.class_means_, b.class_means_, rtol=STAT_TOL, atol=STAT_TOL)
    # the callback's last pass is the final network's statistics
    final = neuron_stats(net, data, "layers.1")["layers.1"]
    np.testing.assert_allclose(final.var_, stats.stats_[6]["layers.1"].var_, rtol=STAT_TOL)


def test_drift_against_plain_numpy():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 3, 4))
    d = drift(values, epochs=[0, 1, 2, 3, 4])
    flat = values.reshape(5, -1)
    np.testing.assert_allclose(d.step_, np.abs(np.diff(flat, axis=0)).mean(axis=1))
    np.testing.assert_allclose(d.to_final_, np.abs(flat - flat[-1]).mean(axis=1))
    for t in range(5):
        assert d.correlation_to_final_[t] == pytest.approx(np.corrcoef(flat[t], flat[-1])[0, 1])
    np.testing.assert_allclose(d.unit_path_, np.abs(np.diff(values, axis=0)).sum(axis=0))
    assert np.isnan(drift(np.ones((3, 2))).correlation_to_final_).all()  # constant: undefined


def test_neuron_drift_follows_the_callback_passes(run):
    _, _, stats, history = run
    series = neuron_drift(stats.stats_, "layers.3")
    assert set(series) == {"mean", "std", "frac_active", "class_means", "selectivity"}
    _, frac = stat_series(stats.stats_, "layers.3", "frac_active")
    np.testing.assert_array_equal(series["frac_active"].values, frac)
    assert frac.shape == (7, 8) and series["selectivity"].values.shape == (7, 10, 8)
    wd = weight_drift(history.snapshots)
    w = [dict(s)["layers.0.weight"] for _, s in history.snapshots]
    want = [np.linalg.norm(b - a) / np.linalg.norm(a) for a, b in itertools.pairwise(w)]
    np.testing.assert_allclose(wd["layers.0.weight"], want, rtol=1e-12)
    assert wd["epochs"].tolist() == list(range(7))
