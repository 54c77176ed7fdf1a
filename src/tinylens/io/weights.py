"""The tinylens weights file: one safetensors file per network (never pickle).

Layout (format 1):

* Tensors ``layers.{i}.weight`` (shape ``[out, in]``) and ``layers.{i}.bias`` (``[out]``, absent
  for a layer without bias) for the i-th *affine* layer, counted from 0. Other parametric
  modules use their own groups: ``norms.{k}.weight`` / ``norms.{k}.bias`` for the k-th
  LayerNorm, ``convs.{k}.*`` for convolutions. (In a live network the i-th affine layer is the
  module at some path ``layers.{j}`` with j >= i: module paths count activations too.)
* A metadata entry ``tinylens`` holding JSON::

      {"format": 1,
       "activations": ["relu", "relu", "identity"],   # one per affine layer, the last included
       "sizes": [784, 32, 16, 10],
       "dtype": "float32",
       "modules": [{"type": "linear", ...}, {"type": "relu"}, ...],  # the full architecture
       "input_names": ["x1", "x2"] | null,
       "sha256": "<hex digest of every tensor's name, dtype, shape and bytes>",
       "info": {...anything the writer adds: epoch, config, ...}}

  A reader that knows only ``activations`` can rebuild every plain MLP; ``modules`` describes
  networks with LayerNorm, Dropout or convolutions. ``sha256`` makes a modified file fail
  loudly instead of loading silently wrong weights.

Snapshots of a run are the same format, one file per snapshot
(``snapshots/epoch_0005.safetensors``).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.engine import Module, Sequential, build_module
from tinylens.engine.activations import ACTIVATIONS
from tinylens.engine.affine import AffineNet
from tinylens.errors import TinylensError, WeightsFileError
from tinylens.io.atomic import atomic_write_bytes

__all__ = [
    "FORMAT_VERSION",
    "PARAM_GROUPS",
    "load",
    "load_affine",
    "read_info",
    "save",
    "state_to_tensors",
    "tensors_to_state",
]

FORMAT_VERSION = 1
PARAM_GROUPS = {"linear": "layers", "layernorm": "norms", "conv2d": "convs"}
"""Tensor-name group of each parametric module type (others use ``"{type}s"``)."""

_MAX_HEADER = 100_000_000


def _group(kind: str) -> str:
    return PARAM_GROUPS.get(kind, f"{kind}s")


def state_to_tensors(net: Sequential) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """File tensor names for every parameter, and the module list with each module's group."""
    counters: dict[str, int] = {}
    tensors: dict[str, np.ndarray] = {}
    modules: list[dict[str, Any]] = []
    for m in net.layers:
        cfg: dict[str, Any] = dict(m.config())
        params = m.parameters()
        if params:
            group = _group(m.kind)
            k = counters.get(group, 0)
            counters[group] = k + 1
            cfg["tensors"] = f"{group}.{k}"
            for p in params:
                tensors[f"{group}.{k}.{p.name}"] = np.ascontiguousarray(p.data)
        modules.append(cfg)
    return tensors, modules


def tensors_to_state(
    net: Sequential, modules: list[dict[str, Any]], tensors: dict[str, np.ndarray]
) -> None:
    """Copy file tensors into ``net`` (built from ``modules``), checking every shape."""
    used: set[str] = set()
    for m, cfg in zip(net.layers, modules, strict=True):
        prefix = cfg.get("tensors")
        for p in m.parameters():
            key = f"{prefix}.{p.name}"
            if key not in tensors:
                raise WeightsFileError(f"tensor {key!r} is missing")
            value = tensors[key]
            if value.shape != p.data.shape:
                raise WeightsFileError(
                    f"tensor {key!r} has shape {list(value.shape)}; the architecture needs "
                    f"{list(p.data.shape)}"
                )
            p.data[...] = value
            used.add(key)
    extra = set(tensors) - used
    if extra:
        raise WeightsFileError(f"unexpected tensors {sorted(extra)}")


