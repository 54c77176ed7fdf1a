"""What :func:`~tinylens.circuits.explain` returns: :class:`Explanation` (the formula, its
exact error on the box, the pruned units) and :class:`UnitReading` (one unit as it was read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from tinylens.circuits.expr import Domain, Expr, fmt
from tinylens.circuits.readback.symbolic import Lin, _Var, sympy_to_expr
from tinylens.errors import ConfigError

__all__ = ["Explanation", "UnitReading"]


# -- the explanation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitReading:
    """What one hidden (or ReLU output) unit was read as.

    ``status``: ``switching``, ``dead`` (never active on the box), ``linear`` (always active:
    ``relu(z) = z``) or ``constant``; ``scale``: the ``s > 0`` moved to the outgoing weights;
    ``argument``: the normalised, rounded ``z`` as SymPy text (None for dead units);
    ``duplicate_of``: the unit of the same layer with the same ``z``; ``outgoing``: the
    outgoing weights times ``scale`` (exact), one per unit of the next layer (empty for a ReLU
    output unit).
    """

    layer: int
    unit: int
    status: str
    scale: Fraction
    argument: str | None
    duplicate_of: int | None = None
    outgoing: tuple[Fraction, ...] = ()
    arg: Lin | None = field(default=None, repr=False)

    @property
    def input_terms(self) -> dict[str, Fraction] | None:
        """``{input: coefficient}`` of a switching unit whose argument reads the inputs only
        (a first-layer unit), else None."""
        if self.arg is None or not all(isinstance(a, _Var) for a, _ in self.arg.terms):
            return None
        return {a.name: c for a, c in self.arg.terms}  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Explanation:
    """The result of :func:`explain`.

    Attributes
    ----------
    formula : str
        SymPy text (``Min``, ``Max``, ``Abs``; ``Max(z, 0)`` is a ReLU) in the input names;
        ``sympy.sympify(formula, locals=...)`` reads it. The first output's, for several.
    formulas : list of str
        One per output.
    relu_form : str
        The same function as a plain sum of ReLUs (``a - Max(0, a - b)``), before min / max.
    expression : str
        The formula in the circuit language (``min(a, b)``), for ``circuits compile``.
    max_error : Fraction or None
        Exact largest ``|formula - network|`` on the box (over all outputs); with
        ``method == "grid"`` an estimate from a dense grid, not a bound.
    method : str
        ``exact`` or ``grid``.
    pruned_units : list of dict
        ``{"layer", "unit", "reason"}`` for every unit that does not appear in the formula.
    units : tuple of UnitReading
    domain : Domain
    digits : int or None
    """

    formula: str
    formulas: list[str]
    relu_form: str
    expression: str
    max_error: Fraction | None
    method: str
    pruned_units: list[dict[str, Any]]
    units: tuple[UnitReading, ...]
    domain: Domain
    digits: int | None
    input_names: tuple[str, ...]
    lins: tuple[Lin, ...] = field(repr=False, default=())
    cells: int = 0
    note: str = ""

    @property
    def exprs(self) -> list[Expr]:
        """The formulas as expressions of the circuit language (exact coefficients)."""
        import sympy

        symbols = {n: sympy.Symbol(n) for n in self.input_names}
        return [sympy_to_expr(sympy.sympify(f, locals=symbols)) for f in self.formulas]

    def __repr__(self) -> str:
        err = "not checked" if self.max_error is None else f"{float(self.max_error):.3g}"
        return (
            f"Explanation({self.formula!r}, max_error={err} ({self.method}), "
            f"units={len(self.units)}, pruned={len(self.pruned_units)})"
        )

    def to_pandas(self) -> Any:
        """One row per hidden (or ReLU output) unit: status, scale, argument, duplicate."""
        from tinylens._optional import require_pandas

        pd = require_pandas()
        return pd.DataFrame(
            {
                "layer": [u.layer for u in self.units],
                "unit": [u.unit for u in self.units],
                "status": [u.status for u in self.units],
                "scale": [float(u.scale) for u in self.units],
                "argument": [u.argument for u in self.units],
                "duplicate_of": [u.duplicate_of for u in self.units],
            }
        )

    def _repr_html_(self) -> str:
        import html

        esc = html.escape
        rows = "".join(
            f"<tr><td>{u.layer}</td><td>{u.unit}</td><td>{u.status}</td>"
            f"<td>{esc(u.argument or '-')}</td></tr>"
            for u in self.units[:40]
        )
        more = f"<p>... {len(self.units) - 40} more units</p>" if len(self.units) > 40 else ""
        err = "not checked" if self.max_error is None else f"{float(self.max_error):.3g}"
        return (
            f"<div><b>Explanation</b> on {esc(str(self.domain))}<br>formula: "
            f"<code>{esc(self.formula)}</code><br>max error: {err} ({self.method}, "
            f"{self.cells:,} pieces)<table><tr><th>layer</th><th>unit</th><th>status</th>"
            f"<th>argument</th></tr>{rows}</table>{more}</div>"
        )

    def plot(self, net: Any, ax: Any = None) -> Any:
        """The network (solid) and the formula (dashed) along the box of a one-input network,
        or the formula's error over a two-input box. Returns the matplotlib Figure."""
        from tinylens.circuits.expr import interpret
        from tinylens.circuits.readback.explain import as_affine_net  # explain imports this module
        from tinylens.viz.figure import new_axes

        ivs = [iv for _, iv in self.domain.intervals]
        if len(ivs) not in (1, 2):
            raise ConfigError(f"plot draws networks of 1 or 2 inputs; this one has {len(ivs)}")
        f = as_affine_net(net).to_float()
        axes = [np.linspace(float(iv.lo), float(iv.hi), 201 if len(ivs) == 1 else 61) for iv in ivs]
        grid = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
        env = {n: grid[:, i] for i, n in enumerate(self.input_names)}
        want = np.asarray(interpret(self.exprs[0], env), dtype=np.float64)
        got = f.forward(grid)[:, 0]
        fig, ax = new_axes(ax)
        if len(ivs) == 1:
            ax.plot(grid[:, 0], got, label="network")
            ax.plot(grid[:, 0], want, "--", label="formula")
            ax.set_xlabel(self.input_names[0])
            ax.legend()
        else:
            err = np.abs(got - want).reshape(len(axes[0]), len(axes[1]))
            im = ax.imshow(err.T, origin="lower", aspect="auto",
                           extent=(axes[0][0], axes[0][-1], axes[1][0], axes[1][-1]))  # fmt: skip
            fig.colorbar(im, ax=ax, label="|formula - network|")
            ax.set_xlabel(self.input_names[0])
            ax.set_ylabel(self.input_names[1])
        ax.set_title(self.formula[:60])
        return fig

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: ``formula``, ``max_error`` (float), ``pruned_units`` and more."""
        return {
            "formula": self.formula,
            "formulas": self.formulas,
            "relu_form": self.relu_form,
            "expression": self.expression,
            "max_error": None if self.max_error is None else float(self.max_error),
            "max_error_exact": None if self.max_error is None else fmt(self.max_error),
            "method": self.method,
            "pruned_units": self.pruned_units,
            "inputs": list(self.input_names),
            "box": str(self.domain),
            "digits": self.digits,
            "cells": self.cells,
            "note": self.note,
        }
