"""A sweep's results: one table (CSV, and Parquet with pyarrow), plots and a report section."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.io import save_figure
from tinylens.io.atomic import atomic_path, atomic_write_json, atomic_write_text
from tinylens.io.sections import Figure, Section, Table
from tinylens.sweeps.spec import RunSpec, SweepSpec

__all__ = ["SweepResult"]

_FIXED = ("run_id", "status", "seed")
_TAIL = ("seconds", "error")
_MAX_PLOTS = 6


def _cell(value: Any) -> Any:
    """A CSV cell: scalars as they are, lists and dicts as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value)
    return value


def _mean_sd(mean: float, sd: float) -> str:
    """``0.9512 ± 0.012``; just the mean for one seed (sd NaN); ``n/a`` when nothing ran."""
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.4g}" if math.isnan(sd) else f"{mean:.4g} ± {sd:.2g}"


def _label(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


@dataclass(repr=False)
class SweepResult:
    """The runs of a sweep and their records.

    Attributes
    ----------
    spec : SweepSpec
    runs : list of RunSpec
        In expansion order.
    records : list of dict
        The stored record of each run that has one (``status``, ``metrics``, ``error``...).
    path : Path
        The sweep directory.
    ran, skipped : int
        Runs executed by this call, and runs already done before it.
    executor : str
        Where this call ran them (``serial``, ``2 local processes``, ``dask (...)``).
    """

    spec: SweepSpec
    runs: list[RunSpec]
    records: list[dict[str, Any]]
    path: Path
    ran: int = 0
    skipped: int = 0
    executor: str = ""

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") != "ok"]

    def metric_names(self) -> list[str]:
        """The metrics in the table: ``spec.collect``, else every metric any run reported."""
        if self.spec.collect is not None:
            return list(self.spec.collect)
        names: dict[str, None] = {}
        for r in self.records:
            names.update(dict.fromkeys(r.get("metrics", {})))
        return list(names)

    def missing_metrics(self) -> list[str]:
        """Collected metrics that no successful run reported (a misspelt ``collect``?)."""
        seen = {k for r in self.records if r.get("status") == "ok" for k in r.get("metrics", {})}
        ok = any(r.get("status") == "ok" for r in self.records)
        return [m for m in self.metric_names() if ok and m not in seen]

    @property
    def columns(self) -> list[str]:
        return [*_FIXED, *self.spec.grid, *self.metric_names(), *_TAIL]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per run with a record, in expansion order (the same on every executor)."""
        metrics = self.metric_names()
        out = []
        for r in self.records:
            row: dict[str, Any] = {k: r.get(k) for k in _FIXED}
            row.update({k: r.get("params", {}).get(k) for k in self.spec.grid})
            row.update({m: r.get("metrics", {}).get(m) for m in metrics})
            row.update({k: r.get(k) for k in _TAIL})
            out.append(row)
        return out

    def aggregate(self) -> list[dict[str, Any]]:
        """Per grid combination: ``n_ok``, ``n``, and ``<metric>_mean`` / ``<metric>_sd``.

        Over the runs that finished with a finite value. ``_sd`` is the sample standard
        deviation (``ddof=1``, as ``statistics.stdev``): the seeds are a sample of the possible
        initialisations and shufflings, and the sd estimates the spread of that population;
        ``ddof=0`` would understate it (by sqrt(1/2) for two seeds). NaN for fewer than two.
        """
        groups: dict[str, list[dict[str, Any]]] = {}
        params: dict[str, dict[str, Any]] = {}
        for row in self.rows():
            p = {k: row[k] for k in self.spec.grid}
            key = json.dumps(p, sort_keys=True, default=str)
            groups.setdefault(key, []).append(row)
            params[key] = p
        out = []
        for key, rows in groups.items():
            ok = [r for r in rows if r["status"] == "ok"]
            agg: dict[str, Any] = {**params[key], "n_ok": len(ok), "n": len(rows)}
            for m in self.metric_names():
                vals = np.array(
                    [r[m] for r in ok if isinstance(r[m], (int, float))], dtype=np.float64
                )
                vals = vals[np.isfinite(vals)]
                agg[f"{m}_mean"] = float(vals.mean()) if vals.size else math.nan
                agg[f"{m}_sd"] = float(vals.std(ddof=1)) if vals.size > 1 else math.nan
            out.append(agg)
        return out

    # -- files ----------------------------------------------------------------------------------
    def write_table(self) -> list[Path]:
        """``results.csv``, and ``results.parquet`` when pyarrow is installed."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows():
            writer.writerow([_cell(row[c]) for c in self.columns])
        paths = [atomic_write_text(self.path / "results.csv", buf.getvalue())]
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - Parquet is optional
            return paths
        rows = [
            {c: (json.dumps(v) if isinstance(v, (list, dict)) else v) for c, v in r.items()}
            for r in self.rows()
        ]
        table = pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in self.columns})
        with atomic_path(self.path / "results.parquet") as tmp:
            pq.write_table(table, tmp)
        paths.append(self.path / "results.parquet")
        return paths

    def _plot_metrics(self) -> list[str]:
        """The metrics drawn against the grid's x parameter (at most ``_MAX_PLOTS``)."""
        from tinylens.sweeps.registry import sweep_study

        available = self.metric_names()
        headline = [m for m in sweep_study(self.spec.study).headline if m in available]
        metrics = (
            self.spec.plot.get("metrics")
            or (self.spec.collect and available)
            or headline
            or available
        )[:_MAX_PLOTS]
        return [m for m in metrics if m in available]

    def plot(self, metric: str | None = None, ax: Any = None) -> Any:
        """``metric`` (default: the first plotted one) mean ± sd over seeds against the grid's
        first parameter, one line per value of the others; a matplotlib Figure (None when the
        sweep has no grid to draw against)."""
        from tinylens.viz.sweeps import plot_sweep_metric

        x, group = self.spec.plot_axes()
        metrics = self._plot_metrics()
        m = metric or (metrics[0] if metrics else None)
        if x is None or m is None:
            return None
        others = [k for k in self.spec.grid if k != x]
        series: dict[str, tuple[list[Any], list[float], list[float]]] = {}
        for a in self.aggregate():
            label = ", ".join(f"{k}={_label(a[k])}" for k in others) if others else m
            if group and len(others) == 1:
                label = _label(a[group])
            xs, means, sds = series.setdefault(label, ([], [], []))
            xs.append(a[x])
            means.append(a[f"{m}_mean"])
            sds.append(a[f"{m}_sd"])
        return plot_sweep_metric(
            series, xlabel=x, ylabel=m, title=f"{self.spec.name}: {m} (mean ± sd over seeds)", ax=ax
        )

    def _plots(self) -> list[Figure]:
        x, group = self.spec.plot_axes()
        if x is None:
            return []
        figures = []
        for m in self._plot_metrics():
            name = re.sub(r"[^A-Za-z0-9._-]", "_", m) + ".png"
            save_figure(self.plot(m), self.path / name, dpi=110)
            figures.append(Figure(name, f"{m} against {x}; one line per {group or 'sweep'}."))
        return figures

    # -- display (notebooks) --------------------------------------------------------------------
    def to_dict(self) -> dict[str, list[Any]]:
        """:meth:`rows` as columns (:attr:`columns`), one entry per run with a record."""
        rows = self.rows()
        return {c: [r.get(c) for r in rows] for c in self.columns}

    def to_pandas(self) -> Any:
        """One row per run (:meth:`to_dict`); ``aggregate()`` is the per-combination table."""
        from tinylens.viz.display import to_pandas

        return to_pandas(self.to_dict())

    def _key_numbers(self) -> dict[str, Any]:
        return {
            "study": self.spec.study,
            "runs": len(self.runs),
            "ok": len(self.records) - len(self.failed),
            "failed": len(self.failed),
            "ran": self.ran,
            "skipped": self.skipped,
        }

    def __repr__(self) -> str:
        from tinylens.viz.display import short_repr

        return short_repr("SweepResult", name=self.spec.name, **self._key_numbers())

    def _repr_html_(self) -> str:
        from tinylens.viz.display import html_card

        agg = self.aggregate()
        table = {k: [a[k] for a in agg] for k in (agg[0] if agg else {})}
        return html_card(
            f"Sweep {self.spec.name} ({self.path})", self._key_numbers(), table, self.plot()
        )

    def section(self, figures: list[Figure] | None = None) -> Section:
        """The report section: summary, plots, the aggregated table and the failures."""
        spec = self.spec
        metrics = self.metric_names()
        agg = self.aggregate()
        grid_desc = " × ".join(f"{len(v)} {k}" for k, v in spec.grid.items()) or "no grid"
        failed = self.failed
        summary = (
            f"{len(self.runs)} runs of the {spec.study} study ({grid_desc} × {len(spec.seeds)} "
            f"seeds): {self.ran} ran in this call ({self.executor or 'nothing to run'}), "
            f"{self.skipped} were done already, {len(failed)} failed. Every run's record is in "
            "runs/<run_id>.json and the whole table in results.csv."
        )
        table = Table(
            "mean ± sd over seeds",
            [*spec.grid, "ok / runs", *metrics],
            [
                [
                    *(_label(a[k]) for k in spec.grid),
                    f"{a['n_ok']} / {a['n']}",
                    *(_mean_sd(a[f"{m}_mean"], a[f"{m}_sd"]) for m in metrics),
                ]
                for a in agg
            ],
        )
        tables = [table]
        notes = []
        if failed:
            tables.append(
                Table(
                    "failed runs",
                    ["run_id", "seed", *spec.grid, "error"],
                    [
                        [
                            r["run_id"],
                            r["seed"],
                            *(_label(r["params"].get(k)) for k in spec.grid),
                            r.get("error"),
                        ]
                        for r in failed
                    ],
                )
            )
            notes.append(f"{len(failed)} run(s) failed; re-running the sweep retries them.")
        missing = self.missing_metrics()
        if missing:
            reported = sorted(
                {k for r in self.records if r.get("status") == "ok" for k in r.get("metrics", {})}
            )
            notes.append(
                f"No run reported {', '.join(missing)}; the runs report: {', '.join(reported)}."
            )
        return Section(
            id="sweep",
            title=f"Sweep {spec.name}",
            summary=summary,
            metrics={
                "runs": len(self.runs),
                "ok": len(self.runs) - len(failed),
                "failed": len(failed),
            },
            figures=figures or [],
            tables=tables,
            config=spec.to_dict(),
            notes=notes,
        )

    def save(self) -> None:
        """Write the table, the plots and ``report.json`` into the sweep directory."""
        self.write_table()
        figures = self._plots()
        atomic_write_json(
            self.path / "report.json",
            {
                "title": f"tinylens sweep: {self.spec.name}",
                "sections": [self.section(figures).to_dict()],
            },
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready: counts, paths and the aggregated table."""
        return {
            "sweep": self.spec.name,
            "out": str(self.path),
            "runs": len(self.runs),
            "ran": self.ran,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "executor": self.executor,
            "table": str(self.path / "results.csv"),
            "aggregate": self.aggregate(),
        }
