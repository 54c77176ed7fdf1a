"""Oracle tests of the engine's activations and layers.

Every module's forward and backward is checked against ``torch.autograd`` in float64 (same
weights copied in, a random upstream gradient) and against central differences through
:func:`tinylens.engine.gradcheck`. Kinks are checked exactly: the derivative the engine picks at
x = 0 must be the one torch picks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinylens.engine import (
    ACTIVATIONS,
    Dropout,
    Flatten,
    LayerNorm,
    Linear,
    Module,
    activation,
    gradcheck,
    sigmoid,
)
from tinylens.engine.activations import erf
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

TORCH_ATOL = 1e-12  # same float64 formulas; only summation order and libm rounding differ
TORCH_RTOL = 1e-12  # relative part of the same bound, for outputs far from 1 in size
ERF_ATOL = 4e-15  # series / continued fraction vs libm: measured max 1.1e-15 (5 ulp near 1)
ERF_RTOL = 4e-15  # the same bound relative to |erf(x)|, for tiny x where erf(x) ~ 2x/sqrt(pi)
DROPOUT_SIGMAS = 5.0  # keep-rate may deviate from 1 - p by 5 binomial standard deviations
KINK_MARGIN = 1e-3  # finite differences need inputs this far from a kink (step is 1e-6)


def _as_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def torch_forward_backward(
    fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, grad_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Output of ``fn`` at ``x`` and the vector-Jacobian product with ``grad_out``."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = fn(xt)
    yt.backward(torch.tensor(grad_out, dtype=torch.float64))
    assert xt.grad is not None
    return _as_np(yt), _as_np(xt.grad)


def close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=TORCH_RTOL, atol=TORCH_ATOL)


# -- the shared table of activation cases ------------------------------------------------------
# (id, engine factory, torch function)
ACTIVATION_CASES: list[tuple[str, Callable[[], Module], Callable[[torch.Tensor], torch.Tensor]]] = [
    ("identity", lambda: activation("identity"), lambda x: x * 1.0),
    ("relu", lambda: activation("relu"), F.relu),
    ("leaky_relu", lambda: activation("leaky_relu"), lambda x: F.leaky_relu(x, 0.01)),
    (
        "leaky_relu_0.2",
        lambda: activation("leaky_relu", negative_slope=0.2),
        lambda x: F.leaky_relu(x, 0.2),
    ),
    ("sigmoid", lambda: activation("sigmoid"), torch.sigmoid),
    ("tanh", lambda: activation("tanh"), torch.tanh),
    ("softplus", lambda: activation("softplus"), F.softplus),
    (
        "softplus_beta2_thr5",
        lambda: activation("softplus", beta=2.0, threshold=5.0),
        lambda x: F.softplus(x, beta=2.0, threshold=5.0),
    ),
    ("gelu", lambda: activation("gelu"), lambda x: F.gelu(x)),
    (
        "gelu_tanh",
        lambda: activation("gelu", approximate="tanh"),
        lambda x: F.gelu(x, approximate="tanh"),
    ),
    ("softmax", lambda: activation("softmax"), lambda x: torch.softmax(x, dim=-1)),
]
CASE_IDS = [case[0] for case in ACTIVATION_CASES]


def test_the_case_table_covers_every_activation() -> None:
    covered = {factory().kind for _, factory, _ in ACTIVATION_CASES}
    assert covered == set(ACTIVATIONS)


def _oracle_inputs(rng: np.random.Generator) -> np.ndarray:
    """Random inputs plus exact kinks (0) and values around the softplus thresholds."""
    x = rng.normal(scale=3.0, size=(6, 8))
    x[0, :4] = 0.0  # the ReLU / LeakyReLU kink, exactly
    x[1] = [19.9, 20.0, 20.000001, 20.5, 25.0, 100.0, -30.0, 2.5]  # softplus threshold 20
    x[2, :3] = [2.5, 2.5000001, 2.4999999]  # beta=2, threshold=5: beta x around 5
    x[3, :2] = [-1e-300, 1e-300]
    return x


@pytest.mark.parametrize(("name", "make", "torch_fn"), ACTIVATION_CASES, ids=CASE_IDS)
def test_activation_matches_torch(
    name: str, make: Callable[[], Module], torch_fn: Callable[[torch.Tensor], torch.Tensor]
) -> None:
    rng = np.random.default_rng(0)
    x = _oracle_inputs(rng)
    g = rng.normal(size=x.shape)
    act = make()
    y = act.forward(x.copy())
    dx = act.backward(g)
    y_ref, dx_ref = torch_forward_backward(torch_fn, x, g)
    assert y.dtype == np.float64 and y.shape == x.shape
    close(y, y_ref)
    assert dx is not None
    close(dx, dx_ref)


@pytest.mark.parametrize(("name", "make", "torch_fn"), ACTIVATION_CASES, ids=CASE_IDS)
def test_activation_passes_gradcheck(
    name: str, make: Callable[[], Module], torch_fn: Callable[[torch.Tensor], torch.Tensor]
) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(scale=3.0, size=(5, 6))
    # Finite differences are meaningless across a kink: keep inputs away from 0.
    x = np.where(np.abs(x) < KINK_MARGIN, KINK_MARGIN * 10, x)
    result = gradcheck(make(), x)
    assert result.passed, str(result)


@pytest.mark.parametrize(("slope", "expected"), [(None, 0.01), (0.2, 0.2), (0.0, 0.0)])
def test_leaky_relu_derivative_at_zero_is_the_slope_as_in_torch(
    slope: float | None, expected: float
) -> None:
    act = (
        activation("leaky_relu")
        if slope is None
        else activation("leaky_relu", negative_slope=slope)
    )
    x = np.array([[0.0, -0.0]])
    act.forward(x)
    dx = act.backward(np.ones_like(x))
    _, dx_ref = torch_forward_backward(lambda t: F.leaky_relu(t, expected), x, np.ones_like(x))
    np.testing.assert_array_equal(dx, [[expected, expected]])
    np.testing.assert_array_equal(dx, dx_ref)


def test_relu_derivative_at_zero_is_zero_as_in_torch() -> None:
    x = np.array([[0.0, -0.0, 1.0, -1.0]])
    act = activation("relu")
    act.forward(x)
    dx = act.backward(np.full_like(x, 3.0))
    _, dx_ref = torch_forward_backward(F.relu, x, np.full_like(x, 3.0))
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(dx, dx_ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", CASE_IDS)
def test_activation_keeps_the_dtype(name: str, dtype: type) -> None:
    make = {case[0]: case[1] for case in ACTIVATION_CASES}[name]
    act = make()
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    assert act.forward(x).dtype == dtype
    dx = act.backward(np.ones_like(x))
    assert dx is not None and dx.dtype == dtype


def test_softplus_beyond_the_threshold_is_the_identity() -> None:
    x = np.array([[20.0 + 1e-9, 21.0, 50.0, 1e4, 1e300]])
    act = activation("softplus")
    np.testing.assert_array_equal(act.forward(x), x)
    np.testing.assert_array_equal(act.backward(np.full_like(x, 2.0)), np.full_like(x, 2.0))


def test_unknown_activation_suggests_a_close_match() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'relu'"):
        activation("rleu")
    with pytest.raises(UnknownNameError):
        activation("gelu", approximate="erf")


# -- erf and sigmoid ----------------------------------------------------------------------------
def test_erf_matches_math_erf_on_a_dense_grid() -> None:
    grid = np.concatenate(
        [
            np.linspace(-10.0, 10.0, 40_001),  # includes 0, +-2 (the branch switch) and +-6
            np.nextafter(2.0, [0.0, 4.0]),
            -np.nextafter(2.0, [0.0, 4.0]),
            [1e-300, -1e-300, 1e-12, -1e-12, 27.0, -27.0, 1e3, -1e3, 1e200, -1e200, 1e308],
        ]
    )
    expected = np.array([math.erf(v) for v in grid])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = erf(grid)
    np.testing.assert_allclose(got, expected, rtol=ERF_RTOL, atol=ERF_ATOL)
    assert got.dtype == np.float64


def test_erf_limits_signs_and_dtypes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = erf(np.array([np.inf, -np.inf, 0.0, -0.0, np.nan]))
    np.testing.assert_array_equal(got[:4], [1.0, -1.0, 0.0, -0.0])
    assert np.signbit(got[3]) and np.isnan(got[4])
    x32 = np.linspace(-3, 3, 7, dtype=np.float32)
    assert erf(x32).dtype == np.float32
    np.testing.assert_allclose(erf(x32), [math.erf(float(v)) for v in x32], rtol=1e-6)


def _extreme_inputs(dtype: type) -> np.ndarray:
    with np.errstate(over="ignore"):  # 1e300 rounds to inf in float32, which is the point
        return np.array([1e4, -1e4, 1e300, -1e300, np.inf, -np.inf, 0.0, 40.0, -40.0]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_extreme_inputs_is_silent_and_correct(dtype: type) -> None:
    x = _extreme_inputs(dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        s = sigmoid(x)
        act = activation("sigmoid")
        y = act.forward(x.reshape(1, -1))
        dy = act.backward(np.ones((1, x.size), dtype=dtype))
    assert s.dtype == dtype
    np.testing.assert_array_equal(s[:7], [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.5])
    assert s[7] == pytest.approx(1.0) and 0.0 <= s[8] < 1e-17
    np.testing.assert_array_equal(y.ravel(), s)
    assert dy is not None and np.all(np.isfinite(dy)) and np.all(dy >= 0)
    np.testing.assert_array_equal(dy.ravel()[:6], 0.0)


def test_sigmoid_of_integers_is_a_float() -> None:
    np.testing.assert_allclose(sigmoid(np.array([0, 1])), [0.5, 1 / (1 + math.exp(-1))])


def test_softmax_of_huge_logits_is_finite_and_normalised() -> None:
    x = np.array([[1e4, -1e4, 0.0], [1e300, 1e300, -1e300]])
    act = activation("softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.forward(x)
        ds = act.backward(np.ones_like(x))
    np.testing.assert_allclose(s, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=TORCH_ATOL)
    assert ds is not None and np.all(np.isfinite(ds))


# -- Linear -------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias: bool) -> None:
    rng = np.random.default_rng(2)
    lin = Linear(4, 3, bias=bias, rng=rng, init="torch", dtype=np.float64)
    ref = torch.nn.Linear(4, 3, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(lin.weight.data))
        if bias:
            assert lin.bias is not None and ref.bias is not None
            ref.bias.copy_(torch.from_numpy(lin.bias.data))
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.from_numpy(g))

    y = lin.forward(x)
    dx = lin.backward(g)
    close(y, _as_np(yt))
    assert dx is not None and xt.grad is not None
    close(dx, _as_np(xt.grad))
    assert ref.weight.grad is not None
    close(lin.weight.grad, _as_np(ref.weight.grad))
    assert [p.name for p in lin.parameters()] == (["weight", "bias"] if bias else ["weight"])
    if bias:
        assert lin.bias is not None and ref.bias is not None and ref.bias.grad is not None
        close(lin.bias.grad, _as_np(ref.bias.grad))
    else:
        assert lin.bias is None


@pytest.mark.parametrize("bias", [True, False])
def test_linear_passes_gradcheck(bias: bool) -> None:
    rng = np.random.default_rng(3)
    lin = Linear(4, 3, bias=bias, rng=rng, init="torch", dtype=np.float64)
    result = gradcheck(lin, rng.normal(size=(5, 4)))
    assert result.passed, str(result)
    assert set(result.max_abs_error) == (
        {"weight", "bias", "input"} if bias else {"weight", "input"}
    )


def test_linear_skips_the_input_gradient_but_still_fills_parameter_grads() -> None:
    rng = np.random.default_rng(4)
    lin = Linear(3, 2, rng=rng, dtype=np.float64)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    lin.forward(x)
    assert lin.backward(g, need_input_grad=False) is None
    close(lin.weight.grad, g.T @ x)


def test_linear_rejects_a_wrong_input_shape() -> None:
    lin = Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ShapeError, match=r"expected \(batch, 3\)"):
        lin.forward(np.zeros((4, 2)))
    with pytest.raises(ConfigError):
        Linear(0, 2)


# -- LayerNorm ----------------------------------------------------------------------------------
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(affine: bool) -> None:
    rng = np.random.default_rng(5)
    ln = LayerNorm(6, eps=1e-5, elementwise_affine=affine, dtype=np.float64)
    ref = torch.nn.LayerNorm(6, eps=1e-5, elementwise_affine=affine, dtype=torch.float64)
    if affine:
        assert ln.weight is not None and ln.bias is not None
        ln.weight.assign(rng.normal(size=6))
        ln.bias.assign(rng.normal(size=6))
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(ln.weight.data))
            ref.bias.copy_(torch.from_numpy(ln.bias.data))
    x = rng.normal(loc=2.0, scale=3.0, size=(5, 6))
    g = rng.normal(size=(5, 6))
    xt = torch.tensor(x, requires_grad=True)
    ref(xt).backward(torch.from_numpy(g))
    y = ln.forward(x)
    dx = ln.backward(g)
    close(y, _as_np(ref(xt)))
    assert dx is not None and xt.grad is not None
    close(dx, _as_np(xt.grad))
    if affine:
        assert ln.weight is not None and ln.bias is not None
        assert ref.weight.grad is not None and ref.bias.grad is not None
        close(ln.weight.grad, _as_np(ref.weight.grad))
        close(ln.bias.grad, _as_np(ref.bias.grad))
    else:
        assert ln.parameters() == []


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_passes_gradcheck(affine: bool) -> None:
    rng = np.random.default_rng(6)
    ln = LayerNorm(5, elementwise_affine=affine, dtype=np.float64)
    if affine:
        assert ln.weight is not None and ln.bias is not None
        ln.weight.assign(rng.normal(size=5))
        ln.bias.assign(rng.normal(size=5))
    result = gradcheck(ln, rng.normal(scale=2.0, size=(4, 5)))
    assert result.passed, str(result)


def test_layernorm_rejects_a_wrong_width() -> None:
    with pytest.raises(ShapeError, match="LayerNorm expects 5"):
        LayerNorm(5).forward(np.zeros((2, 4), dtype=np.float32))


# -- Flatten ------------------------------------------------------------------------------------
def test_flatten_matches_torch_and_gradcheck() -> None:
    rng = np.random.default_rng(7)
    x, g = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 8))
    fl = Flatten()
    y = fl.forward(x)
    dx = fl.backward(g)
    y_ref, dx_ref = torch_forward_backward(lambda t: torch.flatten(t, 1), x, g)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, dx_ref)
    result = gradcheck(Flatten(), x)
    assert result.passed, str(result)


# -- Dropout ------------------------------------------------------------------------------------
def test_dropout_in_eval_mode_is_the_identity() -> None:
    rng = np.random.default_rng(8)
    x, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    d = Dropout(0.5, rng=np.random.default_rng(0))
    d.eval()
    np.testing.assert_array_equal(d.forward(x), x)
    np.testing.assert_array_equal(d.backward(g), g)
    y_ref, dx_ref = torch_forward_backward(lambda t: F.dropout(t, 0.5, training=False), x, g)
    np.testing.assert_array_equal(d.forward(x), y_ref)
    np.testing.assert_array_equal(d.backward(g), dx_ref)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_dropout_backward_is_grad_times_the_forward_mask(p: float) -> None:
    rng = np.random.default_rng(9)
    d = Dropout(p, rng=np.random.default_rng(1))
    ones = np.ones((50, 40))
    mask = d.forward(ones)  # on ones, the output *is* the mask
    assert set(np.unique(mask)) <= {0.0, 1.0 / (1.0 - p)}
    g = rng.normal(size=ones.shape)
    dx = d.backward(g)
    np.testing.assert_array_equal(dx, g * mask)
    # The same against torch.autograd of x * mask, with the engine's mask copied in.
    _, dx_ref = torch_forward_backward(lambda t: t * torch.from_numpy(mask), ones, g)
    np.testing.assert_array_equal(dx, dx_ref)
    # On any input: kept entries are scaled by 1/(1-p), dropped ones are exactly 0.
    x = rng.normal(size=(50, 40))
    y = d.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1.0 - p), rtol=1e-15)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_keep_rate_is_within_statistical_bounds(p: float) -> None:
    d = Dropout(p, rng=np.random.default_rng(2))
    n = 200_000
    kept = np.count_nonzero(d.forward(np.ones((n // 100, 100))))
    sigma = math.sqrt(n * p * (1 - p))
    assert abs(kept - n * (1 - p)) < DROPOUT_SIGMAS * sigma


def test_dropout_masks_come_from_the_generator() -> None:
    ones = np.ones((20, 30))
    a = Dropout(0.5, rng=np.random.default_rng(42)).forward(ones)
    b = Dropout(0.5, rng=np.random.default_rng(42)).forward(ones)
    c = Dropout(0.5, rng=np.random.default_rng(43)).forward(ones)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = Dropout(0.5, rng=np.random.default_rng(42))
    assert not np.array_equal(d.forward(ones), d.forward(ones))  # a fresh mask every call


def test_dropout_zero_is_the_identity_and_bad_p_raises() -> None:
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(Dropout(0.0).forward(x), x)
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ConfigError, match="dropout probability"):
            Dropout(bad)


def test_dropout_passes_gradcheck_in_eval_mode() -> None:
    # gradcheck evaluates a copy in eval mode, where dropout is the identity.
    result = gradcheck(Dropout(0.5), np.random.default_rng(10).normal(size=(3, 4)))
    assert result.passed, str(result)
