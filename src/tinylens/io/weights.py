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

import contextlib
import hashlib
import json
import os
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.engine import Module, Sequential, build_module
from tinylens.engine.activations import ACTIVATIONS
from tinylens.engine.affine import AffineNet
from tinylens.errors import TinylensError, UnverifiedWeightsWarning, WeightsFileError
from tinylens.io.atomic import atomic_write_bytes
from tinylens.io.files import read_regular

__all__ = [
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "PARAM_GROUPS",
    "checksum_status",
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

MAX_HEADER_BYTES = 16 * 2**20
"""Largest safetensors header read (16 MiB, our own choice; safetensors itself allows 100 MB).
A tinylens header is a few kB; the cap bounds the memory a damaged file can make us spend."""

META_CHECKSUM_KEY = "tinylens_sha256"
"""Safetensors metadata key holding the SHA-256 of the ``tinylens`` metadata text, which itself
holds the tensors' SHA-256: together they cover the whole file (see docs/weights-format.md)."""

VERIFIED, TENSORS_ONLY, UNVERIFIED = "verified", "tensors only", "unverified"


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
                raise WeightsFileError(f"tensor {_short(key)} is missing")
            value = tensors[key]
            if value.shape != p.data.shape:
                raise WeightsFileError(
                    f"tensor {_short(key)} has shape {list(value.shape)}; the architecture needs "
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
    data = st_save(tensors, metadata={"tinylens": meta, META_CHECKSUM_KEY: _meta_digest(meta)})
    return atomic_write_bytes(path, data)


def _json_default(obj: object) -> object:
    if hasattr(obj, "tolist"):
        return obj.tolist()  # type: ignore[no-any-return]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise WeightsFileError(f"{what}; re-save or re-download it") from None


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray], str]:
    """Parse and verify a weights file: (tinylens metadata, tensors, checksum status)."""
    from safetensors.numpy import load as st_load

    p = Path(path)
    where = f"weights file {os.fspath(p)}"
    data = read_regular(p, "weights file", error=WeightsFileError)
    # NOTE: a safetensors file starts with its header's length (u64, little-endian) and then
    # "{"; a length whose low byte is 0x80 must not be taken for a pickle's opcode.
    safetensors_like = data[8:9] == b"{"
    if not safetensors_like and (data[:1] == b"\x80" or data[:2] == b"PK"):
        raise WeightsFileError(
            f"{where} looks like a pickle/torch.save file; tinylens never loads pickles. "
            "Convert it with tinylens.from_torch(module) and tinylens.save(...)"
        )
    if len(data) < 8:
        raise WeightsFileError(
            f"{where} is truncated ({len(data)} bytes); re-save or re-download it"
        )
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:
        raise WeightsFileError(
            f"{where} has a {n}-byte header, more than the {MAX_HEADER_BYTES} bytes tinylens "
            "reads; it is not a tinylens weights file"
        )
    if 8 + n > len(data):
        raise WeightsFileError(
            f"{where} is truncated or not a safetensors file (bad header length)"
        )
    raw_header = _json(data[8 : 8 + n], f"{where} has a corrupt header")
    extra = raw_header.get("__metadata__") if isinstance(raw_header, dict) else None
    if not isinstance(extra, dict):
        extra = {}
    meta_text = extra.get("tinylens")
    if meta_text is None:
        raise WeightsFileError(
            f"{where} has no 'tinylens' metadata; it was not written by tinylens"
        )
    if not isinstance(meta_text, str):
        raise WeightsFileError(f"{where} has corrupt tinylens metadata (not a JSON string)")
    meta = _json(meta_text, f"{where} has corrupt tinylens metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise WeightsFileError(
            f"{where} is format {_short(fmt)}; this tinylens reads format {FORMAT_VERSION}"
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
    whole = extra.get(META_CHECKSUM_KEY)
    if whole is not None:
        if digest is None or whole != _meta_digest(meta_text):
            raise WeightsFileError(
                f"{where} fails its checksum: its metadata (architecture, activations, info) "
                "was changed after tinylens wrote it"
            )
        status = VERIFIED
    else:
        status = TENSORS_ONLY if digest is not None else UNVERIFIED
    _check_meta(meta, tensors, where)
    return meta, tensors, status


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message never quotes a huge value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...]"


def _meta_digest(meta_text: str) -> str:
    return hashlib.sha256(meta_text.encode("utf-8")).hexdigest()


def _check_meta(meta: dict[str, Any], tensors: dict[str, np.ndarray], where: str) -> None:
    """Refuse metadata of the wrong types or sizes before anything is built from it."""
    bad = f"{where} has invalid tinylens metadata"
    modules = meta.get("modules")
    if modules is not None and (
        not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules)
    ):
        raise WeightsFileError(f"{bad}: 'modules' must be a list of objects")
    acts = meta.get("activations")
    if acts is not None and (
        not isinstance(acts, list) or not all(isinstance(a, str) for a in acts)
    ):
        raise WeightsFileError(f"{bad}: 'activations' must be a list of names")
    names = meta.get("input_names")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(a, str) for a in names)
    ):
        raise WeightsFileError(f"{bad}: 'input_names' must be a list of strings or null")
    if not isinstance(meta.get("info", {}), dict):
        raise WeightsFileError(f"{bad}: 'info' must be an object")
    # NOTE: a module size larger than every tensor together cannot be real, and building it
    # would allocate it (a "huge layer" of 10^12 weights is a MemoryError, not a message).
    limit = max(sum(int(t.size) for t in tensors.values()), 1 << 16)
    for i, cfg in enumerate(modules or []):
        for key, value in cfg.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, int) and not isinstance(v, bool) and not 0 <= v <= limit:
                    raise WeightsFileError(
                        f"{bad}: module {i} has {key}={_short(value)}, impossible for a file whose "
                        f"tensors hold {limit} numbers"
                    )


