"""Training arithmetic for ``torch.nn.Module`` models (used by :func:`~tinylens.training.fit`).

It mirrors :class:`~tinylens.training.backends.EngineBackend`: the same minibatches (the
permutation comes from fit's numpy generator), the preset optimizers built as ``torch.optim``
ones, the same losses. With the same initial weights in float64 both backends follow the same
trajectory (tested).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tinylens.torch.optim import make_torch_optimizer
from tinylens.training.backends import StepDiverged, count_correct
from tinylens.training.config import TrainConfig

__all__ = ["TorchBackend"]

_LOSSES = {
    "mse": F.mse_loss,
    "cross_entropy": F.cross_entropy,
    "bce": F.binary_cross_entropy_with_logits,
}


class TorchBackend:
    def __init__(self, model: torch.nn.Module, config: TrainConfig, loss: str) -> None:
        self.model = model
        params = [p for p in model.parameters() if p.requires_grad]
        self.dtype = params[0].dtype if params else torch.float32
        self.device = params[0].device if params else torch.device("cpu")
        self.optimizer = make_torch_optimizer(config.optimizer, params, **config.optimizer_kwargs())
        self.loss_name = loss
        self.loss = _LOSSES[loss]
        self.threshold = config.divergence_threshold

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = torch.as_tensor(np.ascontiguousarray(X), device=self.device).to(self.dtype)
        if self.loss_name == "cross_entropy":
            return Xt, torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)
        y = np.asarray(y)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        return Xt, torch.as_tensor(y, device=self.device).to(self.dtype)

    def bind(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.X, self.y = X, y

    def train_epoch(self, perm: np.ndarray | None, batch_size: int) -> tuple[float, int]:
        model, opt, loss_fn = self.model, self.optimizer, self.loss
        if perm is None:
            X, y = self.X, self.y
        else:
            idx = torch.from_numpy(perm).to(self.device)
            X, y = self.X[idx], self.y[idx]
        model.train()
        total, correct = 0.0, 0
        for step, start in enumerate(range(0, len(X), batch_size)):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            value = float(loss.item())
            if not (math.isfinite(value) and value <= self.threshold):
                raise StepDiverged(step, value)
            loss.backward()
            opt.step()
            total += value * len(xb)
            if self.loss_name != "mse":
                correct += count_correct(
                    out.detach().cpu().numpy(), yb.cpu().numpy(), self.loss_name
                )
        return total, correct

    def evaluate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float | None]:
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model(X)
                value = float(self.loss(out, y).item())
        finally:
            self.model.train(was)
        if self.loss_name == "mse":
            return value, None
        return value, count_correct(out.cpu().numpy(), y.cpu().numpy(), self.loss_name) / len(X)

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})

    def weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())

    def optimizer_state(self) -> dict[str, np.ndarray]:
        flat: dict[str, np.ndarray] = {}
        for idx, entry in self.optimizer.state_dict()["state"].items():
            for key, value in entry.items():
                flat[f"{key}.{idx}"] = torch.as_tensor(value).detach().cpu().numpy().copy()
        return flat

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        full = self.optimizer.state_dict()
        entries: dict[int, dict[str, Any]] = {}
        for name, value in state.items():
            key, idx = name.rsplit(".", 1)
            entries.setdefault(int(idx), {})[key] = torch.from_numpy(np.array(value))
        full["state"] = entries
        self.optimizer.load_state_dict(full)

    def extra_rng_state(self) -> dict[str, Any]:
        return {"torch": torch.get_rng_state().numpy().tolist()}

    def load_extra_rng_state(self, state: dict[str, Any]) -> None:
        if "torch" in state:
            torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
