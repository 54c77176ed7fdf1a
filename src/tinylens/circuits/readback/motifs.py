"""Motifs in a network: abs pairs, identity pairs, greaterness and sign detectors.

:func:`find_motifs` reads the units as :func:`~tinylens.circuits.explain` does (each
switching unit as ``s * relu(z)`` with ``z`` normalised to largest coefficient 1 and rounded to
``digits``, dead and always-active units decided exactly on the box) and names what it sees:

=========================  ===========================================================
``abs pair``               two units of a layer with ``z`` and ``-z`` and equal outgoing
                           weights ``w``: ``w relu(z) + w relu(-z) = w |z|``
``identity pair``          ``z`` and ``-z`` with opposite outgoing weights:
                           ``w relu(z) - w relu(-z) = w z``, a linear pass-through
``greaterness detector``   a first-layer unit ``relu(x_i - x_j)`` (up to scale): fires by how
                           much ``x_i`` exceeds ``x_j``
``positiveness detector``  ``relu(x_i)``; ``negativeness detector``: ``relu(-x_i)``
``duplicate``              units with the same normalised ``z`` (they act as one)
``dead`` / ``always active``  never active on the box / ``relu(z) = z`` on all of it
=========================  ===========================================================

Outgoing weights are compared after rounding to ``digits`` decimals (exactly for exact
networks). To compare a whole trained network with a compiled circuit unit by unit, use
:func:`~tinylens.circuits.readback.canonical.match_circuit`.

>>> from tinylens.circuits.library import get_circuit
>>> for m in find_motifs(get_circuit("min").net):
...     print(m.kind, m.units, m.formula)
identity pair (1, 2) x1
greaterness detector (0,) Max(0, x1 - x2)
positiveness detector (1,) Max(0, x1)
negativeness detector (2,) Max(0, -x1)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from tinylens.circuits.expr import fmt
from tinylens.circuits.readback.explain import Explanation, _round, explain
from tinylens.engine import AffineNet

__all__ = ["MOTIF_KINDS", "Motif", "find_motifs"]

MOTIF_KINDS = (
    "abs pair",
    "identity pair",
    "greaterness detector",
    "positiveness detector",
    "negativeness detector",
    "duplicate",
    "dead",
    "always active",
)


@dataclass(frozen=True)
class Motif:
    """One motif: its kind, where it is, and what it computes.

    ``layer`` counts affine layers from 0; ``units`` are unit indices in that layer;
    ``formula`` is SymPy text in the input names (or in the layer's own quantities for deeper
    layers); ``weights``: the outgoing weights involved (times the units' scale), as text.
    """

    kind: str
    layer: int
    units: tuple[int, ...]
    formula: str
    weights: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layer": self.layer,
            "units": list(self.units),
            "formula": self.formula,
            "weights": list(self.weights),
            "note": self.note,
        }

    def __str__(self) -> str:
        units = ", ".join(map(str, self.units))
        w = f"  outgoing {', '.join(self.weights)}" if self.weights else ""
        return f"{self.kind:22} layer {self.layer} unit{'s' * (len(self.units) > 1)} {units}: " + (
            f"{self.formula}{w}" + (f"  ({self.note})" if self.note else "")
        )


def find_motifs(
    net: AffineNet | Explanation, box: Any = None, *, digits: int | str | None = "auto"
) -> list[Motif]:
    """Every motif of ``net`` on ``box`` (see the module docstring), pairs first.

    Parameters
    ----------
    net : AffineNet or Explanation
        A ReLU network, or the result of :func:`~tinylens.circuits.explain` (reused).
    box, digits :
        As in :func:`~tinylens.circuits.explain`.
    """
    e = net if isinstance(net, Explanation) else explain(net, box, digits=digits, check=False)
    digits_used = e.digits
    names = e.input_names
    out: list[Motif] = []
    by_layer: dict[int, list[Any]] = {}
    for u in e.units:
        by_layer.setdefault(u.layer, []).append(u)

    def rounded(ws: tuple[Fraction, ...]) -> tuple[Fraction, ...]:
        return tuple(_round(w, digits_used) for w in ws)

    for layer, units in sorted(by_layer.items()):
        switching = [u for u in units if u.status == "switching" and u.duplicate_of is None]
        by_key = {u.arg.key: u for u in switching}
        for u in switching:
            other = by_key.get((-u.arg).key)
            if other is None or other.unit <= u.unit or not u.outgoing:
                continue
            wu, wo = rounded(u.outgoing), rounded(other.outgoing)
            if all(w == 0 for w in wu):
                continue
            if wu == wo:
                kind, formula = "abs pair", f"Abs({u.argument})"
            elif wu == tuple(-w for w in wo):
                kind, formula = "identity pair", u.argument or ""
            else:
                continue
            out.append(
                Motif(
                    kind,
                    layer,
                    (u.unit, other.unit),
                    formula,
                    tuple(fmt(w) for w in wu),
                    f"{'|z|' if kind == 'abs pair' else 'z'} with z = {u.argument}",
                )
            )
        for u in switching:
            terms = u.input_terms
            silent = bool(u.outgoing) and all(w == 0 for w in rounded(u.outgoing))
            if terms is None or u.arg.const != 0 or silent:
                continue
            nonzero = {k: v for k, v in terms.items() if v != 0}
            coefs = sorted(nonzero.values())
            if len(nonzero) == 2 and coefs == [-1, 1]:
                hi = next(k for k, v in nonzero.items() if v == 1)
                lo = next(k for k, v in nonzero.items() if v == -1)
                out.append(
                    Motif(
                        "greaterness detector",
                        layer,
                        (u.unit,),
                        f"Max(0, {hi} - {lo})",
                        tuple(fmt(w) for w in rounded(u.outgoing)),
                        f"fires by how much {hi} exceeds {lo}",
                    )
                )
            elif len(nonzero) == 1:
                ((name, c),) = nonzero.items()
                kind = "positiveness detector" if c > 0 else "negativeness detector"
                out.append(
                    Motif(
                        kind,
                        layer,
                        (u.unit,),
                        f"Max(0, {'' if c > 0 else '-'}{name})",
                        tuple(fmt(w) for w in rounded(u.outgoing)),
                    )
                )
        for u in units:
            if u.status == "switching" and u.duplicate_of is not None:
                out.append(
                    Motif("duplicate", layer, (u.duplicate_of, u.unit), f"Max(0, {u.argument})")
                )
            elif u.status == "dead":
                out.append(Motif("dead", layer, (u.unit,), "0", note="never active on the box"))
            elif u.status == "linear":
                out.append(
                    Motif(
                        "always active",
                        layer,
                        (u.unit,),
                        u.argument or "",
                        note="relu(z) = z on the whole box",
                    )
                )
    order = {k: i for i, k in enumerate(MOTIF_KINDS)}
    del names
    return sorted(out, key=lambda m: (order[m.kind], m.layer, m.units))
