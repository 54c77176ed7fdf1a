"""The figures laid out by fixed margins instead of constrained layout (issue 18): each keeps
every label, title and legend inside the figure and clear of the other axes, with the longest
labels the studies give them."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.layout_engine import ConstrainedLayoutEngine

from tinylens.studies.sae.write import fixed_margin_plot, selectivity_figure
from tinylens.studies.superposition.write import gram_norms_figure
from tinylens.viz.circuits import (
    plot_example_fits,
    plot_loss_curves,
    plot_loss_distribution,
    plot_success_rates,
)
from tinylens.viz.figure import new_axes_fixed
from tinylens.viz.sae import plot_classes_responded, plot_entropy_selectivity
from tinylens.viz.superposition import plot_columns_grid, plot_dimensionality

# the recovery study's longest outcome names (tinylens.studies.recovery.classify.OUTCOMES)
_ORDER = ["success", "works for x > 0 only", "works for x < 0 only", "other (local minimum)"]
_SLACK = 1.0  # pixels: antialiased glyph edges


def _outcomes(n: int) -> np.ndarray:
    return np.array([_ORDER[i % len(_ORDER)] for i in range(n)])


def _figures():
    rng = np.random.default_rng(0)
    losses = 10.0 ** rng.uniform(-14, 0, 100)
    curves = 10.0 ** rng.uniform(-13, 0, (26, 100))
    x = np.linspace(-1, 1, 201)
    yield (
        "losses",
        plot_loss_distribution(
            losses, _outcomes(100), _ORDER, tol=1e-6, title="abs: final loss of 1000 seeds"
        ),
    )
    yield (
        "curves",
        plot_loss_curves(
            np.arange(26) * 20, curves, _outcomes(100), _ORDER, title="abs: loss during training"
        ),
    )
    yield (
        "fits",
        plot_example_fits(
            x, np.abs(x), {o: -x for o in _ORDER}, _ORDER, title="abs: one seed per outcome"
        ),
    )
    rows = [
        {"optimizer": o, "init": i, "success_rate": 0.5, "solved_rate": 0.7}
        for o in ("sgd", "adam", "momentum")
        for i in ("he", "xavier")
    ]
    yield "rates", plot_success_rates(rows, title="abs: success by optimizer and initialisation")
    yield (
        "classes",
        plot_classes_responded(
            rng.integers(1, 11, 32),
            rng.integers(1, 11, 128),
            n_classes=10,
            labels=["neurons", "latents"],
            title="layers.1: classes each live unit responds to",
        ),
    )
    yield (
        "entropy",
        plot_entropy_selectivity(
            [(rng.uniform(0, 3.3, 30), rng.uniform(-1, 1, 30))] * 2,
            ["neurons", "latents"],
            max_entropy=np.log2(10),
            title="layers.1: class entropy against selectivity",
        ),
    )
    for units in (32, 128):  # the demo's hidden layer and its SAE's latents
        dead = np.zeros(units, dtype=bool)
        dead[::7] = True
        yield (
            f"selectivity{units}",
            selectivity_figure(
                rng.uniform(-1, 1, (10, units)), dead=dead, unit_label="latent", title="SAE latents"
            ),
        )
    from tinylens.superposition.sae import SparseAutoencoder

    sae = SparseAutoencoder(32, 128, k=8, hook_name="layers.1")
    sae.loss_history_ = list(np.geomspace(0.9, 0.07, 300))
    yield "sae_loss", fixed_margin_plot(sae.plot, log_y=True)
    for n in (5, 20):  # the demo's features, the article's (Elhage et al. 2022)
        W = rng.normal(size=(3, 2, n))
        yield (
            f"gram_norms{n}",
            gram_norms_figure(
                np.einsum("kmi,kmj->kij", W, W),
                np.linalg.norm(W, axis=1),
                rng.uniform(0, 1, (3, n)),
                ["S=0, r=0.9", "S=0.9, r=0.9", "S=0.99, r=0.9"],
            ),
        )
    yield (
        "dimensionality",
        plot_dimensionality(
            np.array([0.0, 0.9, 0.99, 0.999]),
            rng.uniform(0, 1, (4, 10)),
            dims_per_feature=np.array([1.0, 0.5, 0.4, 0.3]),
        ),
    )
    yield (
        "columns",
        plot_columns_grid(
            rng.normal(size=(3, 2, 5)), [0.9, 0.9, 0.9], ["S=0, r=0.9", "S=0.9, r=0.9", "S=0.99"]
        ),
    )


def layout_problems(fig, name: str = "", *, drawn: bool = False) -> list[str]:
    """What a fixed-margin layout got wrong in ``fig``: constrained layout still on, a label,
    title or legend outside the figure, or two panels (with their labels) running into each
    other. Empty when the layout is right. ``drawn``: ``fig`` was just drawn on its Agg canvas
    (by ``save_figure``), so its renderer is reused instead of drawing it again."""
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return [f"{name}: constrained layout"]
    canvas = fig.canvas if drawn else FigureCanvasAgg(fig)
    if not drawn:
        canvas.draw()
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    problems = []
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    boxes = [b for b in boxes if b is not None]
    for box in boxes:
        if (
            box.x0 < -_SLACK
            or box.y0 < -_SLACK
            or box.x1 > width + _SLACK
            or box.y1 > height + _SLACK
        ):
            problems.append(f"{name}: outside the figure ({width} x {height} px): {box}")
    for text in fig.texts:  # suptitle
        b = text.get_window_extent(renderer)
        if b.y1 > height + _SLACK or b.x0 < -_SLACK or b.x1 > width + _SLACK:
            problems.append(f"{name}: figure text {text.get_text()!r} outside: {b}")
    for i, a in enumerate(boxes):  # panels (with their labels) do not run into each other
        for b in boxes[i + 1 :]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            if overlap_x > _SLACK and overlap_y > _SLACK:
                problems.append(f"{name}: panels overlap: {a} and {b}")
    return problems


@pytest.mark.parametrize(
    "name,fig", list(_figures()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_fixed_margins_keep_every_label_inside_the_figure(name, fig):
    assert layout_problems(fig, name) == []


def test_a_callers_axes_keep_their_figure_and_layout():
    fig, ax = new_axes_fixed(width=3.0, height=2.0)
    assert fig.get_layout_engine() is not None
    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    w = fig.get_size_inches()[0]
    assert ax.get_position().x0 == pytest.approx(0.7 / w)  # the default left margin, inches
    from tinylens.viz.figure import new_axes

    theirs, their_ax = new_axes(width=3.0, height=2.0)
    same, same_ax = new_axes_fixed(their_ax)
    assert same is theirs and same_ax is their_ax
    assert isinstance(theirs.get_layout_engine(), ConstrainedLayoutEngine)


@pytest.mark.parametrize("name", ["curves", "dimensionality", "sae_loss"])
def test_log_axes_are_labelled_in_plain_text_with_their_tick_values(name):
    fig = next(f for n, f in _figures() if n == name)
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    axis = ax.xaxis if name == "dimensionality" else ax.yaxis
    shown = [(t.get_loc(), t.label1.get_text()) for t in axis.get_major_ticks()]
    lo, hi = sorted(axis.get_view_interval())
    labelled = [(v, s) for v, s in shown if s and lo <= v <= hi]
    assert len(labelled) >= 2
    for value, text in labelled:  # no mathtext, and the text is the tick's value
        assert "$" not in text
        assert float(text.replace("\u2212", "-")) == pytest.approx(value, rel=1e-12)
