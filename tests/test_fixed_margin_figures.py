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


def _probe_figures():
    """The probing, optimizer and topology figures at the sizes the full studies give them
    (``tinylens mnist``: 128 units, 'layers.1#127'; 30 epochs), with their longest labels."""
    from types import SimpleNamespace

    from tinylens.viz.interventions import plot_ablation_heatmap, plot_scaling_curves
    from tinylens.viz.optimizers import plot_final_scores, plot_paths, plot_step_sizes
    from tinylens.viz.probes import (
        plot_confusion,
        plot_drift,
        plot_image_grid,
        plot_lifecycle,
        plot_pruning,
        plot_selectivity,
        plot_variant_curves,
    )
    from tinylens.viz.topology import plot_boundary_grid, plot_degree_sweep
    from tinylens.viz.training import plot_history
    from tinylens.viz.training_probes import plot_activation_histograms, plot_bottleneck_scaling

    rng = np.random.default_rng(1)
    units = [f"layers.1#{i}" for i in range(128)]
    epochs = np.arange(31)
    yield "ablation128", plot_ablation_heatmap(rng.uniform(-1, 1, (128, 10)), units, title="raw")
    yield (
        "scaling",
        plot_scaling_curves(
            np.linspace(-2, 3, 9), rng.uniform(0, 1, (128, 9)), 0.97, units, title="scaled"
        ),
    )
    m = rng.integers(0, 1000, (10, 10)) + np.diag(np.full(10, 5000))
    yield "confusion", plot_confusion(m, title="normalized: test confusion")
    yield "probe_selectivity", plot_selectivity(rng.uniform(-1, 1, (10, 32)), title="layers.3")
    events = [SimpleNamespace(epoch=e, unit=u, kind=k) for e, u, k in
              [(3, 5, "death"), (9, 5, "revival"), (1, 100, "birth")]]  # fmt: skip
    yield (
        "lifecycle128",
        plot_lifecycle(
            epochs,
            rng.uniform(size=(31, 128)) < 0.1,
            frac_active=rng.uniform(size=(31, 128)),
            events=events,
            title="raw layers.1: dead-unit lifecycle",
        ),
    )
    series = {"layers.1": 10.0 ** rng.uniform(-6, 0, 30), "layers.3": rng.uniform(0, 1, 30)}
    yield "drift_log", plot_drift(epochs, series, ylabel="relative change", log=True, title="d")
    yield (
        "pruning",
        plot_pruning(
            np.array([10, 20, 40, 80]),
            np.array([0.5, 0.7, 0.9, 0.95]),
            rng.uniform(0.3, 0.9, (4, 5)),
            0.97,
            ks=[1, 2, 4, 8],
            n_units=128,
            title="pruning layers.1",
        ),
    )
    curve = {"epoch": epochs, "val_accuracy": rng.uniform(0.8, 1, 31), "dead": epochs}
    curve["selectivity"] = rng.uniform(0, 1, 31)
    curves = {v: curve for v in ("raw", "normalized", "best")}
    yield "variants", plot_variant_curves(curves, title="variants side by side")
    history = {"epoch": epochs.tolist()}
    for key in ("train_loss", "val_loss"):
        history[key] = (10.0 ** rng.uniform(-5, 0, 31)).tolist()
    for key in ("train_accuracy", "val_accuracy"):
        history[key] = rng.uniform(0, 1, 31).tolist()
    yield "history", plot_history(history, title="best: training")
    edges = {n: np.linspace(0, 10, 41) for n in ("layers.1", "layers.3")}
    counts = {n: rng.integers(0, 60000, (31, 40)) for n in edges}
    yield "histograms", plot_activation_histograms(epochs, edges, counts, title="raw: activations")
    entry = {"layer": "layers.3", "unit": 17, "classes": [3, 8], "scales": np.linspace(0, 3, 7)}
    entry["class_accuracy"] = rng.uniform(0, 1, (7, 10))
    entry["monotone"] = {"3": True, "8": False}
    yield "bottleneck", plot_bottleneck_scaling([entry] * 3, title="bottleneck units scaled")
    for rows in (1, 3):
        yield (
            f"grid{rows}",
            plot_image_grid(
                rng.normal(size=(8 * rows, 28, 28)), [f"latent {i}: 9" for i in range(8 * rows)]
            ),
        )
    scores = {"sgd": rng.uniform(0, 1, 5), "momentum": rng.uniform(0, 1, 5), "adam": [np.nan, 1]}
    yield "final", plot_final_scores(scores, ylabel="final test accuracy")
    g = {n: 10.0 ** rng.uniform(-4, 3, 400) for n in ("sgd", "momentum", "adam")}
    yield "moments", plot_step_sizes(g, g, lrs={"sgd": 1e-3}, momentum={"momentum": 0.9}, title="t")
    X, Y = np.meshgrid(np.linspace(-2, 2, 50), np.linspace(-1, 3, 50))
    Z = (1 - X) ** 2 + 100 * (Y - X**2) ** 2
    paths = {"adam": rng.normal(size=(100, 2))}
    yield "paths", plot_paths(X, Y, Z, paths, minima=[(1, 1)], title="Rosenbrock\n400 steps")
    yield "degree_sweep", plot_degree_sweep({3: [0.5, 0.7, 1.0], 4: [0.4, 0.5, 0.9]}, mlp={3: 1})
    pts, labels = rng.uniform(-1, 1, (60, 2)), rng.integers(0, 4, 60)
    model = (lambda P: np.stack([P[:, 0], P[:, 1], -P[:, 0], -P[:, 1]], axis=1), "K=4: lifting")
    yield "boundaries", plot_boundary_grid([(model, model)] * 2, [pts] * 2, [labels] * 2)


