"""Streaming statistics against the plain full-array computation (the oracle).

Tolerance: 1e-12 relative for means and variances of O(1) float64 data (a different summation
order only); extremes, counts and fractions are exact within one backend. Across backends
(PyTorch's activations against the engine's), CROSS_BACKEND_TOL.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinylens as tl
from tinylens.engine import small_cnn
from tinylens.errors import DataError, ShapeError, UnknownNameError
from tinylens.probes import NeuronStats, StreamingStats, neuron_stats

STAT_TOL = 1e-12
# float64 activations of the same weights from torch and from the engine: torch's matmul runs on
# its bundled BLAS (MKL or oneDNN), NumPy's on OpenBLAS, whose kernels sum in CPU-dependent
# orders; the results differ by a few ulps (2.2e-16 seen on AMD EPYC). 1e-12 absolute and
# relative is 4,500 ulps of an O(1) value: far above rounding, far below any real bug.
CROSS_BACKEND_TOL = 1e-12


def _check_against_full(
    st: NeuronStats, acts: np.ndarray, labels: np.ndarray | None, k=None, *, exact=True
):
    """``st`` against the full-array statistics of ``acts``; ``exact=False`` when ``acts`` come
    from another backend than the statistics (extremes then agree to CROSS_BACKEND_TOL; the
    active fractions and dead units are still exact, for activations not within the tolerance
    of zero)."""
    np.testing.assert_allclose(st.mean_, acts.mean(axis=0), rtol=STAT_TOL, atol=STAT_TOL)
    np.testing.assert_allclose(st.var_, acts.var(axis=0), rtol=STAT_TOL, atol=STAT_TOL)
    np.testing.assert_allclose(st.std_, acts.std(axis=0), rtol=STAT_TOL, atol=STAT_TOL)
    if exact:
        np.testing.assert_array_equal(st.max_, acts.max(axis=0))
        np.testing.assert_array_equal(st.min_, acts.min(axis=0))
    else:
        tol = {"rtol": CROSS_BACKEND_TOL, "atol": CROSS_BACKEND_TOL}
        np.testing.assert_allclose(st.max_, acts.max(axis=0), **tol)
        np.testing.assert_allclose(st.min_, acts.min(axis=0), **tol)
        assert np.abs(acts[acts != 0]).min() > CROSS_BACKEND_TOL  # so signs agree exactly
    np.testing.assert_array_equal(st.frac_active_, (acts > 0).mean(axis=0))
    np.testing.assert_array_equal(st.dead_, (acts <= 0).all(axis=0))
    assert st.count_ == len(acts)
    if labels is not None:
        for c in range(k):
            sel = acts[labels == c]
            assert st.class_counts_[c] == len(sel)
            if len(sel):
                np.testing.assert_allclose(st.class_means_[c], sel.mean(axis=0), rtol=STAT_TOL)
            else:
                assert np.isnan(st.class_means_[c]).all()


@pytest.mark.parametrize("batch", [1, 7, 100, 1000])
def test_any_batching_gives_the_full_array_statistics(batch):
    rng = np.random.default_rng(batch)
    acts = np.maximum(rng.normal(size=(1000, 6)), 0) * rng.uniform(0.5, 3, size=6)
    acts[:, 4] = 0.0  # a dead unit
    labels = rng.integers(0, 4, size=1000)
    labels[labels == 3] = 2  # class 3 never appears
    st = NeuronStats(n_classes=4)
    for s in range(0, 1000, batch):
        st.update(acts[s : s + batch], labels[s : s + batch])
    _check_against_full(st, acts, labels, 4)
    assert st.dead_.tolist() == [False, False, False, False, True, False]


def test_merge_of_parts_equals_one_pass_and_classes_grow_on_demand():
    rng = np.random.default_rng(0)
    acts, labels = rng.normal(size=(500, 3, 2)), rng.integers(0, 5, size=500)
    parts = [NeuronStats() for _ in range(3)]
    for i, s in enumerate(range(0, 500, 90)):
        parts[i % 3].update(acts[s : s + 90], labels[s : s + 90])
    merged = NeuronStats()
    for p in parts:
        merged.merge(p)
    _check_against_full(merged, acts, labels, 5)
    assert merged.class_means_.shape == (5, 3, 2)


def test_welford_chan_stays_accurate_where_the_textbook_formula_cancels():
    rng = np.random.default_rng(1)
    acts = 1e8 + rng.normal(scale=1e-3, size=(4000, 2))
    st = NeuronStats()
    for s in range(0, 4000, 64):
        st.update(acts[s : s + 64])
    exact = acts.var(axis=0)  # two-pass in float64: accurate here
    naive = (acts**2).mean(axis=0) - acts.mean(axis=0) ** 2
    assert np.abs(naive - exact).max() > 1e-2 * exact.max()  # the textbook way is useless
    np.testing.assert_allclose(st.var_, exact, rtol=1e-6)  # ours keeps 6 digits of 1e-6


def test_float32_activations_accumulate_in_float64():
    acts = np.full((20000, 1), 0.1, dtype=np.float32)
    st = NeuronStats()
    for s in range(0, 20000, 10):
        st.update(acts[s : s + 10])
    assert st.mean_.dtype == np.float64
    np.testing.assert_allclose(st.mean_, np.float64(np.float32(0.1)), rtol=1e-15)


def test_per_channel_statistics_pool_positions():
    rng = np.random.default_rng(2)
    acts = rng.normal(size=(30, 4, 3, 5))
    labels = rng.integers(0, 2, size=30)
    st = NeuronStats(n_classes=2, per_channel=True)
    st.update(acts[:11], labels[:11]).update(acts[11:], labels[11:])
    rows = np.moveaxis(acts, 1, -1).reshape(-1, 4)
    _check_against_full(st, rows, np.repeat(labels, 15), 2)
    with pytest.raises(ShapeError, match="per_channel"):
        NeuronStats(per_channel=True).update(np.zeros((3, 4)))


def test_errors_are_clear():
    st = NeuronStats(n_classes=2)
    with pytest.raises(DataError, match="no activations"):
        st.mean_
    with pytest.raises(ShapeError, match="one per sample"):
        st.update(np.zeros((3, 2)), np.zeros(2, dtype=int))
    with pytest.raises(DataError, match="out of range"):
        st.update(np.zeros((3, 2)), np.array([0, 1, 2]))
    st.update(np.zeros((3, 2)))
    with pytest.raises(ShapeError, match="earlier batches"):
        st.update(np.zeros((3, 4)))
    with pytest.raises(DataError, match="labels"):
        NeuronStats().update(np.zeros((2, 2))).class_means_
    with pytest.raises(UnknownNameError, match=r"did you mean 'layers\.1'"):
        StreamingStats(["layers.1"])["layer.1"]


def test_neuron_stats_runs_either_backend_over_a_dataset_in_batches():
    from tinylens.data import digits

    data = digits()
    net = tl.MLP([64, 16, 10], rng=0, dtype=np.float64)
    _, full = net.run_with_cache(data.X)
    for model in (net, tl.to_torch(net)):
        stats = neuron_stats(model, data, names="layers.[01]", batch_size=333)
        assert list(stats) == ["layers.0", "layers.1"]
        for name in stats:
            _check_against_full(stats[name], full[name], data.y, 10, exact=model is net)
    rows = {r.name: r for r in stats.summary()}
    assert rows["layers.1"].units == 16
    assert rows["layers.1"].dead == int((full["layers.1"] <= 0).all(axis=0).sum())
    # the model is left as it was (training mode, no hooks)
    assert net.training and net.n_hooks == 0


def test_neuron_stats_per_channel_on_a_cnn_matches_torch():
    net = small_cnn((8, 8), channels=(3, 4), rng=0, dtype=np.float64)
    X = np.random.default_rng(4).random((50, 64))
    y = np.arange(50) % 10
    a = neuron_stats(net, (X, y), names="layers.[25]", per_channel=True, batch_size=16)
    b = neuron_stats(tl.to_torch(net), (X, y), names="layers.[25]", per_channel=True)
    for name in ("layers.2", "layers.5"):
        assert a[name].unit_shape == ((3,) if name == "layers.2" else (4,))
        np.testing.assert_allclose(a[name].mean_, b[name].mean_, rtol=1e-12)
        np.testing.assert_allclose(a[name].class_means_, b[name].class_means_, rtol=1e-12)
    with torch.no_grad():
        relu2 = tl.to_torch(net).layers[:3](torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(a["layers.2"].mean_, relu2.mean(axis=(0, 2, 3)), rtol=1e-12)


def test_stats_callback_measures_the_weights_of_each_epoch():
    from tinylens.data import digits
    from tinylens.probes import StatsCallback

    data = digits()
    cb = StatsCallback(data, names=["layers.1"], every=2)
    net = tl.MLP([64, 12, 10], rng=0, dtype=np.float64)
    cfg = tl.TrainConfig(epochs=4, optimizer="adam", lr=0.01, snapshot_every=2)
    history = tl.fit(net, data, cfg, rng=0, callbacks=[cb])
    assert sorted(cb.stats_) == [0, 2, 4]
    for epoch, state in history.snapshots:  # the oracle: the snapshot's own activations
        twin = net.copy().load_state_dict(state)
        _, cache = twin.run_with_cache(data.X, names="layers.1")
        _check_against_full(cb.stats_[epoch]["layers.1"], cache["layers.1"], data.y, 10)
