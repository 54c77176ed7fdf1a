"""``metrics.json`` of the MNIST study: every number of the report, per model and per layer
(docs/mnist.md lists the keys). NaN and infinities are written as null."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tinylens.studies.mnist.config import SOURCE_TEST_ACCURACY

if TYPE_CHECKING:
    from tinylens.studies.mnist.analysis import LayerAnalysis
    from tinylens.studies.mnist.result import MnistResult, ModelRun

__all__ = ["clean", "file_stem", "metrics", "rounded"]


def clean(obj: Any) -> Any:
    """JSON-ready: arrays to lists, NaN and infinities to None (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def rounded(v: float, digits: int = 6) -> float | None:
    v = float(v)
    return round(v, digits) if math.isfinite(v) else None


# Section ids start with "mnist-" so that a page holding several studies (tinylens demo) keeps
# its anchors apart; the CNN's sections add "cnn_".


def file_stem(name: str) -> str:
    return name.replace(".", "_").replace(":", "_")


# -- metrics --------------------------------------------------------------------------------------


def _layer_metrics(la: LayerAnalysis, final: Any) -> dict[str, Any]:
    """``final``: the NeuronStats of the last statistics pass at this hook point."""
    sel = la.selectivity
    out: dict[str, Any] = {
        "unit": la.unit,
        "units": la.n_units,
        "dead_final": la.dead_units.tolist(),
        "mean": final.mean_.reshape(-1),
        "std": final.std_.reshape(-1),
        "frac_active": final.frac_active_.reshape(-1),
        "class_means": sel.class_means_,
        "mean_selectivity": rounded(sel.mean_selectivity()),
        "preferred_class": sel.preferred_class_.tolist(),
        "max_selectivity": [rounded(v) for v in sel.max_selectivity_],
        "top_neurons": {
            by: (None if getattr(la.top, f"{by}_") is None else getattr(la.top, f"{by}_").tolist())
            for by in ("activation", "gradient", "selectivity")
        },
    }
    if la.top.gradient_ is not None:
        out["ranking_agreement"] = {
            "activation_vs_selectivity": rounded(la.top.agreement("activation", "selectivity")),
            "gradient_vs_selectivity": rounded(la.top.agreement("gradient", "selectivity")),
            "activation_vs_gradient": rounded(la.top.agreement("activation", "gradient")),
        }
    if la.ablation is not None:
        abl = la.ablation
        worst = int(np.argmax(abl.drop_))
        out["ablation"] = {
            "baseline_accuracy": rounded(abl.baseline_accuracy_),
            "accuracy": [rounded(v) for v in abl.accuracy_],
            "class_accuracy": abl.class_accuracy_,
            "most_needed_unit": int(abl.units[worst, 0]),
            "largest_drop": rounded(abl.drop_[worst]),
            "units_costing_over_1pct": int(np.sum(abl.drop_ > 0.01)),
        }
        out["bottlenecks"] = la.bottlenecks()
    if la.scaling is not None:
        out["scaling"] = {"scales": la.scaling.scales, "accuracy": la.scaling.accuracy_}
    if la.subspaces is not None:
        ss = la.subspaces
        out["subspaces"] = {
            "k": ss.k,
            "top_units": ss.top_units,
            "silhouette": ss.silhouette_,
            "random_mean": ss.random_.mean(axis=1),
            "percentile": ss.percentile_,
        }
    if la.pruning is not None:
        out["pruning"] = _pruning_json(la.pruning)
    if la.drift:
        out["drift"] = {k: d.to_dict() for k, d in la.drift.items()}
    return out


def _pruning_json(p: Any) -> dict[str, Any]:
    return {
        "layers": p.names,
        "ks": p.ks,
        "kept": p.n_kept_,
        "n_units": p.n_units,
        "accuracy": p.accuracy_,
        "random_mean": p.random_accuracy_.mean(axis=1) if p.random_accuracy_.size else None,
        "random_sd": p.random_accuracy_.std(axis=1) if p.random_accuracy_.size else None,
        "baseline_accuracy": p.baseline_accuracy_,
    }


def _run_metrics(run: ModelRun) -> dict[str, Any]:
    a = run.analysis
    out: dict[str, Any] = {
        **run.summary(),
        "per_class_accuracy": a.confusion.per_class_accuracy_,
        "confusion_matrix": a.confusion.matrix_,
        "input_range": a.input_range.to_dict(),
        "history": run.history.to_dict(),
        "dead_neurons": {
            n: la.lifecycle.to_dict() for n, la in run.layers.items() if la.lifecycle is not None
        },
        "layers": {
            n: _layer_metrics(la, run.stats[max(run.stats)][n]) for n, la in run.layers.items()
        },
        "analysis_seconds_by_part": {k: round(v, 4) for k, v in a.seconds.items()},
    }
    if a.joint_pruning is not None:
        out["pruning_joint"] = _pruning_json(a.joint_pruning)
    if a.embeddings:
        out["embeddings"] = [
            {
                "space": e.space,
                "method": e.method,
                "samples": len(e.labels),
                "silhouette_2d": rounded(e.silhouette_),
                "silhouette_full_space": rounded(e.silhouette_full_),
            }
            for e in a.embeddings
        ]
    if a.subspace_embeddings:
        out["subspace_embeddings"] = [
            {
                "space": e.space,
                "method": e.method,
                "samples_2d": len(e.labels),
                "silhouette_full_subspace": rounded(e.silhouette_full_),
                "silhouette_2d": rounded(e.silhouette_),
            }
            for e in a.subspace_embeddings
        ]
    if run.histograms is not None:
        out["activation_histograms"] = run.histograms.to_dict()
    if len(run.history.snapshots) > 1:
        out["weight_drift"] = run.weight_drift()
    return out


def _comparison_rows(runs: list[ModelRun]) -> list[dict[str, Any]]:
    return [r.summary() for r in runs]


def metrics(result: MnistResult) -> dict[str, Any]:
    """The content of ``metrics.json`` (see docs/mnist.md for every key)."""
    p = result.primary
    data = result.data
    a = p.analysis
    out: dict[str, Any] = {
        "dataset": result.config.dataset,
        "data_source": data.source,
        "data_notes": data.notes,
        "n_train": data.train.n,
        "n_test": data.test.n,
        "image_shape": list(data.image_shape),
        "model": p.net.sizes,
        "variant": p.variant,
        "input_range": a.input_range.to_dict(),
        "test_accuracy": p.test_accuracy,
        "source_test_accuracy_full_mnist": SOURCE_TEST_ACCURACY,
        "per_class_accuracy": a.confusion.per_class_accuracy_,
        "confusion_matrix": a.confusion.matrix_,
        "dead_neurons": {
            n: la.lifecycle.to_dict() for n, la in p.layers.items() if la.lifecycle is not None
        },
        # live units only: top_units ranks dead units last, so with fewer live units than k a
        # row would end in dead ones
        "top_selective_neurons": {
            n: {
                str(c): [
                    {"unit": int(u), "selectivity": rounded(la.selectivity.selectivity_[c, u])}
                    for u in row
                    if not la.selectivity.dead_[u]
                ]
                for c, row in enumerate(la.top.selectivity_)
            }
            for n, la in p.layers.items()
        },
        "top_selective_neurons_live_units": {
            n: {
                "live": int((~la.selectivity.dead_).sum()),
                "units": la.n_units,
                "k": la.top.k,
            }
            for n, la in p.layers.items()
        },
        "bottleneck_scaling": p.bottleneck_scaling(),
        "bottleneck_neurons": {str(c): b for c, b in p.bottlenecks().items()},
        "variants": {name: _run_metrics(r) for name, r in result.runs.items()},
        "variant_comparison": _comparison_rows(list(result.runs.values())),
        "seconds": {
            "total": round(result.seconds, 3),
            **{f"train_{n}": round(r.train_seconds, 3) for n, r in result.runs.items()},
        },
        "stage_seconds": {
            k: {"wall": round(w, 3), "cpu": round(c, 3)}
            for k, (w, c) in (result.stage_seconds or {}).items()
        },
        "notes": result.notes(),
    }
    if result.cnn is not None:
        out["cnn"] = _run_metrics(result.cnn)
        out["cnn_comparison"] = _comparison_rows([p, result.cnn])
        out["seconds"]["train_cnn"] = round(result.cnn.train_seconds, 3)
    return clean(out)  # type: ignore[no-any-return]
