"""How :class:`~tinylens.probes.NeuronStats` shows itself in a notebook: its per-unit table, its
figure and its card (kept apart so that ``streaming.py`` holds only the statistics)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["card", "plot_units", "unit_table"]


def unit_table(stats: Any) -> dict[str, list[Any]]:
    """One row per unit (flattened in C order): mean, std, min, max, fraction active, dead."""
    stats._need()
    columns = {
        "mean": stats.mean_,
        "std": stats.std_,
        "min": stats.min_,
        "max": stats.max_,
        "frac_active": stats.frac_active_,
        "dead": stats.dead_,
    }
    table: dict[str, list[Any]] = {"unit": list(range(stats.mean_.size))}
    for key, values in columns.items():
        table[key] = np.asarray(values).reshape(-1).tolist()
    return table


def plot_units(table: dict[str, list[Any]], ax: Any = None) -> Any:
    """Mean activation with its standard deviation (bars; dead units grey) and the fraction of
    samples where each unit is active (dots, right axis); the Figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.0, 0.18 * len(table["unit"]) + 2), 3))
    else:
        fig = ax.figure
    colors = ["0.7" if d else "C0" for d in table["dead"]]
    ax.bar(table["unit"], table["mean"], yerr=table["std"], color=colors, capsize=1)
    ax.set_xlabel("unit")
    ax.set_ylabel("mean activation")
    right = ax.twinx()
    right.plot(table["unit"], table["frac_active"], "o", color="C1", ms=3)
    right.set_ylabel("fraction active")
    right.set_ylim(0, 1.05)
    return fig


def card(stats: Any) -> str:
    """The notebook card: units, samples, dead units, mean fraction active, the table and the
    figure."""
    from tinylens.viz.display import html_card

    if stats.count_ == 0:
        return html_card("NeuronStats", {"count": 0})
    numbers = {
        "units": stats.unit_shape,
        "samples": stats.count_,
        "dead": int(stats.dead_.sum()),
        "mean fraction active": float(stats.frac_active_.mean()),
    }
    table = unit_table(stats)
    return html_card("NeuronStats", numbers, table, plot_units(table))
