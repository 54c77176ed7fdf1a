"""Oracle tests of the engine's losses: values and gradients against ``torch.nn.functional``
(float64) and against central differences, plus the shape checks that replace broadcasting."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinylens.engine import (
    LOSSES,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Identity,
    Loss,
    MSELoss,
    gradcheck,
    loss_fn,
)
from tinylens.errors import ShapeError, UnknownNameError

TORCH_ATOL = 1e-12  # same float64 formulas; only summation order and libm rounding differ
TORCH_RTOL = 1e-12  # relative part of the same bound


def close(actual: np.ndarray | float, expected: np.ndarray | float) -> None:
    np.testing.assert_allclose(actual, expected, rtol=TORCH_RTOL, atol=TORCH_ATOL)


def torch_value_and_grad(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], pred: np.ndarray, target: torch.Tensor
) -> tuple[float, np.ndarray]:
    pt = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    value = fn(pt, target)
    value.backward()
    assert pt.grad is not None
    return value.item(), pt.grad.numpy()


def engine_value_and_grad(
    loss: Loss, pred: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray]:
    value = loss.forward(pred, target)
    assert isinstance(value, float)
    return value, loss.backward()


# -- MSE ----------------------------------------------------------------------------------------
def test_mse_matches_torch_on_multi_output_targets() -> None:
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    value, grad = engine_value_and_grad(MSELoss(), pred, target)
    ref_value, ref_grad = torch_value_and_grad(F.mse_loss, pred, torch.from_numpy(target))
    close(value, ref_value)
    close(grad, ref_grad)
    close(grad, 2.0 * (pred - target) / pred.size)  # every element counts, not every row


def test_mse_reshapes_a_1d_target_against_a_column_of_predictions() -> None:
    rng = np.random.default_rng(1)
    pred, target = rng.normal(size=(6, 1)), rng.normal(size=6)
    value, grad = engine_value_and_grad(MSELoss(), pred, target)
    # NumPy would broadcast (6, 1) - (6,) to (6, 6); torch would too (with a warning).
    ref_value, ref_grad = torch_value_and_grad(
        F.mse_loss, pred, torch.from_numpy(target.reshape(-1, 1))
    )
    close(value, ref_value)
    assert grad.shape == (6, 1)
    close(grad, ref_grad)


@pytest.mark.parametrize("name", ["mse", "bce"])
def test_elementwise_losses_reject_mismatched_shapes(name: str) -> None:
    loss = loss_fn(name)
    with pytest.raises(ShapeError, match=r"target has shape \(5,\); predictions have \(5, 2\)"):
        loss.forward(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(ShapeError):
        loss.forward(np.zeros((5, 1)), np.zeros(4))
    with pytest.raises(ShapeError):
        loss.forward(np.zeros(5), np.zeros((5, 1)))


# -- cross-entropy ------------------------------------------------------------------------------
def test_cross_entropy_with_integer_labels_matches_torch() -> None:
    rng = np.random.default_rng(2)
    logits, labels = rng.normal(scale=3.0, size=(8, 4)), rng.integers(0, 4, size=8)
    value, grad = engine_value_and_grad(CrossEntropyLoss(), logits, labels)
    ref_value, ref_grad = torch_value_and_grad(F.cross_entropy, logits, torch.from_numpy(labels))
    close(value, ref_value)
    close(grad, ref_grad)


def test_cross_entropy_unchecked_path_is_the_same_maths() -> None:
    """``check=False`` (fit's per-step call, labels checked once) skips checks, not maths: the
    same value and gradient, bit for bit, and torch's to rounding (float32 here, as in fit)."""
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=4.0, size=(64, 10)).astype(np.float32)
    labels = rng.integers(0, 10, size=64)
    loss = CrossEntropyLoss()
    checked = loss.forward(logits, labels), loss.backward()
    unchecked = loss.forward(logits, labels, check=False), loss.backward()
    assert checked[0] == unchecked[0]
    assert np.array_equal(checked[1], unchecked[1])
    ref_value, ref_grad = torch_value_and_grad(
        F.cross_entropy, logits.astype(np.float64), torch.from_numpy(labels)
    )
    # float32 softmax against torch's float64: ~1e-7 relative, 1e-6 gives room.
    np.testing.assert_allclose(unchecked[0], ref_value, rtol=1e-6)
    np.testing.assert_allclose(unchecked[1], ref_grad, rtol=1e-5, atol=1e-8)
    # a second backward gives the same gradient (the softmax is not consumed)
    assert np.array_equal(loss.backward(), unchecked[1])


