"""Convex polytopes in exact rational arithmetic, split by hyperplanes: the cells of exact proofs.

A :class:`Polytope` is full-dimensional and bounded (it starts as a box). It keeps its
*vertices* (tuples of :class:`fractions.Fraction`) and, for each vertex, the set of
hyperplanes it lies on (its *tight set*, as ids into a shared :class:`Hyperplanes` store).
Nothing is ever rounded and no tolerance exists: a vertex is on a hyperplane when the exact
value is 0.

Splitting by ``g . x + h = 0`` (:meth:`Polytope.split`) is the double-description step:

* evaluate ``g . v + h`` at every vertex, exactly; if the values do not take both signs the
  hyperplane does not cut the interior and nothing happens;
* otherwise each side keeps its own vertices, the vertices on the hyperplane go to both, and
  every *edge* ``[u, v]`` with ``u`` on one side and ``v`` strictly on the other gives a new
  vertex where the edge crosses the hyperplane.

Two vertices ``u, v`` of a d-dimensional polytope span an edge iff the normals of the
hyperplanes tight at both have rank ``d - 1``: the smallest face holding ``u`` and ``v`` is cut
out by exactly those hyperplanes (a constraint tight on a face is tight at every point of it,
and conversely the set tight at both is tight on the segment), so its dimension is ``d`` minus
that rank. This holds with redundant constraints too, so no constraint is ever removed. A new
vertex on the edge is tight on the edge's common set plus the new hyperplane, and nothing
else (an inequality tight at an interior point of a segment it holds on is tight at both
ends).

Both sides of a split contain a vertex where the hyperplane's value is strictly positive
(negative), so both are full-dimensional: every cell this module produces has a non-empty
interior, and the average of its vertices lies strictly inside it.

>>> from fractions import Fraction as F
>>> square = box_polytope([(F(-1), F(1)), (F(-1), F(1))])
>>> lower, upper = square.split((F(1), F(-1)), F(0))  # the diagonal x1 = x2
>>> sorted(lower.vertices), sorted(upper.vertices)  # x1 - x2 <= 0, then >= 0
([(Fraction(-1, 1), Fraction(-1, 1)), (Fraction(-1, 1), Fraction(1, 1)), \
(Fraction(1, 1), Fraction(1, 1))], [(Fraction(-1, 1), Fraction(-1, 1)), \
(Fraction(1, 1), Fraction(-1, 1)), (Fraction(1, 1), Fraction(1, 1))])
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = ["Hyperplanes", "Polytope", "box_polytope", "rank"]

Point = tuple[Fraction, ...]


def rank(rows: Sequence[Sequence[Fraction]]) -> int:
    """Exact rank of a small matrix of Fractions (Gaussian elimination)."""
    m = [list(r) for r in rows]
    if not m:
        return 0
    n_cols = len(m[0])
    r = 0
    for c in range(n_cols):
        pivot = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if pivot is None:
            continue
        m[r], m[pivot] = m[pivot], m[r]
        p = m[r][c]
        for i in range(r + 1, len(m)):
            if m[i][c] != 0:
                f = m[i][c] / p
                m[i] = [a - f * b for a, b in zip(m[i], m[r], strict=True)]
        r += 1
        if r == len(m):
            break
    return r


class Hyperplanes:
    """The normals of every hyperplane used by a family of polytopes, by id, with a cache of
    the ranks of the tight sets seen (shared by a polytope and all its descendants)."""

    def __init__(self, d: int) -> None:
        self.d = d
        self.normals: list[tuple[Fraction, ...]] = []
        self._rank: dict[frozenset[int], int] = {}

    def add(self, normal: Sequence[Fraction]) -> int:
        self.normals.append(tuple(normal))
        return len(self.normals) - 1

    def rank(self, ids: frozenset[int]) -> int:
        r = self._rank.get(ids)
        if r is None:
            r = rank([self.normals[i] for i in ids])
            self._rank[ids] = r
        return r


class Polytope:
    """A full-dimensional bounded convex polytope given by its vertices and their tight sets.

    Attributes
    ----------
    d : int
        Dimension.
    vertices : list of tuple of Fraction
    tight : list of frozenset of int
        ``tight[i]``: ids (into ``planes``) of the hyperplanes vertex i lies on.
    planes : Hyperplanes
    """

    __slots__ = ("_V", "d", "planes", "tight", "vertices")

    def __init__(
        self, vertices: list[Point], tight: list[frozenset[int]], planes: Hyperplanes
    ) -> None:
        self.vertices, self.tight, self.planes = vertices, tight, planes
        self.d = planes.d
        self._V: np.ndarray | None = None

    @property
    def V(self) -> np.ndarray:
        """The vertices as an object array of shape (n_vertices, d)."""
        if self._V is None:
            self._V = np.array(self.vertices, dtype=object).reshape(len(self.vertices), self.d)
        return self._V

    def values(self, form: np.ndarray) -> np.ndarray:
        """``g . v + h`` at every vertex, for ``form = (g_1, ..., g_d, h)``; exact."""
        return self.V @ form[: self.d] + form[self.d]

    def centroid(self) -> Point:
        """The average of the vertices: a rational point strictly inside."""
        n = len(self.vertices)
        return tuple(sum((v[i] for v in self.vertices), Fraction(0)) / n for i in range(self.d))

    def split(
        self, normal: Sequence[Fraction], offset: Fraction, values: np.ndarray | None = None
    ) -> tuple[Polytope, Polytope] | None:
        """The parts where ``normal . x + offset <= 0`` and ``>= 0``, or None when the
        hyperplane does not cut the interior (the value keeps one sign on the polytope)."""
        vals = (
            values if values is not None else self.values(np.array([*normal, offset], dtype=object))
        )
        pos = [i for i, s in enumerate(vals) if s > 0]
        neg = [i for i, s in enumerate(vals) if s < 0]
        if not pos or not neg:
            return None
        zero = [i for i, s in enumerate(vals) if s == 0]
        k = self.planes.add(normal)
        need = self.d - 1
        new_v: list[Point] = []
        new_t: list[frozenset[int]] = []
        for i in pos:
            ti, vi, si = self.tight[i], self.vertices[i], vals[i]
            for j in neg:
                common = ti & self.tight[j]
                if len(common) < need or self.planes.rank(common) != need:
                    continue
                t = si / (si - vals[j])
                vj = self.vertices[j]
                new_v.append(tuple(a + t * (b - a) for a, b in zip(vi, vj, strict=True)))
                new_t.append(common | {k})
        on = [self.vertices[i] for i in zero] + new_v
        on_t = [self.tight[i] | {k} for i in zero] + new_t
        low = Polytope(
            [self.vertices[i] for i in neg] + on,
            [self.tight[i] for i in neg] + on_t,
            self.planes,
        )
        high = Polytope(
            [self.vertices[i] for i in pos] + on,
            [self.tight[i] for i in pos] + on_t,
            self.planes,
        )
        return low, high

    def __repr__(self) -> str:
        return f"Polytope(d={self.d}, vertices={len(self.vertices)})"


def box_polytope(bounds: Sequence[tuple[Fraction, Fraction]]) -> Polytope:
    """The box ``[lo_1, hi_1] x ... x [lo_d, hi_d]`` (each ``lo < hi``) as a polytope."""
    d = len(bounds)
    planes = Hyperplanes(d)
    lo_ids, hi_ids = [], []
    for i in range(d):
        e = tuple(Fraction(int(i == j)) for j in range(d))
        lo_ids.append(planes.add(e))
        hi_ids.append(planes.add(e))
    vertices: list[Point] = []
    tight: list[frozenset[int]] = []
    for corner in range(2**d):
        bits = [(corner >> i) & 1 for i in range(d)]
        vertices.append(
            tuple(Fraction(bounds[i][1] if b else bounds[i][0]) for i, b in enumerate(bits))
        )
        tight.append(frozenset(hi_ids[i] if b else lo_ids[i] for i, b in enumerate(bits)))
    return Polytope(vertices, tight, planes)
