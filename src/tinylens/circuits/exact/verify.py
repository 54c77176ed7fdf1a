"""Exact verification: does a network compute its reference function on the whole domain?

* On an **integer domain** (every input an integer range) the check is exhaustive: every point
  of the product of the ranges, the network evaluated in exact rational arithmetic, compared
  with the reference (the interpreter of an expression, or a plain-Python function) also in
  exact arithmetic. ``verified`` is a proof, and ``max_error`` the exact largest deviation.
* On a **real box** no finite set of samples proves anything. :func:`verify_real_box`
  computes the cells on which both the network and the expression are affine, exactly
  (:mod:`tinylens.circuits.exact.piecewise`), and compares the two affine maps on each: ``verified``
  is again a proof and ``max_error`` exact. Integer inputs of a mixed domain are enumerated.

>>> from tinylens.circuits.compile import compile_expression
>>> c = compile_expression("x < 10", domain="x=0..19")
>>> v = verify(c.net, c.expr, c.domain)
>>> v.verified, v.max_error, v.points
(True, Fraction(0, 1), 20)
>>> c = compile_expression("max(x1, x2, x3)", domain="x1=-1:1,x2=-1:1,x3=-1:1")
>>> v = verify(c.net, c.expr, c.domain)
>>> v.verified, v.max_error, v.method
(True, Fraction(0, 1), 'exact regions')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.exact.piecewise import DEFAULT_MAX_CELLS, compare_on_box
from tinylens.circuits.expr import Domain, Expr, fmt, interpret
from tinylens.engine import AffineLayer, AffineNet
from tinylens.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_POINTS",
    "MAX_BOX_WORK",
    "Reference",
    "Verification",
    "check_box_work",
    "exact_outputs",
    "verify",
    "verify_real_box",
]

DEFAULT_MAX_POINTS = 1_000_000
_CHUNK = 32_768

MAX_BOX_WORK = 4096
"""Most ``2**d x units`` (the vertices of a ``d``-dimensional box times the network's ReLU
units: what splitting one linear piece costs) :func:`verify_real_box` starts (issue 17). At
4,096, max(x1, ..., x8) (2**8 x 15 units) took about a minute on a loaded laptop core; the
time grew about threefold per real input, so max(x1, ..., x12) would run for hours. Our own
bound; ``max_work`` (``circuits compile --max-work``) raises it."""

Reference = Expr | Callable[..., Any]
"""An expression, or a plain-Python function of the inputs (positional, exact numbers) that
returns a number or a tuple of numbers (one per output)."""


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    verified : bool or None
        True: the network equals the reference (within ``tolerance``) at every point of the
        domain, proven. False: it does not (see ``counterexample``). None: not checked (no
        exact method for this domain yet; ``message`` says why).
    max_error : Fraction or None
        The exact largest ``|network - reference|`` over the domain.
    counterexample : dict or None
        The inputs where the error is largest, when it exceeds the tolerance.
    points : int
        How many points were checked (integer domains).
    method : str
        ``"exhaustive"`` (integer domains), ``"exact regions"`` (real boxes) or
        ``"unavailable"``.
    message : str
    cells : int
        How many linear pieces were compared (real boxes).
    """

    verified: bool | None
    max_error: Fraction | None
    counterexample: dict[str, Fraction] | None
    points: int
    method: str
    message: str = ""
    cells: int = 0

    def __repr__(self) -> str:
        err = "-" if self.max_error is None else fmt(self.max_error)
        if len(err) > 24:
            err = f"{float(self.max_error):.3g}"  # type: ignore[arg-type]
        where = f"{self.points:,} points" if self.points else f"{self.cells:,} pieces"
        return f"Verification(verified={self.verified}, max_error={err}, {self.method}, {where})"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{k}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.to_dict().items()
        )
        return f"<div><b>Verification</b><table>{rows}</table></div>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "max_error": None if self.max_error is None else fmt(self.max_error),
            "max_error_float": None if self.max_error is None else float(self.max_error),
            "counterexample": None
            if self.counterexample is None
            else {k: fmt(v) for k, v in self.counterexample.items()},
            "points": self.points,
            "cells": self.cells,
            "method": self.method,
            "message": self.message,
        }


def _fast_exact(net: AffineNet) -> AffineNet:
    """The same exact network with integral weights as Python ints (several times faster)."""

    def conv(a: np.ndarray) -> np.ndarray:
        out = np.empty(a.shape, dtype=object)
        flat = out.reshape(-1)
        for i, v in enumerate(a.reshape(-1)):
            q = Fraction(v)
            flat[i] = q.numerator if q.denominator == 1 else q
        return out

    layers = tuple(AffineLayer(conv(la.weight), conv(la.bias), la.activation) for la in net.layers)
    return AffineNet(layers, net.input_names)