@pytest.mark.parametrize("normalised", [True, False])
def test_cross_entropy_with_probability_targets_matches_torch(normalised: bool) -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=3.0, size=(6, 5))
    probs = rng.uniform(size=(6, 5))
    if normalised:
        probs /= probs.sum(axis=1, keepdims=True)
    # torch defines both the value -sum(t log p) / n and its gradient for any t >= 0.
    value, grad = engine_value_and_grad(CrossEntropyLoss(), logits, probs)
    ref_value, ref_grad = torch_value_and_grad(F.cross_entropy, logits, torch.from_numpy(probs))
    close(value, ref_value)
    close(grad, ref_grad)


def test_cross_entropy_of_huge_logits_stays_finite() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]])
    labels = np.array([1, 0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = engine_value_and_grad(CrossEntropyLoss(), logits, labels)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    ref_value, ref_grad = torch_value_and_grad(F.cross_entropy, logits, torch.from_numpy(labels))
    np.testing.assert_allclose(value, ref_value, rtol=TORCH_RTOL)
    close(grad, ref_grad)


def test_cross_entropy_rejects_bad_shapes_and_labels() -> None:
    loss = CrossEntropyLoss()
    logits = np.zeros((4, 3))
    with pytest.raises(ShapeError, match=r"labels must lie in \[0, 2\]"):
        loss.forward(logits, np.array([0, 1, 3, 2]))
    with pytest.raises(ShapeError, match=r"labels must lie in \[0, 2\]"):
        loss.forward(logits, np.array([0, -1, 1, 2]))
    with pytest.raises(ShapeError, match="3 labels for 4 predictions"):
        loss.forward(logits, np.array([0, 1, 2]))
    with pytest.raises(ShapeError, match=r"expected \(4,\) labels or \(4, 3\) probabilities"):
        loss.forward(logits, np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="logits must be"):
        loss.forward(np.zeros(4), np.array([0, 1, 2, 0]))


# -- binary cross-entropy on logits -------------------------------------------------------------
@pytest.mark.parametrize("shape", [(9,), (9, 1), (5, 3)])
def test_bce_with_logits_matches_torch(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=4.0, size=shape)
    target = rng.uniform(size=shape)  # soft targets too, not only 0 / 1
    target.ravel()[::2] = np.round(target.ravel()[::2])
    value, grad = engine_value_and_grad(BCEWithLogitsLoss(), logits, target)
    ref_value, ref_grad = torch_value_and_grad(
        F.binary_cross_entropy_with_logits, logits, torch.from_numpy(target)
    )
    close(value, ref_value)
    close(grad, ref_grad)


def test_bce_reshapes_a_1d_target_against_a_column_of_logits() -> None:
    rng = np.random.default_rng(5)
    logits, target = rng.normal(size=(6, 1)), rng.integers(0, 2, size=6).astype(float)
    value, grad = engine_value_and_grad(BCEWithLogitsLoss(), logits, target)
    ref_value, ref_grad = torch_value_and_grad(
        F.binary_cross_entropy_with_logits, logits, torch.from_numpy(target.reshape(-1, 1))
    )
    close(value, ref_value)
    close(grad, ref_grad)


def test_bce_of_huge_logits_stays_finite() -> None:
    logits = np.array([[1e4], [-1e4], [1e4], [-1e4], [1e300], [-1e300]])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = engine_value_and_grad(BCEWithLogitsLoss(), logits, target)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    ref_value, ref_grad = torch_value_and_grad(
        F.binary_cross_entropy_with_logits, logits, torch.from_numpy(target.reshape(-1, 1))
    )
    np.testing.assert_allclose(value, ref_value, rtol=TORCH_RTOL)
    close(grad, ref_grad)


# -- every loss against finite differences ------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("mse", np.random.default_rng(6).normal(size=(5, 3))),
        ("cross_entropy", np.array([0, 2, 1, 1, 2])),
        ("cross_entropy", np.random.default_rng(7).dirichlet(np.ones(3), size=5)),
        ("bce", np.random.default_rng(8).uniform(size=(5, 3))),
    ],
    ids=["mse", "ce_labels", "ce_probs", "bce"],
)
def test_loss_gradients_pass_gradcheck(name: str, target: np.ndarray) -> None:
    pred = np.random.default_rng(9).normal(scale=2.0, size=(5, 3))
    result = gradcheck(Identity(), pred, target, loss=name)  # d loss / d pred
    assert result.passed, str(result)