@pytest.mark.parametrize(
    "name,fig", list(_probe_figures()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_probe_figures_keep_every_label_inside_the_figure(name, fig):
    assert layout_problems(fig, name) == []


def test_side_colorbar_sits_beside_the_drawn_image_in_inches():
    """The colorbar is ``width`` in wide, ``gap`` in right of the image as drawn (an equal-aspect
    image is narrower than its box), and as tall as it times ``shrink``."""
    from tinylens.viz.figure import side_colorbar

    fig, ax = new_axes_fixed(None, 8.0, 3.0, right=1.0)
    image = ax.imshow(np.zeros((10, 10)))  # equal aspect: 2 in square inside a 6.3 in box
    side_colorbar(image, ax, width=0.2, gap=0.1, shrink=0.5)
    FigureCanvasAgg(fig).draw()
    drawn, bar = ax.get_position(), fig.axes[-1].get_position()
    assert (bar.x0 - drawn.x1) * 8.0 == pytest.approx(0.1)
    assert bar.width * 8.0 == pytest.approx(0.2)
    assert bar.height == pytest.approx(drawn.height / 2)
    assert bar.y0 + bar.height / 2 == pytest.approx(drawn.y0 + drawn.height / 2)
    # on a constrained-layout figure (a caller's axes) it is matplotlib's own colorbar
    from tinylens.viz.figure import new_axes

    theirs, their_ax = new_axes(None, 4.0, 3.0)
    side_colorbar(their_ax.imshow(np.zeros((3, 3))), their_ax)
    assert len(theirs.axes) == 2
    assert isinstance(theirs.get_layout_engine(), ConstrainedLayoutEngine)


def test_text_width_measures_the_widest_string():
    from tinylens.viz.figure import text_width

    one, two = text_width(["x"]), text_width(["xx", "x"])
    assert one > 0 and two == pytest.approx(2 * one, rel=0.05)
    assert text_width(["x"], 20) == pytest.approx(2 * one, rel=0.05)
    assert text_width([]) == 0.0


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
