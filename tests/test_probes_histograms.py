"""Activation histograms over training (probes.activation_histograms): every count recounted
from a fresh forward pass of each snapshot, with a plain-Python bisect count (not
numpy.histogram, which the probe uses); the activations themselves checked against the layer's
maths written out in NumPy.

Tolerances: EXACT for counts (the recount bins the very activations of a fresh engine forward
pass); F32 = 1e-5 for the engine's float32 activations against float64 NumPy maths.
"""

from __future__ import annotations

import bisect

import numpy as np
import pytest

import tinylens as tl
from tinylens.data import digits
from tinylens.errors import ConfigError, DataError
from tinylens.hooks import evaluating
from tinylens.probes import activation_histograms

F32 = 1e-5


def _count(values, edges):
    """Bin counts by bisection, last bin closed (numpy.histogram's convention)."""
    counts = [0] * (len(edges) - 1)
    for v in values:
        i = bisect.bisect_right(edges, v) - 1
        if i == len(counts):  # v == the last edge
            i -= 1
        if 0 <= i < len(counts):
            counts[i] += 1
    return counts


@pytest.fixture(scope="module")
def trained():
    data = digits()
    net = tl.MLP([64, 16, 8, 10], rng=3)
    cfg = tl.TrainConfig(epochs=3, optimizer="sgd", lr=0.1, snapshot_every=1)
    history = tl.fit(net, data, cfg, rng=3, quiet=True)
    X = data.X[np.random.default_rng(0).choice(data.n, 300, replace=False)]
    return net, history, X


def test_counts_are_the_activations_of_each_snapshot_recounted(trained):
    net, history, X = trained
    before = [p.data.copy() for p in net.parameters()]
    h = activation_histograms(net, X, ["layers.1", "layers.3"], history.snapshots, bins=12)
    assert h.epochs.tolist() == [0, 1, 2, 3] and h.n_samples == 300
    probe = net.copy()
    for i, (_, state) in enumerate(history.snapshots):
        probe.load_state_dict(state)
        with evaluating(probe) as hk:
            _, cache = hk.run_with_cache(X, names=["layers.1", "layers.3"])
        # the layer's maths by hand: relu(X W1^T + b1), then relu(h1 W2^T + b2)
        W1, b1 = state["layers.0.weight"], state["layers.0.bias"]
        W2, b2 = state["layers.2.weight"], state["layers.2.bias"]
        h1 = np.maximum(X.astype(np.float64) @ W1.T.astype(np.float64) + b1, 0)
        h2 = np.maximum(h1 @ W2.T.astype(np.float64) + b2, 0)
        np.testing.assert_allclose(cache["layers.1"], h1, rtol=F32, atol=F32)
        np.testing.assert_allclose(cache["layers.3"], h2, rtol=F32, atol=F32)
        for name in ("layers.1", "layers.3"):
            a = np.asarray(cache[name], dtype=np.float64).reshape(-1)
            edges = h.edges_[name].tolist()
            assert h.counts_[name][i].tolist() == _count(a.tolist(), edges)
            assert h.counts_[name][i].sum() == a.size  # every activation in one bin
            assert h.zero_fraction_[name][i] == sum(v == 0 for v in a) / a.size
    # bins are shared by the epochs: from the smallest to the largest activation of any epoch
    for after, b in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(after.data, b)  # the model was not changed


def test_edges_span_every_epoch_and_a_constant_layer_gets_one_bin_around_it(trained):
    net, history, X = trained
    h = activation_histograms(net, X, ["layers.1"], history.snapshots, bins=5)
    lo, hi = h.edges_["layers.1"][[0, -1]]
    assert lo == 0.0  # a ReLU layer: its smallest value is exactly 0
    probe, peaks = net.copy(), []
    for _, state in history.snapshots:
        probe.load_state_dict(state)
        with evaluating(probe) as hk:
            _, cache = hk.run_with_cache(X, names=["layers.1"])
        peaks.append(float(np.max(cache["layers.1"])))
    assert hi == max(peaks) and hi > min(peaks)  # the widest epoch sets the last edge
    # a layer whose units are all dead: every activation is 0, one bin [-0.5, 0.5] holds them
    dead = net.copy()
    state = dict(history.snapshots[-1][1])
    state["layers.2.bias"] = np.full_like(state["layers.2.bias"], -1e6)
    dead.load_state_dict(state)
    hd = activation_histograms(dead, X, ["layers.3"], [(7, dead.state_dict())], bins=4)
    assert hd.edges_["layers.3"][[0, -1]].tolist() == [-0.5, 0.5]
    assert hd.counts_["layers.3"][0].sum() == 300 * 8 and hd.zero_fraction_["layers.3"][0] == 1


def test_bad_input_is_one_clear_error(trained):
    net, history, X = trained
    with pytest.raises(DataError, match="snapshot_every"):
        activation_histograms(net, X, ["layers.1"], [])
    with pytest.raises(ConfigError, match="bins"):
        activation_histograms(net, X, ["layers.1"], history.snapshots, bins=0)
