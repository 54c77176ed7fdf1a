"""The basis study's new parts: kinks started inside the data, the untrained references of the
width sweep (least squares, interpolant, 1/width^2 rate), and how its results show themselves.
Each number is recomputed another way: normal equations, brute force, plain NumPy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinylens.cli.main import main
from tinylens.data import TARGETS
from tinylens.engine import MLP
from tinylens.errors import ConfigError
from tinylens.geometry import decompose
from tinylens.geometry.approximation import (
    even_kinks,
    interpolation_net,
    interpolation_rate,
    least_squares_net,
    rmse_against,
)
from tinylens.studies.basis import BasisStudyConfig, place_kinks, run, width_sweep
from tinylens.training import TrainConfig

# float64 sums of a few hundred terms: agreement to 1e-9 relative is far inside round-off.
F64_RTOL = 1e-9
# Linear interpolation's error is h^2 f''/2 (x-a)(x-b) plus O(h^3): at 16 and 32 pieces of the
# sine's [0, 2 pi] the next term moves the ratio error(2w)/error(w) from 1/4 by well under 0.01.
RATE_TOL = 0.01
# The 1/width^2 formula is the leading term only: at 32 pieces it is within 1% of the measured
# interpolation RMSE on the sine (measured 0.2%); 2% leaves room for the grids' discreteness.
LEADING_TERM_RTOL = 0.02


def _sine_data(n=200):
    x = np.linspace(0, 2 * np.pi, n)
    return x, np.sin(x)


def test_least_squares_net_solves_the_normal_equations_and_no_nudge_improves_it():
    x, y = _sine_data()
    net = least_squares_net(x, y, 6)
    # the oracle: the features built in plain Python, the normal equations F^T F c = F^T y
    kinks = [2 * np.pi * j / 6 for j in range(6)]
    F = np.array([[max(xi - k, 0.0) for k in kinks] + [1.0] for xi in x])
    coef = np.linalg.solve(F.T @ F, F.T @ y)
    np.testing.assert_allclose(net.layers[1].weight[0], coef[:-1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(net.layers[1].bias, coef[-1:], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(-net.layers[0].bias, kinks, rtol=F64_RTOL)
    mse = float(np.mean((F @ coef - y) ** 2))
    assert float(np.mean((net(x[:, None])[:, 0] - y) ** 2)) == pytest.approx(mse, rel=1e-7)
    # brute force: moving any output weight either way makes the fit worse (a least-squares
    # minimum; an off-by-one kink or a dropped intercept would fail here or above)
    for j in range(7):
        for step in (-1e-3, 1e-3):
            c = coef.copy()
            c[j] += step
            assert np.mean((F @ c - y) ** 2) > mse


def test_least_squares_net_refuses_bad_data():
    with pytest.raises(ConfigError, match="finite"):
        least_squares_net(np.array([0.0, np.nan, 1.0]), np.zeros(3), 2)
    with pytest.raises(ConfigError, match="width"):
        least_squares_net(np.array([0.0, 1.0]), np.zeros(2), 0)


def test_interpolation_net_is_the_interpolant_and_its_error_falls_as_one_over_width_squared():
    fn, (lo, hi), _ = TARGETS["sine"]
    net = interpolation_net(fn, lo, hi, 8)
    knots = np.append(even_kinks(lo, hi, 8), hi)
    np.testing.assert_allclose(net(knots[:, None])[:, 0], np.sin(knots), atol=1e-12)
    mids = (knots[:-1] + knots[1:]) / 2  # linear between knots: the midpoint is the mean
    expect = (np.sin(knots[:-1]) + np.sin(knots[1:])) / 2
    np.testing.assert_allclose(net(mids[:, None])[:, 0], expect, atol=1e-12)
    err = {w: rmse_against(interpolation_net(fn, lo, hi, w), fn, lo, hi, 20001) for w in (16, 32)}
    assert err[32] / err[16] == pytest.approx(0.25, abs=RATE_TOL)
    assert interpolation_rate(fn, lo, hi, 32) == pytest.approx(err[32], rel=LEADING_TERM_RTOL)
    # |x| is piecewise linear with its kink on a knot of an even width: exact
    assert rmse_against(interpolation_net(np.abs, -1, 1, 2), np.abs, -1, 1) < 1e-15


def test_place_kinks_moves_only_the_biases_and_puts_every_kink_inside():
    net = MLP([1, 50, 1], rng=0, init="torch")
    before = {k: v.copy() for k, v in net.state_dict().items()}
    placed = place_kinks(net, 0.0, 2 * np.pi, rng=3)
    assert all(np.array_equal(v, net.state_dict()[k]) for k, v in before.items())  # a copy
    after = placed.state_dict()
    w, b = after["layers.0.weight"][:, 0], after["layers.0.bias"]
    np.testing.assert_array_equal(w, before["layers.0.weight"][:, 0])
    np.testing.assert_array_equal(after["layers.2.weight"], before["layers.2.weight"])
    kinks = -b.astype(np.float64) / w
    assert ((kinks > -1e-5) & (kinks < 2 * np.pi + 1e-5)).all()
    # and so no neuron is dead on the data at the start
    x = np.linspace(0, 2 * np.pi, 200)[:, None]
    assert not decompose(placed, X=x).dead_on_data.any()
    # the torch init: a negative slope and a negative bias never fire on x >= 0 (8 of 50 here)
    assert decompose(net, X=x).dead_on_data.sum() > 0


@pytest.fixture(scope="module")
def init_run():
    # kinks where the torch init puts them: some neurons dead, so the count is not vacuous
    train = TrainConfig(epochs=30, optimizer="adam", lr=0.05)
    cfg = BasisStudyConfig(hidden=15, train=train, kinks="init", frames=3, sweep=False)
    return run(cfg, progress=False)


def test_dead_units_recomputed_from_the_hidden_activations(init_run):
    result = init_run
    X = result.data.X
    hidden = result.net.layers[1](result.net.layers[0](X))  # engine Linear, then ReLU
    assert result.metrics["dead_on_data"] == int((hidden <= 0).all(axis=0).sum()) > 0
    first = result.net.copy()
    first.load_state_dict(result.snapshots[0][1])
    h0 = np.maximum(
        X.astype(np.float64) @ first.layers[0].weight.data.T + first.layers[0].bias.data, 0
    )
    assert result.metrics["dead_at_init"] == int((h0 == 0).all(axis=0).sum())


def test_results_show_themselves(init_run):
    from matplotlib.figure import Figure

    result = init_run
    for obj in (result, result.basis):
        text = repr(obj)
        assert len(text) < 300 and "array" not in text and "\n" not in text
        page = obj._repr_html_()
        assert "<table>" in page and "data:image/png;base64," in page
        assert isinstance(obj.plot(), Figure)
    frame = result.to_pandas()
    assert len(frame) == 15 and {"kink", "slope_change", "active_side", "dead_on_data"} <= set(
        frame.columns
    )
    w_in, w_out = result.basis.w_in[:, 0], result.basis.w_out[0]
    np.testing.assert_allclose(frame["slope_change"], np.abs(w_in * w_out), rtol=1e-12)
    assert frame["dead_on_data"].sum() == result.metrics["dead_on_data"]


def test_config_reads_hidden_dim_and_rejects_unknown_and_clashing_keys():
    cfg = BasisStudyConfig.from_dict({"hidden_dim": 7, "train": {"epochs": 5}})
    assert cfg.hidden == 7 and cfg.train.epochs == 5 and cfg.train.lr == 0.05
    assert BasisStudyConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown basis setting 'epochs'"):
        BasisStudyConfig.from_dict({"epochs": 5})  # nested under train, not flat
    with pytest.raises(ConfigError, match="not both"):
        BasisStudyConfig.from_dict({"hidden": 3, "hidden_dim": 3})
    with pytest.raises(ConfigError, match="kink start"):
        BasisStudyConfig(kinks="middle")


def test_sweep_untrained_references_are_recomputed_and_the_trained_nets_use_width():
    train = TrainConfig(epochs=200, batch_size=200, optimizer="adam", lr=0.05, shuffle=False)
    sweep = width_sweep(("sine",), (4, 16), seeds=2, train=train, seed=1)
    fn, (lo, hi), _ = TARGETS["sine"]
    x, y = _sine_data()
    for i, w in enumerate((4, 16)):
        F = np.maximum(x[:, None] - even_kinks(lo, hi, w)[None, :], 0)
        F = np.column_stack([F, np.ones_like(x)])
        coef = np.linalg.solve(F.T @ F, F.T @ y)
        grid = np.linspace(lo, hi, 1000)
        Fg = np.column_stack([np.maximum(grid[:, None] - even_kinks(lo, hi, w), 0), np.ones(1000)])
        ls = np.sqrt(np.mean((Fg @ coef - np.sin(grid)) ** 2))
        assert sweep.least_squares["sine"][i] == pytest.approx(ls, rel=1e-6)
        assert sweep.rate["sine"][i] == pytest.approx(interpolation_rate(fn, lo, hi, w))
    assert np.median(sweep.errors["sine"][1]) < np.median(sweep.errors["sine"][0])
    assert "rough" not in (sweep.rate or {})


def test_basis_cli_bad_kinks_is_one_line_and_the_width_sweep_is_printed(tmp_path, capsys):
    assert main(["basis", "--kinks", "middle", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kink start" in err[0] and not (tmp_path / "bad").exists()
    args = ["basis", "--hidden", "4", "--epochs", "20", "--frames", "2", "--no-animation"]
    args += ["--sweep-widths", "1,2", "--sweep-seeds", "1", "--sweep-epochs", "20"]
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert metrics["dead_at_init"] == 0  # the default start: every kink inside the data
    ls = metrics["width_sweep"]["least_squares"]["sine"]
    assert f"least squares {ls[0]:.3g} {ls[1]:.3g}" in out


def test_basis_figures_laid_out_by_fixed_margins_keep_every_label_on_the_canvas(init_run):
    """The basis figures skip constrained layout (issue 18); a margin too small would cut a
    tick label or a title off the saved PNG: every axes' tight box must lie on the canvas."""
    from tinylens.viz.basis import plot_kink_trajectories, plot_partial_sums, plot_width_sweep

    result = init_run
    x = result.grid[:, 0]
    epochs = np.array([f["epoch"] for f in result.frames])
    kinks = np.array([[np.nan if k is None else k for k in f["kinks"]] for f in result.frames])
    sweep = {"sine": np.array([[0.4, 0.3], [1e-3, 2e-3]]), "abs": np.array([[0.2], [1e-9]])}
    figures = [
        result.plot(),
        plot_partial_sums(x, result.basis.partial_sums(result.grid)[:, :, 0], title="t"),
        plot_kink_trajectories(epochs, kinks, (0.0, 2 * np.pi), title="kinks"),
        plot_width_sweep((4, 8), sweep, least_squares={"sine": np.array([0.1, 0.0])}, title="w"),
    ]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for fig in figures:
        assert fig.get_layout_engine() is not None  # so save_figure draws it once
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        canvas = fig.bbox
        for ax in fig.axes:
            box = ax.get_tightbbox(renderer)
            assert box.x0 >= canvas.x0 - 1 and box.x1 <= canvas.x1 + 1, (ax.get_title(), box)
            assert box.y0 >= canvas.y0 - 1 and box.y1 <= canvas.y1 + 1, (ax.get_title(), box)
