"""Drawing the demo's recovery, SAE, superposition, probing, optimizer and topology figures: fixed
margins against constrained layout, side by side in one process (issue 18).

Each figure is built with the studies' longest labels, then drawn and written as PNG the way
``tinylens.io.save_figure`` does (one Agg draw), once as it is made (fixed margins) and once with
constrained layout put back (the selectivity heatmaps: ``plot_selectivity`` as the SAE study
drew it before; the probing figures whose colorbars are placed for fixed margins are left
out); both are warmed up first (fonts, mathtext), the best of ``--repeats`` is kept. The ratio
fixed / constrained is what this run measures; the seconds depend on the machine's load, printed
beside them. BLAS plays no part (drawing is Python and Agg).

    python benchmarks/figures.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_fixed_margin_figures import _figures, _probe_figures
from tinylens.io import save_figure


def _build(name: str, constrained: bool):  # type: ignore[no-untyped-def]
    if constrained and name.startswith("selectivity"):  # made before its colorbar: as before
        import numpy as np

        from tinylens.viz.probes import plot_selectivity

        units = int(name.removeprefix("selectivity"))
        dead = np.zeros(units, dtype=bool)
        dead[::7] = True
        S = np.random.default_rng(0).uniform(-1, 1, (10, units))
        return plot_selectivity(S, dead=dead, unit_label="latent", title="SAE latents")
    fig = next(f for n, f in (*_figures(), *_probe_figures()) if n == name)
    if constrained:
        fig.set_layout_engine("constrained")
    return fig


def _switchable(name: str) -> bool:
    """Whether constrained layout can be put back (not on a figure whose colorbar was placed
    for fixed margins)."""
    try:
        _build(name, True)
    except RuntimeError:
        return False
    return True


def _time(name: str, constrained: bool, path: Path, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        fig = _build(name, constrained)
        t = time.perf_counter()
        save_figure(fig, path)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    # the W^T W / norms grid gets its colorbar after its margins: it cannot change engine
    names = [n for n, _ in _figures() if not n.startswith("gram_norms")]
    names += [n for n, _ in _probe_figures() if _switchable(n)]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.png"
        for name in names:  # warm-up: fonts, mathtext grammar, first Agg draw
            _time(name, True, path, 1)
            _time(name, False, path, 1)
        for name in names:
            rows[name] = (_time(name, False, path, a.repeats), _time(name, True, path, a.repeats))
    print(f"figures: best of {a.repeats}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip
    for name, (fixed, cl) in rows.items():
        print(f"  {name:15s} fixed {fixed * 1e3:6.1f} ms   constrained {cl * 1e3:6.1f} ms   "
              f"ratio {fixed / cl:.2f}")  # fmt: skip
    total_f, total_c = (sum(v[i] for v in rows.values()) for i in (0, 1))
    print(f"  {'all':15s} fixed {total_f * 1e3:6.1f} ms   constrained {total_c * 1e3:6.1f} ms   "
          f"ratio {total_f / total_c:.2f}")  # fmt: skip
    print(json.dumps({"benchmark": "figures", "seconds": rows}))


if __name__ == "__main__":
    main()
