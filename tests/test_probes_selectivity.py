"""Class selectivity and the three rankings of top neurons, against hand and torch computations.

Tolerances: SEL_TOL = 1e-12 for selectivities computed in float64 from the same class means
(a different summation order only); GRAD_TOL = 1e-9 relative for float64 gradients of the
engine against torch autograd (identical operations, different kernels). Rankings compared
across backends are exact only where every gap they depend on exceeds GRAD_TOL (checked: a
near-tie may order differently on another BLAS).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import tinylens as tl
from tinylens.data import digits
from tinylens.errors import ConfigError, DataError
from tinylens.probes import (
    SELECTIVITY_EPS,
    class_gradients,
    class_selectivity,
    hook_point_gradient,
    selectivity,
    top_neurons,
    top_units,
)

SEL_TOL = 1e-12
GRAD_TOL = 1e-9


def _hand_selectivity(means: list[list[float]], eps: float = 0.001) -> list[list[Fraction]]:
    """S by the issue's words, in exact rationals: mu_rest is the mean of the other classes'
    means."""
    k, u = len(means), len(means[0])
    e = Fraction(eps)
    out = []
    for c in range(k):
        row = []
        for j in range(u):
            mu = Fraction(means[c][j])
            rest = sum(Fraction(means[o][j]) for o in range(k) if o != c) / (k - 1)
            row.append((mu - rest) / (mu + rest + e))
        out.append(row)
    return out


def test_selectivity_matches_a_hand_computation_in_rationals():
    means = [[2.0, 0.0, 1.5, 0.25], [0.0, 0.0, 1.5, 0.5], [1.0, 0.0, 0.5, 4.0]]
    got = class_selectivity(np.array(means))
    want = np.array([[float(v) for v in row] for row in _hand_selectivity(means)])
    np.testing.assert_allclose(got, want, rtol=SEL_TOL, atol=SEL_TOL)
    assert SELECTIVITY_EPS == 0.001
    assert np.all(got[:, 1] == 0)  # a dead unit (all class means 0) is not selective
    # mu_rest counts each other class once, whatever its size: class 0 of unit 0 is
    # (2 - (0 + 1) / 2) / (2 + 0.5 + 0.001)
    assert got[0, 0] == pytest.approx(1.5 / 2.501, rel=SEL_TOL)


def test_selectivity_refuses_a_class_without_samples_and_a_single_class():
    with pytest.raises(DataError, match="class without samples"):
        class_selectivity(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    with pytest.raises(ConfigError, match="n_classes >= 2"):
        class_selectivity(np.array([[1.0, 2.0]]))


@pytest.fixture(scope="module")
def trained():
    data = digits()
    train, test = data.split(0.2, rng=0)
    net = tl.MLP([64, 24, 12, 10], rng=3, dtype=np.float64)
    tl.fit(net, train, tl.TrainConfig(epochs=15, optimizer="adam", lr=0.01), rng=0, quiet=True)
    return net, train, test


def test_selectivity_of_a_model_equals_the_full_cache_computation(trained):
    net, train, _ = trained
    sel = selectivity(net, train, "layers.3", batch_size=97)  # odd batches: streaming merges
    _, cache = net.run_with_cache(train.X, names="layers.3")
    acts = np.asarray(cache["layers.3"], dtype=np.float64)
    means = np.stack([acts[train.y == c].mean(axis=0) for c in range(10)])
    hand = np.array([[float(v) for v in row] for row in _hand_selectivity(means.tolist())])
    np.testing.assert_allclose(sel.class_means_, means, rtol=SEL_TOL, atol=SEL_TOL)
    np.testing.assert_allclose(sel.selectivity_, hand, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(sel.dead_, (acts <= 0).all(axis=0))
    live = ~sel.dead_
    assert sel.mean_selectivity() == pytest.approx(hand.max(axis=0)[live].mean())


def test_top_units_orders_ties_by_index_and_puts_excluded_units_last():
    scores = np.array([[0.5, 0.9, 0.9, 0.1], [np.nan, 0.2, 0.3, 0.3]])
    np.testing.assert_array_equal(top_units(scores, 3), [[1, 2, 0], [2, 3, 1]])
    np.testing.assert_array_equal(
        top_units(scores, 4, exclude=[False, True, False, False]), [[2, 0, 3, 1], [2, 3, 0, 1]]
    )


def _torch_class_gradient(net, X, y, point_index):
    """d logit_y / d activation of the module at ``point_index``, by plain torch autograd on a
    hand-written forward of the same weights (no tinylens hook machinery)."""
    mods = tl.to_torch(net).layers
    h = torch.as_tensor(X)
    leaf = None
    for i, m in enumerate(mods):
        h = m(h)
        if i == point_index:
            leaf = h.detach().requires_grad_(True)
            h = leaf
    (h[torch.arange(len(y)), torch.as_tensor(y)]).sum().backward()
    return leaf.grad.numpy()


def test_class_gradients_equal_torch_autograd_on_both_backends(trained):
    net, train, _ = trained
    X, y = train.X[:300].astype(np.float64), train.y[:300]
    want_rows = _torch_class_gradient(net, X, y, net.index_of("layers.1"))
    want = np.stack([want_rows[y == c].mean(axis=0) for c in range(10)])
    eng = class_gradients(net, (X, y), "layers.1", batch_size=64)
    tor = class_gradients(tl.to_torch(net), (X, y), "layers.1", batch_size=1000)
    np.testing.assert_allclose(eng, want, rtol=GRAD_TOL, atol=GRAD_TOL)
    np.testing.assert_allclose(tor, want, rtol=GRAD_TOL, atol=GRAD_TOL)
    grads_before = [p.grad.copy() for p in net.parameters()]
    hook_point_gradient(net, X[:5], "layers.3", np.eye(10)[y[:5]])
    for p, g in zip(net.parameters(), grads_before, strict=True):  # a measurement only
        np.testing.assert_array_equal(p.grad, g)


def test_a_torch_module_called_twice_gets_the_gradient_of_the_call_asked_for():
    torch.manual_seed(0)

    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.out = (
                torch.nn.Linear(4, 4),
                torch.nn.Linear(4, 4),
                torch.nn.Linear(4, 3),
            )
            self.act = torch.nn.ReLU()

        def forward(self, x):
            return self.out(self.act(self.b(self.act(self.a(x)))))

    model = Twice().double()
    x = np.random.default_rng(0).normal(size=(6, 4))
    seed = np.random.default_rng(1).normal(size=(6, 3))
    first = hook_point_gradient(model, x, "act", seed)
    second = hook_point_gradient(model, x, "act:1", seed)
    xt = torch.as_tensor(x)
    h1 = model.act(model.a(xt)).detach().requires_grad_(True)
    h2 = model.act(model.b(h1))
    (model.out(h2) * torch.as_tensor(seed)).sum().backward()
    np.testing.assert_allclose(first, h1.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    h2l = h2.detach().requires_grad_(True)
    (model.out(h2l) * torch.as_tensor(seed)).sum().backward()
    np.testing.assert_allclose(second, h2l.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)


def test_top_neurons_agree_across_backends_and_rank_by_their_scores(trained):
    net, train, _ = trained
    eng = top_neurons(net, train, "layers.3", k=3)
    tor = top_neurons(tl.hooked(tl.to_torch(net)), train, "layers.3", k=3)
    live = np.flatnonzero(~selectivity(net, train, "layers.3").dead_)
    for by in ("activation", "gradient", "selectivity"):
        scores = eng.scores[by]
        tol = {"rtol": GRAD_TOL, "atol": GRAD_TOL}
        np.testing.assert_allclose(tor.scores[by][:, live], scores[:, live], **tol)
        # the ranking of the top 3 is decided by the gaps between the 4 best live scores: each
        # exceeds the cross-backend tolerance, so both backends must order them the same way
        top4 = -np.sort(-scores[:, live], axis=1)[:, :4]
        assert np.diff(-top4, axis=1).min() > 10 * GRAD_TOL * max(1.0, np.abs(top4).max())
        np.testing.assert_array_equal(eng.ranking(by), tor.ranking(by))
        for c, row in enumerate(eng.ranking(by)):
            best = live[np.argsort(-scores[c, live], kind="stable")][:3]
            np.testing.assert_array_equal(row, best)
    assert 0.0 <= eng.agreement("activation", "selectivity") <= 1.0
