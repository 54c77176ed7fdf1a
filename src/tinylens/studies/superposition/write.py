"""The superposition study's files and report section."""

from __future__ import annotations

import numpy as np

from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.superposition.result import SuperpositionResult
from tinylens.superposition import geometry as G

__all__ = ["write"]


def _save_weights(run: RunDir, result: SuperpositionResult) -> None:
    from safetensors.numpy import save

    from tinylens.io import atomic_write_bytes

    tensors = {
        "W": np.ascontiguousarray(result.W_),
        "b": np.ascontiguousarray(result.b_),
        "sparsity": np.ascontiguousarray(result.sparsity),
        "importance_decay": np.ascontiguousarray(result.importance_decay),
    }
    if result.phase is not None:
        tensors["phase_W"] = np.ascontiguousarray(result.phase.W_)
    atomic_write_bytes(
        run.file("weights.safetensors"), save(tensors, metadata={"study": "superposition"})
    )


def gram_norms_figure(
    grams: np.ndarray, norms: np.ndarray, sup: np.ndarray, titles: list[str]
) -> object:
    """``W^T W`` (top, one colour scale) and the feature norms (bottom), one column per
    setting: ``grams`` of shape (K, n, n), ``norms`` and ``sup`` of shape (K, n)."""
    from tinylens.viz.figure import fixed_margins, new_figure
    from tinylens.viz.superposition import plot_feature_norms, plot_gram

    K = len(grams)
    fig = new_figure(2.6 * K, 5.0)
    axes = np.array(fig.subplots(2, K)).reshape(2, K)
    # fixed margins, set before the colorbar takes its share (constrained layout measured
    # every tick label: most of this figure's drawing time, issue 18)
    fixed_margins(fig, left=0.4, right=0.1, bottom=0.5, top=0.3, hspace=0.3, wspace=0.3)
    vmax = float(np.abs(grams).max())  # one colour scale for every panel
    for col, t in enumerate(titles):
        plot_gram(grams[col], ax=axes[0, col], title=f"W^T W, {t}", vmax=vmax, colorbar=False)
        plot_feature_norms(norms[col], sup[col], ax=axes[1, col], title="||W_i||")
    fig.colorbar(axes[0, -1].images[0], ax=list(axes[0]), shrink=0.7)
    return fig


def write(result: SuperpositionResult, run: RunDir) -> None:
    """Write ``config.yaml``, ``metrics.json``, ``features.csv``, ``weights.safetensors``, the
    figures and the report section into ``run``."""
    cfg = result.config
    run.write_yaml("config.yaml", cfg.to_dict())
    run.write_json("metrics.json", result.metrics())
    table = result.to_dict()
    run.write_csv("features.csv", zip(*table.values(), strict=True), list(table))
    _save_weights(run, result)
    best = result.best()
    titles = [f"S={result.sparsity[k]:g}, r={result.importance_decay[k]:g}" for k in best]
    figures = []
    if cfg.hidden == 2:
        run.save_figure("columns.png", result.plot_columns())
        figures.append(
            Figure(
                "columns.png",
                "The columns W_i of W in the hidden plane, one panel per setting (darker: more "
                "important). Dense features: the most important get orthogonal directions and "
                "the rest are dropped; sparse features: all of them, in a polygon.",
            )
        )
    fig = gram_norms_figure(result.gram_[best], result.norms_[best], result.superposition_[best],
                            titles)  # fmt: skip
    run.save_figure("gram_norms.png", fig)
    figures.append(
        Figure(
            "gram_norms.png",
            "Top: W^T W (red positive, blue negative, one scale): off-diagonal entries are "
            "interference "
            "between features. Bottom: feature norms, coloured by superposition "
            "sum_{j != i} (W_i_hat . W_j)^2 (black: a dimension of its own; yellow: shared).",
        )
    )
    run.save_figure("dimensionality.png", result.plot())
    figures.append(
        Figure(
            "dimensionality.png",
            "Per-feature dimensionality D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2 against "
            "1 / (1 - S); dotted lines: the fractions where features stick (1, 3/4, 2/3, 1/2, "
            "2/5, 1/3); line: m / ||W||_F^2, dimensions per feature.",
        )
    )
    tables = [
        Table(
            "per setting (its lowest-loss instance)",
            list(result.SUMMARY_COLUMNS),
            result.summary_rows(),
            note=f"represented: features with ||W_i|| > {G.NORM_THRESHOLD}; fractions: the "
            "nearest of 1, 3/4, 2/3, 1/2, 2/5, 3/8, 1/3, 1/4, 0",
        )
    ]
    if cfg.hidden == 2:
        tables.append(
            Table(
                "angles between neighbouring represented features (degrees)",
                ["S", "importance", "angles"],
                [
                    [
                        float(result.sparsity[k]),
                        float(result.importance_decay[k]),
                        " ".join(f"{a:.1f}" for a in G.neighbour_angles(result.W_[k])[0]),
                    ]
                    for k in best
                ],
            )
        )
    metrics = {
        f"represented at S={result.sparsity[k]:g}, r={result.importance_decay[k]:g}": int(
            result.represented_[k]
        )
        for k in best
    }
    if result.phase is not None:
        run.save_figure("phase_diagram.png", result.phase.plot())
        figures.append(
            Figure(
                "phase_diagram.png",
                "n=2 features, m=1 dimension: what the trained weights do with feature 2 as its "
                "density and relative importance vary. Not represented: ||W_2|| <= 0.5; "
                "dedicated dimension: only feature 2 is; superposition: both share the "
                "dimension (antipodally).",
            )
        )
        for name, count in result.phase.counts().items():
            metrics[f"phase cells: {name}"] = count
    section = Section(
        id="superposition",
        title="Toy models of superposition",
        summary=(
            f"The model of Elhage et al. (2022): {cfg.features} sparse features "
            f"(importance r**i) through {cfg.hidden} hidden dimensions and back, x' = "
            f"ReLU(W^T W x + b){' with a ReLU hidden layer' if cfg.hidden_relu else ''}. "
            f"{len(result.loss_)} models ({len(cfg.settings)} settings x {cfg.instances} "
            f"instances) trained at once on the NumPy engine, {cfg.train.steps} AdamW steps of "
            f"{cfg.train.batch_size} fresh samples. As features get sparser the model packs "
            "more of them into its few dimensions: in superposition."
        ),
        metrics=metrics,
        figures=figures,
        tables=tables,
        config=cfg.to_dict(),
        notes=[
            "Every number is measured from the trained weights; metrics.json holds them per "
            "instance (norms, angles, W^T W, superposition, D_i, fractions).",
            "Initialisation (Xavier normal per instance) and the best-of-instances choice are "
            "ours; the training settings are the paper notebook's.",
        ],
    )
    run.add_section(section, title="tinylens superposition")
