"""is_even on ``2**n`` consecutive integers: the lower bound for any ReLU network, and the
constructions that meet it (skip connections), the layered one and the one-hidden-layer zigzag
(the argument is in the docstring of ``search.py``, the module it was split from)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tinylens.circuits.exact import verify
from tinylens.circuits.expr import exact_net, parse, parse_domain
from tinylens.circuits.minimal.search import WidthSearch, minimal_width
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError

__all__ = ["IsEvenBound", "SkipNet", "folding_net", "is_even_bound", "lap_count", "zigzag_net"]


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
    """What :func:`is_even_bound` establishes for one ``n`` (the argument: the docstring of
    :mod:`tinylens.circuits.minimal.search`).

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
    from tinylens.circuits.compile import compile_expression

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
