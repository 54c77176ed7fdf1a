"""Resumable training checkpoints: one safetensors file, written atomically.

Tensors: ``model.<name>`` (weights), ``optimizer.<name>`` (moment buffers, step count),
``snapshot.<epoch>.<name>`` (snapshots so far), ``best.<name>`` (early stopping's best).
Metadata ``tinylens_checkpoint``: JSON with the epoch, the training config, the history, the
early-stopping counters and the states of the random generators. No pickle.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.errors import WeightsFileError
from tinylens.io.atomic import atomic_write_bytes
from tinylens.training.history import History

__all__ = ["LoopState", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1


@dataclass
class LoopState:
    """Everything the loop carries between epochs, and so everything a resume needs."""

    history: History = field(default_factory=History)
    epoch: int = 0
    best_loss: float = float("inf")
    best_epoch: int | None = None
    best_state: dict[str, np.ndarray] | None = None
    stale: int = 0


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    loop: LoopState,
    model_state: dict[str, np.ndarray],
    optimizer_state: dict[str, np.ndarray],
    rng_state: dict[str, Any],
    extra_rng: dict[str, Any],
    config: dict[str, Any],
) -> Path:
    from safetensors.numpy import save as st_save

    tensors: dict[str, np.ndarray] = {}
    for name, arr in model_state.items():
        tensors[f"model.{name}"] = np.ascontiguousarray(arr)
    for name, arr in optimizer_state.items():
        tensors[f"optimizer.{name}"] = np.ascontiguousarray(np.atleast_1d(arr))
    for epoch, state in loop.history.snapshots:
        for name, arr in state.items():
            tensors[f"snapshot.{epoch}.{name}"] = np.ascontiguousarray(arr)
    if loop.best_state is not None:
        for name, arr in loop.best_state.items():
            tensors[f"best.{name}"] = np.ascontiguousarray(arr)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "epoch": loop.epoch,
        "config": config,
        "history": loop.history.to_dict(),
        "best_loss": loop.best_loss if np.isfinite(loop.best_loss) else None,
        "best_epoch": loop.best_epoch,
        "stale": loop.stale,
        "rng": rng_state,
        "extra_rng": extra_rng,
        "optimizer_scalars": sorted(k for k, v in optimizer_state.items() if np.ndim(v) == 0),
    }
    data = st_save(tensors, metadata={"tinylens_checkpoint": json.dumps(meta)})
    return atomic_write_bytes(path, data)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint: ``{"loop", "model", "optimizer", "rng", "extra_rng", "config"}``."""
    from safetensors import safe_open

    try:
        with safe_open(os.fspath(path), framework="numpy") as fh:
            meta = json.loads((fh.metadata() or {})["tinylens_checkpoint"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - not a dict
    except (KeyError, ValueError, OSError, Exception) as exc:  # safetensors has its own errors
        raise WeightsFileError(
            f"checkpoint {os.fspath(path)} is unreadable ({exc}); delete it to start afresh"
        ) from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise WeightsFileError(f"checkpoint {os.fspath(path)} has an unknown format")

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    optimizer = group("optimizer.")
    for key in meta["optimizer_scalars"]:
        optimizer[key] = optimizer[key].reshape(())
    history = History.from_dict(meta["history"])
    snaps: dict[int, dict[str, np.ndarray]] = {}
    for key, arr in group("snapshot.").items():
        epoch, name = key.split(".", 1)
        snaps.setdefault(int(epoch), {})[name] = arr
    history.snapshots = sorted(snaps.items())
    best = group("best.")
    loop = LoopState(
        history=history,
        epoch=int(meta["epoch"]),
        best_loss=float("inf") if meta["best_loss"] is None else float(meta["best_loss"]),
        best_epoch=meta["best_epoch"],
        best_state=best or None,
        stale=int(meta["stale"]),
    )
    return {
        "loop": loop,
        "model": group("model."),
        "optimizer": optimizer,
        "rng": meta["rng"],
        "extra_rng": meta["extra_rng"],
        "config": meta["config"],
    }
