"""Train / test splits of a :class:`~tinylens.data.dataset.Dataset`: shuffled, optionally
stratified by class, with exact per-class counts."""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinylens.data._params import seed_of
from tinylens.data.dataset import Dataset
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, ShapeError
from tinylens.typing import Seed

__all__ = ["split_indices", "train_test_split"]


def train_test_split(
    ds: Dataset,
    test_fraction: float | None = None,
    *,
    test_size: int | None = None,
    rng: Seed,
    stratify: bool | np.ndarray | None = None,
) -> tuple[Dataset, Dataset]:
    """Split ``ds`` into shuffled ``(train, test)`` datasets of exact sizes.

    Parameters
    ----------
    ds : Dataset
    test_fraction : float in (0, 1), default 0.2
        The test part has exactly ``round(test_fraction * n)`` samples (Python's ``round``).
    test_size : int, optional
        An exact number of test samples instead of a fraction (``test_size=2000``).
    rng : numpy Generator or int seed
        Required: the split is random and randomness is an argument.
    stratify : bool or array of shape (n_samples,), optional
        True (the default for classification) keeps each class's share in both parts and puts
        every class with at least 2 samples in BOTH parts. An array stratifies by its values
        (e.g. binned regression targets). False shuffles without stratification.

    Returns
    -------
    train, test : Dataset
        Disjoint, together covering ``ds``; ``info["partition"]`` records the split.

    Raises
    ------
    ConfigError
        A size that leaves a part empty or cannot hold every class in both parts.
    """
    n = ds.n
    if test_size is not None and test_fraction is not None:
        raise ConfigError("give test_fraction or test_size, not both")
    if test_size is not None:
        if isinstance(test_size, bool) or not isinstance(test_size, numbers.Integral):
            raise ConfigError(f"test_size must be an integer, not {test_size!r}")
        n_test = int(test_size)
    else:
        fraction = 0.2 if test_fraction is None else test_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
            raise ConfigError(f"test_fraction must be a number in (0, 1), not {fraction!r}")
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), not {fraction}")
        n_test = round(fraction * n)
    if not 0 < n_test < n:
        raise ConfigError(
            f"a split of dataset {ds.name!r} ({n} samples) with {n_test} test samples leaves "
            f"a part empty; choose a test size between 1 and {n - 1}"
        )

    if stratify is None:
        stratify = ds.task == "classification"
    labels: np.ndarray | None
    if isinstance(stratify, (bool, np.bool_)):
        if stratify and ds.task != "classification":
            raise ConfigError(
                f"stratify=True needs class labels but dataset {ds.name!r} is a regression "
                f"task; pass stratify=<array of group labels> or stratify=False"
            )
        labels = ds.y if stratify else None
    else:
        labels = np.asarray(stratify)
        if labels.shape != (n,):
            raise ShapeError(
                f"stratify array of shape {labels.shape} does not fit dataset {ds.name!r}; "
                f"expected shape ({n},)"
            )

    train_idx, test_idx = split_indices(n, n_test, rng=rng, labels=labels, name=ds.name)
    partition = {
        "n_total": n,
        "n_test": n_test,
        "stratified": labels is not None,
        "seed": seed_of(rng),
    }
    train = ds.subset(train_idx)
    test = ds.subset(test_idx)
    train.info["partition"] = {"part": "train", **partition}
    test.info["partition"] = {"part": "test", **partition}
    return train, test


def split_indices(
    n: int,
    n_test: int,
    *,
    rng: Seed,
    labels: np.ndarray | None = None,
    name: str = "dataset",
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled ``(train_indices, test_indices)`` with exactly ``n_test`` test indices.

    With ``labels`` (array of shape (n,)), each group gets a test share as close as possible to
    ``n_test * count / n`` (largest remainders get the leftover places, so the total is exact),
    subject to every group with >= 2 members having at least one member in each part. A
    singleton group goes wherever the rounding sends it.

    >>> train, test = split_indices(10, 4, rng=0, labels=np.array([0] * 5 + [1] * 5))
    >>> len(train), len(test), sorted(set(test.tolist()) | set(train.tolist())) == list(range(10))
    (6, 4, True)
    """
    gen = as_rng(rng)
    if labels is None:
        perm = gen.permutation(n)
        return perm[n_test:], perm[:n_test]

    groups, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    take = _allocate(counts, n_test, name)
    test_parts, train_parts = [], []
    for g in range(len(groups)):
        members = gen.permutation(np.flatnonzero(inverse == g))
        test_parts.append(members[: take[g]])
        train_parts.append(members[take[g] :])
    test_idx = gen.permutation(np.concatenate(test_parts))
    train_idx = gen.permutation(np.concatenate(train_parts))
    return train_idx, test_idx


def _allocate(counts: np.ndarray, n_test: int, name: str) -> np.ndarray:
    """How many of each group go to the test part: proportional, exact total, both parts hit."""
    n = int(counts.sum())
    many = counts >= 2
    low = np.where(many, 1, 0)  # a group with >= 2 members has one in the test part ...
    high = np.where(many, counts - 1, counts)  # ... and one left for training
    if not low.sum() <= n_test <= high.sum():
        raise ConfigError(
            f"cannot split dataset {name!r} with {n_test} test and {n - n_test} train samples "
            f"so that each of its {int(many.sum())} classes with >= 2 samples is in both parts; "
            f"use a test size between {int(low.sum())} and {int(high.sum())} or stratify=False"
        )
    quota = n_test * counts / n
    take = np.clip(np.floor(quota).astype(np.int64), low, high)
    # Hand out (or take back) the remaining places one at a time, to the group whose share is
    # furthest from its quota; ties go to the first group, so the result is deterministic.
    while (missing := n_test - int(take.sum())) != 0:
        gap = quota - take
        if missing > 0:
            g = int(np.argmax(np.where(take < high, gap, -math.inf)))
            take[g] += 1
        else:
            g = int(np.argmin(np.where(take > low, gap, math.inf)))
            take[g] -= 1
    return take


# -- conversion and checks -----------------------------------------------------------------------
