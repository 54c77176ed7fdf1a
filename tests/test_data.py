"""tinylens.data: the Dataset container, the split, synthetic and arithmetic tasks, the registry.

Oracles: plain-Python formulas (``math``) on every row, scikit-learn's ``make_moons`` for the
moons, and explicit bookkeeping for the split. MNIST and the IDX reader are in
``test_data_mnist.py``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinylens.data import (
    DATASETS,
    TARGETS,
    Dataset,
    absolute,
    add,
    digits,
    identity,
    is_even,
    less_than,
    load_dataset,
    maximum,
    minimum,
    moons,
    negative_identity,
    normalize,
    parity,
    polynomial,
    product,
    regression_1d,
    sine,
    spiral,
    split_indices,
    subtract,
    train_test_split,
    weighted_sum,
    xor,
)
from tinylens.errors import ConfigError, DataError, ShapeError, UnknownNameError

# Targets are computed in float64 from the stored (float32) inputs and rounded to float32 once.
# Where the oracle adds or multiplies in a different order than NumPy (a matrix product, a
# log of a product), the two float64 results may differ in the last bits, which can flip the
# final float32 rounding by one unit: 1 float32 ulp is ~6e-8 relative, so 1e-6 is generous and
# still far below any real error. Everything else is compared exactly.
F32_RTOL = 1e-6
F32_ATOL = 1e-6


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def labelled(labels: list[int] | np.ndarray, name: str = "toy") -> Dataset:
    """A classification dataset whose single feature is the row number (to track rows)."""
    labels = np.asarray(labels)
    return Dataset(
        np.arange(len(labels), dtype=float).reshape(-1, 1), labels, "classification", name
    )


# -- Dataset ------------------------------------------------------------------------------------


def test_dataset_converts_dtypes_and_reports_sizes():
    ds = Dataset(np.ones((5, 3)), np.array([0, 2, 1, 2, 0], dtype=np.int32), "classification", "c")
    assert ds.X.dtype == np.float32 and ds.X.shape == (5, 3)
    assert ds.y.dtype == np.int64 and ds.y.shape == (5,)
    assert (ds.n, ds.n_features, ds.n_outputs, len(ds)) == (5, 3, 3, 5)
    assert ds.n_classes == 3  # inferred as max + 1
    assert ds.default_loss == "cross_entropy"

    reg = Dataset(np.ones((4, 2)), np.arange(4.0), "regression", "r")
    assert reg.y.dtype == np.float32 and reg.y.shape == (4, 1)
    assert (reg.n_outputs, reg.n_classes, reg.default_loss) == (1, None, "mse")
    reg2 = Dataset(np.ones((4, 2)), np.ones((4, 3)), "regression", "r2")
    assert reg2.n_outputs == 3


def test_dataset_n_classes_can_exceed_labels_seen():
    ds = Dataset(np.ones((2, 1)), [0, 1], "classification", "c", n_classes=10)
    assert ds.n_outputs == 10


def test_dataset_repr_is_short():
    assert repr(spiral(30, rng=0)) == (
        "Dataset(name='spiral', task='classification', n=30, n_features=2, n_classes=3)"
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_non_finite_inputs_raise_one_line_data_error(bad):
    X = np.zeros((6, 2))
    X[1, 0] = bad
    X[4, 1] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 1e300 must not leak an overflow RuntimeWarning
        with pytest.raises(DataError) as exc:
            Dataset(X, np.zeros(6), "regression", "my_data")
    message = one_line(exc)
    assert "'my_data'" in message and "2 non-finite values in X" in message
    assert "in 2 rows" in message and "drop or impute" in message


def test_non_finite_targets_raise_data_error():
    with pytest.raises(DataError, match="1 non-finite values in y"):
        Dataset(np.zeros((3, 1)), [0.0, np.nan, 1.0], "regression", "r")
    with pytest.raises(DataError, match="non-finite"):
        Dataset(np.zeros((3, 1)), [0.0, np.nan, 1.0], "classification", "c")


def test_unknown_task_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown task 'classify'"):
        Dataset(np.zeros((2, 1)), [0, 1], "classify", "c")


def test_shape_errors():
    with pytest.raises(ShapeError, match=r"shape \(3,\)"):
        Dataset(np.zeros(3), [0, 1, 0], "classification", "c")
    with pytest.raises(ShapeError, match="3 rows in X but 2 in y"):
        Dataset(np.zeros((3, 1)), [0, 1], "classification", "c")
    with pytest.raises(ShapeError, match="not one-hot"):
        Dataset(np.zeros((2, 1)), np.eye(2), "classification", "c")
    with pytest.raises(ShapeError, match="feature_names"):
        Dataset(np.zeros((2, 2)), [0, 1], "classification", "c", feature_names=("a",))
    with pytest.raises(ShapeError, match="image_shape"):
        Dataset(np.zeros((2, 9)), [0, 1], "classification", "c", image_shape=(2, 4))


@pytest.mark.parametrize(
    ("labels", "n_classes", "match"),
    [
        ([0, 1.5], None, "not whole numbers"),
        ([0, -1], None, "negative labels"),
        ([0, 3], 3, "label 3 but n_classes=3"),
        (["a", "b"], None, "dtype"),
    ],
)
def test_bad_labels_raise_data_error(labels, n_classes, match):
    with pytest.raises(DataError, match=match):
        Dataset(np.zeros((2, 1)), labels, "classification", "c", n_classes=n_classes)


def test_whole_float_labels_are_accepted():
    ds = Dataset(np.zeros((3, 1)), [0.0, 2.0, 1.0], "classification", "c")
    assert ds.y.tolist() == [0, 2, 1] and ds.y.dtype == np.int64


def test_subset_with_indices_and_mask():
    ds = labelled([0, 1, 2, 0, 1, 2])
    sub = ds.subset([4, 0])
    assert sub.X[:, 0].tolist() == [4, 0] and sub.y.tolist() == [1, 0]
    assert sub.n_classes == 3 and sub.name == "toy"
    masked = ds.subset(ds.y == 2)
    assert masked.X[:, 0].tolist() == [2, 5]
    with pytest.raises(ShapeError):
        ds.subset(np.array([True, False]))
    with pytest.raises(ConfigError, match="out of range"):
        ds.subset([6])


def test_map_x_and_normalize_return_new_datasets():
    X = np.array([[0.0, 1.0], [0.5, 0.25]])
    ds = Dataset(X, [0, 1], "classification", "px", image_shape=(1, 2), input_range=(0.0, 1.0))
    before = ds.X.copy()
    nd = normalize(ds, 0.1307, 0.3081)
    expected = [[np.float32((float(v) - 0.1307) / 0.3081) for v in row] for row in ds.X]
    assert nd.X.tolist() == expected
    assert nd.input_range == pytest.approx((-0.1307 / 0.3081, (1 - 0.1307) / 0.3081))
    assert nd.info["normalization"] == {"mean": 0.1307, "std": 0.3081}
    assert nd.image_shape == (1, 2) and nd.y.tolist() == [0, 1]
    assert np.array_equal(ds.X, before) and "normalization" not in ds.info  # input untouched

    doubled = ds.map_X(lambda A: np.concatenate([A, A], axis=1), suffix="-twice")
    assert doubled.X.shape == (2, 4) and doubled.name == "px-twice"
    assert doubled.image_shape is None and doubled.input_range is None
    assert len(doubled.info["transforms"]) == 1

    with pytest.raises(ConfigError, match="std must be > 0"):
        normalize(ds, 0.0, 0.0)


# -- split --------------------------------------------------------------------------------------


def check_partition(ds: Dataset, train: Dataset, test: Dataset) -> None:
    """Disjoint, covering, and the rows still carry their labels."""
    train_ids = train.X[:, 0].astype(int)
    test_ids = test.X[:, 0].astype(int)
    assert len(set(train_ids)) == len(train_ids) and len(set(test_ids)) == len(test_ids)
    assert set(train_ids).isdisjoint(test_ids)
    assert sorted([*train_ids, *test_ids]) == list(range(ds.n))
    assert np.array_equal(train.y, ds.y[train_ids]) and np.array_equal(test.y, ds.y[test_ids])


def test_sorted_labels_still_put_every_class_in_both_parts():
    # A split that takes the last 20% of a label-sorted dataset puts only the last class in its
    # test set; the stratified split cannot.
    ds = labelled([0] * 40 + [1] * 40 + [2] * 20)
    train, test = ds.split(0.2, rng=0)
    check_partition(ds, train, test)
    assert (len(train), len(test)) == (80, 20)
    assert np.bincount(test.y).tolist() == [8, 8, 4]
    assert np.bincount(train.y).tolist() == [32, 32, 16]


def test_rare_classes_appear_in_both_parts():
    # 2% of 100 would round class 1 (2 samples) and class 2 (3 samples) to zero test samples
    ds = labelled([0] * 95 + [1] * 2 + [2] * 3)
    train, test = ds.split(0.05, rng=3)
    check_partition(ds, train, test)
    assert len(test) == 5
    assert set(test.y.tolist()) == {0, 1, 2} and set(train.y.tolist()) == {0, 1, 2}


def test_split_exact_sizes_with_test_size_and_is_shuffled():
    labels = np.repeat(np.arange(10), 1000)
    ds = labelled(labels)
    train, test = ds.split(test_size=2000, rng=0)
    assert (len(train), len(test)) == (8000, 2000)
    assert np.bincount(test.y).tolist() == [200] * 10
    check_partition(ds, train, test)
    assert not np.all(np.diff(test.X[:, 0]) > 0)  # shuffled, not sorted by row ...
    assert not np.all(np.diff(test.y) >= 0) and not np.all(np.diff(train.y) >= 0)  # nor by class
    assert test.info["partition"] == {
        "part": "test",
        "n_total": 10_000,
        "n_test": 2000,
        "stratified": True,
        "seed": 0,
    }


@pytest.mark.parametrize(("n", "fraction"), [(10, 0.25), (11, 0.2), (7, 0.5), (1000, 0.123)])
def test_split_size_is_round_of_fraction(n, fraction):
    ds = labelled(np.arange(n) % 2)
    train, test = ds.split(fraction, rng=0)
    assert len(test) == round(fraction * n) and len(train) == n - round(fraction * n)


def test_split_is_deterministic_per_seed():
    ds = spiral(300, rng=0)
    a_train, a_test = ds.split(0.3, rng=5)
    b_train, b_test = ds.split(0.3, rng=np.random.default_rng(5))
    assert np.array_equal(a_test.X, b_test.X) and np.array_equal(a_train.y, b_train.y)
    _, c_test = ds.split(0.3, rng=6)
    assert not np.array_equal(a_test.X, c_test.X)


def test_regression_split_is_unstratified_unless_given_groups():
    ds = sine(50)
    train, test = train_test_split(ds, 0.2, rng=0)
    assert (len(train), len(test)) == (40, 10)
    assert test.info["partition"]["stratified"] is False
    groups = (ds.X[:, 0] > math.pi).astype(int)
    train, test = ds.split(0.2, rng=0, stratify=groups)
    assert np.sum(test.X[:, 0] > math.pi) == 5
    with pytest.raises(ConfigError, match="regression"):
        ds.split(0.2, rng=0, stratify=True)


def test_unstratified_classification_split():
    ds = labelled(np.arange(20) % 4)
    train, test = ds.split(0.5, rng=0, stratify=False)
    check_partition(ds, train, test)
    assert test.info["partition"]["stratified"] is False


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_fraction": 0.0}, "in \\(0, 1\\)"),
        ({"test_fraction": 1.0}, "in \\(0, 1\\)"),
        ({"test_fraction": 0.01}, "leaves a part empty"),
        ({"test_size": 10}, "leaves a part empty"),
        ({"test_size": 2}, "each of its 3 classes"),
        ({"test_size": 8}, "each of its 3 classes"),
        ({"test_fraction": 0.2, "test_size": 2}, "not both"),
        ({"test_size": 2.5}, "integer"),
    ],
)
def test_impossible_splits_are_config_errors(kwargs, match):
    ds = labelled([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    with pytest.raises(ConfigError, match=match):
        ds.split(rng=0, **kwargs)


def test_split_requires_rng():
    with pytest.raises(TypeError):
        labelled([0, 1, 0, 1]).split(0.5)  # randomness is an argument


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    frac=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_split_properties(counts, frac, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    n = len(labels)
    n_test = min(max(round(frac * n), 1), n - 1)
    k2 = sum(c >= 2 for c in counts)
    if not k2 <= n_test <= n - k2:
        with pytest.raises(ConfigError):
            split_indices(n, n_test, rng=seed, labels=labels)
        return
    train_idx, test_idx = split_indices(n, n_test, rng=seed, labels=labels)
    assert len(test_idx) == n_test and len(train_idx) == n - n_test
    assert sorted([*train_idx.tolist(), *test_idx.tolist()]) == list(range(n))
    test_counts = np.bincount(labels[test_idx], minlength=len(counts))
    train_counts = np.bincount(labels[train_idx], minlength=len(counts))
    for c, (t, r) in enumerate(zip(test_counts, train_counts, strict=True)):
        if counts[c] >= 2:
            assert t >= 1 and r >= 1, (counts, n_test)
    quotas = [n_test * c / n for c in counts]
    if all(1 <= q <= c - 1 for q, c in zip(quotas, counts, strict=True)):
        # the both-parts constraint does not bind: every class gets floor or ceil of its quota
        assert all(abs(t - q) < 1 for t, q in zip(test_counts, quotas, strict=True))


# -- synthetic ----------------------------------------------------------------------------------

CLASSIFIERS = [spiral, xor, moons]
REGRESSORS = [sine, polynomial, lambda **kw: regression_1d("rough", **kw)]


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_classification_generators_shapes_and_determinism(factory):
    ds = factory(n=101, rng=0)
    assert ds.X.shape == (101, 2) and ds.X.dtype == np.float32
    assert ds.y.shape == (101,) and ds.y.dtype == np.int64
    assert ds.task == "classification" and ds.feature_names == ("x1", "x2")
    again = factory(n=101, rng=0)
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.y, again.y)
    other = factory(n=101, rng=1)
    assert not np.array_equal(ds.X, other.X)
    assert ds.info["seed"] == 0


@pytest.mark.parametrize(
    ("n", "classes", "counts"), [(1000, 3, [334, 333, 333]), (10, 4, [3, 3, 2, 2])]
)
def test_spiral_has_exactly_n_points(n, classes, counts):
    ds = spiral(n, classes=classes, rng=0)
    assert ds.n == n and np.bincount(ds.y).tolist() == counts and ds.n_classes == classes
    assert not np.all(np.diff(ds.y) >= 0)  # shuffled, not grouped by class


def test_spiral_matches_the_cs231n_formula_without_noise():
    ds = spiral(25, classes=3, noise=0.0, rng=0)
    for k in range(3):
        n_k = 9 if k == 0 else 8
        expected = []
        for i in range(n_k):
            r = i / (n_k - 1)
            t = 4 * k + 4 * i / (n_k - 1)
            expected.append((np.float32(r * math.sin(t)), np.float32(r * math.cos(t))))
        got = ds.X[ds.y == k]
        got = got[np.argsort(np.hypot(got[:, 0], got[:, 1]))]  # radius grows along the arm
        np.testing.assert_allclose(got, np.array(expected), rtol=0, atol=F32_ATOL)


def test_spiral_noise_perturbs_angles():
    # same seed, same layout; only the angle noise differs
    assert not np.allclose(spiral(60, noise=0.2, rng=0).X, spiral(60, noise=0.0, rng=0).X)


def test_moons_match_sklearn_make_moons():
    from sklearn.datasets import make_moons

    for n in (10, 11):
        ours = moons(n, noise=0.0, rng=0)
        X_ref, y_ref = make_moons(n, noise=0.0, shuffle=False)
        for label in (0, 1):
            # x is strictly monotonic along each half circle, so sorting by it aligns the rows
            got = ours.X[ours.y == label]
            ref = X_ref[y_ref == label]
            got, ref = got[np.argsort(got[:, 0])], ref[np.argsort(ref[:, 0])]
            np.testing.assert_allclose(got, ref, rtol=0, atol=F32_ATOL)


def test_xor_labels_are_the_xor_of_signs():
    ds = xor(403, noise=0.1, rng=0)  # 0.1 std: a point 1 away from an axis never crosses it
    expected = [int((x1 > 0) != (x2 > 0)) for x1, x2 in ds.X.tolist()]
    assert ds.y.tolist() == expected
    counts = np.bincount(ds.y)
    assert abs(int(counts[0]) - int(counts[1])) <= 1
    exact = xor(8, noise=0.0, rng=0)
    assert sorted(set(map(tuple, exact.X.tolist()))) == [(-1, -1), (-1, 1), (1, -1), (1, 1)]


def test_sine_is_sin_of_linspace():
    ds = sine(17)
    xs = [2 * math.pi * i / 16 for i in range(17)]
    assert ds.X[:, 0].tolist() == [np.float32(x) for x in xs]
    assert ds.y[:, 0].tolist() == [np.float32(math.sin(x)) for x in xs]
    assert ds.input_range == (0.0, 2 * math.pi) and ds.task == "regression"


def test_sine_noise_has_the_requested_scale():
    clean, noisy = sine(4000), sine(4000, noise=0.1, rng=0)
    residual = noisy.y - clean.y
    assert np.std(residual) == pytest.approx(0.1, rel=0.05)  # 4000 draws: std error ~1.1%
    assert np.array_equal(noisy.y, sine(4000, noise=0.1, rng=0).y)
    assert not np.array_equal(noisy.y, sine(4000, noise=0.1, rng=1).y)


REGRESSION_ORACLES = {
    "sine": math.sin,
    "polynomial": lambda x: x**3 - x,
    "abs": abs,
    "rough": lambda x: sum(0.5**k * math.cos(3**k * math.pi * x) for k in range(6)),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_regression_targets_match_their_formula_on_every_row(target):
    assert set(TARGETS) == set(REGRESSION_ORACLES)
    ds = regression_1d(target, 101)
    lo, hi = TARGETS[target].x_range
    assert ds.input_range == (lo, hi) and ds.name == target
    assert ds.X[0, 0] == np.float32(lo) and ds.X[-1, 0] == np.float32(hi)
    xs = [lo + (hi - lo) * i / 100 for i in range(101)]
    expected = [REGRESSION_ORACLES[target](x) for x in xs]
    assert ds.y[:, 0] == pytest.approx(np.float32(expected), rel=F32_RTOL, abs=F32_ATOL)


def test_rough_target_is_bounded_and_rough():
    y = regression_1d("rough", 2001).y[:, 0]
    assert np.max(np.abs(y)) <= 2.0
    smooth = regression_1d("abs", 2001).y[:, 0]
    # total variation: |x| on [-1, 1] has 2; the rough curve swings far more
    assert np.abs(np.diff(y)).sum() > 10 * np.abs(np.diff(smooth)).sum()


def test_polynomial_coefficients_low_to_high():
    ds = polynomial(9, coefficients=(1.0, -2.0, 0.0, 0.5), x_range=(-2, 2))
    expected = [1 - 2 * x + 0.5 * x**3 for x in ds.X[:, 0].tolist()]
    assert ds.y[:, 0].tolist() == pytest.approx(expected)
    default = polynomial(7)
    assert np.allclose(default.y, regression_1d("polynomial", 7).y)


def test_regression_1d_with_a_callable_and_errors():
    ds = regression_1d(np.square, 5, x_range=(0, 2))
    assert ds.y[:, 0].tolist() == [0.0, 0.25, 1.0, 2.25, 4.0] and ds.name == "square"
    with pytest.raises(UnknownNameError, match="did you mean 'sine'"):
        regression_1d("sin", 5)
    with pytest.raises(ShapeError, match="returned shape"):
        regression_1d(lambda x: np.ones((2, 2)), 5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: spiral(0), "n must be an integer >= 1"),
        (lambda: spiral(2, classes=3), "n >= classes"),
        (lambda: sine(10, noise=-1.0), "noise"),
        (lambda: moons("10"), "n must be an integer"),
        (lambda: xor(10, rng="seed"), "rng must be"),
        (lambda: sine(10, x_range=(1, 1)), "low < high"),
    ],
)
def test_bad_generator_arguments_are_config_errors(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


# -- arithmetic ---------------------------------------------------------------------------------

# (factory, kwargs, plain-Python formula of one row, exact comparison?)
ARITHMETIC = [
    (identity, {}, lambda r: r[0], True),
    (negative_identity, {}, lambda r: -r[0], True),
    (absolute, {}, lambda r: abs(r[0]), True),
    (add, {}, lambda r: r[0] + r[1], True),
    (add, {"inputs": 3}, lambda r: r[0] + r[1] + r[2], True),
    (subtract, {}, lambda r: r[0] - r[1], True),
    (minimum, {}, min, True),
    (maximum, {"inputs": 3}, max, True),
    (
        weighted_sum,
        {"weights": (0.5, -2.0, 3.0), "constant": 0.25},
        lambda r: 0.5 * r[0] - 2.0 * r[1] + 3.0 * r[2] + 0.25,
        False,
    ),
    (product, {"log_domain": False}, lambda r: r[0] * r[1], True),
    (product, {"log_domain": False, "inputs": 3}, math.prod, True),
    (product, {}, lambda r: math.log(math.prod(math.exp(v) for v in r)), False),
]


@pytest.mark.parametrize(("factory", "kwargs", "formula", "exact"), ARITHMETIC)
def test_arithmetic_targets_equal_the_formula_on_every_row(factory, kwargs, formula, exact):
    ds = factory(n=500, rng=0, **kwargs)
    assert ds.task == "regression" and ds.X.dtype == np.float32 and ds.y.shape == (500, 1)
    expected = np.float32([formula(row) for row in ds.X.astype(np.float64).tolist()])
    if exact:
        assert ds.y[:, 0].tolist() == expected.tolist()
    else:
        assert ds.y[:, 0] == pytest.approx(expected, rel=F32_RTOL, abs=F32_ATOL)
    lo, hi = ds.input_range  # log(low), log(high) for the log product: float32 may round past
    assert ds.X.min() >= lo - F32_ATOL and ds.X.max() <= hi + F32_ATOL
    again = factory(n=500, rng=0, **kwargs)
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.y, again.y)
    assert not np.array_equal(ds.X, factory(n=500, rng=1, **kwargs).X)


def test_arithmetic_names_ranges_and_features():
    assert identity(3, rng=0).feature_names == ("x",)
    assert absolute(3, rng=0).name == "abs"
    assert (minimum(3, rng=0).name, maximum(3, rng=0).name) == ("min", "max")
    ds = add(1000, inputs=4, low=2.0, high=3.0, rng=0)
    assert ds.feature_names == ("x1", "x2", "x3", "x4")
    assert ds.X.min() >= 2.0 and ds.X.max() <= 3.0 and ds.input_range == (2.0, 3.0)
    assert weighted_sum((1.0, 2.0), n=3, rng=0).X.shape == (3, 2)


def test_product_raw_values_are_exp_of_the_log_features():
    ds = product(300, inputs=2, low=0.5, high=2.0, rng=0)
    assert ds.feature_names == ("log(x1)", "log(x2)") and ds.info["raw_inputs"] == "exp(X)"
    raw = np.exp(ds.X.astype(np.float64))
    assert raw.min() >= 0.5 * (1 - F32_RTOL) and raw.max() <= 2.0 * (1 + F32_RTOL)
    assert ds.input_range == pytest.approx((math.log(0.5), math.log(2.0)))
    with pytest.raises(ConfigError, match="low > 0"):
        product(10, low=0.0, high=1.0)


def test_less_than_is_an_exhaustive_integer_grid():
    ds = less_than(c=10, low=0, high=20)
    assert ds.X[:, 0].tolist() == list(range(20))
    assert ds.y[:, 0].tolist() == [1.0 if x < 10 else 0.0 for x in range(20)]
    assert less_than(c=2.5, low=-3, high=4).y[:, 0].tolist() == [1.0] * 6 + [0.0]
    with pytest.raises(ConfigError):
        less_than(low=5, high=5)


@pytest.mark.parametrize(
    ("factory", "formula"),
    [(is_even, lambda x: 1.0 if x % 2 == 0 else 0.0), (parity, lambda x: x % 2)],
)
@pytest.mark.parametrize("bits", [1, 4, 6])
def test_bit_tasks_enumerate_every_integer(factory, formula, bits):
    ds = factory(bits=bits)
    assert ds.X[:, 0].tolist() == list(range(2**bits))
    assert ds.y[:, 0].tolist() == [float(formula(x)) for x in range(2**bits)]
    assert ds.feature_names == ("x",)


# -- registry -----------------------------------------------------------------------------------

SMALL_PARAMS = {
    "less_than": {},
    "is_even": {"bits": 3},
    "parity": {"bits": 3},
    "weighted_sum": {"weights": (1.0, -1.0), "n": 16, "rng": 0},
    "digits": {},
}


@pytest.mark.parametrize("name", sorted(set(DATASETS) - {"mnist"}))  # mnist: test_data_mnist.py
def test_every_registered_dataset_loads(name):
    ds = load_dataset(name, **SMALL_PARAMS.get(name, {"n": 16, "rng": 0}))
    assert isinstance(ds, Dataset) and ds.n > 0


def test_registry_names_and_aliases():
    expected = {
        "sine",
        "polynomial",
        "abs",
        "rough",
        "spiral",
        "xor",
        "moons",
        "identity",
        "negative_identity",
        "add",
        "sum",
        "subtract",
        "difference",
        "weighted_sum",
        "product",
        "min",
        "max",
        "less_than",
        "is_even",
        "parity",
        "mnist",
        "digits",
    }
    assert set(DATASETS) == expected
    assert np.array_equal(load_dataset("sum", n=9, rng=2).y, load_dataset("add", n=9, rng=2).y)
    assert np.array_equal(
        load_dataset("difference", n=9, rng=2).y, load_dataset("subtract", n=9, rng=2).y
    )
    assert np.array_equal(load_dataset("rough", n=9).y, regression_1d("rough", 9).y)
    assert load_dataset("abs", n=5).X[:, 0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_unknown_dataset_lists_close_matches():
    with pytest.raises(UnknownNameError) as exc:
        load_dataset("spirals")
    message = one_line(exc)
    assert message.startswith("unknown dataset 'spirals'; expected one of ")
    assert "did you mean 'spiral'" in message and "moons" in message
    assert isinstance(exc.value, ConfigError)


def test_bad_parameter_is_a_config_error_naming_it():
    with pytest.raises(ConfigError) as exc:
        load_dataset("spiral", nosie=0.1)
    message = one_line(exc)
    assert "'nosie'" in message and "did you mean 'noise'" in message
    assert not isinstance(exc.value, TypeError)
    with pytest.raises(ConfigError, match="'rng'"):
        load_dataset("digits", rng=0)
    with pytest.raises(ConfigError, match="needs parameter 'weights'"):
        load_dataset("weighted_sum")
    with pytest.raises(ConfigError, match="'target'"):
        load_dataset("abs", target="sine")  # the target is fixed by the name


# -- digits and import hygiene ------------------------------------------------------------------


def test_digits():
    ds = digits()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert np.allclose(ds.X * 16, np.round(ds.X * 16))  # counts 0..16 scaled by 1/16
    assert ds.y.shape == (1797,) and ds.n_classes == 10 and set(ds.y.tolist()) == set(range(10))
    assert (ds.image_shape, ds.input_range) == ((8, 8), (0.0, 1.0))


def test_import_defines_names_only():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('network activity at import')\n"
        "socket.socket = refuse\n"
        "socket.create_connection = refuse\n"
        "import tinylens.data\n"
        "heavy = {'sklearn', 'torch', 'scipy', 'urllib.request'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_one_table_of_target_functions_for_datasets_library_and_recovery():
    """tinylens.data.functions: each entry's array form equals its plain-Python form, exactly,
    on float64 inputs; the library's references, the datasets and the recovery targets are
    these very functions."""
    from fractions import Fraction

    from tinylens.circuits import get_circuit
    from tinylens.data import arithmetic
    from tinylens.data.functions import TARGET_FUNCTIONS, target_function
    from tinylens.errors import UnknownNameError
    from tinylens.studies.recovery import TARGETS

    rng = np.random.default_rng(7)
    for f in TARGET_FUNCTIONS.values():
        k = f.arity or 3
        X = rng.uniform(-20, 20, size=(200, k))
        if f.name in ("is_even", "parity", "less_than"):
            X = np.round(X).astype(np.float64) + 20  # integers 0..40
        got = f.batch(X)
        assert got.shape == (200,) and got.dtype == np.float64, f.name
        expected = [float(f.exact(*row)) for row in X.tolist()]
        assert got.tolist() == expected, f.name
        # exact on Fractions too (the library's oracle): no float creeps in
        q = [
            Fraction(int(v)) + Fraction(1, 3) * (f.name not in ("is_even", "parity")) for v in X[0]
        ]
        assert isinstance(f.exact(*q), (Fraction, int)), f.name
    assert target_function("add").exact(Fraction(1, 3), Fraction(1, 6)) == Fraction(1, 2)
    with pytest.raises(UnknownNameError, match="did you mean 'abs'"):
        target_function("absx")
    # one function, three users
    for entry, name in [
        ("abs", "abs"),
        ("min", "min"),
        ("is_even", "is_even"),
        ("parity_net", "parity"),
    ]:
        assert get_circuit(entry).reference is target_function(name).exact, entry
    from tinylens.data import TARGETS as CURVES

    x = np.linspace(-1, 1, 11)
    assert np.array_equal(CURVES["abs"].fn(x), [abs(v) for v in x.tolist()])
    ds = arithmetic.minimum(50, rng=3)
    assert np.array_equal(ds.y[:, 0], target_function("min").batch(ds.X).astype(ds.y.dtype))
    X = rng.uniform(-1, 1, size=(30, 2))
    assert np.array_equal(TARGETS["subtract"].function(X)[:, 0], X[:, 0] - X[:, 1])
    assert np.array_equal(
        TARGETS["is_even"].function(np.arange(16.0)[:, None])[:, 0], np.arange(16) % 2
    )


def test_digits_are_scikit_learns_without_importing_sklearn_datasets():
    """Read from the CSV scikit-learn ships, the arrays equal load_digits' exactly, and
    sklearn.datasets (seconds to import) is never imported."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    from tinylens.data import digits

    ds, ref = digits(), load_digits()
    assert np.array_equal(ds.X, ref.data / 16.0) and np.array_equal(ds.y, ref.target)
    code = (
        "import sys; from tinylens.data import digits; d = digits(); "
        "print(d.X.shape, 'sklearn.datasets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1797, 64) False", out.stdout + out.stderr
