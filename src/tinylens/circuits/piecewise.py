"""Networks and expressions as exact piecewise-affine maps on a box, and their difference.

A ReLU network is affine on each cell of a polyhedral partition of its input box; so is every
real-valued expression of the circuit language built from ``+ - *`` and ``/`` by constants,
``abs``, ``relu``, ``min``, ``max`` and ``clamp``. This module computes those cells *exactly*
(:mod:`tinylens.circuits.polytope`: rational vertices, no tolerance anywhere) and the affine map
of the network or the expression on each one, and from them the exact largest difference of
two such functions on a box (:func:`compare_on_box`).

How a cell is found. Evaluate the function symbolically on a polytope ``P``, carrying every
quantity as an affine form ``g . x + h`` (exact Fractions). At a kink (a ReLU unit, ``abs``,
``min``, ...) the argument ``z`` is an affine form on ``P``; its exact values at ``P``'s
vertices decide the branch: all ``>= 0`` means ``z >= 0`` on all of ``P`` (``P`` is the convex
hull of its vertices), all ``<= 0`` the other branch, and mixed signs split ``P`` along
``z = 0`` into two full-dimensional halves, each evaluated again. When evaluation finishes
without a split the function is one affine map on ``P``.

How the difference is bounded. ``f - g`` is affine on each common cell, so its largest absolute
value over the (closed) cell is attained at a vertex: the maximum over all vertices of all
cells is the exact maximum over the box, attained at a rational point. Two affine maps agree
on a full-dimensional cell iff all their coefficients agree, i.e. iff ``f - g`` vanishes at
every vertex.

Comparisons (``<``, ``==``...), ``where`` and ``(x > 0) * y`` on *real* arguments are
discontinuous. They split cells along their switching hyperplanes like any kink and are exact
on every open cell; on the switching set itself (a set of measure zero) they take a value the
open cells do not show. :class:`BoxComparison` lists such constructs in ``discontinuous`` when
their switching set meets the box, so a caller can say what was and was not checked.
``is_even`` needs an integer argument and a product of two varying quantities is not piecewise
affine: both raise :class:`~tinylens.errors.ConfigError`.

>>> from tinylens.circuits.parse import parse
>>> from tinylens.circuits.library import get_circuit
>>> from tinylens.circuits.domain import parse_domain
>>> r = compare_on_box(get_circuit("min").net, parse("min(x1, x2)"),
...                    parse_domain("x1=-1:1,x2=-1:1"))
>>> r.max_error, r.cells
(Fraction(0, 1), 4)
>>> r = compare_on_box(get_circuit("min").net, parse("min(x1, x2) + relu(x1 - 1/2) / 10"),
...                    parse_domain("x1=-1:1,x2=-1:1"))
>>> r.max_error, r.worst_point
(Fraction(1, 20), {'x1': Fraction(1, 1), 'x2': Fraction(-1, 1)})
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.domain import Domain
from tinylens.circuits.expr import BinOp, Call, Compare, Expr, Neg, Num, Var
from tinylens.circuits.interpret import evaluate
from tinylens.circuits.polytope import Point, Polytope, box_polytope
from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError, did_you_mean

__all__ = [
    "DEFAULT_MAX_CELLS",
    "BoxComparison",
    "NetCell",
    "Program",
    "compare_on_box",
    "exact_copy",
    "expression_cells",
    "network_cells",
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


# -- comparing two programs -----------------------------------------------------------------------


@dataclass
class BoxComparison:
    """The exact largest difference of two piecewise-affine functions on a box.

    Attributes
    ----------
    max_error : Fraction
        ``max |f - g|`` over the box, over every output (the supremum over the open cells
        when ``discontinuous`` is non-empty).
    worst_point : dict of str to Fraction
        A vertex of a cell where it is attained (on the closure of the cell).
    witness : dict of str to Fraction
        A point where the difference is confirmed by evaluating both functions directly, in
        exact arithmetic, independently of the cells: ``worst_point`` itself for continuous
        functions; otherwise a point strictly inside the worst cell whose difference exceeds
        the ``tolerance`` given to :func:`compare_on_box` (or equals ``max_error`` when that
        is 0).
    witness_error : Fraction
        The exact difference at ``witness``.
    values : tuple of Fraction
        ``(f, g)`` at ``witness`` (first output).
    cells : int
        Cells compared (summed over the integer inputs' values, for a mixed domain).
    discontinuous : tuple of str
        Comparisons / ``where`` whose switching set meets the box: the check covers every open
        cell, not the switching sets themselves.
    """

    max_error: Fraction
    worst_point: dict[str, Fraction]
    witness: dict[str, Fraction]
    witness_error: Fraction
    values: tuple[Fraction, Fraction]
    cells: int
    discontinuous: tuple[str, ...] = ()


def _net_value(net: AffineNet, point: Sequence[Fraction]) -> list[Fraction]:
    x = np.array([list(point)], dtype=object)
    return [Fraction(v) for v in net.forward(x)[0]]


def _restrict(net: AffineNet, fixed: dict[int, Fraction]) -> AffineNet:
    """``net`` with the inputs ``fixed`` (index -> value) folded into the first bias."""
    first = net.layers[0]
    keep = [i for i in range(net.n_inputs) if i not in fixed]
    bias = first.bias.copy()
    for i, v in fixed.items():
        bias = bias + first.weight[:, i] * v
    W = first.weight[:, keep]
    names = [net.names[i] for i in keep]
    return AffineNet((AffineLayer(W, bias, first.activation), *net.layers[1:]), tuple(names))


def _cells_of(
    program: Program,
    names: Sequence[str],
    fixed: dict[str, Fraction],
    start: Polytope,
    notes: set[str],
    max_cells: int,
) -> list[tuple[Polytope, np.ndarray]]:
    """Cells of ``start`` with the program's maps, shape (n_outputs, d + 1) each."""
    d = start.d
    real = [n for n in names if n not in fixed]
    if isinstance(program, AffineNet):
        idx = {n: i for i, n in enumerate(names)}
        sub = _restrict(program, {idx[n]: v for n, v in fixed.items()}) if fixed else program
        return [(c.poly, c.maps) for c in network_cells(sub, start, max_cells=max_cells)]
    env = {n: _const(v, d) for n, v in fixed.items()}
    for i, n in enumerate(real):
        form = _const(Fraction(0), d)
        form[i] = Fraction(1)
        env[n] = form
    cells = expression_cells(program, env, start, notes=notes, max_cells=max_cells)
    return [(p, f.reshape(1, d + 1)) for p, f in cells]


def _refine(
    cells: list[tuple[Polytope, np.ndarray]],
    program: Program,
    names: Sequence[str],
    fixed: dict[str, Fraction],
    notes: set[str],
    max_cells: int,
) -> list[tuple[Polytope, np.ndarray, np.ndarray]]:
    out = []
    for poly, maps in cells:
        for sub, other in _cells_of(program, names, fixed, poly, notes, max_cells):
            out.append((sub, maps, other))
    return out


def _evaluator(program: Program, names: Sequence[str]) -> Callable[[dict[str, Fraction]], list]:
    if isinstance(program, AffineNet):
        exact = exact_copy(program)
        return lambda point: _net_value(exact, [point[n] for n in names])
    return lambda point: [evaluate(program, **point)]


def compare_on_box(
    f: Program,
    g: Program,
    domain: Domain,
    *,
    names: Sequence[str] | None = None,
    tolerance: Fraction | int = 0,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_points: int = 1_000_000,
) -> BoxComparison:
    """The exact ``max |f - g|`` over ``domain`` (see the module docstring).

    Parameters
    ----------
    f, g : AffineNet or Expr
        Networks (exact or float weights, which are read exactly; relu / identity layers) or
        expressions. Their outputs must agree in number (an expression has one).
    domain : Domain
        Real intervals, integer ranges, or both: the integer inputs are enumerated (at most
        ``max_points`` combinations) and the real ones form the box. Must name every input.
    names : sequence of str, optional
        Input order (default: the network's names, else the domain's).
    tolerance : Fraction
        Only for the witness of a discontinuous difference (see :class:`BoxComparison`).

    Returns
    -------
    BoxComparison
    """
    if names is None:
        net = f if isinstance(f, AffineNet) else g if isinstance(g, AffineNet) else None
        names = tuple(net.names) if net is not None else domain.names
    names = tuple(names)
    domain = domain.restrict(names)
    for p in (f, g):
        if isinstance(p, AffineNet):
            _check_net(p)
            if p.n_inputs != len(names):
                raise ConfigError(
                    f"the network has {p.n_inputs} inputs; the domain gives {len(names)}"
                )
    ints = [n for n in names if domain[n].integer]
    real = [n for n in names if not domain[n].integer]
    n_combos = 1
    for n in ints:
        n_combos *= domain[n].n_points or 0
    if n_combos > max_points:
        raise ConfigError(
            f"the integer inputs {', '.join(ints)} take {n_combos:,} combinations; the check "
            f"stops at {max_points:,}: narrow their ranges"
        )
    bounds = [(domain[n].lo, domain[n].hi) for n in real]
    for n, (lo, hi) in zip(real, bounds, strict=True):
        if not lo < hi:
            raise ConfigError(f"the real interval of {n} is a single point; widen it")
    f_exact = exact_copy(f) if isinstance(f, AffineNet) else f
    g_exact = exact_copy(g) if isinstance(g, AffineNet) else g
    notes: set[str] = set()
    worst = Fraction(-1)
    best: tuple[dict[str, Fraction], Polytope, np.ndarray, Point] | None = None
    n_cells = 0
    for combo in itertools.product(*(domain[n].values() for n in ints)):
        fixed = {n: Fraction(v) for n, v in zip(ints, combo, strict=True)}
        start = box_polytope(bounds)
        cells = _refine(
            _cells_of(f_exact, names, fixed, start, notes, max_cells),
            g_exact,
            names,
            fixed,
            notes,
            max_cells,
        )
        n_cells += len(cells)
        if n_cells > max_cells:
            raise ConfigError(
                f"more than {max_cells:,} cells to compare; the exact method is for small "
                "networks and boxes"
            )
        for poly, fm, gm in cells:
            if fm.shape[0] != gm.shape[0]:
                raise ConfigError(
                    f"one side has {fm.shape[0]} outputs and the other {gm.shape[0]}; compare "
                    "networks with one output against an expression"
                )
            diff = fm - gm
            for k in range(diff.shape[0]):
                vals = poly.values(diff[k])
                i = max(range(len(vals)), key=lambda t: abs(vals[t]))
                if abs(vals[i]) > worst:
                    worst = Fraction(abs(vals[i]))
                    best = (fixed, poly, diff, poly.vertices[i])
    assert best is not None
    fixed, poly, diff, vertex = best
    witness, witness_error, values = _witness(
        f_exact,
        g_exact,
        names,
        fixed,
        real,
        poly,
        diff,
        vertex,
        worst,
        bool(notes),
        Fraction(tolerance),
    )
    return BoxComparison(
        worst,
        _point(names, fixed, real, vertex),
        witness,
        witness_error,
        values,
        n_cells,
        tuple(sorted(notes)),
    )


def _witness(
    f: Program,
    g: Program,
    names: Sequence[str],
    fixed: dict[str, Fraction],
    real: Sequence[str],
    poly: Polytope,
    diff: np.ndarray,
    vertex: Point,
    worst: Fraction,
    discontinuous: bool,
    tolerance: Fraction,
) -> tuple[dict[str, Fraction], Fraction, tuple[Fraction, Fraction]]:
    """A point confirming the difference by direct exact evaluation (see BoxComparison)."""
    ev_f, ev_g = _evaluator(f, names), _evaluator(g, names)
    d = len(vertex)
    centre = poly.centroid()

    def cell_error(q: Point) -> Fraction:
        return max(abs(sum(row[i] * q[i] for i in range(d)) + row[d]) for row in diff)

    # Continuous functions: the vertex itself. Otherwise points ever closer to the vertex along
    # the segment to the centroid, strictly inside the cell, until the difference exceeds the
    # tolerance (it tends to the supremum, which does).
    steps = [None] if not discontinuous else list(range(1, 200))
    for step in steps:
        t = Fraction(0) if step is None else Fraction(1, 2**step)
        q = tuple(v + t * (c - v) for v, c in zip(vertex, centre, strict=True))
        point = _point(names, fixed, real, q)
        a, b = ev_f(point), ev_g(point)
        got = max(abs(x - y) for x, y in zip(a, b, strict=True))
        if got != cell_error(q):  # pragma: no cover - would be a bug in the cell machinery
            raise AssertionError(f"exact evaluation at {point} gives {got}, the cells differ")
        if step is None or got > tolerance or (worst <= tolerance and step >= 10):
            return point, got, (a[0], b[0])
    raise AssertionError("no witness found inside the worst cell")  # pragma: no cover


def _point(
    names: Sequence[str], fixed: dict[str, Fraction], real: Sequence[str], coords: Point
) -> dict[str, Fraction]:
    coord = dict(zip(real, coords, strict=True))
    return {n: Fraction(fixed[n]) if n in fixed else Fraction(coord[n]) for n in names}
