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
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.domain import Domain, parse_domain
from tinylens.circuits.exact import exact_net, fmt
from tinylens.circuits.expr import Expr
from tinylens.circuits.interpret import interpret
from tinylens.circuits.parse import parse
from tinylens.circuits.verify import Verification, verify
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError

__all__ = [
    "IsEvenBound",
    "SkipNet",
    "WidthSearch",
    "folding_net",
    "is_even_bound",
    "lap_count",
    "minimal_width",
    "size_table",
    "zigzag_net",
]

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
        from tinylens.circuits.exact import net_to_strings

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


# -- the is_even family ------------------------------------------------------------------------


def lap_count(values: Sequence[Fraction]) -> int:
    """Laps a continuous piecewise-linear interpolant of ``values`` (at consecutive points)
    must have at least: 1 + the number of strict direction changes of the sequence (0 for a
    single point). For alternating values on N points it is N - 1."""
    steps = [b - a for a, b in itertools.pairwise(values) if b != a]
    if not steps:
        return 1 if len(values) > 1 else 0
    changes = sum(1 for s, t in itertools.pairwise(steps) if (s > 0) != (t > 0))
    return 1 + changes


@dataclass(frozen=True)
class SkipNet:
    """A ReLU network with skip connections: unit ``j`` reads the inputs and every earlier
    unit, the output reads the inputs and every unit (exact weights).

    ``units``: ``[(weights over inputs + earlier units, bias), ...]``; ``output``:
    ``(weights over inputs + all units, bias)``. ``neurons`` = ``len(units)``.
    """

    units: tuple[tuple[tuple[Fraction, ...], Fraction], ...]
    output: tuple[tuple[Fraction, ...], Fraction]
    n_inputs: int = 1

    @property
    def neurons(self) -> int:
        return len(self.units)

    def __call__(self, *x: Fraction) -> Fraction:
        vals = [Fraction(v) for v in x]
        for w, b in self.units:
            z = sum((wi * vi for wi, vi in zip(w, vals, strict=True)), b)
            vals.append(z if z > 0 else Fraction(0))
        w, b = self.output
        return sum((wi * vi for wi, vi in zip(w, vals, strict=True)), b)


