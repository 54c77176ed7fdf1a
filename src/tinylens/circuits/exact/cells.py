"""The exact cells of a network or an expression on a box, with the affine map on each.

How a cell is found is told in :mod:`tinylens.circuits.exact.piecewise`;
:mod:`tinylens.circuits.exact.compare` uses these cells to compare two functions exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.exact.polytope import Polytope
from tinylens.circuits.expr import BinOp, Call, Compare, Expr, Neg, Num, Var
from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError, did_you_mean

__all__ = [
    "DEFAULT_MAX_CELLS",
    "NetCell",
    "Program",
    "exact_copy",
    "expression_cells",
    "network_cells",
    "relu_units",
]

DEFAULT_MAX_CELLS = 200_000
"""Cells after which :func:`compare_on_box` stops with a ConfigError (the exact method is for
small networks; each cell costs a few exact vertex evaluations per unit)."""

Program = AffineNet | Expr
"""What can be compared: a network (exact or float weights) or an expression."""


class _Split(Exception):
    """Raised inside an evaluation: the cell must be split along ``form = 0`` first."""

    def __init__(self, form: np.ndarray) -> None:
        self.form = form


def exact_copy(net: AffineNet) -> AffineNet:
    """``net`` with every weight an exact Fraction: rationals kept, floats converted to the
    exact value of their binary representation (``0.1`` becomes 3602879701896397/2**55)."""
    if net.is_exact:
        return net

    def frac(a: np.ndarray) -> np.ndarray:
        out = np.empty(a.shape, dtype=object)
        flat = out.reshape(-1)
        for i, v in enumerate(np.asarray(a, dtype=np.float64).reshape(-1)):
            if not np.isfinite(v):
                raise ConfigError(f"the network has a non-finite weight ({v}); it cannot be read")
            flat[i] = Fraction(float(v))
        return out

    return AffineNet(
        tuple(AffineLayer(frac(la.weight), frac(la.bias), la.activation) for la in net.layers),
        net.input_names,
    )


def _check_net(net: AffineNet) -> None:
    bad = [a for a in net.activations if a not in ("relu", "identity")]
    if bad:
        raise ConfigError(
            f"exact piecewise-affine analysis supports relu and identity layers, not {bad[0]}; "
            "this network is not piecewise linear"
        )


def _const(value: Fraction, d: int) -> np.ndarray:
    form = np.array([Fraction(0)] * (d + 1), dtype=object)
    form[d] = Fraction(value)
    return form


def _is_const(form: np.ndarray, d: int) -> bool:
    return all(v == 0 for v in form[:d])


def _classify(poly: Polytope, form: np.ndarray) -> tuple[str, bool, np.ndarray]:
    """``("pos" | "neg" | "zero" | "mixed", touches_zero, values at the vertices)``.

    ``pos``: ``form >= 0`` on the cell and not identically 0 (so ``> 0`` on its interior);
    ``touches_zero``: ``pos``/``neg`` with a vertex where it is exactly 0."""
    vals = poly.values(form)
    has_pos = any(v > 0 for v in vals)
    has_neg = any(v < 0 for v in vals)
    if has_pos and has_neg:
        return "mixed", False, vals
    touches = any(v == 0 for v in vals)
    if has_pos:
        return "pos", touches, vals
    if has_neg:
        return "neg", touches, vals
    return "zero", False, vals


# -- networks -------------------------------------------------------------------------------------


@dataclass
class NetCell:
    """A cell on which the network is affine.

    ``maps`` : object array of shape (n_outputs, d + 1), output k is ``maps[k, :d] . x +
    maps[k, d]``; ``signs`` : int array of shape (n_units,) over the ReLU units (hidden layers
    in order, then a ReLU output layer's units): 1 where the unit's pre-activation is ``>= 0``
    on the cell (and not identically 0), -1 where ``<= 0`` (not identically 0), 0 where it is
    identically 0.
    """

    poly: Polytope
    maps: np.ndarray
    signs: np.ndarray


def relu_units(net: AffineNet) -> list[tuple[int, int]]:
    """``(layer, unit)`` of every ReLU unit, in the order of :attr:`NetCell.signs`."""
    return [
        (li, j)
        for li, la in enumerate(net.layers)
        if la.activation == "relu"
        for j in range(la.out_features)
    ]


def network_cells(
    net: AffineNet, start: Polytope, *, max_cells: int = DEFAULT_MAX_CELLS
) -> list[NetCell]:
    """Every cell of ``start`` on which ``net`` (exact weights, relu / identity) is affine.

    ``net``'s inputs are the polytope's coordinates, in order.
    """
    _check_net(net)
    if not net.is_exact:
        net = exact_copy(net)
    d = start.d
    if net.n_inputs != d:
        raise ConfigError(f"the network has {net.n_inputs} inputs; the box has {d} dimensions")
    H0 = np.array(
        [[Fraction(int(i == j)) for j in range(d + 1)] for i in range(d)], dtype=object
    ).reshape(d, d + 1)
    zero = _const(Fraction(0), d)
    layers = net.layers
    out: list[NetCell] = []
    # (polytope, layer, input forms H, pre-activation forms Z or None, unit, acts, signs)
    stack: list[tuple[Any, ...]] = [(start, 0, H0, None, 0, [], [])]
    while stack:
        poly, li, H, Z, j, acts, signs = stack.pop()
        done = True
        while li < len(layers):
            layer = layers[li]
            if Z is None:
                Z = layer.weight @ H
                Z[:, d] = Z[:, d] + layer.bias
            if layer.activation == "identity":
                H, Z, li = Z, None, li + 1
                continue
            while j < layer.out_features:
                cls, _, vals = _classify(poly, Z[j])
                if cls == "mixed":
                    halves = poly.split(Z[j][:d], Z[j][d], vals)
                    assert halves is not None
                    for half in halves:
                        stack.append((half, li, H, Z, j, list(acts), list(signs)))
                    done = False
                    break
                acts.append(Z[j] if cls == "pos" else zero)
                signs.append({"pos": 1, "neg": -1, "zero": 0}[cls])
                j += 1
            if not done:
                break
            H = np.array(acts, dtype=object).reshape(len(acts), d + 1)
            Z, j, acts, li = None, 0, [], li + 1
        if done:
            out.append(NetCell(poly, H, np.array(signs, dtype=np.int8)))
            if len(out) > max_cells:
                raise ConfigError(
                    f"the network has more than {max_cells:,} linear pieces on the box; the "
                    "exact method is for small networks (narrow the box or prune the network)"
                )
    return out


# -- expressions ----------------------------------------------------------------------------------


def _form(e: Expr, poly: Polytope, env: dict[str, np.ndarray], notes: set[str]) -> np.ndarray:
    """The affine form of ``e`` on ``poly``; raises _Split when a kink cuts the cell."""
    d = poly.d
    if isinstance(e, Num):
        return _const(e.value, d)
    if isinstance(e, Var):
        if e.name not in env:
            hint = did_you_mean(e.name, env, n=1)
            raise ConfigError(f"no range for variable {e.name!r}{hint}; add it to the domain")
        return env[e.name]
    if isinstance(e, Neg):
        return -_form(e.operand, poly, env, notes)
    if isinstance(e, BinOp):
        a, b = _form(e.left, poly, env, notes), _form(e.right, poly, env, notes)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            if _is_const(a, d):
                return a[d] * b
            if _is_const(b, d):
                return b[d] * a
            raise ConfigError(
                f"column {e.pos}: {e} multiplies two quantities that vary on the box; the "
                "product is not piecewise affine"
            )
        if not _is_const(b, d) or b[d] == 0:
            raise ConfigError(f"column {e.pos}: {e} divides by a varying quantity or by zero")
        return a * (1 / Fraction(b[d]))
    if isinstance(e, Compare):
        diff = _form(e.left, poly, env, notes) - _form(e.right, poly, env, notes)
        cls, touches, _ = _classify(poly, diff)
        if cls == "mixed":
            raise _Split(diff)
        if touches:
            notes.add(str(e))
        truth = {
            "<": cls == "neg",
            "<=": cls in ("neg", "zero"),
            ">": cls == "pos",
            ">=": cls in ("pos", "zero"),
            "==": cls == "zero",
            "!=": cls != "zero",
        }[e.op]
        return _const(Fraction(int(truth)), d)
    if isinstance(e, Call):
        return _call(e, poly, env, notes)
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover


def _branch(poly: Polytope, z: np.ndarray) -> str:
    cls, _, _ = _classify(poly, z)
    if cls == "mixed":
        raise _Split(z)
    return cls


def _call(e: Call, poly: Polytope, env: dict[str, np.ndarray], notes: set[str]) -> np.ndarray:
    d = poly.d
    name = e.name
    if name in ("is_even", "is_odd"):
        x = _form(e.args[0], poly, env, notes)
        if not _is_const(x, d) or Fraction(x[d]).denominator != 1:
            raise ConfigError(
                f"column {e.pos}: {name} needs an integer argument; on a real box {e.args[0]} "
                "varies: give its variables integer ranges (x=0..15)"
            )
        rem = int(x[d]) % 2
        return _const(Fraction(rem if name == "is_odd" else 1 - rem), d)
    args = [_form(a, poly, env, notes) for a in e.args]
    if name == "abs":
        return args[0] if _branch(poly, args[0]) in ("pos", "zero") else -args[0]
    if name == "relu":
        return args[0] if _branch(poly, args[0]) == "pos" else _const(Fraction(0), d)
    if name in ("min", "max"):
        cur = args[0]
        for a in args[1:]:
            side = _branch(poly, a - cur)  # pos: a >= cur on the cell
            if (name == "min" and side == "neg") or (name == "max" and side == "pos"):
                cur = a
        return cur
    if name == "clamp":
        x, lo, hi = args
        if _classify(poly, lo - hi)[0] in ("pos", "mixed"):
            raise ConfigError(f"column {e.pos}: clamp has lo > hi somewhere on the box")
        cur = lo if _branch(poly, x - lo) == "neg" else x
        return hi if _branch(poly, cur - hi) == "pos" else cur
    if name == "where":
        c, a, b = args
        cls, touches, _ = _classify(poly, c)
        if cls == "mixed":
            raise _Split(c)
        if touches:
            notes.add(str(e))
        return b if cls == "zero" else a
    raise ConfigError(f"column {e.pos}: unknown function {name!r}")  # pragma: no cover


def expression_cells(
    expr: Expr,
    env: dict[str, np.ndarray],
    start: Polytope,
    *,
    notes: set[str] | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> list[tuple[Polytope, np.ndarray]]:
    """Every cell of ``start`` on which ``expr`` is affine, with its form (object array of
    shape (d + 1,)). ``env`` maps each variable to its affine form in the box's coordinates;
    ``notes`` collects the discontinuous constructs whose switching set meets a cell."""
    notes = set() if notes is None else notes
    out: list[tuple[Polytope, np.ndarray]] = []
    stack = [start]
    while stack:
        poly = stack.pop()
        try:
            out.append((poly, _form(expr, poly, env, notes)))
        except _Split as s:
            halves = poly.split(s.form[: poly.d], s.form[poly.d])
            assert halves is not None
            stack.extend(halves)
        if len(out) > max_cells:
            raise ConfigError(
                f"the expression has more than {max_cells:,} affine pieces on the box; narrow it"
            )
    return out
