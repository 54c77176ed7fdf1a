"""Generators of hostile inputs for tests/test_hostile.py and tests/test_io.py.

Nothing here is hand-listed one case at a time: damaged weights files are made by mutating a
valid file's header, metadata and tensors systematically, and CLI argument lists by replacing
each option's value of each registered command with a family of bad values.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

# -- weights files ----------------------------------------------------------------------------


def valid_weights_bytes(sizes=(2, 8, 3), seed: int = 0) -> bytes:
    """A small tinylens weights file (an MLP with ReLU), as bytes."""
    import tempfile
    from pathlib import Path

    from tinylens.engine import MLP
    from tinylens.io import save

    net = MLP(list(sizes), rng=np.random.default_rng(seed))
    with tempfile.TemporaryDirectory() as d:
        return save(net, Path(d) / "m.safetensors").read_bytes()


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(header JSON object, tensor bytes) of a safetensors file."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join(header: object, body: bytes, raw: bytes | None = None) -> bytes:
    """A safetensors file from a header (JSON-encoded unless ``raw`` bytes are given)."""
    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def with_meta(data: bytes, change: Callable[[dict[str, Any]], None], *, reseal: bool) -> bytes:
    """``data`` with its tinylens metadata changed by ``change``; ``reseal`` recomputes the
    metadata checksum (a careful forger), otherwise the old checksum stays (a careless edit)."""
    header, body = split(data)
    meta = json.loads(header["__metadata__"]["tinylens"])
    change(meta)
    text = json.dumps(meta)
    header["__metadata__"]["tinylens"] = text
    if reseal:
        header["__metadata__"]["tinylens_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    return join(header, body)


def without_checksums(data: bytes) -> bytes:
    header, body = split(data)
    header["__metadata__"].pop("tinylens_sha256", None)
    meta = json.loads(header["__metadata__"]["tinylens"])
    meta.pop("sha256", None)
    header["__metadata__"]["tinylens"] = json.dumps(meta)
    return join(header, body)


BAD_VALUES: list[Any] = [
    None,
    "bogus",
    7,
    -1,
    10**20,
    1.5,
    [],
    {},
    [10**12],
    ["relu", 3],
    "x" * 10_000,
    {"a": {"b": {"c": []}}},
]
"""Values every metadata field and every module entry's keys are replaced with."""


def damaged_weights(valid: bytes) -> Iterator[tuple[str, bytes, str]]:
    """``(name, file bytes, expected)`` for damaged versions of ``valid``.

    ``expected`` is ``"refused"`` (loading must raise WeightsFileError) or ``"either"`` (a
    WeightsFileError or a network; never another exception type). A file whose checksum no
    longer matches, or whose metadata was changed under an intact checksum, is "refused".
    """
    header, body = split(valid)
    n = len(valid) - len(body)
    # the container
    for cut in (0, 4, 7, 8, 9, n // 2, n, len(valid) - 1):
        yield f"truncated at {cut}", valid[:cut], "refused"
    for length in (0, 1, 2**32, 2**63, 2**64 - 1):
        yield f"header length {length}", struct.pack("<Q", length) + valid[8:], "refused"
    yield "pickle magic", b"\x80\x04" + valid[2:], "refused"
    yield "zip magic", b"PK" + valid[2:], "refused"
    for name, raw in {
        "header not JSON": b"{not json",
        "header a list": b"[1, 2]",
        "header 100000-deep": b"[" * 100_000 + b"]" * 100_000,
        "header binary": bytes(range(256)),
        "header not UTF-8": b'{"\xff": 1}',
    }.items():
        yield name, join(None, body, raw), "refused"
    for value in [*BAD_VALUES, "{}", "[" * 5000 + "]" * 5000, "null", '{"format": 1}']:
        h = json.loads(json.dumps(header))
        h["__metadata__"]["tinylens"] = value
        yield f"tinylens metadata = {str(value)[:30]!r}", join(h, body), "refused"
    for value in BAD_VALUES:
        h = json.loads(json.dumps(header))
        h["__metadata__"] = value
        yield f"__metadata__ = {str(value)[:30]!r}", join(h, body), "refused"
    # every metadata field: deleted, or replaced by each bad value, under the old checksum
    # (refused: the metadata checksum no longer matches) and resealed (caught by validation)
    meta = json.loads(header["__metadata__"]["tinylens"])
    for key in meta:
        for value in [KeyError, *BAD_VALUES]:

            def change(m, key=key, value=value):
                if value is KeyError:
                    del m[key]
                else:
                    m[key] = value

            label = "deleted" if value is KeyError else repr(value)[:30]
            if value is not KeyError and meta[key] == value:
                continue  # no change: the file is still valid
            yield f"meta {key} {label}", with_meta(valid, change, reseal=False), "refused"
            yield f"meta {key} {label} resealed", with_meta(valid, change, reseal=True), "either"
    # every key of every module entry
    for i, module in enumerate(meta["modules"]):
        for key in module:
            for value in BAD_VALUES:

                def change(m, i=i, key=key, value=value):
                    m["modules"][i][key] = value

                label = f"modules[{i}].{key} = {repr(value)[:30]}"
                yield label, with_meta(valid, change, reseal=True), "either"

    def huge_layer(m):
        m["modules"][0]["in_features"] = 10**12

    yield "huge layer resealed", with_meta(valid, huge_layer, reseal=True), "refused"
    for exact in ("garbage", {"layers": "x"}, {"layers": [{"weight": "a"}]}, [1], 5):

        def set_exact(m, exact=exact):
            m["info"] = {"exact": exact}

        yield f"info.exact = {exact!r}", with_meta(valid, set_exact, reseal=True), "either"

    def identity(m):
        m["activations"] = ["identity"] * len(m["activations"])
        m["modules"] = [x for x in m["modules"] if x["type"] == "linear"]

    yield "relu to identity", with_meta(valid, identity, reseal=False), "refused"
    # the tensors: flipped bits (refused by the checksum), and the same with checksums removed
    for at in (0, len(body) // 2, len(body) - 1):
        flipped = bytearray(body)
        flipped[at] ^= 0x40
        yield f"tensor bit flipped at {at}", join(header, bytes(flipped)), "refused"
        yield (
            f"tensor bit flipped at {at}, no checksum",
            without_checksums(join(header, bytes(flipped))),
            "either",
        )
    for field, values in {
        "dtype": ["F16", "I64", "BOOL", "bogus", 7],
        "shape": [[], [1], [10**9, 10**9], [-1, 2], "x"],
        "data_offsets": [[0, 10**12], [5, 2], [0], "x"],
    }.items():
        for value in values:
            h = json.loads(json.dumps(header))
            h["layers.0.weight"][field] = value
            yield f"tensor {field} = {value!r}", join(h, body), "refused"
