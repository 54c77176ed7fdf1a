"""ReLU networks up to their symmetries: permutation and positive rescaling of hidden units.

Two ReLU networks compute the same function, unit for unit, when one is the other with its
hidden units permuted, or with a unit's incoming weights and bias multiplied by ``s > 0`` and
its outgoing weights divided by ``s`` (``relu(s z) / s = relu(z)``). :func:`canonicalize`
removes those symmetries (and units that contribute nothing) so networks can be compared;
:func:`same_circuit` says whether a trained network *is* a known circuit.

Canonical form, hidden layer by hidden layer:

1. units never active on the given points (or dead for every input) are removed;
2. each unit's incoming weights and bias are scaled to max-abs 1, its outgoing weights by the
   inverse;
3. units with the same normalised pre-activation are merged (their outgoing weights add);
4. units whose outgoing weights are all ~0 are removed;
5. units are sorted by their normalised incoming weights.

>>> from tinylens.circuits import get_circuit
>>> fam = get_circuit("identity_family", w1=3, w2=-5).net
>>> same_circuit(fam, get_circuit("identity").net)
True
>>> same_circuit(get_circuit("abs").net, get_circuit("identity").net)
False
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError

__all__ = ["CanonicalNet", "CircuitMatch", "canonicalize", "match_circuit", "same_circuit"]


@dataclass(frozen=True)
class CanonicalNet:
    """A float network in canonical form and what canonicalisation removed.

    Attributes
    ----------
    net : AffineNet
        float64 weights; hidden layers in canonical form (the output layer keeps its units).
    dead : tuple of int
        Units removed per hidden layer because they are never active.
    silent : tuple of int
        Units removed per hidden layer because their outgoing weights are ~0.
    merged : tuple of int
        Units merged into an equal one, per hidden layer.
    origins : tuple of tuple of tuple of int
        ``origins[l][j]``: the original units of hidden layer ``l`` that make canonical unit
        ``j`` (several when duplicates were merged).
    scales : tuple of dict
        ``scales[l][u]``: the factor ``s > 0`` divided out of original unit ``u``'s incoming
        weights (and multiplied into its outgoing ones).
    """

    net: AffineNet
    dead: tuple[int, ...]
    silent: tuple[int, ...]
    merged: tuple[int, ...]
    origins: tuple[tuple[tuple[int, ...], ...], ...] = ()
    scales: tuple[dict[int, float], ...] = ()

    @property
    def sizes(self) -> list[int]:
        return self.net.sizes


def _check_relu(net: AffineNet) -> None:
    hidden = net.activations[:-1]
    if any(a != "relu" for a in hidden):
        raise ConfigError(
            f"canonical forms need ReLU hidden layers (positive rescaling is a symmetry of ReLU "
            f"only); this network has {hidden}"
        )


def canonicalize(
    net: AffineNet, points: np.ndarray | None = None, *, tol: float = 1e-9
) -> CanonicalNet:
    """The canonical form of a ReLU network (see the module docstring).

    Parameters
    ----------
    net : AffineNet
        Float or exact weights; ReLU hidden layers.
    points : array of shape (n_points, n_inputs), optional
        Where the network is used (the domain): a unit inactive at all of them is dead. Without
        points, a unit is dead only if it is inactive for every input (zero weights, bias <= 0).
    tol : float
        Weights within ``tol`` of each other (or of 0) count as equal.
    """
    _check_relu(net)
    layers = [
        AffineLayer(la.weight.astype(np.float64), la.bias.astype(np.float64), la.activation)
        for la in net.layers
    ]
    h = None if points is None else np.asarray(points, dtype=np.float64)
    dead, silent, merged = [], [], []
    origins: list[tuple[tuple[int, ...], ...]] = []
    scales: list[dict[int, float]] = []
    for li in range(len(layers) - 1):
        W, b = layers[li].weight.copy(), layers[li].bias.copy()
        orig = [[j] for j in range(len(b))]
        Wn = layers[li + 1].weight.copy()
        if h is not None:
            pre = h @ W.T + b
            alive = (pre > tol).any(axis=0)
        else:
            alive = (np.abs(W) > tol).any(axis=1) | (b > tol)
        n_dead = int((~alive).sum())
        W, b, Wn = W[alive], b[alive], Wn[:, alive]
        orig = [o for o, a in zip(orig, alive, strict=True) if a]
        # positive rescaling: incoming max-abs 1
        s = np.maximum(np.abs(W).max(axis=1, initial=0.0), np.abs(b))
        s[s == 0] = 1.0
        W, b, Wn = W / s[:, None], b / s, Wn * s[None, :]
        scales.append({o[0]: float(v) for o, v in zip(orig, s, strict=True)})
        # merge equal units
        keep: list[int] = []
        n_merged = 0
        for j in range(len(b)):
            for k in keep:
                if (
                    np.allclose(W[j], W[k], rtol=0, atol=tol * 1e3)
                    and abs(b[j] - b[k]) <= tol * 1e3
                ):
                    Wn[:, k] += Wn[:, j]
                    orig[k] = orig[k] + orig[j]
                    n_merged += 1
                    break
            else:
                keep.append(j)
        W, b, Wn = W[keep], b[keep], Wn[:, keep]
        orig = [orig[k] for k in keep]
        loud = (np.abs(Wn) > tol).any(axis=0)
        n_silent = int((~loud).sum())
        W, b, Wn = W[loud], b[loud], Wn[:, loud]
        orig = [o for o, keep_it in zip(orig, loud, strict=True) if keep_it]
        order = sorted(range(len(b)), key=lambda j: (*np.round(W[j], 6), round(b[j], 6)))
        W, b, Wn = W[order], b[order], Wn[:, order]
        origins.append(tuple(tuple(orig[j]) for j in order))
        if len(b) == 0:  # nothing left: the layer computes a constant 0
            W, b = np.zeros((1, W.shape[1])), np.zeros(1)
            Wn = np.zeros((Wn.shape[0], 1))
        layers[li] = AffineLayer(W, b, "relu")
        layers[li + 1] = AffineLayer(Wn, layers[li + 1].bias, layers[li + 1].activation)
        if h is not None:
            h = np.maximum(h @ W.T + b, 0)
        dead.append(n_dead)
        silent.append(n_silent)
        merged.append(n_merged)
    return CanonicalNet(
        AffineNet(tuple(layers), net.input_names),
        tuple(dead),
        tuple(silent),
        tuple(merged),
        tuple(origins),
        tuple(scales),
    )


def _close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return bool(np.all(np.abs(a - b) <= atol * np.maximum(1.0, np.abs(b))))


def _unit_key_lattice(w: np.ndarray, bias: float, step: float) -> tuple[int, float]:
    """Orientation and kink cell of a one-input unit ``relu(w x + bias)`` on a lattice."""
    sign = int(np.sign(w[0]))
    if sign == 0:
        return 0, 0.0
    kink = -bias / w[0]
    return sign, kink / step


@dataclass(frozen=True)
class CircuitMatch:
    """How two networks are the same circuit: which units correspond.

    Attributes
    ----------
    layers : tuple of tuple of (tuple of int, tuple of int, float)
        Per hidden layer, one entry per canonical unit: the units of ``a`` and of ``b`` that
        make it (several when duplicates were merged), and ``ratio``, the positive factor by
        which the first of ``a``'s units is the first of ``b``'s: ``z_a = ratio * z_b``
        (incoming weights and bias), with the outgoing weights divided by it.
    """

    layers: tuple[tuple[tuple[tuple[int, ...], tuple[int, ...], float], ...], ...]

    def lines(self) -> list[str]:
        """One line per corresponding unit: ``layer 0: unit 2 of a = unit 0 of b (x 0.71)``."""
        out = []
        for li, pairs in enumerate(self.layers):
            for ua, ub, ratio in pairs:
                a = ", ".join(map(str, ua))
                b = ", ".join(map(str, ub))
                out.append(
                    f"layer {li}: unit{'s' * (len(ua) > 1)} {a} = unit{'s' * (len(ub) > 1)} "
                    f"{b} of the circuit (scaled by {ratio:.4g})"
                )
        return out

    def to_dict(self) -> list[dict[str, object]]:
        return [
            {"layer": li, "units": list(ua), "circuit_units": list(ub), "scale": ratio}
            for li, pairs in enumerate(self.layers)
            for ua, ub, ratio in pairs
        ]


def same_circuit(
    a: AffineNet,
    b: AffineNet,
    points: np.ndarray | None = None,
    *,
    atol: float = 1e-3,
    lattice: float | None = None,
) -> bool:
    """Whether ``a`` is the circuit ``b`` up to permutation and positive rescaling of units.

    Parameters
    ----------
    a, b : AffineNet
        ReLU networks with the same inputs (``b`` is usually the known circuit).
    points : array of shape (n_points, n_inputs), optional
        The domain, to discard units dead on it (see :func:`canonicalize`).
    atol : float
        Tolerance on the canonical weights (incoming weights are normalised to max-abs 1; the
        outgoing ones are compared relative to their size).
    lattice : float, optional
        For one-input networks on an integer (lattice) domain, where a ReLU step may put its
        kink anywhere between two lattice points: units match when they have the same
        orientation, their kinks lie in the same closed cell ``[k, k + 1] * lattice`` and
        their output weights the same sign; only those are compared.

    See :func:`match_circuit` for which units correspond.
    """
    return match_circuit(a, b, points, atol=atol, lattice=lattice) is not None


def match_circuit(
    a: AffineNet,
    b: AffineNet,
    points: np.ndarray | None = None,
    *,
    atol: float = 1e-3,
    lattice: float | None = None,
) -> CircuitMatch | None:
    """Which units of ``a`` are which units of ``b``, when ``a`` is the circuit ``b`` up to
    permutation and positive rescaling (arguments as in :func:`same_circuit`); None when it
    is not.

    >>> from tinylens.circuits import get_circuit
    >>> fam = get_circuit("identity_family", w1=3, w2=-5).net
    >>> for line in match_circuit(fam, get_circuit("identity").net).lines():
    ...     print(line)
    layer 0: unit 0 = unit 0 of the circuit (scaled by 3)
    layer 0: unit 1 = unit 1 of the circuit (scaled by 5)
    """
    ca, cb = canonicalize(a, points), canonicalize(b, points)
    na, nb = ca.net, cb.net
    if na.sizes != nb.sizes or na.activations != nb.activations:
        return None
    if lattice is not None:
        perm = _same_on_lattice(na, nb, lattice)
        perms = None if perm is None else [perm]
    else:
        perms = _match_layers(na, nb, 0, list(range(na.n_inputs)), atol)
    if perms is None:
        return None
    layers = []
    for li, perm in enumerate(perms):
        pairs = []
        for jb, ja in enumerate(perm):
            ua, ub = ca.origins[li][ja], cb.origins[li][jb]
            ratio = ca.scales[li][ua[0]] / cb.scales[li][ub[0]]
            pairs.append((ua, ub, float(ratio)))
        layers.append(tuple(sorted(pairs, key=lambda t: t[1])))
    return CircuitMatch(tuple(layers))


def _match_layers(
    a: AffineNet, b: AffineNet, li: int, prev: list[int], atol: float
) -> list[list[int]] | None:
    """A permutation of every hidden layer's units making ``a`` equal to ``b`` (per layer,
    ``perm[j]`` is the unit of ``a`` matching unit ``j`` of ``b``), or None.

    ``prev`` maps b's units of the previous layer to a's.
    """
    la, lb = a.layers[li], b.layers[li]
    Wa = la.weight[:, prev]
    if li == len(a.layers) - 1:
        ok = _close(Wa, lb.weight, atol) and _close(la.bias, lb.bias, atol)
        return [] if ok else None
    n = lb.out_features
    options = []
    for j in range(n):
        cands = [
            i
            for i in range(la.out_features)
            if _close(Wa[i], lb.weight[j], atol)
            and _close(la.bias[i : i + 1], lb.bias[j : j + 1], atol)
        ]
        if not cands:
            return None
        options.append(cands)
    for perm in itertools.product(*options):
        if len(set(perm)) == n:
            rest = _match_layers(a, b, li + 1, list(perm), atol)
            if rest is not None:
                return [list(perm), *rest]
    return None


def _same_on_lattice(a: AffineNet, b: AffineNet, step: float) -> list[int] | None:
    if a.n_inputs != 1 or len(a.layers) != 2:
        raise ConfigError("lattice matching is defined for one-input, one-hidden-layer networks")
    la, lb = a.layers[0], b.layers[0]
    oa, ob = a.layers[1].weight[0], b.layers[1].weight[0]
    keys_a = [
        (*_unit_key_lattice(la.weight[i], la.bias[i], step), np.sign(oa[i])) for i in range(len(oa))
    ]
    keys_b = [
        (*_unit_key_lattice(lb.weight[j], lb.bias[j], step), np.sign(ob[j])) for j in range(len(ob))
    ]

    def match(ka: tuple[float, ...], kb: tuple[float, ...]) -> bool:
        if ka[0] != kb[0] or ka[2] != kb[2]:
            return False
        # Same closed cell: the kinks' floors agree, or one sits on the shared lattice point.
        xa, xb = ka[1], kb[1]
        cells_a = {np.floor(xa), np.ceil(xa) - 1} if float(xa).is_integer() else {np.floor(xa)}
        cells_b = {np.floor(xb), np.ceil(xb) - 1} if float(xb).is_integer() else {np.floor(xb)}
        return bool(cells_a & cells_b)

    for perm in itertools.permutations(range(len(keys_a))):
        if all(match(keys_a[perm[j]], keys_b[j]) for j in range(len(keys_b))):
            return list(perm[: len(keys_b)])
    return None
