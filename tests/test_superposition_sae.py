"""The SAE: hand-written gradients against torch autograd, the unit-norm decoder, recovery of a
planted dictionary, streaming against a full activation array, and save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinylens as tl
from tinylens.errors import ConfigError, ShapeError, WeightsFileError
from tinylens.superposition import (
    SAETrainConfig,
    SparseAutoencoder,
    fit_sae,
    mean_max_cosine,
    planted_dictionary,
    sae_loss_and_grads,
    train_sae,
)

GRAD_RTOL = 1e-10
"""float64 hand gradients vs torch autograd: the same sums in a different order, so agreement
to ~1e-13 relative is expected; 1e-10 leaves room for BLAS differences (MKL vs OpenBLAS)."""

STREAM_ATOL = 1e-12
"""Streaming (activations of each batch's rows) vs one activation array (all rows at once):
BLAS may block a matmul of a subset of rows differently, so equal up to float64 rounding."""

RECOVERY_THRESHOLD = 0.95
"""Mean max cosine a TopK SAE reaches on the planted dictionary below (measured: 0.99 at 1500
steps); features there are sparse enough (3% active) that the paper's setting allows recovery."""


def _torch_loss(sae: SparseAutoencoder, x: np.ndarray, dead: np.ndarray | None):
    """The SAE loss written directly in torch: an oracle for the hand gradients."""
    P = {p.name: torch.tensor(p.data, requires_grad=True) for p in sae.parameters}
    xt = torch.tensor(x)
    pre = (xt - P["b_dec"]) @ P["W_enc"] + P["b_enc"]
    if sae.k is None:
        z = torch.relu(pre)
    else:
        top = torch.topk(pre, sae.k, dim=1)
        z = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
    x_hat = z @ P["W_dec"] + P["b_dec"]
    loss = torch.mean((x_hat - xt) ** 2)
    if sae.k is None:
        loss = loss + sae.l1 * z.sum() / len(x)
    if dead is not None:
        k_aux = min(sae.k_aux, int(dead.sum()))
        masked = torch.where(torch.tensor(dead), pre, torch.tensor(-np.inf, dtype=pre.dtype))
        top = torch.topk(masked, k_aux, dim=1)
        z_aux = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
        resid = (xt - x_hat).detach()
        loss = loss + sae.aux_coef * torch.mean((z_aux @ P["W_dec"] - resid) ** 2)
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in P.items()}


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("aux", [False, True])
def test_gradients_match_torch_autograd(k, aux):
    rng = np.random.default_rng(1)
    sae = SparseAutoencoder(6, 10, k=k, l1=0.05, k_aux=2, rng=2, dtype=np.float64)
    for p in sae.parameters:  # move off the initial point so every term is nonzero
        p.data += 0.1 * rng.normal(size=p.data.shape)
    x = rng.normal(size=(7, 6))
    dead = (np.arange(10) % 3 == 0) if aux else None
    loss, grads, _ = sae_loss_and_grads(sae, x, dead)
    t_loss, t_grads = _torch_loss(sae, x, dead)
    assert loss == pytest.approx(t_loss, rel=GRAD_RTOL)
    for name, g in grads.items():
        np.testing.assert_allclose(g, t_grads[name], rtol=GRAD_RTOL, atol=1e-14, err_msg=name)


def test_gradients_match_finite_differences():
    """A second oracle: central differences of the loss, float64."""
    rng = np.random.default_rng(3)
    sae = SparseAutoencoder(4, 5, l1=0.02, rng=0, dtype=np.float64)
    sae.b_enc_[...] = 0.3  # keep pre-activations away from the ReLU kink
    x = rng.normal(size=(6, 4))
    _, grads, _ = sae_loss_and_grads(sae, x)
    h = 1e-6
    for p in sae.parameters:
        flat = p.data.reshape(-1)
        for i in range(0, flat.size, 3):
            old = flat[i]
            flat[i] = old + h
            up = sae_loss_and_grads(sae, x)[0]
            flat[i] = old - h
            down = sae_loss_and_grads(sae, x)[0]
            flat[i] = old
            assert grads[p.name].reshape(-1)[i] == pytest.approx((up - down) / (2 * h), abs=1e-6)


@pytest.mark.parametrize("k", [None, 2])
def test_decoder_rows_stay_unit_norm_after_every_step(k):
    from tinylens.superposition.sae_training import _array_batches, _train

    X = np.random.default_rng(0).normal(size=(200, 5))
    sae = SparseAutoencoder(5, 8, k=k, rng=0, dtype=np.float64)
    norms = []
    cfg = SAETrainConfig(8, k, steps=40, lr=0.01, dead_steps=5, dtype="float64")
    batches = _array_batches(X, 32, 40, np.random.default_rng(0))
    _train(sae, batches, cfg, lambda step, loss: norms.append(np.linalg.norm(sae.W_dec_, axis=1)))
    assert len(norms) == 40
    np.testing.assert_allclose(np.array(norms), 1.0, atol=1e-12)


