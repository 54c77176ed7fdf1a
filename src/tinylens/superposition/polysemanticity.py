"""How many classes does a unit (a neuron, or an SAE latent) respond to?

From the per-class mean activations ``mu_c`` of a non-negative unit (a ReLU output or a latent)
and its class selectivity ``S_c`` (:func:`tinylens.probes.class_selectivity`, Morcos et al.'s
index as the probes define it):

* **responds to** class ``c`` when ``mu_c >= RESPONSE_FRACTION * max_k mu_k`` (the half-maximum
  rule, our choice): the classes whose mean activation is at least half the unit's strongest;
  a unit that responds to one class is *monosemantic* (at the class level), to two or more
  *polysemantic*; a dead unit (all ``mu_c = 0``) responds to none;
* **how strongly**: ``S_c`` of each class it responds to, and its largest ``S_c``;
* **class entropy** ``H = -sum_c p_c log2 p_c`` with ``p_c = mu_c / sum_k mu_k``, in bits:
  0 for one class, ``log2(10) = 3.32`` for all ten alike; ``2**H`` is the effective number of
  classes.

The superposition score of a layer (:func:`superposition_score`) compares the features an SAE
finds with the layer's ``d`` dimensions, two ways:

* ``alive latents / d``: the number of latents that fire at all, per dimension;
* ``exp(H_f) / d``: the effective number of latents, ``H_f`` the entropy (nats) of the
  latents' shares of all firings (``p_i = f_i / sum_j f_j``, ``f_i`` firing frequencies), per
  dimension. Our definition, in the spirit of Elhage et al.'s (2022) features per dimension;
  it discounts latents that fire rarely. Above 1, the SAE reads more features than the layer has
  dimensions: the layer holds them in superposition (as far as the SAE can tell).

>>> import numpy as np
>>> means = np.array([[1.0, 1.0], [0.0, 0.9], [0.0, 0.1]])  # 3 classes, 2 units
>>> p = polysemanticity(means, np.zeros_like(means))
>>> p.n_classes_.tolist(), p.entropy_.round(3).tolist()
([1, 2], [0.0, 1.234])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ShapeError
from tinylens.superposition.sae import _axes, _html_table, as_dataframe

__all__ = [
    "RESPONSE_FRACTION",
    "Polysemanticity",
    "compare_units",
    "polysemanticity",
    "superposition_score",
]

RESPONSE_FRACTION = 0.5
"""A unit responds to a class whose mean activation is at least this fraction of its largest
class mean (the half-maximum rule; our choice)."""


@dataclass
class Polysemanticity:
    """Per-unit class statistics of one hook point's units (or of an SAE's latents).

    Attributes
    ----------
    name : str
    kind : str
        "neuron", "channel" or "latent".
    class_means_ : array of shape (n_classes, n_units)
    selectivity_ : array of shape (n_classes, n_units)
    responds_ : bool array of shape (n_classes, n_units)
    n_classes_ : int array of shape (n_units,)
    entropy_ : array of shape (n_units,), bits (NaN for a dead unit)
    """

    name: str
    kind: str
    class_means_: np.ndarray
    selectivity_: np.ndarray
    responds_: np.ndarray
    n_classes_: np.ndarray
    entropy_: np.ndarray

    @property
    def dead_(self) -> np.ndarray:
        return self.n_classes_ == 0

    @property
    def max_selectivity_(self) -> np.ndarray:
        return self.selectivity_.max(axis=0)

    @property
    def preferred_class_(self) -> np.ndarray:
        return self.class_means_.argmax(axis=0)

    def classes_of(self, unit: int) -> list[int]:
        """The classes ``unit`` responds to, strongest first."""
        cs = np.flatnonzero(self.responds_[:, unit])
        return [int(c) for c in cs[np.argsort(-self.class_means_[cs, unit], kind="stable")]]

    def most_polysemantic(self, k: int) -> np.ndarray:
        """The ``k`` live units responding to the most classes (ties: higher entropy first)."""
        entropy = np.nan_to_num(self.entropy_, nan=-1.0)
        order = np.lexsort((np.arange(len(entropy)), -entropy, -self.n_classes_))
        return order[~self.dead_[order]][:k]

    def summary(self) -> dict[str, Any]:
        """Means over live units (the side-by-side table's row)."""
        live = ~self.dead_
        n = int(live.sum())

        def mean(a: np.ndarray) -> float:
            return round(float(a[live].mean()), 4) if n else float("nan")

        return {
            "units": len(live),
            "live": n,
            "mean classes responded to": mean(self.n_classes_.astype(float)),
            "monosemantic (1 class)": int(np.sum(self.n_classes_[live] == 1)),
            "polysemantic (2+ classes)": int(np.sum(self.n_classes_[live] >= 2)),
            "mean max selectivity": mean(self.max_selectivity_),
            "mean class entropy (bits)": mean(self.entropy_),
        }

    def to_dict(self) -> dict[str, list[Any]]:
        """One row per unit."""
        n = self.class_means_.shape[1]
        return {
            self.kind: list(range(n)),
            "dead": self.dead_.tolist(),
            "n_classes": self.n_classes_.tolist(),
            "classes": [" ".join(str(c) for c in self.classes_of(u)) for u in range(n)],
            "max_selectivity": np.round(self.max_selectivity_, 6).tolist(),
            "preferred_class": self.preferred_class_.tolist(),
            "entropy_bits": np.round(self.entropy_, 6).tolist(),
        }

    def to_pandas(self) -> Any:
        return as_dataframe(self.to_dict())

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"Polysemanticity({self.name!r}, {s['units']} {self.kind}s, live={s['live']}, "
            f"mean classes={s['mean classes responded to']}, poly={s['polysemantic (2+ classes)']})"
        )

    def _repr_html_(self) -> str:
        return _html_table(f"{self.kind}s of {self.name}", self.summary().items())

    def plot(self, ax: Any = None) -> Any:
        """Bar chart: how many live units respond to 1, 2, ... classes; returns the Figure."""
        fig, ax = _axes(ax)
        k = self.class_means_.shape[0]
        counts = np.bincount(self.n_classes_[~self.dead_], minlength=k + 1)[1:]
        ax.bar(np.arange(1, k + 1), counts, color="#4477aa")
        ax.set_xlabel("classes responded to")
        ax.set_ylabel(f"{self.kind}s")
        ax.set_title(f"{self.name}: {self.kind}s by classes responded to")
        return fig


