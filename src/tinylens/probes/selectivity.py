"""Class selectivity: which class does each neuron (or channel) prefer, and how strongly?

For a unit with mean activation ``mu_c`` on the samples of class ``c``::

    S_c = (mu_c - mu_rest) / (mu_c + mu_rest + eps),   mu_rest = mean of mu_k over k != c

with ``eps = 0.001``. ``mu_rest`` is the mean of the *other classes' means* (each class counts
once, whatever its size), not the mean over the other samples. For non-negative activations
(ReLU outputs) ``S`` lies in [-1, 1]: 1 when the unit fires for class ``c`` only, 0 when it
fires equally for all (and for a dead unit), -1 when it is silent for ``c`` only. On signed
activations (before a ReLU, after a LayerNorm) the denominator can vanish and ``S`` means
little: measure selectivity at ReLU outputs.

>>> import numpy as np
>>> means = np.array([[2.0, 1.0], [0.0, 1.0], [0.0, 1.0]])  # 3 classes, 2 units
>>> class_selectivity(means).round(4)  # unit 0 prefers class 0; unit 1 has no preference
array([[ 0.9995,  0.    ],
       [-0.999 ,  0.    ],
       [-0.999 ,  0.    ]])

Neurons are ranked per class by mean activation, by gradient (:func:`class_gradients`) and by
selectivity with :func:`top_units`; :func:`top_neurons` does all three for a model and data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError
from tinylens.probes._data import classification_arrays
from tinylens.probes.gradients import class_gradients
from tinylens.probes.streaming import NeuronStats, neuron_stats
from tinylens.typing import ModelLike

__all__ = [
    "RANKINGS",
    "SELECTIVITY_EPS",
    "Selectivity",
    "TopNeurons",
    "class_selectivity",
    "selectivity",
    "top_neurons",
    "top_units",
]

SELECTIVITY_EPS = 1e-3
"""The ``eps`` of the selectivity index (as in the source): keeps dead units at S = 0."""

RANKINGS = ("activation", "gradient", "selectivity")


def class_selectivity(class_means: Any, eps: float = SELECTIVITY_EPS) -> np.ndarray:
    """The selectivity index of every unit for every class.

    Parameters
    ----------
    class_means : array of shape (n_classes, *unit_shape)
        Mean activation of each unit over the samples of each class.
    eps : float

    Returns
    -------
    array of shape (n_classes, *unit_shape)
    """
    mu = np.asarray(class_means, dtype=np.float64)
    if mu.ndim < 2 or mu.shape[0] < 2:
        raise ConfigError(f"class_means must be (n_classes >= 2, units...), got shape {mu.shape}")
    if not np.isfinite(mu).all():
        raise DataError(
            "class_means has NaN or infinite entries (a class without samples?); selectivity "
            "needs a mean for every class"
        )
    k = mu.shape[0]
    rest = (mu.sum(axis=0, keepdims=True) - mu) / (k - 1)  # each other class counts once
    return (mu - rest) / (mu + rest + eps)


def top_units(scores: Any, k: int, *, exclude: Any = None) -> np.ndarray:
    """The ``k`` highest-scoring units of each class (ties go to the lower index).

    Parameters
    ----------
    scores : array of shape (n_classes, n_units)
        Any per-class score: mean activation, gradient, selectivity.
    k : int
    exclude : array of bool of shape (n_units,), optional
        Units never to pick (dead units), ranked last.

    Returns
    -------
    array of int of shape (n_classes, min(k, n_units))
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ConfigError(f"scores must be (n_classes, n_units), got shape {s.shape}")
    if k < 1:
        raise ConfigError(f"k must be positive, got {k}")
    s = np.where(np.isnan(s), -np.inf, s)
    if exclude is not None:
        s = np.where(np.asarray(exclude, dtype=bool)[None, :], -np.inf, s)
    # a stable sort of -s: equal scores keep index order
    return np.argsort(-s, axis=1, kind="stable")[:, : min(k, s.shape[1])]


@dataclass
class Selectivity:
    """Per-class mean activations and selectivity of the units of one hook point.

    Attributes
    ----------
    name : str
    class_means_ : array of shape (n_classes, n_units)
    selectivity_ : array of shape (n_classes, n_units)
    frac_active_ : array of shape (n_units,)
    eps : float
    """

    name: str
    class_means_: np.ndarray
    selectivity_: np.ndarray
    frac_active_: np.ndarray
    eps: float = SELECTIVITY_EPS

    @property
    def dead_(self) -> np.ndarray:
        return self.frac_active_ == 0

    @property
    def preferred_class_(self) -> np.ndarray:
        """Shape (n_units,): the class each unit is most selective for."""
        return np.argmax(self.selectivity_, axis=0)

    @property
    def max_selectivity_(self) -> np.ndarray:
        """Shape (n_units,): each unit's selectivity for its preferred class."""
        return np.max(self.selectivity_, axis=0)

    def mean_selectivity(self) -> float:
        """Mean over live units of their preferred-class selectivity (NaN if all are dead)."""
        live = ~self.dead_
        return float(self.max_selectivity_[live].mean()) if live.any() else float("nan")

    def top(self, k: int) -> np.ndarray:
        """Shape (n_classes, k): each class's most selective live units."""
        return top_units(self.selectivity_, k, exclude=self.dead_)