def exact_outputs(net: AffineNet, X: np.ndarray) -> np.ndarray:
    """The network's outputs at integer/rational points ``X`` of shape (n, n_inputs), exactly.

    Returns an object array of shape (n, n_outputs). Needs exact (rational) weights and only
    relu / identity activations.
    """
    if not net.is_exact:
        raise ConfigError(
            "exact evaluation needs exact (Fraction) weights; this network has floats"
        )
    bad = [a for a in net.activations if a not in ("relu", "identity")]
    if bad:
        raise ConfigError(
            f"exact evaluation supports relu and identity layers, not {bad[0]}; this network "
            "can only be evaluated approximately"
        )
    return _fast_exact(net).forward(np.asarray(X, dtype=object))


def _reference_fn(
    reference: Reference, names: tuple[str, ...]
) -> Callable[[np.ndarray], np.ndarray]:
    """Map a point array (n, n_inputs) of exact numbers to an (n, n_out) object array."""
    if isinstance(reference, Expr):

        def run_expr(X: np.ndarray) -> np.ndarray:
            env = {n: X[:, i] for i, n in enumerate(names)}
            out = np.asarray(interpret(reference, env), dtype=object)
            return np.broadcast_to(out, (X.shape[0],)).reshape(-1, 1)

        return run_expr
    if callable(reference):

        def run_fn(X: np.ndarray) -> np.ndarray:
            rows = []
            for point in X:
                value = reference(*point)
                rows.append(value if isinstance(value, tuple) else (value,))
            return np.array(rows, dtype=object).reshape(X.shape[0], -1)

        return run_fn
    raise ConfigError(
        f"a reference must be an expression or a function, not {type(reference).__name__}"
    )


def verify(
    net: AffineNet,
    reference: Reference,
    domain: Domain,
    *,
    tolerance: Fraction | int = 0,
    max_points: int = DEFAULT_MAX_POINTS,
    max_work: int = MAX_BOX_WORK,
) -> Verification:
    """Check ``net`` against ``reference`` on every point of ``domain``, exactly.

    Parameters
    ----------
    net : AffineNet
        Exact (Fraction) weights, relu / identity layers; inputs named as in ``domain``.
    reference : Expr or callable
    domain : Domain
        Must give a range for every input of ``net`` (by name).
    tolerance : Fraction
        Largest error still counted as equal (0: exact equality).
    max_points : int
        An integer domain with more points raises :class:`~tinylens.errors.ConfigError`.
    max_work : int
        A real box whose ``2**d x units`` exceeds it raises ConfigError before any work
        (:data:`MAX_BOX_WORK`).
    """
    names = tuple(net.names)
    domain = domain.restrict(names)
    if not domain.is_integer:
        return verify_real_box(
            net,
            reference,
            domain,
            tolerance=Fraction(tolerance),
            max_points=max_points,
            max_work=max_work,
        )
    n = domain.n_points or 0
    if n > max_points:
        raise ConfigError(
            f"the domain {domain} has {n:,} points; exhaustive verification stops at "
            f"{max_points:,}: narrow the ranges"
        )
    fast = _fast_exact(net) if net.is_exact else None
    if fast is None:
        exact_outputs(net, np.zeros((1, len(names))))  # raises the right error
    ref = _reference_fn(reference, names)
    grid = domain.grid(names)
    worst = Fraction(-1)
    worst_point: tuple[int, ...] | None = None
    for start in range(0, len(grid), _CHUNK):
        X = grid[start : start + _CHUNK].astype(object)
        got = fast.forward(X)  # type: ignore[union-attr]
        want = ref(X)
        if want.shape != got.shape:
            raise ConfigError(
                f"the reference gives {want.shape[1]} outputs; the network has {got.shape[1]}"
            )
        err = np.abs(got - want).max(axis=1)
        k = int(np.argmax(err))  # object arrays compare exactly
        if Fraction(err[k]) > worst:
            worst, worst_point = Fraction(err[k]), tuple(int(v) for v in X[k])
    tol = Fraction(tolerance)
    ok = worst <= tol
    counter = None
    if not ok and worst_point is not None:
        counter = {name: Fraction(v) for name, v in zip(names, worst_point, strict=True)}
    where = (
        ""
        if ok
        else f"; largest error {fmt(worst)} at "
        + ", ".join(f"{k}={fmt(v)}" for k, v in (counter or {}).items())
    )
    return Verification(
        ok,
        worst,
        counter,
        n,
        "exhaustive",
        f"{'verified' if ok else 'FAILED'}: checked all {n:,} points of {domain} exactly{where}",
    )