def test_gradient_parallel_to_decoder_rows_is_removed():
    sae = SparseAutoencoder(5, 8, rng=0, dtype=np.float64)
    sae._W_dec.grad[...] = np.random.default_rng(1).normal(size=(8, 5))
    sae.constrain_gradient()
    np.testing.assert_allclose(np.sum(sae._W_dec.grad * sae.W_dec_, axis=1), 0, atol=1e-14)


def test_topk_keeps_at_most_k_latents():
    X = np.random.default_rng(0).normal(size=(100, 6))
    sae = fit_sae(X, 12, k=3, steps=20, batch_size=20, rng=0)
    counts = [sum(1 for v in row if v > 0) for row in sae.encode(X).tolist()]
    assert max(counts) <= 3 and max(counts) == 3


@pytest.mark.parametrize("k", [3, None])
def test_recovers_planted_dictionary(k):
    data = planted_dictionary(20000, n_features=32, d=16, p_active=0.03, rng=0)
    sae = fit_sae(data.X, 64, k=k, l1=3e-3, steps=1500, batch_size=256, lr=3e-3, rng=0)
    score = mean_max_cosine(sae.W_dec_, data.features)
    assert score > RECOVERY_THRESHOLD
    # and a random dictionary of the same size does not score so: the check can fail
    random = np.random.default_rng(5).normal(size=(64, 16))
    assert mean_max_cosine(random, data.features) < 0.8


def test_streaming_equals_training_on_a_full_activation_array():
    net = tl.MLP([5, 12, 3], rng=0, dtype=np.float64)
    X = np.random.default_rng(0).normal(size=(90, 5))
    full = net.forward_to(X, "layers.1")
    a = train_sae(net, X, "layers.1", 16, k=4, steps=25, batch_size=16, rng=7, dtype=np.float64)
    b = fit_sae(full, 16, k=4, steps=25, batch_size=16, rng=7, dtype=np.float64)
    for p, q in zip(a.parameters, b.parameters, strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=0, atol=STREAM_ATOL)
    assert a.loss_history_ == pytest.approx(b.loss_history_, abs=STREAM_ATOL)


def test_streaming_never_runs_the_whole_dataset_at_once():
    net = tl.MLP([5, 12, 3], rng=0)
    X = np.random.default_rng(0).normal(size=(500, 5)).astype(np.float32)
    sizes = []
    with net.hooks([("layers.1", lambda a, name: sizes.append(len(a)))]):
        train_sae(net, X, "layers.1", 8, steps=10, batch_size=32, rng=0)
    assert max(sizes) == 32 and len(sizes) == 11  # one probe of 1 row for d, then 10 batches


def test_torch_model_through_the_hook_api():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 10), torch.nn.ReLU(), torch.nn.Linear(10, 2))
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    sae = train_sae(model, X, "1", 20, k=2, steps=5, batch_size=16, rng=0)
    assert sae.d == 10 and sae.hook_name == "1" and sae.steps_ == 5


def test_save_load_round_trip(tmp_path):
    X = np.random.default_rng(0).normal(size=(100, 6))
    sae = fit_sae(X, 12, k=3, steps=10, batch_size=20, rng=0)
    sae.save(tmp_path / "sae.safetensors")
    back = SparseAutoencoder.load(tmp_path / "sae.safetensors")
    assert repr(back) == repr(sae)
    np.testing.assert_array_equal(back.encode(X), sae.encode(X))
    assert back.loss_history_ == sae.loss_history_
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(WeightsFileError):
        SparseAutoencoder.load(tmp_path / "bad.safetensors")


def test_bad_settings_and_shapes_are_one_clear_error():
    with pytest.raises(ConfigError, match="k must lie"):
        SparseAutoencoder(4, 8, k=9)
    with pytest.raises(ConfigError, match="batch_size 50 is larger"):
        fit_sae(np.zeros((10, 3)), 4, batch_size=50)
    sae = SparseAutoencoder(4, 8)
    with pytest.raises(ShapeError, match="reads rows of 4"):
        sae.encode(np.zeros((2, 5)))
    with pytest.raises(tl.errors.UnknownNameError, match="did you mean"):
        train_sae(tl.MLP([4, 8, 2], rng=0), np.zeros((10, 4)), "layers.l", 4, batch_size=2)


def test_repr_html_and_table():
    sae = fit_sae(np.random.default_rng(0).normal(size=(50, 3)), 4, steps=3, batch_size=10)
    assert len(repr(sae)) < 120 and "steps=3" in repr(sae)
    assert "<table>" in sae._repr_html_()
    table = sae.to_dict()
    assert len(table["latent"]) == 4 and table["decoder_norm"] == pytest.approx([1.0] * 4)
    fig = sae.plot()
    assert fig.axes[0].get_yscale() == "log"
