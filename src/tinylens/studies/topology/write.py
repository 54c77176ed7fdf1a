"""Write the topology study: config, metrics, the MLPs' weights, the figures, the section."""

from __future__ import annotations

from typing import Any

from tinylens.io import Figure, RunDir, Section, Table

__all__ = ["write"]


def write(result: Any, run: RunDir) -> None:
    """``config.yaml``, ``metrics.json``, each MLP's weights, the figures and the report
    section of ``result`` (a :class:`~tinylens.studies.topology.TopologyResult`) into ``run``."""
    from tinylens.training.threads import limit_blas_threads

    run.write_yaml("config.yaml", result.config.to_dict())
    run.write_json("metrics.json", {str(k): v for k, v in result.per_class.items()})
    for k, net in result.mlps.items():
        run.save_weights(f"mlp_K{k}.safetensors", net, info={"study": "topology", "classes": k})
    # NOTE: the figures evaluate both models on grids (small products): one BLAS thread.
    with limit_blas_threads(1):
        figures = _figures(result, run)
    run.add_section(_section(result, figures), title="tinylens topology")


def _figures(result: Any, run: RunDir) -> list[Figure]:
    from tinylens.viz.geometry import plot_folding, plot_regions_2d, plot_separability
    from tinylens.viz.topology import plain_axis_labels, plain_log_ticks, plot_boundary_grid

    cfg = result.config
    figures: list[Figure] = []
    ks = list(result.mlps)
    rows, Xs, ys = [], [], []
    for k in ks:
        _, test = result.data[k]
        pc = result.per_class[k]
        rows.append(
            (
                (
                    result.lifts[k].scores,
                    f"K={k}: degree-{cfg.degree} lifting, test acc "
                    f"{pc['lift']['test_accuracy']:.3f}, {pc['lift']['parameters']} params",
                ),
                (
                    result.mlps[k].predict,
                    f"K={k}: MLP {'-'.join(map(str, cfg.hidden))}, test acc "
                    f"{pc['mlp']['test_accuracy']:.3f}, {pc['mlp']['parameters']} params",
                ),
            )
        )
        Xs.append(test.X)
        ys.append(test.y)
    fig = plot_boundary_grid(rows, Xs, ys)
    run.save_figure("boundaries.png", fig)
    figures.append(
        Figure(
            "boundaries.png",
            "Decision regions and held-out points: polynomial lifting (left) against the "
            "deep MLP (right), with accuracy and parameter count.",
        )
    )
    for k in ks:
        _, test = result.data[k]
        run.save_figure(
            f"folding_K{k}.png",
            plot_folding(
                result.folds[k], labels=test.y, title=f"K={k}: the plane folded layer by layer"
            ),
        )
        figures.append(
            Figure(
                f"folding_K{k}.png",
                "A grid of lines in the input box (colours: position along x1 and x2) and "
                "the held-out points, pushed through each hidden layer (PCA to 2-D when "
                "wider): each ReLU layer folds the plane along its units' lines.",
            )
        )
    names = result.layer_names
    seps = {f"K={k}": [s["test_accuracy"] for s in result.per_class[k]["separability"]] for k in ks}
    counts = {f"K={k}": result.per_class[k]["region_counts"] for k in ks}
    fig = plot_separability(names, seps, region_counts=counts, title="what depth buys")
    plain_log_ticks(fig.axes[1])
    run.save_figure("separability.png", fig)
    figures.append(
        Figure(
            "separability.png",
            "Left: held-out accuracy of a logistic regression on each layer's "
            "representation (the classes become linearly separable with depth). Right: "
            "exact linear regions of the network up to each layer inside the box.",
        )
    )
    fig = result.plot()
    run.save_figure("degree_sweep.png", fig)
    figures.append(
        Figure(
            "degree_sweep.png",
            "Held-out accuracy of the lifted linear classifier for each degree.",
        )
    )
    k0 = ks[0]
    r = result.regions[k0]
    fig = plain_axis_labels(
        plot_regions_2d(
            r.vertices,  # type: ignore[arg-type]
            r.box,
            title=f"K={k0}: {r.count} linear regions of the MLP",
        )
    )
    train, _ = result.data[k0]
    fig.axes[0].scatter(train.X[:, 0], train.X[:, 1], c="k", s=1.5, zorder=3)
    run.save_figure("regions.png", fig, dpi=150)
    figures.append(
        Figure(
            "regions.png",
            "The trained MLP's exact linear regions (training points in black): regions "
            "crowd where the arms need bending.",
        )
    )
    return figures


def _section(result: Any, figures: list[Figure]) -> Section:
    from tinylens.geometry.lifting import n_monomials

    cfg = result.config
    ks = list(result.mlps)
    names = result.layer_names
    _, rows = result.model_rows()
    sep_rows = [
        [k, name, s["train_accuracy"], s["test_accuracy"]]
        for k in ks
        for name, s in zip(names, result.per_class[k]["separability"], strict=True)
    ]
    return Section(
        id="topology",
        title="Topology: depth versus width on the spiral",
        summary=(
            f"Spirals of {cfg.points} points (noise {cfg.noise}) with "
            f"{', '.join(map(str, ks))} arms, solved two ways: a linear classifier on all "
            f"{n_monomials(2, cfg.degree)} monomials up to degree {cfg.degree} (width), "
            f"and an MLP with hidden widths {list(cfg.hidden)} (depth). Both are trained "
            "with the same loop, optimizer family and loss. The MLP's layers fold the plane "
            "until a line separates the arms: a logistic regression on each layer's "
            "representation gets better layer by layer, while the number of exact linear "
            "regions multiplies."
        ),
        metrics={
            f"K={k} {m} test accuracy": result.per_class[k][m]["test_accuracy"]
            for k in ks
            for m in ("lift", "mlp")
        },
        figures=figures,
        tables=[
            Table("models", ["K", "model", "parameters", "train acc", "test acc"], rows),
            Table(
                "linear separability per layer (logistic regression)",
                ["K", "representation", "train acc", "test acc"],
                sep_rows,
            ),
            Table(
                "exact linear regions in the box",
                ["K", *names[1:-1]],
                [[k, *result.per_class[k]["region_counts"]] for k in ks],
                note=f"box [-{cfg.box}, {cfg.box}]^2; entry l counts the regions of the "
                "network up to layer l",
            ),
        ],
        config=cfg.to_dict(),
        notes=[
            "The lifted classifier is trained with tinylens' own fit (softmax regression, "
            "full-batch Adam) on standardised monomials, so both models share the training "
            "loop; scikit-learn's LogisticRegression is used only as the separability probe."
        ],
    )
