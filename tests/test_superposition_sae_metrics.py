"""SAE metrics recomputed another way: plain NumPy / Python counts, and a manual torch forward
with the hooked layer replaced by the SAE's reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinylens as tl
from tinylens.superposition import evaluate_sae, fit_sae, train_sae
from tinylens.superposition.sae_metrics import DENSE_FREQUENCY

LOSS_RTOL = 1e-9
"""Cross-entropy of the engine (float64) vs torch's F.cross_entropy on the same logits: the same
log-sum-exp, summed in another order; agreement to ~1e-14, with room for BLAS differences."""


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    net = tl.MLP([5, 12, 3], rng=0, dtype=np.float64)
    X = rng.normal(size=(150, 5))
    y = np.argmax(X[:, :3] + 0.3 * rng.normal(size=(150, 3)), axis=1)
    acts = net.forward_to(X, "layers.1")
    sae = fit_sae(acts, 16, k=3, steps=60, batch_size=32, rng=0, dtype="float64")
    sae.hook_name = "layers.1"
    return net, X, y, acts, sae


def test_fve_mse_and_l0_by_plain_numpy_and_python(case):
    net, X, y, acts, sae = case
    ev = evaluate_sae(sae, net, (X, y), batch_size=40)  # several batches: streaming sums
    x_hat = sae.reconstruct(acts)
    err = ((acts - x_hat) ** 2).sum()
    assert ev.fve_ == pytest.approx(1 - err / ((acts - acts.mean(axis=0)) ** 2).sum(), rel=1e-10)
    assert ev.mse_ == pytest.approx(err / acts.size, rel=1e-10)
    z = sae.encode(acts).tolist()
    assert ev.l0_ == pytest.approx(sum(sum(1 for v in row if v > 0) for row in z) / len(z))
    freq = [sum(1 for row in z if row[i] > 0) / len(z) for i in range(16)]
    assert ev.firing_frequency_.tolist() == pytest.approx(freq)
    assert int(ev.dead_.sum()) == sum(1 for f in freq if f == 0)
    assert int(ev.dense_.sum()) == sum(1 for f in freq if f > DENSE_FREQUENCY)


def test_spliced_accuracy_equals_a_manual_torch_forward(case):
    net, X, y, _acts, sae = case
    ev = evaluate_sae(sae, net, (X, y), batch_size=64)
    W0, b0 = (torch.tensor(p) for p in (net.layers[0].weight.data, net.layers[0].bias.data))
    W1, b1 = (torch.tensor(p) for p in (net.layers[2].weight.data, net.layers[2].bias.data))
    xt, yt = torch.tensor(X), torch.tensor(y)
    h = torch.relu(xt @ W0.T + b0)
    P = {p.name: torch.tensor(p.data) for p in sae.parameters}
    pre = (h - P["b_dec"]) @ P["W_enc"] + P["b_enc"]
    top = torch.topk(pre, sae.k, dim=1)
    z = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
    h_hat = z @ P["W_dec"] + P["b_dec"]
    for h_used, loss, acc in (
        (h, ev.clean_loss_, ev.clean_accuracy_),
        (h_hat, ev.spliced_loss_, ev.spliced_accuracy_),
        (torch.zeros_like(h), ev.zero_loss_, ev.zero_accuracy_),
    ):
        logits = h_used @ W1.T + b1
        assert loss == pytest.approx(
            float(torch.nn.functional.cross_entropy(logits, yt)), rel=LOSS_RTOL
        )
        assert acc == float((logits.argmax(1) == yt).double().mean())
    assert ev.spliced_accuracy_ != ev.zero_accuracy_  # the splice is not a no-op
    gap = ev.zero_loss_ - ev.clean_loss_
    assert ev.loss_recovered_ == pytest.approx((ev.zero_loss_ - ev.spliced_loss_) / gap)


def test_splice_on_a_torch_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 10), torch.nn.ReLU(), torch.nn.Linear(10, 3)
    ).double()
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(80, 4)), rng.integers(0, 3, size=80)
    with torch.no_grad():
        h = torch.relu(model[0](torch.tensor(X)))
    sae = fit_sae(h.numpy(), 12, k=2, steps=30, batch_size=16, rng=0, dtype="float64")
    ev = evaluate_sae(sae, model, (X, y), hook_name="1")
    with torch.no_grad():
        logits = model[2](torch.tensor(sae.reconstruct(h.numpy())))
    assert ev.spliced_accuracy_ == float((logits.argmax(1) == torch.tensor(y)).double().mean())


def test_top_samples_and_class_means_by_brute_force(case):
    net, X, y, acts, sae = case
    ev = evaluate_sae(sae, net, (X, y), batch_size=32, top_k=5)
    z = sae.encode(acts)
    for unit in range(12):
        best = sorted(range(len(X)), key=lambda i: (-acts[i, unit], i))[:5]
        assert ev.top_unit_samples_[unit].tolist() == best
    for latent in range(16):
        best = sorted(range(len(X)), key=lambda i: (-z[i, latent], i))[:5]
        assert ev.top_latent_samples_[latent].tolist() == best
    for c in range(3):
        np.testing.assert_allclose(ev.latent_class_means_[c], z[y == c].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(ev.unit_class_means_[c], acts[y == c].mean(axis=0), rtol=1e-12)


def test_evaluation_shows_itself(case):
    net, X, y, _acts, sae = case
    ev = evaluate_sae(sae, net, (X, y))
    assert "FVE=" in repr(ev) and len(repr(ev)) < 160
    assert "spliced accuracy" in ev._repr_html_()
    assert len(ev.to_dict()["latent"]) == 16
    assert ev.plot().axes[0].get_xlabel() == "log10 firing frequency"


def test_convolution_channels_one_row_per_position():
    """At a convolution's hook point every position is a row of channels; the splice puts the
    reconstruction back in (batch, channels, h, w) order (checked by a manual torch forward)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 3),
    ).double()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 1, 6, 6)), rng.integers(0, 3, size=40)
    sae = train_sae(model, X, "1", 8, k=2, steps=20, batch_size=8, rng=0, dtype="float64")
    assert sae.d == 4
    ev = evaluate_sae(sae, model, (X, y), batch_size=16)
    assert ev.n_rows == 40 * 16 and ev.unit_class_means_.shape == (3, 4)
    with torch.no_grad():
        h = torch.relu(model[0](torch.tensor(X)))  # (40, 4, 4, 4)
        rows = h.permute(0, 2, 3, 1).reshape(-1, 4).numpy()
        rec = torch.tensor(sae.reconstruct(rows)).reshape(40, 4, 4, 4).permute(0, 3, 1, 2)
        logits = model[3](model[2](rec))
    assert ev.spliced_accuracy_ == float((logits.argmax(1) == torch.tensor(y)).double().mean())
    np.testing.assert_allclose(
        ev.unit_class_means_[0], rows.reshape(40, 16, 4)[y == 0].mean((0, 1))
    )
