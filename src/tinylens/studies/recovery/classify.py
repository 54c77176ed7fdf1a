"""Sort every trained seed into one outcome (see :mod:`tinylens.studies.recovery`), with the
two checks behind ``success``: the formula read back out of the weights, and the structure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinylens.circuits import compare_on_box, parse, same_circuit
from tinylens.circuits.readback import read_formulas, sympy_to_expr
from tinylens.engine import AffineNet, BatchedMLP
from tinylens.studies.recovery.targets import RecoveryTarget

__all__ = [
    "OUTCOMES",
    "READBACK_DIGITS",
    "Classification",
    "classify",
    "classify_seeds",
    "read_back",
]

OUTCOMES = (
    "success",
    "solved, other formula",
    "works for x > 0 only",
    "works for x < 0 only",
    "works on part of the domain only",
    "stuck at the mean",
    "constant output",
    "dead unit",
    "not converged",
    "other (local minimum)",
    "diverged",
)

READBACK_DIGITS = 2
"""Decimals of the read-back formula: a seed at loss < 1e-6 has coefficient errors of order
1e-3, so two decimals recover its intended coefficients (and a seed whose formula needs more
to match is reported as another formula, honestly)."""


@dataclass
class Classification:
    """Every seed's outcome and the two checks behind ``success``, arrays of shape (K,).

    ``structural``: loss < tol and the known circuit up to permutation and positive rescaling
    (False otherwise); ``readback``: loss < tol and the read-back formula equals the target
    exactly on its domain (None where not checked: loss >= tol, or no exact target);
    ``formulas``: the read-back formula ("" where not read).
    """

    outcomes: np.ndarray
    structural: np.ndarray
    readback: np.ndarray
    formulas: np.ndarray


def read_back(
    target: RecoveryTarget,
    net: AffineNet,
    cache: dict[str, bool] | None = None,
    sums: dict[str, list[str]] | None = None,
) -> tuple[bool | None, str]:
    """Read ``net``'s formula (two decimals) and decide exactly whether it is the target on
    the target's domain (real box: exact linear pieces; integers: every point). ``(None, "")``
    for targets without an exact expression or networks that are not ReLU networks.

    The formula is ``explain(net, box, digits=READBACK_DIGITS, check=False).formula``, string
    for string, from :func:`~tinylens.circuits.readback.read_formulas`. Two dicts kept across
    the seeds of one target read the seeds that found the same circuit once: ``cache``, each
    formula's verdict, and ``sums``, the formulas already presented (read_formulas' memo).
    """
    if target.expression is None or any(a not in ("relu", "identity") for a in net.activations):
        return None, ""
    import sympy

    box, domain = target.read_back_domain()
    net = AffineNet(net.layers, target.inputs)  # the target's input names
    cache = {} if cache is None else cache
    formula = read_formulas(net, box, digits=READBACK_DIGITS, memo=sums)[0]
    if formula not in cache:
        # the formula's text read back, as Explanation.exprs does
        symbols = {n: sympy.Symbol(n) for n in target.inputs}
        expr = sympy_to_expr(sympy.sympify(formula, locals=symbols))
        r = compare_on_box(expr, parse(target.expression), domain, names=target.inputs)
        cache[formula] = r.max_error == 0
    return cache[formula], formula


def classify(
    target: RecoveryTarget,
    net: BatchedMLP,
    X: np.ndarray,
    y: np.ndarray,
    losses: np.ndarray,
    *,
    tol: float,
    atol: float,
) -> np.ndarray:
    """The outcome of every seed (see the module docstring), an array of str of shape (K,)."""
    return classify_seeds(target, net, X, y, losses, tol=tol, atol=atol).outcomes


def classify_seeds(
    target: RecoveryTarget,
    net: BatchedMLP,
    X: np.ndarray,
    y: np.ndarray,
    losses: np.ndarray,
    *,
    tol: float,
    atol: float,
    sharpening: np.ndarray | None = None,
) -> Classification:
    """Outcomes with the structural and read-back checks of every seed (see
    :class:`Classification`).

    ``sharpening`` : array of bool, shape (K,), optional
        For a target whose loss reaches 0 only as its weights grow without bound (the sigmoid
        step): the seeds whose sharpness was still growing at the end of training. A seed
        with the target's structure that is still sharpening is a success whatever its loss:
        it is on the path the gentle-introduction article describes.
    """
    K = net.n_instances
    net64 = net.astype(np.float64)
    out = net64.forward(X)[:, :, 0]  # (K, n)
    yv = y[:, 0]
    err2 = (out - yv[None, :]) ** 2
    y_std = float(yv.std()) or 1.0
    const = out.std(axis=1) <= 1e-2 * y_std
    at_mean = np.abs(out.mean(axis=1) - yv.mean()) <= 0.05 * y_std
    W0 = net64.weights[0].data
    pre = np.einsum("ni,khi->khn", X, W0)
    if net64.biases is not None:
        pre += net64.biases[0].data[:, :, None]
    dead = (pre <= 0).all(axis=2).any(axis=1) if net64.n_layers > 1 else np.zeros(K, bool)
    uncovered = (pre <= 0).all(axis=1) if net64.n_layers > 1 else np.zeros((K, len(X)), bool)
    outcomes = np.full(K, "other (local minimum)", dtype=object)
    structural = np.zeros(K, dtype=bool)
    readback = np.full(K, None, dtype=object)
    formulas = np.full(K, "", dtype=object)
    known = target.circuits()
    cache: dict[str, bool] = {}
    sums: dict[str, list[str]] = {}
    for k in range(K):
        if net.diverged_[k] or not np.isfinite(losses[k]):
            outcomes[k] = "diverged"
        elif losses[k] < tol:
            inst = AffineNet.from_module(net64.instance(k))
            if target.structure is not None:
                match = target.structure(inst)
            else:
                match = any(
                    same_circuit(inst, ref, X, atol=atol, lattice=target.lattice) for ref in known
                )
            structural[k] = match
            readback[k], formulas[k] = read_back(target, inst, cache, sums)
            ok = match if readback[k] is None else readback[k]
            outcomes[k] = "success" if ok else "solved, other formula"
        elif (
            sharpening is not None
            and sharpening[k]
            and target.structure is not None
            and target.structure(AffineNet.from_module(net64.instance(k)))
        ):
            structural[k] = True
            outcomes[k] = "success"
        elif const[k]:
            outcomes[k] = "stuck at the mean" if at_mean[k] else "constant output"
        elif (part := _partial(X, err2[k], uncovered[k], target.one_sided_split)) is not None:
            outcomes[k] = part
        elif dead[k]:
            outcomes[k] = "dead unit"
        elif losses[k] < 1e-3:
            outcomes[k] = "not converged"
    return Classification(outcomes.astype(str), structural, readback, formulas)


def _partial(X: np.ndarray, err2: np.ndarray, uncovered: np.ndarray, one_input: bool) -> str | None:
    """Wrong where no first-layer unit is active: which side, or None.

    ``uncovered`` marks the points where every first-layer unit is off (the output is a
    constant there); it counts when it is >= 5% of the domain and holds half the error.
    """
    if uncovered.mean() < 0.05 or err2[uncovered].sum() < 0.5 * err2.sum():
        return None
    if one_input:
        x = X[uncovered, 0]
        if (x <= 0).all():
            return "works for x > 0 only"
        if (x >= 0).all():
            return "works for x < 0 only"
    return "works on part of the domain only"