def verify_real_box(
    net: AffineNet,
    reference: Reference,
    domain: Domain,
    *,
    tolerance: Fraction | int = 0,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_points: int = DEFAULT_MAX_POINTS,
    max_work: int = MAX_BOX_WORK,
) -> Verification:
    """Exact verification on a box with real (or mixed real / integer) ranges.

    The network and the expression are both piecewise affine on the box. Their common cells
    are computed exactly (:mod:`tinylens.circuits.exact.piecewise`: rational vertices, no float, no
    tolerance); on each cell the difference is one affine map, zero iff its coefficients are,
    and largest at a vertex. So ``max_error`` is the exact maximum of ``|net - reference|``
    over the box and ``verified`` is a proof. Integer inputs of a mixed domain are enumerated.
    Float weights are read exactly (the value of each float), so a trained network is checked
    as the function its float weights define in real arithmetic.

    A plain-Python reference cannot be checked on a real box (its kinks are invisible): the
    answer is ``verified=None``. Comparisons and ``where`` on real arguments jump on their
    switching sets; the check then covers every open cell, and when it finds no error says so
    with ``verified=None`` (a failure is still a proof: its counterexample lies strictly
    inside a cell and is confirmed by direct evaluation).

    Parameters
    ----------
    net : AffineNet
        Exact or float weights, relu / identity layers.
    reference : Expr
    domain : Domain
    tolerance : Fraction
        Largest error still counted as equal.
    max_cells : int
        Stop (ConfigError) beyond this many cells.
    max_points : int
        Stop (ConfigError) beyond this many combinations of the integer inputs.
    max_work : int
        Refuse (ConfigError, before any work) when ``2**d x units`` exceeds it, ``d`` the
        real inputs, ``units`` the ReLU units (:data:`MAX_BOX_WORK`).
    """
    names = tuple(net.names)
    domain = domain.restrict(names)
    tol = Fraction(tolerance)
    if not isinstance(reference, Expr):
        if callable(reference):
            return Verification(
                None,
                None,
                None,
                0,
                "unavailable",
                f"not verified: on the real box {domain} a plain-Python reference is a black "
                "box whose kinks cannot be seen; pass an expression (tinylens.circuits.parse) "
                "for an exact proof",
            )
        raise ConfigError(
            f"a reference must be an expression or a function, not {type(reference).__name__}"
        )
    check_box_work(net, domain, max_work)
    r = compare_on_box(
        net,
        reference,
        domain,
        names=names,
        tolerance=tol,
        max_cells=max_cells,
        max_points=max_points,
    )
    where = ", ".join(f"{k}={fmt(v)}" for k, v in r.witness.items())
    verb = (
        "jump on their switching sets" if len(r.discontinuous) > 1 else "jumps on its switching set"
    )
    jumps = (
        f"; {', '.join(r.discontinuous)} {verb}, which this check does not cover"
        if r.discontinuous
        else ""
    )
    if r.max_error > tol:
        got, want = r.values
        return Verification(
            False,
            r.max_error,
            dict(r.witness),
            0,
            "exact regions",
            f"FAILED: largest error {fmt(r.max_error)} on {domain} (exact, over "
            f"{_pieces(r.cells)}); at {where} the network gives {fmt(got)}, the expression "
            f"{fmt(want)}",
            cells=r.cells,
        )
    if r.discontinuous:
        return Verification(
            None,
            r.max_error,
            None,
            0,
            "exact regions",
            f"not verified everywhere: equal (largest error {fmt(r.max_error)}) on every open "
            f"cell of {domain} ({_pieces(r.cells)}){jumps}",
            cells=r.cells,
        )
    return Verification(
        True,
        r.max_error,
        None,
        0,
        "exact regions",
        f"verified: the network equals the expression on all of {domain} (exact: "
        f"{_pieces(r.cells)} compared as affine maps in rational arithmetic"
        + (f"; largest error {fmt(r.max_error)}" if r.max_error else "")
        + ")",
        cells=r.cells,
    )


def check_box_work(net: AffineNet, domain: Domain, max_work: int = MAX_BOX_WORK) -> None:
    """Refuse an exact check on a real box that would run for hours (see :data:`MAX_BOX_WORK`)."""
    d = sum(not iv.integer for _, iv in domain.intervals)
    if d == 0:
        return  # integer points are enumerated (their own cap), nothing is split
    units = sum(la.out_features for la in net.layers if la.activation == "relu")
    work = 2**d * max(units, 1)
    if work > max_work:
        raise ConfigError(
            f"verifying on the real box of {d} inputs splits it into linear pieces of up to "
            f"2^{d} = {2**d:,} vertices each: 2^{d} x {units} ReLU units = {work:,}, more than "
            f"the {max_work:,} this check starts (about a minute; about threefold more per "
            "input); verify on integers (e.g. --domain=-1..1), with fewer inputs, or raise "
            "--max-work"
        )


def _pieces(n: int) -> str:
    return f"{n:,} linear piece{'s' * (n != 1)}"