def _flat_units(a: np.ndarray, lead: int) -> np.ndarray:
    return a.reshape(*a.shape[:lead], -1) if a.ndim > lead + 1 else a


def selectivity(
    model: ModelLike = None,
    data: Any = None,
    name: str | None = None,
    *,
    stats: NeuronStats | None = None,
    per_channel: bool = True,
    eps: float = SELECTIVITY_EPS,
    batch_size: int = 2048,
) -> Selectivity:
    """Class means and selectivity of the units at ``name`` (one streaming pass over ``data``).

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    name : str
        The hook point (a ReLU output, for the index to mean what it says).
    stats : NeuronStats, optional
        Statistics already gathered with labels (e.g. by :class:`StatsCallback`): no pass.
    per_channel : bool
        At an image hook point, one unit per channel (its mean over positions); otherwise
        one unit per activation entry.
    eps : float
    batch_size : int
    """
    if stats is None:
        if model is None or data is None or name is None:
            raise ConfigError("selectivity needs (model, data, name), or stats=")
        classification_arrays(data)  # labels are required
        stats = neuron_stats(model, data, name, batch_size=batch_size, per_channel=per_channel)[
            name
        ]
    means = _flat_units(stats.class_means_, 1)
    return Selectivity(
        name=name or "",
        class_means_=means,
        selectivity_=class_selectivity(means, eps),
        frac_active_=stats.frac_active_.reshape(-1),
        eps=eps,
    )


@dataclass
class TopNeurons:
    """Each class's top units at one hook point by three rankings.

    Attributes
    ----------
    name : str
    k : int
    activation_, gradient_, selectivity_ : arrays of int of shape (n_classes, k)
        Unit indices, best first, by mean activation on the class, by mean ``d logit_c / d
        unit`` on the class (:func:`class_gradients`), and by selectivity. Dead units are
        ranked last. ``gradient_`` is None when gradients were not computed.
    scores : dict of str -> array of shape (n_classes, n_units)
        The scores behind each ranking.
    """

    name: str
    k: int
    activation_: np.ndarray
    gradient_: np.ndarray | None
    selectivity_: np.ndarray
    scores: dict[str, np.ndarray]

    def ranking(self, by: str) -> np.ndarray:
        if by not in RANKINGS:
            from tinylens.errors import UnknownNameError

            raise UnknownNameError("ranking", by, RANKINGS)
        out = getattr(self, f"{by}_")
        if out is None:
            raise ConfigError(f"the {by} ranking was not computed")
        return out  # type: ignore[no-any-return]

    def agreement(self, a: str, b: str) -> float:
        """Mean over classes of the overlap of two rankings' top-k sets (0 to 1)."""
        ra, rb = self.ranking(a), self.ranking(b)
        return float(np.mean([len(set(x) & set(y)) / self.k for x, y in zip(ra, rb, strict=True)]))


def top_neurons(
    model: ModelLike,
    data: Any,
    name: str,
    k: int = 3,
    *,
    sel: Selectivity | None = None,
    gradients: bool = True,
    batch_size: int = 2048,
) -> TopNeurons:
    """Each class's ``k`` top units at ``name`` by mean activation, gradient and selectivity.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
        The samples the class means and gradients are averaged over.
    name : str
    k : int
    sel : Selectivity, optional
        Already computed on ``data`` (no statistics pass).
    gradients : bool
        Also rank by gradient (one backward pass over ``data``).
    """
    if sel is None:
        sel = selectivity(model, data, name, batch_size=batch_size)
    dead = sel.dead_
    scores = {"activation": sel.class_means_, "selectivity": sel.selectivity_}
    grad_rank = None
    if gradients:
        g = class_gradients(model, data, name, batch_size=batch_size)
        scores["gradient"] = g
        grad_rank = top_units(g, k, exclude=dead)
    return TopNeurons(
        name=name,
        k=min(k, sel.selectivity_.shape[1]),
        activation_=top_units(sel.class_means_, k, exclude=dead),
        gradient_=grad_rank,
        selectivity_=top_units(sel.selectivity_, k, exclude=dead),
        scores=scores,
    )
