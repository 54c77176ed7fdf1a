"""Read a formula back out of a ReLU network's weights: ``circuits explain``.

For a network with a few inputs (trained, compiled or loaded) on a box, :func:`explain`

1. decides which hidden units are **dead** (never active on the box) and which are **always
   active** (``relu(z) = z`` on the whole box, a linear pass-through), exactly: from the
   network's exact linear pieces (:func:`~tinylens.circuits.network_cells`), or, when
   there are too many, from sound interval bounds (which may keep a unit that is in fact
   dead, never the reverse);
2. reads every unit as ``s * relu(z)`` with ``z``'s coefficients scaled to largest magnitude 1
   (**undoing positive rescaling**: the scale ``s > 0`` moves to the outgoing weights), rounds
   ``z`` to ``digits`` decimals (snapping to integers and to halves, thirds, quarters and
   sixths within half a unit of the last digit) and merges **duplicate** units (the same
   normalised ``z``);
3. composes the layers symbolically, with exact rational coefficients, so that
   ``c1 relu(z) + c2 relu(-z)`` becomes ``(c1 - c2)/2 z + (c1 + c2)/2 |z|``: an **identity
   pair** ``relu(z) - relu(-z)`` cancels to ``z`` and an **abs pair** to ``|z|``;
4. presents the result with ``min`` / ``max``: ``L - c relu(z) = c min(L/c, L/c - z)`` and
   ``L + c relu(z) = c max(L/c, L/c + z)`` (so ``a - relu(a - b)`` reads ``min(a, b)``),
   choosing, at every sum, the reading with the fewest operations (SymPy's ``count_ops``);
5. measures ``max_error``, the exact largest ``|formula - network|`` over the box
   (:func:`~tinylens.circuits.exact.piecewise.compare_on_box`), unless the network has too many
   pieces, when a dense grid gives an estimate (and says so).

Every step but rounding is exact algebra, so ``max_error`` is what the rounding cost. Exact
(compiled) networks are not rounded by default: their formula is exact.

>>> from tinylens.circuits.library import get_circuit
>>> e = explain(get_circuit("min").net)
>>> e.formula, e.relu_form, e.max_error
('Min(x1, x2)', 'x1 - Max(0, x1 - x2)', Fraction(0, 1))
>>> e = explain(get_circuit("is_even").net, box=[(0, 15)])  # 1-2-2-2-2-2-1, ReLU output
>>> e.formula  # on [0, 15] the fifth fold and the output ReLU never switch: 4 folds remain
'Abs(Abs(Abs(Abs(x - 8) - 4) - 2) - 1)'
>>> [(p["layer"], p["unit"]) for p in e.pruned_units]
[(4, 0), (4, 1), (5, 0)]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.exact import MAX_BOX_WORK, compare_on_box, exact_copy, relu_units
from tinylens.circuits.expr import Domain, Expr, Interval, fmt, to_fraction
from tinylens.circuits.readback.explanation import Explanation, UnitReading
from tinylens.circuits.readback.status import cell_status, interval_status
from tinylens.circuits.readback.symbolic import (  # noqa: F401  (re-exported: explain's public names)
    _DEADLINE,
    PRESENT_SECONDS,
    SNAP_DENOMINATORS,
    Lin,
    _Abs,
    _fold_pairs,
    _normalise,
    _present,
    _Relu,
    _round,
    _round_lin,
    _sympy_of,
    _Var,
    abs_of,
    combine,
    formula_size,
    formula_string,
    relu_of,
    sympy_to_expr,
)
from tinylens.engine import AffineNet
from tinylens.errors import ConfigError, ShapeError

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_EXACT_CELLS",
    "MAX_TERMS",
    "Explanation",
    "Lin",
    "UnitReading",
    "as_affine_net",
    "as_domain",
    "explain",
    "read_formulas",
    "sympy_to_expr",
]

DEFAULT_DIGITS = 2
"""Decimals kept for float (trained) networks: a network trained to loss 1e-6 has errors of
order 1e-3, so two decimals read its intended coefficients and drop its noise."""

MAX_EXACT_CELLS = 20_000
"""Beyond this many linear pieces :func:`explain` falls back to interval bounds and a grid."""

MAX_TERMS = 600
"""Most nodes the formulas may have written out as trees (:func:`formula_size`) before
:func:`explain` refuses (issue 17): reading back and checking one of 600 took about a minute
on a loaded laptop core (a 2-12-12-1 network has about 500; a 2-16-16-3 one about 2,700 and
ran for more than 300 s). Our own bound; ``max_terms`` (``--max-terms``) raises it."""

GRID_POINTS = 20_000
"""Points of the dense grid used to estimate ``max_error`` when the pieces are too many."""


def as_domain(box: Any, names: Sequence[str]) -> Domain:
    """A real box for ``names`` from a Domain, a domain string (``x1=-1:1,x2=0:2``; integer
    ranges become their real hull), ``[(lo, hi), ...]`` or a flat ``[lo, hi, lo, hi, ...]``;
    None gives ``[-1, 1]`` for every input. Ends are read exactly (``"0.1"`` is 1/10)."""
    from tinylens.circuits.expr import parse_domain

    names = list(names)
    if box is None:
        return Domain.box(names, -1, 1)
    if isinstance(box, str):
        text = box.strip()
        if "=" in text or ":" in text or ".." in text:
            dom = parse_domain(text, names=names).restrict(names)
        else:
            return as_domain([v for v in text.replace(" ", "").split(",") if v], names)
    elif isinstance(box, Domain):
        dom = box.restrict(names)
    else:
        flat = list(np.asarray(box, dtype=object).reshape(-1))
        if len(flat) != 2 * len(names):
            raise ShapeError(
                f"the box has {len(flat)} bounds; give LO,HI for each of the {len(names)} "
                f"inputs ({', '.join(names)})"
            )
        pairs = [
            (to_fraction(flat[2 * i], "box bound"), to_fraction(flat[2 * i + 1], "box bound"))
            for i in range(len(names))
        ]
        dom = Domain(tuple((n, Interval(lo, hi)) for n, (lo, hi) in zip(names, pairs, strict=True)))
    out = []
    for n, iv in dom.intervals:
        if iv.lo == iv.hi:
            raise ConfigError(f"the box gives {n} the single value {fmt(iv.lo)}; widen it")
        out.append((n, Interval(iv.lo, iv.hi, False)))
    return Domain(tuple(out))


def as_affine_net(net: Any) -> AffineNet:
    """``net`` as an :class:`~tinylens.engine.AffineNet`: as it is, from an engine
    ``Sequential``, or from a torch module of Linear and ReLU layers with skip connections
    (concatenations and sums of earlier values), read back exactly by
    :func:`~tinylens.torch.trace_relu_graph`."""
    if isinstance(net, AffineNet):
        return net
    from tinylens.engine import Sequential

    if isinstance(net, Sequential):
        return AffineNet.from_module(net)
    if type(net).__module__.split(".")[0] == "torch" or any(
        c.__module__.startswith("torch.nn") for c in type(net).__mro__
    ):
        from tinylens.torch.graph import trace_relu_graph

        return trace_relu_graph(net).to_affine()
    raise ConfigError(
        f"explain reads an AffineNet, an engine Sequential or a torch module of Linear and ReLU "
        f"layers, not {type(net).__name__}"
    )


@dataclass(frozen=True)
class _Reading:
    """What :func:`explain` and :func:`read_formulas` share: the network read as exact sums of
    ReLU atoms (``outs``, one per output), before any of it is written as text."""

    exact: AffineNet
    names: tuple[str, ...]
    domain: Domain
    digits: int | None
    method: str
    n_cells: int
    note: str
    readings: list[UnitReading]
    pruned: list[dict[str, Any]]
    outs: list[Lin]
    memo: dict[str, Any]  # _present's memo, with the presentation's deadline


def _read(
    net: Any,
    box: Any,
    digits: int | str | None,
    max_cells: int,
    max_terms: int,
    count_cells: bool = True,
) -> _Reading:
    """Steps 1-3 of the module docstring (see :func:`explain` for the arguments);
    ``count_cells=False``: ``n_cells`` may be left 0 where the status needs no cells."""
    float_weights = not (isinstance(net, AffineNet) and net.is_exact)
    net = as_affine_net(net)
    bad = [a for a in net.activations if a not in ("relu", "identity")]
    if bad:
        raise ConfigError(
            f"explain reads ReLU networks; this one has a {bad[0]} layer, which is not "
            "piecewise linear"
        )
    if digits == "auto":
        digits = DEFAULT_DIGITS if float_weights else None
    if digits is not None and (not isinstance(digits, int) or digits < 0):
        raise ConfigError(f"digits must be a non-negative integer or None, got {digits!r}")
    names = tuple(net.names)
    domain = as_domain(box, names)
    exact = exact_copy(net)
    units = relu_units(exact)
    note = ""
    n_cells = 0
    fallback = (
        "dead and always-active units come from interval bounds (sound, may keep a unit that "
        f"never fires) and max_error from a grid of about {GRID_POINTS:,} points (an estimate, "
        "not a bound)"
    )
    d = len(domain.intervals)
    if 2**d * max(len(units), 1) > MAX_BOX_WORK:
        # issue 17: each exact piece of a d-dimensional box keeps up to 2^d vertices
        status, method = interval_status(exact, domain), "grid"
        note = (
            f"{d} inputs: the exact pieces of the box have up to 2^{d} vertices each, too "
            f"many for {len(units)} units (2^{d} x {len(units)} > {MAX_BOX_WORK:,}); {fallback}"
        )
    elif not count_cells and all(li == 0 for li, _ in units):
        # NOTE: a first-layer pre-activation is affine on the box, so its interval bounds are
        # its exact least and greatest values there: the cells' status (dead: > 0 nowhere;
        # always active: < 0 nowhere) without enumerating the cells (issue 18: most of
        # read_formulas' time for the recovery study's 2-3-1 networks).
        status, method = interval_status(exact, domain), "exact"
    else:
        try:
            status, n_cells = cell_status(exact, domain, max_cells)
            method = "exact"
        except ConfigError:
            status, method = interval_status(exact, domain), "grid"
            note = f"more than {max_cells:,} linear pieces: {fallback}"
    status_of = dict(zip(units, status, strict=True))

    feats = [Lin.var(n) for n in names]
    memo: dict[str, Any] = {_DEADLINE: time.monotonic() + PRESENT_SECONDS}
    readings: list[UnitReading] = []
    pruned: list[dict[str, Any]] = []
    for li, layer in enumerate(exact.layers):
        W, b = layer.weight, layer.bias
        pre = [
            _fold_pairs(
                combine([(Fraction(W[j, i]), feats[i]) for i in range(len(feats))], Fraction(b[j]))
            )
            for j in range(layer.out_features)
        ]
        if layer.activation == "identity":
            feats = pre
            continue
        last = li == len(exact.layers) - 1
        nxt = None if last else exact.layers[li + 1].weight
        seen: dict[str, int] = {}
        new_feats = []
        for j, z in enumerate(pre):
            st = status_of[(li, j)]
            if z.is_constant:
                st = "constant"
            out_w = () if nxt is None else tuple(Fraction(v) for v in nxt[:, j])
            if st == "dead":
                new_feats.append(Lin.constant(Fraction(0)))
                readings.append(UnitReading(li, j, st, Fraction(1), None, outgoing=out_w))
                pruned.append({"layer": li, "unit": j, "reason": "dead: never active on the box"})
                continue
            if st in ("linear", "constant"):
                value = z if st == "linear" else Lin.constant(max(z.const, Fraction(0)))
                new_feats.append(value)
                readings.append(UnitReading(li, j, st, Fraction(1), None, outgoing=out_w, arg=z))
                pruned.append(
                    {
                        "layer": li,
                        "unit": j,
                        "reason": "always active on the box: relu(z) = z, a linear term"
                        if st == "linear"
                        else "constant input: a constant",
                    }
                )
                continue
            s, zn = _normalise(z)
            zn = _round_lin(zn, digits)
            atom = _Relu(zn)
            new_feats.append(Lin(((atom, s),)))
            dup = seen.get(atom.key)
            readings.append(
                UnitReading(
                    li,
                    j,
                    "switching",
                    s,
                    None,
                    dup,
                    tuple(s * w for w in out_w),
                    zn,
                )
            )
            if dup is not None:
                pruned.append(
                    {
                        "layer": li,
                        "unit": j,
                        "reason": f"duplicate of unit {dup}: the same normalised input, merged",
                    }
                )
            else:
                seen[atom.key] = j
            if nxt is not None and all(_round(s * Fraction(v), digits) == 0 for v in nxt[:, j]):
                pruned.append(
                    {"layer": li, "unit": j, "reason": "silent: its outgoing weights are 0"}
                )
        feats = new_feats
    outs = [_fold_pairs(_round_lin(_fold_pairs(f), digits)) for f in feats]
    sizes: dict[str, int] = {}
    size = sum(formula_size(o, sizes) for o in outs)
    if size > max_terms:
        raise ConfigError(
            f"the formula of this {'-'.join(map(str, net.sizes))} network has {size:,} terms "
            f"written out, more than the {max_terms:,} explain reads back (about a minute at "
            f"{MAX_TERMS:,}; the work grows faster than the size): read a smaller network or "
            "box, or raise --max-terms (max_terms=)"
        )
    return _Reading(
        exact, names, domain, digits, method, n_cells, note, readings, pruned, outs, memo
    )


def explain(
    net: AffineNet,
    box: Any = None,
    *,
    digits: int | str | None = "auto",
    check: bool = True,
    max_cells: int = MAX_EXACT_CELLS,
    max_terms: int = MAX_TERMS,
) -> Explanation:
    """Read ``net`` (ReLU hidden layers, relu or identity output) as a formula on ``box``.

    Parameters
    ----------
    net : AffineNet, engine Sequential or torch module
        Float or exact (Fraction) weights. Input names from the network (``x1, x2, ...``).
        A torch module may have skip connections (see :func:`as_affine_net`).
    box : Domain, str, or sequence, optional
        The inputs' ranges (see :func:`as_domain`); default ``[-1, 1]`` for each.
    digits : int, None or "auto"
        Decimals kept (see the module docstring); None keeps every coefficient exact; "auto"
        means None for exact networks and :data:`DEFAULT_DIGITS` for float ones.
    check : bool
        Compute ``max_error`` (the costly part; the recovery study skips it).
    max_cells : int
        Above this many linear pieces, unit status comes from interval bounds and the error
        from a grid.
    max_terms : int
        Refuse (ConfigError, before any symbolic work) formulas larger than this many nodes
        written out (:func:`formula_size`); see :data:`MAX_TERMS`.

    Returns
    -------
    Explanation
    """
    import sympy

    r = _read(net, box, digits, max_cells, max_terms)
    names, memo = r.names, r.memo
    readings = [
        u if u.arg is None else replace(u, argument=_text(u.arg, names, memo)) for u in r.readings
    ]
    symbols = {n: sympy.Symbol(n) for n in names}
    presented = [_present(o, symbols, memo) for o in r.outs]
    formulas = [formula_string(p) for p in presented]
    relu_forms = [formula_string(_sympy_of(o, symbols)) for o in r.outs]
    exprs = [sympy_to_expr(p) for p in presented]
    max_error: Fraction | None = None
    if check:
        max_error = _max_error(r.exact, exprs, r.domain, r.method, max_cells)
    return Explanation(
        formulas[0],
        formulas,
        relu_forms[0],
        str(exprs[0]),
        max_error,
        r.method,
        r.pruned,
        tuple(readings),
        r.domain,
        r.digits,
        names,
        tuple(r.outs),
        r.n_cells,
        r.note,
    )


def read_formulas(
    net: AffineNet,
    box: Any = None,
    *,
    digits: int | str | None = "auto",
    max_cells: int = MAX_EXACT_CELLS,
    max_terms: int = MAX_TERMS,
    memo: dict[str, list[str]] | None = None,
) -> list[str]:
    """``explain(net, box, digits=..., check=False).formulas``, string for string, without the
    text :func:`explain` writes for a reader (unit arguments, relu form, expressions). ``memo``,
    a dict kept across calls, holds formulas by the exact rounded sums they are presented from,
    so networks that round alike share one SymPy presentation, the costly part (issue 18:
    ``circuits recover`` reads a formula per seed; a presentation cut short by
    :data:`PRESENT_SECONDS` is not kept).

    >>> from tinylens.circuits.library import get_circuit
    >>> seen = {}
    >>> read_formulas(get_circuit("min").net, memo=seen), len(seen)
    (['Min(x1, x2)'], 1)
    """
    import sympy

    r = _read(net, box, digits, max_cells, max_terms, count_cells=False)
    key = "\n".join(o.key for o in r.outs)  # a Lin's key names its inputs and exact numbers
    if memo is not None and key in memo:
        return list(memo[key])
    symbols = {n: sympy.Symbol(n) for n in r.names}
    formulas = [formula_string(_present(o, symbols, r.memo)) for o in r.outs]
    if memo is not None and time.monotonic() <= r.memo[_DEADLINE]:
        memo[key] = formulas
    return list(formulas)


def _text(z: Lin, names: Sequence[str], memo: dict[str, Any] | None = None) -> str:
    """``z`` as SymPy text, with min / max where they read shorter."""
    import sympy

    return formula_string(
        _present(z, {n: sympy.Symbol(n) for n in names}, {} if memo is None else memo)
    )


def _output_net(net: AffineNet, k: int) -> AffineNet:
    from tinylens.engine import AffineLayer

    last = net.layers[-1]
    one = AffineLayer(last.weight[k : k + 1], last.bias[k : k + 1], last.activation)
    return AffineNet((*net.layers[:-1], one), net.input_names)


def _max_error(
    net: AffineNet, exprs: list[Expr], domain: Domain, method: str, max_cells: int
) -> Fraction:
    if method == "exact":
        worst = Fraction(0)
        for k, e in enumerate(exprs):
            sub = net if len(exprs) == 1 else _output_net(net, k)
            r = compare_on_box(sub, e, domain, max_cells=4 * max_cells)
            worst = max(worst, r.max_error)
        return worst
    from tinylens.circuits.expr import interpret

    d = len(domain.intervals)
    per = max(2, round(GRID_POINTS ** (1 / d)))
    axes = [np.linspace(float(iv.lo), float(iv.hi), per) for _, iv in domain.intervals]
    grid = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    got = net.to_float().forward(grid)
    worst = 0.0
    for k, e in enumerate(exprs):
        env = {n: grid[:, i].astype(object) for i, n in enumerate(domain.names)}
        env = {
            n: np.array([Fraction(float(v)) for v in col], dtype=object) for n, col in env.items()
        }
        want = np.asarray(interpret(e, env), dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(got[:, k] - want))))
    return Fraction(worst)
