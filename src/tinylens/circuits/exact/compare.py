"""The exact largest difference of two networks or expressions on a box: :func:`compare_on_box`.

The method is told in :mod:`tinylens.circuits.exact.piecewise`: ``f - g`` is affine on each common
cell, so its largest absolute value is attained at a cell vertex.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tinylens.circuits.exact.cells import (
    DEFAULT_MAX_CELLS,
    Program,
    _check_net,
    _const,
    exact_copy,
    expression_cells,
    network_cells,
)
from tinylens.circuits.exact.polytope import Point, Polytope, box_polytope
from tinylens.circuits.expr import Domain, evaluate
from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError

__all__ = ["BoxComparison", "compare_on_box"]


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
