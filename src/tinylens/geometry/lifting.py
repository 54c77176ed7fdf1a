"""Polynomial lifting: make a problem linearly separable by adding monomial features.

The wide-and-shallow answer to the spiral: map ``x`` to every monomial up to degree ``P``
(``x1, x2, x1^2, x1 x2, ..., x2^P``) and fit a *linear* classifier there. Compare the deep
answer (an MLP folding the plane layer by layer, :mod:`tinylens.geometry.folding`).

The linear classifier is a one-``Linear``-layer engine network trained with the project's own
:func:`~tinylens.training.fit` and cross-entropy, which is exactly multinomial logistic
regression. We use ``fit`` rather than scikit-learn's ``LogisticRegression`` so that the lifted
model and the deep MLP it is compared with are trained by the same loop, optimizer and loss
(the comparison is then about the representation, not the solver), and its parameter count is
read off the same way. The lifted features are standardised first (degree-5 monomials of
inputs in [-1, 1] are tiny and badly scaled for gradient descent).

>>> exponents = monomial_exponents(2, 2)
>>> exponents.tolist()
[[1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
>>> monomial_names(exponents, ["x1", "x2"])
['x1', 'x2', 'x1^2', 'x1*x2', 'x2^2']
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.engine import MLP, Sequential
from tinylens.errors import ConfigError, ShapeError
from tinylens.training import History, TrainConfig, fit
from tinylens.typing import Seed

__all__ = [
    "LiftedClassifier",
    "PolynomialLift",
    "fit_lifted_classifier",
    "monomial_exponents",
    "monomial_names",
    "n_monomials",
]


def n_monomials(n_features: int, degree: int) -> int:
    """Monomials of total degree 1..degree in ``n_features`` variables: C(n + P, P) - 1."""
    return math.comb(n_features + degree, degree) - 1


def monomial_exponents(n_features: int, degree: int) -> np.ndarray:
    """Exponents of every monomial of total degree 1..``degree``, shape (n_monomials, n_features).

    Ordered by total degree, then with higher powers of earlier variables first (the order of
    scikit-learn's ``PolynomialFeatures``). The constant is left out: the classifier has a bias.
    """
    if n_features < 1:
        raise ConfigError(f"n_features must be positive, got {n_features}")
    if not isinstance(degree, (int, np.integer)) or degree < 1:
        raise ConfigError(f"degree must be a positive integer, got {degree!r}")
    rows = []
    for total in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(n_features), total):
            e = [0] * n_features
            for i in combo:
                e[i] += 1
            rows.append(e)
    return np.array(rows, dtype=np.int64)


def monomial_names(exponents: np.ndarray, names: list[str] | tuple[str, ...]) -> list[str]:
    """Readable names: ``x1^2*x2``."""
    out = []
    for e in np.asarray(exponents):
        parts = [n if p == 1 else f"{n}^{p}" for n, p in zip(names, e, strict=True) if p]
        out.append("*".join(parts))
    return out


@dataclass
class PolynomialLift:
    """``x -> (monomials of x up to degree, standardised)``; ``fit`` learns the scaling.

    Attributes (after ``fit``)
    --------------------------
    exponents_ : array of shape (n_monomials, n_features)
    mean_, scale_ : arrays of shape (n_monomials,)
    """

    degree: int
    exponents_: np.ndarray | None = None
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None

    def monomials(self, X: Any) -> np.ndarray:
        """Raw monomials, shape (n_samples, n_monomials)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ShapeError(f"X has shape {X.shape}; expected (n_samples, n_features)")
        if self.exponents_ is None or self.exponents_.shape[1] != X.shape[1]:
            self.exponents_ = monomial_exponents(X.shape[1], self.degree)
        return np.prod(X[:, None, :] ** self.exponents_[None, :, :], axis=2)

    def fit(self, X: Any) -> PolynomialLift:
        M = self.monomials(X)
        self.mean_ = M.mean(axis=0)
        std = M.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)  # a constant column stays as it is
        return self

    def transform(self, X: Any) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise ConfigError("PolynomialLift.transform before fit; call fit(X) first")
        return (self.monomials(X) - self.mean_) / self.scale_

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    @property
    def n_features_out(self) -> int:
        if self.exponents_ is None:
            raise ConfigError("the lift has not seen data yet; call fit(X) first")
        return int(self.exponents_.shape[0])


@dataclass
class LiftedClassifier:
    """A linear classifier on polynomial features.

    Attributes
    ----------
    lift : PolynomialLift
    net : Sequential
        One Linear layer, (n_monomials -> n_classes).
    history : History
    """

    lift: PolynomialLift
    net: Sequential
    history: History

    def scores(self, X: Any) -> np.ndarray:
        """Class scores (logits), shape (n_samples, n_classes)."""
        return self.net.predict(self.lift.transform(X).astype(self.net.dtype))

    def predict(self, X: Any) -> np.ndarray:
        return self.scores(X).argmax(axis=1)

    def accuracy(self, X: Any, y: Any) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))

    @property
    def n_parameters(self) -> int:
        return self.net.n_parameters()


def fit_lifted_classifier(
    X: Any,
    y: Any,
    degree: int,
    config: TrainConfig | None = None,
    *,
    rng: Seed = None,
    quiet: bool = True,
) -> LiftedClassifier:
    """Fit a multinomial logistic regression on the monomials of ``X`` up to ``degree``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : int array of shape (n_samples,)
    degree : int
    config : TrainConfig
        Defaults to full-batch Adam (lr 0.05, 500 epochs) with cross-entropy.
    rng : Generator or int
        Initial weights and shuffling.
    """
    from tinylens.engine.init import as_rng

    gen = as_rng(rng)
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ShapeError(f"y must be integer labels of shape (n,), got {y.dtype} {y.shape}")
    lift = PolynomialLift(degree)
    F = lift.fit_transform(X).astype(np.float32)
    n_classes = int(y.max()) + 1
    config = config or TrainConfig(
        epochs=500, batch_size=len(F), optimizer="adam", lr=0.05, loss="cross_entropy"
    )
    net = MLP([F.shape[1], n_classes], rng=gen)
    history = fit(net, (F, y), config, rng=gen, quiet=quiet)
    return LiftedClassifier(lift, net, history)