def test_losses_by_name() -> None:
    assert set(LOSSES) == {"mse", "cross_entropy", "bce"}
    assert isinstance(loss_fn("ce"), CrossEntropyLoss)
    assert isinstance(loss_fn("bce_with_logits"), BCEWithLogitsLoss)
    with pytest.raises(UnknownNameError, match="did you mean 'mse'"):
        loss_fn("mes")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_value_and_grad_is_forward_then_backward_bit_for_bit(dtype: type) -> None:
    """fit's one call per step (work arrays reused across calls and batch sizes) against the
    two calls it replaces, on batches of changing size (a ragged last batch reallocates), with
    ties, huge logits and classes beyond the short-row loop of the row max."""
    rng = np.random.default_rng(7)
    fused = CrossEntropyLoss()
    for n, c in [(64, 10), (64, 10), (17, 10), (64, 10), (5, 100), (3, 2)]:
        logits = rng.normal(scale=6.0, size=(n, c)).astype(dtype)
        logits[0, :] = 1.5  # a row of ties
        logits[1, 0] = 1e4  # exp underflows to 0 for the rest of the row
        labels = rng.integers(0, c, size=n)
        labels[0] = c - 1  # on the tied row: argmax says column 0, so this row is wrong
        plain = CrossEntropyLoss()
        value, grad = plain.forward(logits, labels, check=False), plain.backward()
        got_value, got_grad = fused.value_and_grad(logits, labels)
        assert got_value == value
        assert got_grad.dtype == grad.dtype and got_grad.tobytes() == grad.tobytes()
        assert fused.n_correct == np.count_nonzero(logits.argmax(axis=1) == labels)
    # without ties the count comes from the label logits alone: the oracle is argmax again
    logits = rng.normal(size=(40, 10)).astype(np.float32)
    labels = logits.argmax(axis=1)
    labels[:7] = (labels[:7] + 1) % 10
    fused.value_and_grad(logits, labels)
    assert fused.n_correct == 33


def test_mse_value_and_grad_is_forward_then_backward_bit_for_bit() -> None:
    rng = np.random.default_rng(8)
    fused = MSELoss()
    for shape in [(64, 3), (64, 3), (9, 3), (5, 1)]:
        pred = rng.normal(size=shape).astype(np.float32)
        target = rng.normal(size=shape).astype(np.float32)
        plain = MSELoss()
        value, grad = plain.forward(pred, target), plain.backward()
        got_value, got_grad = fused.value_and_grad(pred, target)
        assert got_value == value and got_grad.tobytes() == grad.tobytes()
    with pytest.raises(ShapeError, match="target has shape"):
        fused.value_and_grad(pred, target[:, 0])  # never broadcast