def _digest(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{arr.dtype.str}|{list(arr.shape)}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _affine_activations(net: Sequential) -> list[str]:
    """One activation name per Linear layer: the first activation after it, else identity."""
    acts: list[str] = []
    pending = False
    for m in net.layers:
        if m.kind == "linear":
            if pending:
                acts.append("identity")
            pending = True
        elif pending and m.kind in ACTIVATIONS:
            acts.append(m.kind)
            pending = False
    if pending:
        acts.append("identity")
    return acts


def save(
    net: Sequential | AffineNet,
    path: str | os.PathLike[str],
    info: dict[str, Any] | None = None,
) -> Path:
    """Write ``net`` to ``path`` atomically in the tinylens weights format; returns the path."""
    from safetensors.numpy import save as st_save

    module = net.to_module(dtype=np.float64) if isinstance(net, AffineNet) else net
    tensors, modules = state_to_tensors(module)
    header = {
        "format": FORMAT_VERSION,
        "activations": _affine_activations(module),
        "sizes": module.sizes,
        "dtype": str(module.dtype),
        "modules": modules,
        "input_names": list(module.input_names) if module.input_names else None,
        "sha256": _digest(tensors),
        "info": info or {},
    }
    try:
        meta = json.dumps(header, default=_json_default)
    except TypeError as exc:
        raise TinylensError(f"weights info must be JSON-serialisable: {exc}") from None
    data = st_save(tensors, metadata={"tinylens": meta})
    return atomic_write_bytes(path, data)


def _json_default(obj: object) -> object:
    if hasattr(obj, "tolist"):
        return obj.tolist()  # type: ignore[no-any-return]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Parse and verify a weights file: (tinylens metadata, tensors)."""
    from safetensors.numpy import load as st_load

    p = Path(path)
    where = f"weights file {os.fspath(p)}"
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise WeightsFileError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise WeightsFileError(f"{where} is a directory, not a .safetensors file") from None
    except OSError as exc:
        raise WeightsFileError(f"cannot read {where}: {exc.strerror}") from None
    if data[:1] in (b"\x80",) or data[:2] == b"PK":
        raise WeightsFileError(
            f"{where} looks like a pickle/torch.save file; tinylens never loads pickles. "
            "Convert it with tinylens.from_torch(module) and tinylens.save(...)"
        )
    if len(data) < 8:
        raise WeightsFileError(
            f"{where} is truncated ({len(data)} bytes); re-save or re-download it"
        )
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise WeightsFileError(
            f"{where} is truncated or not a safetensors file (bad header length)"
        )
    try:
        raw_header = json.loads(data[8 : 8 + n])
        meta_text = raw_header.get("__metadata__", {}).get("tinylens")
    except (ValueError, AttributeError):
        raise WeightsFileError(f"{where} has a corrupt header; re-save or re-download it") from None
    if meta_text is None:
        raise WeightsFileError(
            f"{where} has no 'tinylens' metadata; it was not written by tinylens"
        )
    try:
        meta = json.loads(meta_text)
    except ValueError:
        raise WeightsFileError(f"{where} has corrupt tinylens metadata") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise WeightsFileError(
            f"{where} is format {fmt!r}; this tinylens reads format {FORMAT_VERSION}"
        )
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types for bad files
        raise WeightsFileError(f"{where} is corrupt ({exc}); re-save or re-download it") from None
    digest = meta.get("sha256")
    if digest is not None and digest != _digest(tensors):
        raise WeightsFileError(
            f"{where} fails its checksum: its tensors were changed after tinylens wrote it"
        )
    return meta, tensors


def _modules_from_activations(
    meta: dict[str, Any], tensors: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    """Rebuild the module list of a plain MLP file that only carries ``activations``."""
    acts = meta.get("activations")
    if not isinstance(acts, list) or not acts:
        raise WeightsFileError("weights metadata lists no 'activations'")
    modules: list[dict[str, Any]] = []
    for i, act in enumerate(acts):
        w = tensors.get(f"layers.{i}.weight")
        if w is None or w.ndim != 2:
            raise WeightsFileError(f"tensor 'layers.{i}.weight' is missing or not 2-D")
        modules.append(
            {
                "type": "linear",
                "in_features": int(w.shape[1]),
                "out_features": int(w.shape[0]),
                "bias": f"layers.{i}.bias" in tensors,
                "tensors": f"layers.{i}",
            }
        )
        if act != "identity":
            modules.append({"type": str(act)})
    return modules


def load(path: str | os.PathLike[str]) -> Sequential:
    """Load a network written by :func:`save` into an engine :class:`Sequential`.

    Raises :class:`~tinylens.errors.WeightsFileError` for a missing, truncated, corrupt,
    tampered or foreign file.
    """
    meta, tensors = _read(path)
    modules = meta.get("modules") or _modules_from_activations(meta, tensors)
    dtype = np.dtype(meta.get("dtype", "float32"))
    if dtype not in (np.float32, np.float64):
        raise WeightsFileError(f"unsupported dtype {dtype} in weights file {path}")
    try:
        built: list[Module] = [
            build_module({k: v for k, v in cfg.items() if k != "tensors"}, dtype=dtype)
            for cfg in modules
        ]
        net = Sequential(built, input_names=meta.get("input_names"))
    except WeightsFileError:
        raise
    except (TinylensError, TypeError, KeyError, ValueError) as exc:
        raise WeightsFileError(f"weights file {path} describes an invalid network: {exc}") from None
    try:
        tensors_to_state(net, modules, tensors)
    except WeightsFileError as exc:
        raise WeightsFileError(f"weights file {path}: {exc}") from None
    return net


def load_affine(path: str | os.PathLike[str]) -> AffineNet:
    """Load a file as the neutral :class:`~tinylens.engine.AffineNet` view."""
    try:
        return AffineNet.from_module(load(path))
    except WeightsFileError:
        raise
    except TinylensError as exc:
        raise WeightsFileError(f"weights file {path}: {exc}") from None


def read_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The verified tinylens metadata of a weights file (format, activations, sizes, info...)."""
    return _read(path)[0]
