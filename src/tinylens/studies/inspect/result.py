"""What ``tinylens inspect`` reports: each hook point's module, activation shape, parameters and,
given data, its streaming statistics; printed as a table, or shown in a notebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinylens.probes import StatsRow

__all__ = ["HookPointInfo", "InspectResult"]

STATS = ("units", "dead", "frac_active", "mean", "std", "max")
"""The statistics of a hook point (:class:`~tinylens.probes.StatsRow`'s fields)."""


@dataclass
class HookPointInfo:
    """One hook point: its module kind, activation shape per sample, and statistics."""

    name: str
    kind: str
    shape: tuple[int, ...] | None
    parameters: int
    stats: StatsRow | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape) if self.shape is not None else None,
            "parameters": self.parameters,
        }
        if self.stats is not None:
            st = self.stats
            out["stats"] = {
                "units": st.units,
                "dead": st.dead,
                "frac_active": round(st.frac_active, 6),
                "mean": round(st.mean, 6),
                "std": round(st.std, 6),
                "max": round(st.max, 6),
            }
        return out


@dataclass
class InspectResult:
    """What :func:`tinylens.studies.inspect.run` found.

    Attributes
    ----------
    path : str
        The weights file (empty for a network passed in).
    n_parameters : int
    points : list of HookPointInfo
        Every hook point, in network order.
    data_source : str or None
        Where the statistics were measured (None: shapes only).
    n_samples : int
    notes : list of str
    """

    path: str
    n_parameters: int
    points: list[HookPointInfo]
    data_source: str | None = None
    n_samples: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The summary ``tinylens inspect --json`` prints (:meth:`table` is the table)."""
        return {
            "model": self.path,
            "parameters": self.n_parameters,
            "data": self.data_source,
            "samples": self.n_samples,
            "hook_points": [p.to_dict() for p in self.points],
            "notes": self.notes,
        }

    def table(self) -> dict[str, list[Any]]:
        """One row per hook point: ``hook point``, ``module``, ``shape``, ``parameters`` and,
        with data, the statistics (unrounded); ``pandas.DataFrame`` accepts it."""
        out: dict[str, list[Any]] = {
            "hook point": [p.name for p in self.points],
            "module": [p.kind for p in self.points],
            "shape": ["x".join(map(str, p.shape)) if p.shape else "?" for p in self.points],
            "parameters": [p.parameters for p in self.points],
        }
        if self.data_source is not None:
            for key in STATS:
                out[key] = [getattr(p.stats, key) if p.stats else None for p in self.points]
        return out

    def to_pandas(self) -> Any:
        """:meth:`table` as a ``pandas.DataFrame``."""
        from tinylens.viz.display import to_pandas

        return to_pandas(self.table())

    def metrics(self) -> dict[str, Any]:
        """The key numbers, flat: parameters, hook points, samples, and per hook point with
        statistics its dead units and active fraction."""
        out: dict[str, Any] = {
            "parameters": self.n_parameters,
            "hook points": len(self.points),
            "samples": self.n_samples,
        }
        for p in self.points:
            if p.stats is not None:
                out[f"{p.name}: dead"] = p.stats.dead
                out[f"{p.name}: frac_active"] = p.stats.frac_active
        return out

    def plot(self, ax: Any = None) -> Any:
        """The fraction of samples each hook point's units are active on (with data), else its
        width; a bar per hook point."""
        from tinylens.viz.figure import new_axes

        fig, ax = new_axes(ax, max(4.0, 0.6 * len(self.points) + 1.5), 3.0)
        names = [p.name for p in self.points]
        if self.data_source is not None:
            values = [p.stats.frac_active if p.stats else 0.0 for p in self.points]
            ax.set_ylabel("mean fraction active")
            ax.set_title(f"{self.data_source}: units active per hook point")
        else:
            values = [p.shape[0] if p.shape else 0 for p in self.points]
            ax.set_ylabel("width")
        ax.bar(range(len(names)), values)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        return fig

    def lines(self) -> list[str]:
        """A table for the terminal."""
        head = f"{self.path}: {len(self.points)} hook points, {self.n_parameters} parameters"
        if self.data_source:
            head += f"; statistics over {self.n_samples} samples of {self.data_source}"
        rows = [head]
        stats = self.data_source is not None
        header = f"  {'hook point':<12} {'module':<10} {'shape':<14} {'params':>7}"
        if stats:
            header += f" {'units':>6} {'dead':>5} {'active':>7} {'mean':>8} {'std':>8} {'max':>8}"
        rows.append(header)
        for p in self.points:
            shape = "x".join(map(str, p.shape)) if p.shape is not None else "?"
            line = f"  {p.name:<12} {p.kind:<10} {shape:<14} {p.parameters:>7}"
            if p.stats is not None:
                s = p.stats
                line += (
                    f" {s.units:>6} {s.dead:>5} {s.frac_active:>7.3f} {s.mean:>8.3f} "
                    f"{s.std:>8.3f} {s.max:>8.3f}"
                )
            rows.append(line)
        if stats:
            rows.append(
                "  (image hook points: per channel; active = mean fraction of samples > 0; "
                "dead = never > 0)"
            )
        rows += [f"note: {n}" for n in self.notes]
        return rows

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        return short_repr(
            "InspectResult",
            model=self.path,
            hook_points=len(self.points),
            parameters=self.n_parameters,
            data=self.data_source,
            samples=self.n_samples,
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        figure = self.plot()
        title = f"{self.path or 'network'}: {len(self.points)} hook points"
        html = html_card(title, self.metrics(), self.table(), figure)
        import matplotlib.pyplot as plt

        plt.close(figure)  # shown once, in the card
        return html