def polysemanticity(
    class_means: Any, selectivity: Any, *, name: str = "", kind: str = "neuron"
) -> Polysemanticity:
    """Per-unit class counts and entropies (rules in the module docstring).

    Parameters
    ----------
    class_means : array of shape (n_classes, n_units)
        Mean activation of each (non-negative) unit per class.
    selectivity : array of shape (n_classes, n_units)
        ``tinylens.probes.class_selectivity(class_means)``.
    name, kind : labels
    """
    mu = np.asarray(class_means, dtype=np.float64)
    sel = np.asarray(selectivity, dtype=np.float64)
    if mu.ndim != 2 or sel.shape != mu.shape:
        raise ShapeError(
            f"class_means {mu.shape} and selectivity {sel.shape} must both be (n_classes, n_units)"
        )
    mu_pos = np.clip(np.nan_to_num(mu), 0.0, None)
    top = mu_pos.max(axis=0)
    responds = (mu_pos >= RESPONSE_FRACTION * top) & (top > 0)
    total = mu_pos.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = mu_pos / total
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    entropy = np.where(total > 0, terms.sum(axis=0), np.nan)
    return Polysemanticity(name, kind, mu, sel, responds, responds.sum(axis=0), entropy)


def superposition_score(firing_frequency: Any, d: int) -> dict[str, float]:
    """Features per dimension of a layer of ``d`` units, from its SAE's latent firing
    frequencies (the two measures of the module docstring)."""
    f = np.asarray(firing_frequency, dtype=np.float64)
    alive = f > 0
    share = f[alive] / f[alive].sum() if alive.any() else np.ones(1)
    effective = float(np.exp(-np.sum(share * np.log(share))))
    return {
        "alive latents per dimension": round(float(alive.sum()) / d, 6),
        "effective latents per dimension (exp-entropy)": round(effective / d, 6)
        if alive.any()
        else 0.0,
    }


def compare_units(*groups: Polysemanticity) -> dict[str, list[Any]]:
    """The side-by-side table: one column of :meth:`Polysemanticity.summary` per group."""
    rows = [g.summary() for g in groups]
    return {
        "measure": list(rows[0]),
        **{f"{g.kind}s of {g.name}": list(r.values()) for g, r in zip(groups, rows, strict=True)},
    }
