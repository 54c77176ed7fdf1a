"""Write the plain training study: config, metrics, history, weights, snapshots, figures and the
report section (called by ``tinylens train`` and :meth:`TrainResult.save`); and the resume point
an interrupted run leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinylens.errors import ConfigError
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.studies.train.config import TrainStudyConfig
from tinylens.studies.train.result import TrainResult
from tinylens.training import History

__all__ = ["CHECKPOINT", "CHECKPOINT_CONFIG", "drop_checkpoint", "resume_checkpoint", "write"]

CHECKPOINT, CHECKPOINT_CONFIG = "checkpoint.safetensors", "checkpoint.json"
"""Files a run keeps while training (removed when it finishes)."""


def resume_checkpoint(run: RunDir, config: TrainStudyConfig) -> tuple[Path, bool]:
    """The checkpoint for training into ``run``, and whether an interrupted run left one.

    The study's whole configuration is kept beside the checkpoint: an interrupted run of other
    settings (another dataset, seed or architecture) is refused, never silently continued.
    """
    ckpt, marker = run.file(CHECKPOINT), run.file(CHECKPOINT_CONFIG)
    settings = json.loads(json.dumps(config.to_dict()))  # as JSON would give them back
    if ckpt.exists():
        saved = json.loads(marker.read_text()) if marker.exists() else None
        if saved != settings:
            raise ConfigError(
                f"an interrupted run with other settings is waiting in {run.work}; pass --force "
                "to start over, or rerun it with the same settings to resume it"
            )
        return ckpt, True
    run.write_json(CHECKPOINT_CONFIG, settings)
    return ckpt, False


def drop_checkpoint(run: RunDir) -> None:
    """Remove the resume point: a finished run needs none, and a diverged one is not worth
    resuming (rerunning with a smaller rate is then a new run, not "other settings waiting")."""
    for name in (CHECKPOINT, CHECKPOINT_CONFIG):
        run.file(name).unlink(missing_ok=True)


def _figures(result: TrainResult, run: RunDir) -> list[Figure]:
    from tinylens.viz import plot_decision_boundary, plot_regression_fit

    cfg, net = result.config, result.engine_net()
    run.save_figure("loss.png", result.plot())
    figures = [Figure("loss.png", "Loss (log scale) and accuracy per epoch.")]
    data = result.val if result.val is not None else result.train
    if data.task == "classification" and data.n_features == 2:
        fig = plot_decision_boundary(
            net.predict, data.X, data.y, title=f"{cfg.data}: decision regions"
        )
        run.save_figure("boundary.png", fig)
        figures.append(Figure("boundary.png", "Predicted class over the plane, with the data."))
    elif data.task == "regression" and data.n_features == 1 and data.n_outputs == 1:
        parts = [result.train] + ([result.val] if result.val else [])
        full_X = np.concatenate([p.X for p in parts])
        full_y = np.concatenate([p.y for p in parts])
        run.save_figure(
            "fit.png", plot_regression_fit(full_X, full_y, net.predict, title=f"{cfg.data}: fit")
        )
        figures.append(Figure("fit.png", "The network's function over the data."))
    return figures


def write(result: TrainResult, run_dir: RunDir) -> None:
    """Config, metrics, history, weights, snapshots, figures and a report section, into
    ``run_dir``; a finished run keeps no resume point."""
    from tinylens.probes import input_range_of

    cfg, history = result.config, result.history
    drop_checkpoint(run_dir)
    run_dir.write_yaml("config.yaml", cfg.to_dict())
    run_dir.write_json("metrics.json", {**result.metrics, "history": history.to_dict()})
    run_dir.write_csv("history.csv", history.rows(), History.COLUMNS)
    net = result.engine_net()
    # the range the inputs were trained on: tools that load the file check new inputs
    trained = {"input_range": input_range_of(result.train).to_dict()}
    run_dir.save_weights(
        "model.safetensors", net, info={"study": "train", "config": cfg.to_dict(), **trained}
    )
    for epoch, state in history.snapshots:
        snap = net.copy()
        snap.load_state_dict(state)
        run_dir.save_weights(
            f"snapshots/epoch_{epoch:04d}.safetensors", snap, info={"epoch": epoch, **trained}
        )
    section = Section(
        id="train",
        title=f"Training on {cfg.data}",
        summary=(
            f"{result.describe()} trained for {len(history.epoch)} epochs with "
            f"{cfg.train.optimizer} on the {cfg.backend} backend ({result.train.n} training "
            "samples" + (f", {result.val.n} held out" if result.val else "") + ")."
        ),
        metrics={k: v for k, v in result.metrics.items() if not isinstance(v, (list, dict))},
        figures=_figures(result, run_dir),
        tables=[
            Table(
                "per epoch",
                list(History.COLUMNS),
                history.rows()[-10:],
                note="last 10 epochs; all of them are in history.csv",
            )
        ],
        config=cfg.to_dict(),
    )
    run_dir.add_section(section, title=f"tinylens train: {cfg.data}")