def _file_dtype(meta: dict[str, Any], tensors: dict[str, np.ndarray], path: object) -> np.dtype:
    """The network's dtype: the metadata's ``dtype`` or, when it is omitted, the tensors' own.
    Every tensor must have it (a float64 tensor is never silently narrowed to float32)."""
    where = f"weights file {os.fspath(path)}"  # type: ignore[call-overload]
    kinds = {t.dtype for t in tensors.values()}
    name = meta.get("dtype")
    if name is None:
        if len(kinds) > 1:
            raise WeightsFileError(
                f"{where} mixes tensor dtypes {sorted(map(str, kinds))} and names none"
            )
        return next(iter(kinds)) if kinds else np.dtype(np.float32)
    if name not in ("float32", "float64"):
        raise WeightsFileError(
            f"{where} has dtype {_short(name)}; tinylens reads 'float32' or 'float64'"
        )
    dtype = np.dtype(name)
    if kinds - {dtype}:
        raise WeightsFileError(
            f"{where} says dtype {name} but holds {sorted(map(str, kinds))} tensors"
        )
    return dtype


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


@contextlib.contextmanager
def invalid_as_weights_error(what: str) -> Iterator[None]:
    """Turn the errors of building something from a file's (damaged) metadata into one
    :class:`WeightsFileError` line: ``"{what}: {reason}"``, the reason cut to 200 characters."""
    try:
        yield
    except WeightsFileError:
        raise
    except (TinylensError, TypeError, KeyError, ValueError, OverflowError, ZeroDivisionError) as e:
        raise WeightsFileError(f"{what}: {str(e)[:200]}") from None


def load(path: str | os.PathLike[str]) -> Sequential:
    """Load a network written by :func:`save` into an engine :class:`Sequential`.

    Raises :class:`~tinylens.errors.WeightsFileError` for a missing, truncated, corrupt,
    tampered or foreign file.
    """
    meta, tensors, status = _read(path)
    _say_unverified(path, status)
    for name in sorted(tensors):
        if not np.isfinite(tensors[name]).all():
            raise WeightsFileError(
                f"weights file {path} holds NaN or infinite values in tensor {_short(name)}; "
                "nothing computed from it would mean anything: retrain, or load an earlier "
                "snapshot"
            )
    modules = meta.get("modules") or _modules_from_activations(meta, tensors)
    dtype = _file_dtype(meta, tensors, path)
    with invalid_as_weights_error(f"weights file {path} describes an invalid network"):
        built: list[Module] = [
            build_module({k: v for k, v in cfg.items() if k != "tensors"}, dtype=dtype)
            for cfg in modules
        ]
        net = Sequential(built, input_names=meta.get("input_names"))
    try:
        tensors_to_state(net, modules, tensors)
    except WeightsFileError as exc:
        raise WeightsFileError(f"weights file {path}: {exc}") from None
    _check_agrees(meta, net, path)
    return net


def _check_agrees(meta: dict[str, Any], net: Sequential, path: object) -> None:
    """The summary fields (``sizes``, ``activations``) must describe the network that was built:
    a reader that trusts them (the documented minimum) must not see another network."""
    where = f"weights file {os.fspath(path)}"  # type: ignore[call-overload]
    sizes = meta.get("sizes")
    if sizes is not None and net.linears and sizes != net.sizes:
        raise WeightsFileError(
            f"{where} says sizes {_short(sizes)} but its network has {net.sizes}; the file "
            "was edited"
        )
    acts = meta.get("activations")
    if acts is not None and meta.get("modules") and acts != _affine_activations(net):
        raise WeightsFileError(
            f"{where} says activations {_short(acts)} but its modules give "
            f"{_affine_activations(net)}; the file was edited"
        )


def load_affine(path: str | os.PathLike[str]) -> AffineNet:
    """Load a file as the neutral :class:`~tinylens.engine.AffineNet` view."""
    try:
        return AffineNet.from_module(load(path))
    except WeightsFileError:
        raise
    except TinylensError as exc:
        raise WeightsFileError(f"weights file {path}: {exc}") from None


def read_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The tinylens metadata of a weights file (format, activations, sizes, info...), checked
    against the file's checksum when it has one (see :func:`checksum_status`)."""
    meta, _, status = _read(path)
    _say_unverified(path, status)
    return meta


def checksum_status(path: str | os.PathLike[str]) -> str:
    """What the file's checksum vouches for: ``"verified"`` (metadata and tensors, files
    written by this tinylens), ``"tensors only"`` (older tinylens files: their checksum covers
    the tensors, not the metadata) or ``"unverified"`` (no checksum: a file written by another
    tool). A file that fails its checksum raises :class:`~tinylens.errors.WeightsFileError`."""
    return _read(path)[2]


def _say_unverified(path: object, status: str) -> None:
    if status == VERIFIED:
        return
    what = (
        "carries no checksum (written by another tool?): loaded unverified"
        if status == UNVERIFIED
        else "has an older tinylens checksum covering its tensors only; its metadata is "
        "unverified (re-save it with tinylens.save to cover both)"
    )
    warnings.warn(
        UnverifiedWeightsWarning(f"weights file {os.fspath(path)} {what}"),  # type: ignore[call-overload]
        stacklevel=3,
    )
