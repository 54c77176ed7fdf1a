"""Basis decomposition of a one-hidden-layer ReLU network: the sum of kinked lines.

A network ``f(x) = W_out relu(W_in x + b_in) + b_out`` is a sum of *ghost functions*, one per
hidden neuron: ``ghost_j(x) = W_out[:, j] * relu(w_j . x + b_j)``. Each is zero on one side of
its kink (the hyperplane ``w_j . x + b_j = 0``; the point ``-b_j / w_j`` for one input) and a
straight line on the other. Adding the ghosts in kink order, starting from ``b_out``, builds the
network's curve piece by piece: the universal approximation theorem made visible.

>>> import numpy as np
>>> from tinylens.engine import AffineNet
>>> net = AffineNet.from_lists([([[2.0], [-1.0], [0.0]], [-1.0, 0.5, -3.0], "relu"),
...                             ([[1.0, 3.0, 7.0]], [0.25], "identity")])
>>> basis = decompose(net, domain=[(-2, 2)])
>>> basis.kinks
[0.5, 0.5, None]
>>> basis.active_side
['right', 'left', 'never']
>>> basis.dead_on_domain.tolist()
[False, False, True]
>>> x = np.linspace(-2, 2, 5)[:, None]
>>> bool(np.allclose(basis.ghosts(x).sum(axis=1) + basis.b_out, net(x)))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.geometry._affine import BRANCH_SLOPES, NetLike, as_affine_net
from tinylens.geometry.regions import as_box

__all__ = ["ACTIVE_SIDES", "BasisDecomposition", "decompose"]

ACTIVE_SIDES = ("right", "left", "halfspace", "always", "never")
"""Where a neuron is on its identity branch (``w . x + b > 0``): to the ``right`` or ``left``
of its kink (one input), on one side of its hyperplane (``halfspace``, several inputs), or, for
a zero slope, ``always`` (``b > 0``) or ``never`` (``b <= 0``)."""


@dataclass(frozen=True)
class BasisDecomposition:
    """The neurons of a one-hidden-layer network as a basis of kinked functions.

    Attributes
    ----------
    w_in : array of shape (n_neurons, n_inputs)
        Incoming weights (the slope of each neuron's pre-activation).
    b_in : array of shape (n_neurons,)
    w_out : array of shape (n_outputs, n_neurons)
        Outgoing weights: each neuron's importance (how much of it reaches each output).
    b_out : array of shape (n_outputs,)
    activation : str
        ``relu`` or ``leaky_relu``.
    output_activation : str
        Applied after the sum (the decomposition is of the output layer's pre-activation).
    domain : array of shape (n_inputs, 2) or None
    dead_on_data : bool array of shape (n_neurons,) or None
        True where ``w . x + b <= 0`` at every data point: the neuron never fires on the data
        (and, for ReLU, gets no gradient from it).
    """

    w_in: np.ndarray
    b_in: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray
    activation: str
    output_activation: str
    domain: np.ndarray | None
    dead_on_data: np.ndarray | None

    # -- sizes ----------------------------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return int(self.w_in.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.w_in.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.w_out.shape[0])

    # -- per neuron -----------------------------------------------------------------------------
    @property
    def slopes(self) -> np.ndarray:
        """``w_in[:, 0]`` (shape (n_neurons,)) for one input, else ``w_in``."""
        return self.w_in[:, 0] if self.n_inputs == 1 else self.w_in

    @property
    def importances(self) -> np.ndarray:
        """``w_out[0]`` (shape (n_neurons,)) for one output, else ``w_out.T``."""
        return self.w_out[0] if self.n_outputs == 1 else self.w_out.T

    @property
    def constant(self) -> np.ndarray:
        """True for neurons with a zero incoming weight vector: no kink, a constant ghost.

        Tested exactly (``w == 0``): any nonzero slope, however small, has a kink somewhere.
        """
        return ~self.w_in.any(axis=1)

    @property
    def kinks(self) -> list[float | None]:
        """One input: each neuron's kink ``-b / w``, or None for a zero slope.

        A kink that overflows (a subnormal slope) is reported as None too: the neuron is then
        constant on every representable input.
        """
        if self.n_inputs != 1:
            raise ShapeError(
                f"a neuron of a network with {self.n_inputs} inputs has a hyperplane, not a "
                "kink point; use .hyperplanes"
            )
        out: list[float | None] = []
        for w, b in zip(self.w_in[:, 0], self.b_in, strict=True):
            if w == 0:
                out.append(None)
                continue
            with np.errstate(over="ignore"):
                k = float(-b / w)
            out.append(k + 0.0 if np.isfinite(k) else None)  # + 0.0 turns -0.0 into 0.0
        return out

    @property
    def hyperplanes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(w_in, b_in)``: neuron j switches on the hyperplane ``w_in[j] . x + b_in[j] = 0``."""
        return self.w_in, self.b_in

    @property
    def active_side(self) -> list[str]:
        """Where each neuron fires; see :data:`ACTIVE_SIDES`."""
        sides = []
        for w, b in zip(self.w_in, self.b_in, strict=True):
            if not w.any():
                sides.append("always" if b > 0 else "never")
            elif self.n_inputs == 1:
                sides.append("right" if w[0] > 0 else "left")
            else:
                sides.append("halfspace")
        return sides

    @property
    def kink_in_domain(self) -> np.ndarray:
        """True where the neuron switches strictly inside the domain (its hyperplane cuts the
        domain box), shape (n_neurons,)."""
        low, high = self._range_on_domain()
        return (low < 0) & (high > 0)

    @property
    def dead_on_domain(self) -> np.ndarray | None:
        """True where ``w . x + b <= 0`` on the whole domain box (exact, by its corners)."""
        if self.domain is None:
            return None
        return self._range_on_domain()[1] <= 0

    def _range_on_domain(self) -> tuple[np.ndarray, np.ndarray]:
        if self.domain is None:
            raise ConfigError("no domain was given; decompose(net, domain=[(lo, hi), ...])")
        lo, hi = self.domain[:, 0], self.domain[:, 1]
        # an affine function's extremes over a box sit at corners: pick lo or hi per weight sign
        high = self.b_in + np.where(self.w_in > 0, self.w_in * hi, self.w_in * lo).sum(axis=1)
        low = self.b_in + np.where(self.w_in > 0, self.w_in * lo, self.w_in * hi).sum(axis=1)
        return low, high

    # -- functions on points --------------------------------------------------------------------
    def _x(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.n_inputs == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ShapeError(f"points have shape {X.shape}; expected (n, {self.n_inputs})")
        return X

    def pre_activations(self, X: Any) -> np.ndarray:
        """``w_j . x + b_j`` for every point and neuron, shape (n, n_neurons)."""
        return self._x(X) @ self.w_in.T + self.b_in

    def ghosts(self, X: Any) -> np.ndarray:
        """Each neuron's contribution ``w_out[:, j] * act(w_j . x + b_j)``.

        Returns an array of shape (n, n_neurons, n_outputs).
        """
        z = self.pre_activations(X)
        low, high = BRANCH_SLOPES[self.activation]
        a = np.where(z > 0, high * z, low * z)
        return a[:, :, None] * self.w_out.T[None, :, :]

    def output(self, X: Any) -> np.ndarray:
        """``sum_j ghost_j(x) + b_out``, shape (n, n_outputs): the network's output."""
        return self.ghosts(X).sum(axis=1) + self.b_out

    @property
    def kink_order(self) -> np.ndarray:
        """Neuron indices in the order the partial sums add them: kinkless (constant) neurons
        first, then by kink from left to right (one input); by index for several inputs."""
        if self.n_inputs != 1:
            return np.arange(self.n_neurons)
        kinks = self.kinks
        key = [(k is not None, k if k is not None else 0.0, j) for j, k in enumerate(kinks)]
        return np.array([j for *_, j in sorted(key)], dtype=np.int64)

    def partial_sums(self, X: Any) -> np.ndarray:
        """The curve being built: ``b_out``, then ``b_out`` plus the first k ghosts in
        :attr:`kink_order`, for k = 1..n_neurons.

        Returns an array of shape (n_neurons + 1, n, n_outputs); the last one is the network.
        """
        g = self.ghosts(X)[:, self.kink_order, :]
        steps = np.cumsum(g, axis=1).transpose(1, 0, 2) + self.b_out
        start = np.broadcast_to(self.b_out, (1, g.shape[0], self.n_outputs))
        return np.concatenate([start, steps])

    # -- display ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        dead = "" if self.dead_on_data is None else f", dead_on_data={int(self.dead_on_data.sum())}"
        inside = ""
        if self.domain is not None:
            inside = f", kinks_in_domain={int(self.kink_in_domain.sum())}"
        return (
            f"BasisDecomposition({self.n_inputs}-{self.n_neurons}-{self.n_outputs}, "
            f"{self.activation}{inside}{dead}, zero_slope={int(self.constant.sum())})"
        )

    def to_dict(self) -> dict[str, list[Any]]:
        """One column per field of :meth:`table`, one row per neuron (``pd.DataFrame`` reads
        it); ``slope_change`` is ``|w_out| * |w_in|``: how much the network's slope turns at
        the kink (one input and one output)."""
        rows = self.table()
        cols: dict[str, list[Any]] = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
        if self.n_inputs == 1 and self.n_outputs == 1:
            turn = np.abs(self.w_out[0]) * np.abs(self.w_in[:, 0])
            cols["slope_change"] = [float(v) for v in turn]
        return cols

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame`` (pandas is optional: ``pip install
        pandas``)."""
        from tinylens._optional import require_pandas

        pd = require_pandas()
        return pd.DataFrame(self.to_dict())

    def _repr_html_(self) -> str:
        import html

        from tinylens.viz.display import figure_img  # matplotlib on first use

        cols = self.to_dict()
        shown = min(self.n_neurons, 16)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(cols[c][i]))}</td>" for c in cols) + "</tr>"
            for i in range(shown)
        )
        more = f"<p>... {self.n_neurons - shown} more neurons</p>" if self.n_neurons > shown else ""
        figure = ""
        if self.n_inputs == 1 and self.n_outputs == 1 and self.domain is not None:
            figure = figure_img(self.plot())
        return (
            f"<div><b>{html.escape(repr(self))}</b><table><tr>{head}</tr>{body}</table>{more}"
            f"{figure}</div>"
        )

    def plot(self, ax: Any = None, *, points: int = 241) -> Any:
        """Each neuron's ghost (grey: dead on the data) and their sum over the domain (one input,
        one output); returns the matplotlib Figure (``ax``'s, when given)."""
        if self.n_inputs != 1 or self.n_outputs != 1 or self.domain is None:
            raise ConfigError(
                "plot draws one input and one output over a domain; give decompose(..., "
                "domain=[(lo, hi)]) or X"
            )
        # matplotlib directly: geometry sits beside tinylens.viz, not above it (lint-imports)
        from matplotlib.figure import Figure

        x = np.linspace(self.domain[0, 0], self.domain[0, 1], points)
        ghosts, out = self.ghosts(x)[:, :, 0], self.output(x)[:, 0]
        if ax is None:
            fig = Figure(figsize=(6.4, 4.0), layout="constrained")
            ax = fig.subplots()
        dead = self.dead_on_data if self.dead_on_data is not None else np.zeros(len(ghosts.T))
        for j, ghost in enumerate(ghosts.T):
            ax.plot(x, ghost, lw=0.9, color="0.65" if dead[j] else f"C{j % 10}")
        ax.plot(x, out, color="k", lw=2.2, label="network = sum of ghosts + b_out")
        ax.axhline(0, color="0.8", lw=0.6, zorder=0)
        ax.set(
            xlabel="x", ylabel="y", title=f"{self.n_neurons} neurons as kinked lines (grey: dead)"
        )
        ax.legend(loc="upper right", fontsize=8)
        return ax.figure

    def table(self) -> list[dict[str, Any]]:
        """One row per neuron: index, slope, bias, kink, importance, side, dead flags."""
        kinks = self.kinks if self.n_inputs == 1 else [None] * self.n_neurons
        dead_dom = self.dead_on_domain
        rows = []
        for j in range(self.n_neurons):
            rows.append(
                {
                    "neuron": j,
                    "slope": self.w_in[j].tolist() if self.n_inputs > 1 else float(self.w_in[j, 0]),
                    "bias": float(self.b_in[j]),
                    "kink": kinks[j],
                    "importance": (
                        float(self.w_out[0, j])
                        if self.n_outputs == 1
                        else self.w_out[:, j].tolist()
                    ),
                    "active_side": self.active_side[j],
                    "dead_on_data": None
                    if self.dead_on_data is None
                    else bool(self.dead_on_data[j]),
                    "dead_on_domain": None if dead_dom is None else bool(dead_dom[j]),
                }
            )
        return rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def decompose(
    net: NetLike,
    *,
    X: Any = None,
    domain: Any = None,
) -> BasisDecomposition:
    """Decompose a one-hidden-layer network into its neurons' ghost functions.

    Parameters
    ----------
    net : AffineNet, engine Sequential, weights-file path or torch module
        Exactly two affine layers: ``input -> hidden (relu or leaky_relu) -> output``.
    X : array of shape (n_samples, n_inputs), optional
        Data: sets ``dead_on_data`` (and the domain, when ``domain`` is not given).
    domain : box, optional
        ``[(lo, hi), ...]`` per input (see :func:`tinylens.geometry.as_box`); defaults to the
        data's range.

    Raises
    ------
    ConfigError
        The network does not have exactly one hidden layer, or its activation is not relu or
        leaky_relu.
    """
    affine = as_affine_net(net).to_float()
    if len(affine.layers) != 2:
        raise ConfigError(
            f"basis decomposition needs one hidden layer; this network has "
            f"{len(affine.layers) - 1} (sizes {affine.sizes}); use linear_regions for deeper nets"
        )
    hidden, out = affine.layers
    if hidden.activation not in ("relu", "leaky_relu"):
        raise ConfigError(
            f"basis decomposition needs a relu or leaky_relu hidden layer, not "
            f"{hidden.activation!r}"
        )
    dead_on_data = None
    box = None
    if X is not None:
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim == 1 and affine.n_inputs == 1:
            Xa = Xa[:, None]
        if Xa.ndim != 2 or Xa.shape[1] != affine.n_inputs or not len(Xa):
            raise ShapeError(f"X has shape {Xa.shape}; expected (n > 0, {affine.n_inputs})")
        dead_on_data = ~((Xa @ hidden.weight.T + hidden.bias) > 0).any(axis=0)
        box = np.column_stack([Xa.min(axis=0), Xa.max(axis=0)])
    if domain is not None:
        box = as_box(domain, affine.n_inputs)
    return BasisDecomposition(
        w_in=hidden.weight.copy(),
        b_in=hidden.bias.copy(),
        w_out=out.weight.copy(),
        b_out=out.bias.copy(),
        activation=hidden.activation,
        output_activation=out.activation,
        domain=box,
        dead_on_data=dead_on_data,
    )