def folding_net(n: int) -> SkipNet:
    """is_even on ``0 .. 2**n - 1`` with ``n`` ReLU units and skip connections (none for
    ``n = 1``: ``1 - x``): folds ``y <- |y - 2**(n - j)| = 2 relu(y - 2**(n - j)) - y +
    2**(n - j)``, ``j = 1..n``, starting from ``y = x``.

    >>> net = folding_net(3)
    >>> net.neurons, [int(net(x)) for x in range(8)]
    (3, [1, 0, 1, 0, 1, 0, 1, 0])
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if n == 1:  # is_even on {0, 1} is the affine 1 - x: no unit at all
        return SkipNet((), ((Fraction(-1),), Fraction(1)))
    units = []
    # y_j = sum over the folds so far, as weights over (x, u_1, ..., u_{j-1}) and a constant
    y_w: list[Fraction] = [Fraction(1)]
    y_c = Fraction(0)
    for j in range(1, n + 1):
        c = Fraction(2 ** (n - j))
        units.append((tuple(y_w), y_c - c))  # u_j = relu(y - c)
        # y <- 2 u_j - y + c
        y_w = [-w for w in y_w] + [Fraction(2)]
        y_c = -y_c + c
    return SkipNet(tuple(units), (tuple(y_w), y_c))


def zigzag_net(n: int) -> AffineNet:
    """is_even on ``0 .. 2**n - 1`` with one hidden layer of ``2**n - 1`` units: the
    interpolant ``1 - relu(x) + sum_j 2 (-1)**(j + 1) relu(x - j)`` with kinks at
    ``1 .. 2**n - 2`` (``relu(x) = x`` on the domain carries the linear part; a network
    without skip connections has no other way to it). Exact weights."""
    N = 2**n
    if N < 4:
        raise ConfigError("the zigzag needs n >= 2 (is_even on 0..1 is the affine 1 - x)")
    ks = list(range(1, N - 1))
    W = [[1]] + [[1] for _ in ks]
    b = [0] + [-j for j in ks]
    out = [[-1] + [2 * (-1) ** (j + 1) for j in ks]]
    return exact_net([(W, b, "relu"), (out, [1], "identity")], ["x"])


@dataclass(frozen=True)
class IsEvenBound:
    """What :func:`is_even_bound` establishes for one ``n`` (see the module docstring).

    Attributes
    ----------
    n : int
    laps : int
        Laps (monotone pieces) any continuous interpolant needs: ``2**n - 1``.
    lower_bound : int
        Fewest ReLU units of any ReLU network (``ceil(log2(laps))``; linear output).
    lower_bound_one_layer : int
        Fewest units in one hidden layer (``laps - 1``).
    skip_units : int
        Units of :func:`folding_net` (verified on every point): equals ``lower_bound``.
    layered_units : int
        Units of the compiled layered network (``is_even(x, bits=n)``), verified.
    one_layer_units : int
        Units of :func:`zigzag_net`, verified.
    milp : WidthSearch or None
        HiGHS's search for one hidden layer with fewer than ``n`` units (when asked).
    """

    n: int
    laps: int
    lower_bound: int
    lower_bound_one_layer: int
    skip_units: int
    layered_units: int
    one_layer_units: int
    milp: WidthSearch | None = None
    proof: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "points": 2**self.n,
            "laps": self.laps,
            "lower_bound_any_relu_net": self.lower_bound,
            "lower_bound_one_hidden_layer": self.lower_bound_one_layer,
            "skip_connections_units": self.skip_units,
            "layered_compiled_units": self.layered_units,
            "one_hidden_layer_units": self.one_layer_units,
            "milp": None if self.milp is None else self.milp.to_dict(),
            "proof": list(self.proof),
        }


def is_even_bound(n: int, *, milp: bool = False, time_limit: float = 20.0) -> IsEvenBound:
    """The lower bound and the constructions for is_even on ``0 .. 2**n - 1``; every
    construction is verified on every point, exactly.

    Parameters
    ----------
    n : int
        1 to 6.
    milp : bool
        Also ask HiGHS for a one-hidden-layer network with fewer than ``n`` units
        (:func:`minimal_width` up to width ``n - 1``): the computer's check of the bound in
        that class (infeasible at every width, within the weight bound).
    """
    from tinylens.circuits.compiler import compile_expression

    if not 1 <= n <= 6:
        raise ConfigError(f"n must be between 1 and 6, got {n}")
    N = 2**n
    values = [Fraction(1 - x % 2) for x in range(N)]
    laps = lap_count(values)
    lower = 0 if laps <= 1 else math.ceil(math.log2(laps))
    skip = folding_net(n)
    for x in range(N):  # exhaustive, exact
        if skip(Fraction(x)) != values[x]:
            raise AssertionError(f"folding net wrong at {x}")  # pragma: no cover
    domain = parse_domain(f"x=0..{N - 1}")
    expr = parse(f"is_even(x, bits={n})")
    layered = compile_expression(expr, domain=domain, verify=True)
    if not layered.verification or not layered.verification.verified:  # pragma: no cover
        raise AssertionError("compiled is_even failed verification")
    if n >= 2:
        zig = zigzag_net(n)
        if not verify(zig, expr, domain).verified:  # pragma: no cover
            raise AssertionError("zigzag net failed verification")
        one_layer = zig.layers[0].out_features
    else:
        one_layer = 0
    search = None
    if milp:  # one hidden layer with fewer than n units (width 0: an affine map)
        search = minimal_width(expr, domain, max_width=max(n - 1, 0), time_limit=time_limit)
    proof = (
        f"laps: the values 1, 0, 1, ... at the {N} points alternate {laps - 1 if laps else 0} "
        f"times, so any continuous piecewise-linear interpolant has >= {laps} monotone pieces, "
        f"hence >= {laps} linear pieces",
        "pieces: a ReLU network of one input with k units (any depth, skip connections "
        "allowed) has <= 2**k linear pieces; one hidden layer of width h has <= h + 1",
        f"so k >= ceil(log2({laps})) = {lower} units, and one hidden layer needs >= "
        f"{max(laps - 1, 0)}",
        f"constructions (verified on all {N} points): {skip.neurons} units with skip "
        f"connections (folds), {layered.neurons} layered (compiled), {one_layer} in one hidden "
        "layer (zigzag)",
    )
    return IsEvenBound(
        n, laps, lower, max(laps - 1, 0), skip.neurons, layered.neurons, one_layer, search, proof
    )


# -- the table ------------------------------------------------------------------------------------

TABLE_ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("x", "x=-1:1", "identity"),
    ("abs(x)", "x=-1:1", "abs"),
    ("relu(x)", "x=-1:1", "positive_detector"),
    ("min(x, 0)", "x=-1:1", "negative_reconstructor"),
    ("x1 + x2", "x1=-1:1,x2=-1:1", "add"),
    ("x1 - x2", "x1=-1:1,x2=-1:1", "subtract"),
    ("relu(x1 - x2)", "x1=-1:1,x2=-1:1", "greater_detector"),
    ("min(x1, x2)", "x1=-1:1,x2=-1:1", "min"),
    ("max(x1, x2)", "x1=-1:1,x2=-1:1", "max"),
    ("x < 10", "x=0..19", "less_than_step"),
    ("is_even(x, bits=2)", "x=0..3", None),
    ("is_even(x, bits=3)", "x=0..7", None),
    ("is_even(x, bits=4)", "x=0..15", "is_even"),
)
"""The functions of the size table: expression, domain, library entry (hand-derived)."""

SOSIER = "sosier/Mathematical_Circuits_in_Neural_Nets"

HAND_SOURCES: dict[str, str] = {
    "x": f"{SOSIER}: identity circuit relu(x) - relu(-x)",
    "abs(x)": f"tinylens: relu(x) + relu(-x), the two detectors of {SOSIER} summed",
    "relu(x)": f"{SOSIER}: positiveness detector",
    "min(x, 0)": f"tinylens's reading of {SOSIER}'s negativeness detector: -relu(-x)",
    "x1 + x2": "tinylens: relu(x1 + x2) - relu(-x1 - x2) (our construction)",
    "x1 - x2": f"{SOSIER}: subtraction circuit",
    "relu(x1 - x2)": f"{SOSIER}: greaterness detector",
    "min(x1, x2)": f"{SOSIER}: minimum network x1 - relu(x1 - x2), x1 through an identity pair",
    "max(x1, x2)": f"tinylens: the minimum network of {SOSIER} mirrored (our construction)",
    "x < 10": "tinylens's exact ReLU step relu(10 - x) - relu(9 - x) (our construction); the "
    'article "A gentle introduction to mechanistic interpretability through simple '
    'algorithmic examples" used one sigmoid unit, which only approximates the step',
    "is_even(x, bits=4)": "the parity network our sources call 'is_even' (it computes x mod 2), "
    "its last layer changed by tinylens to give 1 for even x",
}
"""What each hand-derived row of the size table is, and whose it is."""

SLOW = {"is_even(x, bits=3)": 90.0, "is_even(x, bits=4)": 600.0}
"""Rows whose MILP takes long (seconds, roughly, on a laptop core): skipped unless asked."""


def size_table(*, slow: bool = False, time_limit: float = 20.0) -> list[dict[str, Any]]:
    """Hand-derived, compiled and smallest one-hidden-layer sizes of small functions, and for
    is_even the bounds of :func:`is_even_bound` (every network verified exactly).

    ``slow``: also run the MILP for the rows in :data:`SLOW` (is_even on 8 and 16 points).
    """
    from tinylens.circuits.compiler import compile_expression
    from tinylens.circuits.library import get_circuit

    rows = []
    for source, dom, name in TABLE_ROWS:
        expr = parse(source)
        domain = parse_domain(dom, names=expr.sorted_variables())
        compiled = compile_expression(expr, domain=domain, verify=True)
        hand = get_circuit(name) if name else None
        row: dict[str, Any] = {
            "expression": source,
            "domain": str(domain),
            "hand_derived": None if hand is None else hand.neurons,
            "hand_sizes": None if hand is None else hand.net.sizes,
            "hand_source": HAND_SOURCES.get(source) if hand is not None else None,
            "compiled": compiled.neurons,
            "compiled_sizes": compiled.sizes,
            "compiled_verified": bool(compiled.verification and compiled.verification.verified),
        }
        bits = _is_even_bits(expr)
        if bits is not None:
            bound = is_even_bound(bits)
            row["lower_bound_any_depth"] = bound.lower_bound
            row["skip_connections"] = bound.skip_units
            row["one_layer_lower_bound"] = bound.lower_bound_one_layer
            row["one_layer_construction"] = bound.one_layer_units
        if source in SLOW and not slow:
            row["one_layer_minimal"] = None
            row["one_layer_note"] = (
                f"{row['one_layer_lower_bound']} <= width <= {row['one_layer_construction']} "
                "(pieces bound; zigzag); the MILP runs with --slow"
            )
        else:
            r = minimal_width(expr, domain, max_width=16, time_limit=time_limit)
            row["one_layer_minimal"] = r.width
            row["one_layer_proven"] = r.proven_minimal
            row["one_layer_note"] = (
                f"verified; widths {', '.join(map(str, r.infeasible)) or '-'} infeasible"
                + (f", {', '.join(map(str, r.unknown))} unknown" if r.unknown else "")
            )
        rows.append(row)
    return rows


def _is_even_bits(expr: Expr) -> int | None:
    """``n`` when ``expr`` is ``is_even(x, bits=n)`` or ``is_odd(x, bits=n)`` of a variable."""
    from tinylens.circuits.expr import Call, Var

    if (
        isinstance(expr, Call)
        and expr.name in ("is_even", "is_odd")
        and isinstance(expr.args[0], Var)
    ):
        return expr.keyword("bits")
    return None
