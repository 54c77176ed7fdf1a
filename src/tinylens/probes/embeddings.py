"""Embeddings of hidden layers (PCA, t-SNE, UMAP) and how well they separate the classes.

* :func:`pca` is our own (an SVD of the centred data, signs fixed so the largest loading of each
  component is positive); :func:`embed` adds t-SNE (scikit-learn) and UMAP (umap-learn,
  imported only when asked for: its import alone takes seconds).
* :func:`silhouette` scores a labelling in any space (-1 to 1: how much closer a point is to
  its own class than to the nearest other class; scikit-learn's definition, in NumPy).
* :func:`layer_embeddings` embeds the inputs and the activations at hook points of a model on a
  subsample; :func:`selective_subspaces` asks whether a class's ``k`` most selective neurons
  separate it from the rest better than ``k`` neurons picked at random.

t-SNE and UMAP cost seconds per thousand points; pass ``n_samples`` to subsample (a uniform
random subset, drawn from ``rng``).

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(50, 5)) * [5.0, 2.0, 1.0, 0.5, 0.1]
>>> p = pca(X, 2)
>>> p.points_.shape, bool(p.explained_variance_ratio_[0] > 0.7)
((50, 2), True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens._optional import require
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, DataError, ShapeError, UnknownNameError
from tinylens.hooks import evaluating
from tinylens.probes._data import classification_arrays
from tinylens.typing import ModelLike

__all__ = [
    "METHODS",
    "Embedding",
    "PCAResult",
    "SubspaceSilhouettes",
    "binary_silhouettes",
    "embed",
    "layer_embeddings",
    "pca",
    "selective_subspaces",
    "silhouette",
]

METHODS = ("pca", "tsne", "umap")


@dataclass
class PCAResult:
    """Attributes: ``points_`` (n_samples, n_components), ``components_`` (n_components,
    n_features), ``mean_`` (n_features,), ``explained_variance_ratio_`` (n_components,)."""

    points_: np.ndarray
    components_: np.ndarray
    mean_: np.ndarray
    explained_variance_ratio_: np.ndarray

    def transform(self, X: Any) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_) @ self.components_.T


def _leading_svd(A: np.ndarray, k: int, *, oversample: int = 10, power: int = 12) -> tuple:
    """The ``k`` leading singular values and right vectors of ``A`` (Halko, Martinsson and
    Tropp's range finder with power iterations, from a fixed start: deterministic).

    For 1,000 MNIST images (784 pixels) and k = 2 this is 10x faster than a full SVD and agrees
    with it to ~1e-12 (the power iterations raise the spectrum's gaps to the 25th power).
    """
    m = min(k + oversample, min(A.shape))
    Q = np.random.default_rng(0).normal(size=(A.shape[1], m))  # fixed: not a study's randomness
    Q, _ = np.linalg.qr(A @ Q)
    for _ in range(power):
        Q, _ = np.linalg.qr(A.T @ Q)
        Q, _ = np.linalg.qr(A @ Q)
    _, s, vt = np.linalg.svd(Q.T @ A, full_matrices=False)
    return s[:k], vt[:k]


def pca(X: Any, n_components: int = 2, *, exact: bool = False) -> PCAResult:
    """Principal components of ``X`` (array of shape (n_samples, n_features)).

    A full SVD, except for a few components of a matrix with more than 100 rows and columns
    (1,000 MNIST images): there, unless ``exact``, a deterministic randomized range finder with
    power iterations (:func:`_leading_svd`), 10x faster and equal to the full SVD to ~1e-9
    where the spectrum has gaps (on a flat spectrum the components themselves are arbitrary).
    Components beyond the rank of the data are zero (and explain nothing).
    """
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or len(A) < 2:
        raise ShapeError(f"pca needs (n_samples >= 2, n_features), got shape {A.shape}")
    if n_components < 1:
        raise ConfigError(f"n_components must be positive, got {n_components}")
    mean = A.mean(axis=0)
    centred = A - mean
    k = min(n_components, *A.shape)
    if not exact and min(A.shape) > max(100, 4 * k + 20):
        s, vt = _leading_svd(centred, k)
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:k]
    # NOTE: an SVD's signs are arbitrary; fix them so results are reproducible across LAPACKs.
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    total = float(np.einsum("ij,ij->", centred, centred))  # all the variance, not just k's
    ratio = (s[:k] ** 2) / total if total > 0 else np.zeros(k)
    if k < n_components:  # pad: fewer informative directions than asked
        comps = np.vstack([comps, np.zeros((n_components - k, A.shape[1]))])
        ratio = np.concatenate([ratio, np.zeros(n_components - k)])
    return PCAResult(centred @ comps.T, comps, mean, ratio)


def embed(
    X: Any, method: str = "pca", n_components: int = 2, *, rng: Any = 0, threads: int | None = 1
) -> np.ndarray:
    """``X`` (n_samples, n_features) embedded in ``n_components`` dimensions by ``method``.

    ``"pca"``: :func:`pca`. ``"tsne"``: scikit-learn's t-SNE (PCA initialisation, perplexity
    30 or less for small samples). ``"umap"``: umap-learn (15 neighbours or fewer). ``rng``
    (an int or Generator) seeds the stochastic methods. ``threads`` bounds t-SNE's OpenMP
    threads (None: scikit-learn's default).
    """
    if method not in METHODS:
        raise UnknownNameError("embedding method", method, METHODS)
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or len(A) < 3:
        raise ShapeError(f"embedding needs (n_samples >= 3, n_features), got shape {A.shape}")
    if method == "pca":
        return pca(A, n_components).points_
    seed = int(as_rng(rng).integers(0, 2**31 - 1))
    if method == "tsne":
        from sklearn.manifold import TSNE

        from tinylens.training.threads import limit_blas_threads

        perplexity = float(min(30.0, (len(A) - 1) / 3.0))
        model = TSNE(n_components, init="pca", perplexity=perplexity, random_state=seed, n_jobs=1)
        # NOTE: the limit is set after scikit-learn (and its OpenMP runtime) is loaded, or it
        # would not reach it. On a busy 2-core machine t-SNE's two OpenMP threads spin against
        # each other: 1,000 points took 12 s with two threads and 1.6 s with one.
        with limit_blas_threads(threads):
            return np.asarray(model.fit_transform(A), dtype=np.float64)
    umap = require("umap", feature="method='umap'")  # an extra: tinylens[umap]
    import warnings

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": what we want
        warnings.simplefilter("ignore", UserWarning)
        reducer = umap.UMAP(
            n_components=n_components, n_neighbors=min(15, len(A) - 1), random_state=seed
        )
        return np.asarray(reducer.fit_transform(A), dtype=np.float64)


def _pairwise_distances(A: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, n), built in place in one buffer."""
    sq = np.einsum("nd,nd->n", A, A)
    d = A @ A.T
    d *= -2.0
    d += sq[:, None]
    d += sq[None, :]
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return np.sqrt(d, out=d)


def silhouette(X: Any, labels: Any) -> float:
    """Mean silhouette of ``labels`` in the space of ``X`` (Euclidean), -1 to 1.

    For each point, ``a`` is its mean distance to the other points of its class and ``b`` the
    smallest mean distance to another class; its silhouette is ``(b - a) / max(a, b)`` (0 for
    a point alone in its class), as ``sklearn.metrics.silhouette_score`` computes it (tested
    against it). NaN when there are fewer than two classes or as many classes as points.
    The (n, n) distance matrix is held at once: subsample large sets.
    """
    A = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    _, lab = np.unique(np.asarray(labels), return_inverse=True)
    k = int(lab.max()) + 1 if len(lab) else 0
    if k < 2 or k >= len(A):
        return float("nan")
    onehot = np.zeros((len(A), k))
    onehot[np.arange(len(A)), lab] = 1.0
    counts = onehot.sum(axis=0)
    sums = _pairwise_distances(A) @ onehot  # (n, k): summed distance to each class
    own = counts[lab]
    a = sums[np.arange(len(A)), lab] / np.maximum(own - 1, 1)
    means = sums / counts
    means[np.arange(len(A)), lab] = np.inf
    b = means.min(axis=1)
    m = np.maximum(a, b)
    s = np.where(m > 0, (b - a) / np.where(m > 0, m, 1.0), 0.0)
    return float(np.where(own > 1, s, 0.0).mean())


def binary_silhouettes(points: Any, positive: Any, *, chunk: int = 8) -> np.ndarray:
    """Silhouettes of one two-group labelling in many spaces at once.

    Parameters
    ----------
    points : array of shape (n_spaces, n_samples, n_dims)
        The same samples in several spaces (e.g. several subsets of neurons).
    positive : array of bool of shape (n_samples,)
        The labelling: a class (True) against the rest.

    Returns
    -------
    array of shape (n_spaces,)
        Each space's mean silhouette, as ``sklearn.metrics.silhouette_score`` computes it (a
        point alone in its group scores 0; coincident points score 0).
    """
    P = np.asarray(points, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    if P.ndim != 3 or P.shape[1] != len(pos):
        raise ShapeError(f"points must be (n_spaces, {len(pos)}, n_dims), got {P.shape}")
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise DataError("a two-group silhouette needs samples in both groups")
    out = np.empty(len(P))
    same_size = np.where(pos, n_pos, n_neg).astype(np.float64)
    other_size = np.where(pos, n_neg, n_pos).astype(np.float64)
    w = pos.astype(np.float64)
    for start in range(0, len(P), chunk):
        block = P[start : start + chunk]
        sq = np.einsum("snd,snd->sn", block, block)
        # NOTE: squared distances as |a|^2 + |b|^2 - 2 a.b, in place in one (spaces, n, n)
        # buffer: the work is memory traffic over that buffer, not arithmetic.
        d = block @ block.transpose(0, 2, 1)
        d *= -2.0
        d += sq[:, :, None]
        d += sq[:, None, :]
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        to_pos = d @ w  # (spaces, n): summed distance to every positive sample
        to_neg = d.sum(axis=2) - to_pos
        same = np.where(pos, to_pos, to_neg)
        other = np.where(pos, to_neg, to_pos)
        a = same / np.maximum(same_size - 1, 1)  # the point's own distance 0 is excluded
        b = other / other_size
        m = np.maximum(a, b)
        s = np.where(m > 0, (b - a) / np.where(m > 0, m, 1.0), 0.0)
        s = np.where(same_size > 1, s, 0.0)
        out[start : start + chunk] = s.mean(axis=1)
    return out


def _subsample(n: int, n_samples: int | None, rng: Any) -> np.ndarray:
    if n_samples is None or n_samples >= n:
        return np.arange(n)
    if n_samples < 3:
        raise ConfigError(f"n_samples must be at least 3, got {n_samples}")
    return np.sort(as_rng(rng).choice(n, size=n_samples, replace=False))


def _activations(model: ModelLike, X: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    with evaluating(model) as h:
        _, cache = h.run_with_cache(X, names=list(names))
    return {n: np.asarray(cache[n]).reshape(len(X), -1) for n in names}


@dataclass
class Embedding:
    """One space embedded by one method.

    Attributes
    ----------
    space : str
        ``"input"`` or a hook point.
    method : str
    points : array of shape (n_samples, 2)
    labels : array of shape (n_samples,)
    silhouette_ : float
        Of the class labels in the 2-D embedding.
    silhouette_full_ : float
        Of the class labels in the space itself (all its dimensions), on every subsampled
        point (a superset of ``rows`` when t-SNE / UMAP embedded fewer).
    rows : array of int of shape (n_samples,), optional
        Which samples of the data ``points`` are.
    """

    space: str
    method: str
    points: np.ndarray
    labels: np.ndarray
    silhouette_: float
    silhouette_full_: float
    rows: np.ndarray | None = None


def layer_embeddings(
    model: ModelLike,
    data: Any,
    names: Sequence[str],
    methods: Sequence[str] = ("pca",),
    *,
    n_samples: int | None = 1000,
    include_input: bool = True,
    rng: Any = 0,
    units: Mapping[str, Sequence[int]] | None = None,
    slow_samples: int | None = None,
) -> list[Embedding]:
    """Embed the inputs and the activations at ``names`` of one random subsample of ``data``.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    names : sequence of str
        Hook points; image activations are flattened.
    methods : sequence of {"pca", "tsne", "umap"}
    n_samples : int, optional
        Subsample size (None: every sample).
    include_input : bool
        Also embed the raw inputs (the space the network starts from).
    rng : int or Generator
        Draws the subsample and seeds t-SNE / UMAP.
    units : mapping of str -> sequence of int, optional
        Restrict a hook point to these units (e.g. a selective subspace); its space is named
        ``"<name> [units u1,u2,...]"``.
    slow_samples : int, optional
        t-SNE and UMAP embed a random subset of this many of the subsampled points (their cost
        grows faster than linearly); PCA and the full-space silhouette use every point.

    Returns
    -------
    list of Embedding, space-major then method.
    """
    for m in methods:
        if m not in METHODS:
            raise UnknownNameError("embedding method", m, METHODS)
    gen = as_rng(rng)
    X, y, _ = classification_arrays(data)
    rows = _subsample(len(X), n_samples, gen)
    Xs, ys = X[rows], y[rows]
    spaces: dict[str, np.ndarray] = {}
    if include_input:
        spaces["input"] = np.asarray(Xs, dtype=np.float64).reshape(len(Xs), -1)
    for name, A in _activations(model, Xs, names).items():
        if units is not None and name in units:
            cols = np.asarray(units[name], dtype=np.int64)
            spaces[f"{name} [units {','.join(map(str, cols))}]"] = A[:, cols]
        else:
            spaces[name] = A
    slow = np.arange(len(ys))
    if slow_samples is not None and slow_samples < len(ys):
        slow = _subsample(len(ys), slow_samples, gen)
    out = []
    for space, A in spaces.items():
        full = silhouette(A, ys)
        for method in methods:
            rows_m = slow if method != "pca" else np.arange(len(ys))
            pts = embed(A[rows_m], method, rng=gen)
            lab = ys[rows_m]
            out.append(Embedding(space, method, pts, lab, silhouette(pts, lab), full, rows[rows_m]))
    return out


@dataclass
class SubspaceSilhouettes:
    """Does a class's top-``k`` selective subspace separate it from the rest?

    Attributes
    ----------
    name : str
        The hook point.
    k : int
    top_units : array of int of shape (n_classes, k)
        Each class's ``k`` most selective live units.
    silhouette_ : array of shape (n_classes,)
        Silhouette of "class c versus the rest" in the space of c's top units.
    random_ : array of shape (n_classes, n_random)
        The same for random ``k``-subsets of the live units.
    points_ : array of shape (n_classes, n_samples, 2)
        PCA of each class's top subspace (for plotting).
    labels : array of shape (n_samples,)
    """

    name: str
    k: int
    top_units: np.ndarray
    silhouette_: np.ndarray
    random_: np.ndarray
    points_: np.ndarray
    labels: np.ndarray

    @property
    def percentile_(self) -> np.ndarray:
        """Shape (n_classes,): fraction of random subsets the top subset beats."""
        return (self.random_ < self.silhouette_[:, None]).mean(axis=1)

    @property
    def advantage_(self) -> np.ndarray:
        """Shape (n_classes,): top-subset silhouette minus the random subsets' mean."""
        return self.silhouette_ - self.random_.mean(axis=1)


def selective_subspaces(
    model: ModelLike,
    data: Any,
    name: str,
    selectivity: Any,
    k: int = 3,
    *,
    n_random: int = 20,
    n_samples: int | None = 500,
    dead: Any = None,
    rng: Any = 0,
) -> SubspaceSilhouettes:
    """Silhouette of each class against the rest in its top-``k`` selective units, and in random
    ``k``-subsets of the live units (the control).

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    name : str
        A dense hook point (one unit per neuron).
    selectivity : array of shape (n_classes, n_units)
        E.g. :attr:`tinylens.probes.Selectivity.selectivity_`.
    k : int
    n_random : int
        Random subsets per class.
    n_samples : int, optional
        Subsample of ``data`` (distances cost n_samples^2 per subset).
    dead : array of bool of shape (n_units,), optional
        Units never to use (default: none). Random subsets draw from the others.
    rng : int or Generator
    """
    from tinylens.probes.selectivity import top_units

    gen = as_rng(rng)
    S = np.asarray(selectivity, dtype=np.float64)
    X, y, _ = classification_arrays(data)
    rows = _subsample(len(X), n_samples, gen)
    Xs, ys = X[rows], y[rows]
    acts = _activations(model, Xs, [name])[name]
    if acts.shape[1] != S.shape[1]:
        raise ShapeError(
            f"{name} has {acts.shape[1]} units but selectivity has {S.shape[1]} columns"
        )
    live = np.ones(S.shape[1], bool) if dead is None else ~np.asarray(dead, dtype=bool)
    pool = np.flatnonzero(live)
    if len(pool) < k:
        raise DataError(f"{name} has {len(pool)} live units; cannot pick subsets of {k}")
    top = top_units(S, k, exclude=~live)
    n_classes = S.shape[0]
    sil = np.full(n_classes, np.nan)
    rand = np.full((n_classes, n_random), np.nan)
    pts = np.zeros((n_classes, len(ys), 2))
    for c in range(n_classes):
        pos = ys == c
        if not pos.any() or pos.all():
            continue
        subsets = [top[c]] + [gen.choice(pool, size=k, replace=False) for _ in range(n_random)]
        spaces = np.stack([acts[:, s] for s in subsets])
        scores = binary_silhouettes(spaces, pos)
        sil[c], rand[c] = scores[0], scores[1:]
        pts[c] = pca(spaces[0], 2).points_
    return SubspaceSilhouettes(name, k, top, sil, rand, pts, ys)
