"""Smallest networks: one-hidden-layer widths by MILP, and the is_even lower bound.

:func:`minimal_width` finds the smallest one-hidden-layer ReLU network (``d -> h -> 1``,
biases, linear output) that computes an expression *exactly* on its domain:

* for each width ``h = 0, 1, ...`` a mixed-integer linear program (``scipy.optimize.milp``,
  HiGHS) asks for weights that fit every point of the domain (an integer domain) or of a
  finite set of points of the box (a real domain). ReLUs are encoded with big-M constraints
  and one binary per unit and point; positive rescaling lets every output weight be ``+1`` or
  ``-1`` (``v relu(z) = sign(v) relu(|v| z)``), which makes the program linear; the number of
  ``+1`` units is enumerated and units of the same sign are ordered by bias (symmetry);
* a solution is turned into rationals and **verified exactly** (:func:`~tinylens.circuits.
  verify.verify`: every integer point, or the exact linear pieces of the real box). On a real
  box a failed check returns a counterexample point, which joins the program's points
  (counterexample-guided refinement) until the network is verified or the program becomes
  infeasible;
* ``h = 0`` is an affine map (no hidden layer), decided by exact linear algebra.

What the result proves. A verified network is a proof that width ``h`` suffices. "Infeasible"
at a width is HiGHS's answer, in floating point (its default tolerances): not an exact
certificate, and only within the weight bound ``bound`` on ``|v_j| * |w_ji|`` (incoming weight
times the size of the outgoing weight, which is invariant under rescaling; biases are bounded
by what can matter on the domain, so that bound loses nothing). Infeasible on a finite set of
points implies infeasible on the box. Widths where HiGHS hit its time limit are reported as
unknown.

The is_even family (:func:`is_even_bound`): is_even on ``N = 2**n`` consecutive integers needs
at least ``n`` ReLU units in *any* ReLU network, for ``n >= 2`` (any depth and widths, skip
connections allowed, real weights; every ReLU counted, a ReLU output included). Proof:

1. **Laps.** A continuous piecewise-linear ``f`` with ``f(0) < f(1) > f(2) < ...``
   (alternating values at ``N`` points) has at least ``N - 1`` maximal monotone pieces
   ("laps"): for each step ``i`` some lap of the step's direction meets ``(i, i + 1)`` in an
   interval; one lap serving two steps ``i < j`` would be monotone on ``[i + 1, j]``, which
   contains the step ``i + 1`` of the opposite direction. So it has ``>= N - 1`` linear
   pieces.
2. **Pieces.** A ReLU network of one input with ``k`` units has at most ``2**k`` linear
   pieces: take the units in an order compatible with the wiring; on each piece of the
   function computed so far the next unit's input is affine, so the unit adds at most one
   breakpoint per piece, doubling the count at most; the output is affine in the units.
3. So ``2**k >= 2**n - 1``, i.e. ``k >= n`` when ``n >= 2``. (For ``n = 1``, ``1 - x`` needs
   no unit with a linear output; with a ReLU output, as in the sources, one.)

The bound is tight with skip connections: ``n`` folds ``y <- |y - 2**(n - j)|`` (``j = 1..n``)
map ``x`` to ``is_even(x)`` and each costs one unit, ``|y - c| = 2 relu(y - c) - (y - c)``,
the linear part riding the skip connection (:func:`folding_net`, verified exactly). Without
skip connections the compiler needs ``2 n`` (a carry costs a unit). With one hidden layer
``2**n - 2`` units are necessary (``width + 1`` pieces) and ``2**n - 1`` suffice (the zigzag
interpolant, :func:`zigzag_net`); :func:`minimal_width` settles the gap for small ``n``.

>>> r = minimal_width("min(x1, x2)", "x1=-1:1,x2=-1:1", max_width=3)
>>> r.width, r.infeasible, r.verification.verified  # 2 units with biases; the sources use 3
(2, (0, 1), True)
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.exact import Verification, verify
from tinylens.circuits.expr import Domain, Expr, exact_net, fmt, interpret, parse, parse_domain
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError

__all__ = ["WidthSearch", "minimal_width"]

DEFAULT_BOUND = 8
"""Default bound on ``|v_j| * |w_ji|`` (rescaling-invariant size of a unit's weights)."""


@dataclass(frozen=True)
class WidthSearch:
    """The result of :func:`minimal_width`.

    Attributes
    ----------
    expression : str
    domain : Domain
    width : int or None
        The smallest width with a verified network (None: none up to ``max_width``).
    net : AffineNet or None
        That network, exact weights (a ``[d, 1]`` affine map for width 0).
    verification : Verification or None
        Its exact verification on the whole domain.
    infeasible : tuple of int
        Smaller widths HiGHS found infeasible (within ``bound``; see the module docstring).
    unknown : tuple of int
        Widths where HiGHS stopped at the time limit.
    points : int
        Points of the domain in the last program (all of them on an integer domain).
    bound : Fraction
    rounds : int
        Counterexample rounds on a real box.
    seconds : float
    """

    expression: str
    domain: Domain
    width: int | None
    net: AffineNet | None
    verification: Verification | None
    infeasible: tuple[int, ...]
    unknown: tuple[int, ...]
    points: int
    bound: Fraction
    rounds: int = 0
    seconds: float = 0.0

    @property
    def proven_minimal(self) -> bool:
        """Every smaller width was reported infeasible (none unknown)."""
        return self.width is not None and set(self.infeasible) == set(range(self.width))

    def to_dict(self) -> dict[str, Any]:
        from tinylens.circuits.expr import net_to_strings

        return {
            "expression": self.expression,
            "domain": str(self.domain),
            "width": self.width,
            "verified": None if self.verification is None else self.verification.verified,
            "infeasible_widths": list(self.infeasible),
            "unknown_widths": list(self.unknown),
            "minimal_within_bound": self.proven_minimal,
            "bound": fmt(self.bound),
            "points": self.points,
            "rounds": self.rounds,
            "seconds": self.seconds,
            "layers": None if self.net is None else net_to_strings(self.net),
        }


def _points_of(domain: Domain, names: Sequence[str], per_axis: int) -> np.ndarray:
    """All points of an integer domain; a ``per_axis`` grid of a real one (integer ranges
    enumerated), as Fractions of shape (n, d)."""
    axes = []
    for n in names:
        iv = domain[n]
        if iv.integer:
            axes.append([Fraction(v) for v in iv.values()])
        else:
            axes.append(
                [iv.lo + (iv.hi - iv.lo) * Fraction(i, per_axis - 1) for i in range(per_axis)]
            )
    return np.array(list(itertools.product(*axes)), dtype=object).reshape(-1, len(names))


def _targets(expr: Expr, names: Sequence[str], X: np.ndarray) -> np.ndarray:
    env = {n: X[:, i] for i, n in enumerate(names)}
    out = np.asarray(interpret(expr, env), dtype=object)
    return np.broadcast_to(out, (len(X),)).copy()


def _solve_affine(X: np.ndarray, y: np.ndarray) -> list[Fraction] | None:
    """Exact ``w, c`` with ``X w + c = y`` at every row, or None (Gaussian elimination)."""
    rows = [
        [Fraction(v) for v in r] + [Fraction(1), Fraction(t)] for r, t in zip(X, y, strict=True)
    ]
    n = len(rows[0]) - 1
    r = 0
    pivots = []
    for c in range(n):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        piv = rows[r][c]
        rows[r] = [v / piv for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
        r += 1
    if any(all(v == 0 for v in row[:n]) and row[n] != 0 for row in rows):
        return None
    sol = [Fraction(0)] * n
    for i, c in enumerate(pivots):
        sol[c] = rows[i][n]
    return sol


def _milp(
    X: np.ndarray, y: np.ndarray, h: int, k_pos: int, bound: float, time_limit: float
) -> tuple[str, np.ndarray | None]:
    """One program: width ``h`` with ``k_pos`` output weights +1. Returns (status, x)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    P, d = X.shape
    reach = np.abs(X).max(axis=0).sum() if P else 0.0
    bias_bound = bound * max(reach, 1.0)
    M = bound * reach + bias_bound
    y_span = float(np.abs(y).max()) if P else 0.0
    c_bound = y_span + 2 * h * M + 1
    # variable layout: W (h*d), b (h), c, a (h*P), delta (h*P)
    nW, nb = h * d, h
    ia = nW + nb + 1
    idl = ia + h * P
    n = idl + h * P
    lo = np.zeros(n)
    hi = np.zeros(n)
    lo[:nW], hi[:nW] = -bound, bound
    lo[nW : nW + nb], hi[nW : nW + nb] = -bias_bound, bias_bound
    lo[nW + nb], hi[nW + nb] = -c_bound, c_bound
    lo[ia:idl], hi[ia:idl] = 0, M
    lo[idl:], hi[idl:] = 0, 1
    integrality = np.zeros(n)
    integrality[idl:] = 1
    rows, lbs, ubs = [], [], []

    def row() -> np.ndarray:
        return np.zeros(n)

    for j in range(h):
        for p in range(P):
            aj = ia + j * P + p
            dj = idl + j * P + p
            z = row()
            z[j * d : (j + 1) * d] = X[p]
            z[nW + j] = 1.0
            r1 = z.copy()  # z - a <= 0
            r1[aj] -= 1.0
            rows.append(r1)
            lbs.append(-np.inf)
            ubs.append(0.0)
            r2 = -z  # a - z + M delta <= M
            r2[aj] += 1.0
            r2[dj] += M
            rows.append(r2)
            lbs.append(-np.inf)
            ubs.append(M)
            r3 = row()  # a - M delta <= 0
            r3[aj] = 1.0
            r3[dj] = -M
            rows.append(r3)
            lbs.append(-np.inf)
            ubs.append(0.0)
    for p in range(P):
        r = row()
        for j in range(h):
            r[ia + j * P + p] = 1.0 if j < k_pos else -1.0
        r[nW + nb] = 1.0
        rows.append(r)
        lbs.append(float(y[p]))
        ubs.append(float(y[p]))
    for group in (range(k_pos), range(k_pos, h)):  # symmetry: same-sign units by bias
        g = list(group)
        for j1, j2 in itertools.pairwise(g):
            r = row()
            r[nW + j1], r[nW + j2] = 1.0, -1.0
            rows.append(r)
            lbs.append(-np.inf)
            ubs.append(0.0)
    cons = LinearConstraint(np.array(rows), np.array(lbs), np.array(ubs)) if rows else None
    res = milp(
        np.zeros(n),
        integrality=integrality,
        bounds=Bounds(lo, hi),
        constraints=cons,
        options={"time_limit": time_limit},
    )
    if res.status == 0 and res.x is not None:
        return "feasible", res.x
    if res.status == 2:
        return "infeasible", None
    return "unknown", None


def _rational_net(
    x: np.ndarray, h: int, d: int, k_pos: int, names: Sequence[str], den: int
) -> AffineNet:
    def q(v: float) -> Fraction:
        return Fraction(float(v)).limit_denominator(den)

    W = [[q(x[j * d + i]) for i in range(d)] for j in range(h)]
    b = [q(x[h * d + j]) for j in range(h)]
    c = q(x[h * d + h])
    out = [[Fraction(1 if j < k_pos else -1) for j in range(h)]]
    return exact_net([(W, b, "relu"), (out, [c], "identity")], list(names))


def minimal_width(
    expression: str | Expr,
    domain: str | Domain,
    *,
    max_width: int = 8,
    bound: float = DEFAULT_BOUND,
    time_limit: float = 20.0,
    per_axis: int = 5,
    max_rounds: int = 40,
) -> WidthSearch:
    """The smallest one-hidden-layer ReLU network computing ``expression`` exactly on
    ``domain`` (see the module docstring for the method and what it proves).

    Parameters
    ----------
    expression : str or Expr
    domain : str or Domain
        Integer ranges (every point is used) or real intervals (a grid of ``per_axis`` points
        per axis to start, then counterexamples).
    max_width : int
    bound : float
        Bound on ``|v_j| * |w_ji|``.
    time_limit : float
        Seconds per program (HiGHS); widths that hit it are "unknown".
    """
    t0 = time.perf_counter()
    expr = parse(expression) if isinstance(expression, str) else expression
    names = expr.sorted_variables()
    if isinstance(domain, str):
        domain = parse_domain(domain, names=names)
    domain = domain.restrict(names)
    if not names:
        raise ConfigError(f"{expr} has no variables; there is nothing to search")
    # NOTE: count before enumerating: x=-10^9..10^9 would build 2*10^9 Fractions first.
    count = math.prod(len(domain[n].values()) if domain[n].integer else per_axis for n in names)
    if count > 4096:
        raise ConfigError(
            f"the domain gives {count:,} points; the MILP is for small domains (<= 4096 points)"
        )
    X = _points_of(domain, names, per_axis)
    y = _targets(expr, names, X)
    infeasible: list[int] = []
    unknown: list[int] = []
    rounds = 0
    d = len(names)
    # width 0: an affine map, exactly
    w0 = _solve_affine(X, y)
    if w0 is not None:
        net = exact_net([([w0[:d]], [w0[d]], "identity")], names)
        v = verify(net, expr, domain)
        if v.verified:
            return WidthSearch(
                str(expr),
                domain,
                0,
                net,
                v,
                (),
                (),
                len(X),
                Fraction(bound),
                0,
                time.perf_counter() - t0,
            )
    infeasible.append(0)
    for h in range(1, max_width + 1):
        found: tuple[AffineNet, Verification] | None = None
        status_h = "infeasible"
        for k_pos in range(h + 1):
            while True:
                Xf = np.array(X, dtype=np.float64)
                yf = np.array(y, dtype=np.float64)
                status, sol = _milp(Xf, yf, h, k_pos, float(bound), time_limit)
                if status != "feasible":
                    if status == "unknown":
                        status_h = "unknown"
                    break
                verdict = None
                for den in (1, 2, 3, 4, 6, 12, 100, 1000, 10**4, 10**6):
                    cand = _rational_net(sol, h, d, k_pos, names, den)
                    verdict = verify(cand, expr, domain)
                    if verdict.verified:
                        found = (cand, verdict)
                        break
                if found is not None or verdict is None or verdict.counterexample is None:
                    break
                if domain.is_integer or rounds >= max_rounds:
                    status_h = "unknown"  # a float solution that rationals do not reproduce
                    break
                rounds += 1  # a real box: learn the counterexample and solve again
                point = [verdict.counterexample[n] for n in names]
                X = np.vstack([X, np.array([point], dtype=object)])
                y = np.append(y, _targets(expr, names, X[-1:]))
            if found is not None:
                break
        if found is not None:
            return WidthSearch(
                str(expr),
                domain,
                h,
                found[0],
                found[1],
                tuple(infeasible),
                tuple(unknown),
                len(X),
                Fraction(bound),
                rounds,
                time.perf_counter() - t0,
            )
        (unknown if status_h == "unknown" else infeasible).append(h)
    return WidthSearch(
        str(expr),
        domain,
        None,
        None,
        None,
        tuple(infeasible),
        tuple(unknown),
        len(X),
        Fraction(bound),
        rounds,
        time.perf_counter() - t0,
    )
