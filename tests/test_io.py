"""The weights file format, atomic writes and run directories."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest

import tinylens.io as tio
from tinylens.engine import MLP, AffineNet, Dropout, LayerNorm, LeakyReLU, Linear, ReLU, Sequential
from tinylens.errors import ConfigError, UnverifiedWeightsWarning, WeightsFileError


def roundtrip(net, tmp_path):
    path = tio.save(net, tmp_path / "net.safetensors", info={"epoch": 3})
    return tio.load(path), path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_roundtrip_is_exact(tmp_path, dtype):
    net = MLP([5, 7, 3, 2], activation="tanh", rng=0, dtype=dtype, input_names=list("abcde"))
    back, path = roundtrip(net, tmp_path)
    assert back.dtype == dtype and back.input_names == tuple("abcde")
    for (k1, v1), (k2, v2) in zip(net.state_dict().items(), back.state_dict().items(), strict=True):
        assert k1 == k2 and np.array_equal(v1, v2)
    x = np.random.default_rng(1).normal(size=(4, 5))
    assert np.array_equal(net.predict(x), back.predict(x))
    assert tio.read_info(path)["info"] == {"epoch": 3}


def test_file_layout_is_the_public_format(tmp_path):
    """Other tools read these files with safetensors alone: check the documented layout."""
    from safetensors import safe_open

    net = MLP([2, 3, 1], rng=0, output_activation="sigmoid")
    path = tio.save(net, tmp_path / "m.safetensors")
    with safe_open(str(path), framework="numpy") as fh:
        keys = sorted(fh.keys())
        meta = json.loads(fh.metadata()["tinylens"])
        w1 = fh.get_tensor("layers.1.weight")
    assert keys == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]
    assert meta["format"] == 1 and meta["activations"] == ["relu", "sigmoid"]
    assert meta["sizes"] == [2, 3, 1]
    assert w1.shape == (1, 3)  # [out, in]
    assert np.array_equal(w1, net.layers[2].weight.data)


def test_a_file_with_only_activations_metadata_loads(tmp_path):
    """A third-party writer that follows the documented minimum is readable."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {
        "layers.0.weight": rng.normal(size=(4, 2)),
        "layers.0.bias": np.zeros(4),
        "layers.1.weight": rng.normal(size=(1, 4)),
    }
    save_file(
        tensors,
        str(tmp_path / "x.safetensors"),
        metadata={"tinylens": json.dumps({"format": 1, "activations": ["relu", "identity"]})},
    )
    with pytest.warns(UnverifiedWeightsWarning, match="no checksum"):
        net = tio.load(tmp_path / "x.safetensors")
    assert tio.checksum_status(tmp_path / "x.safetensors") == "unverified"
    assert net.sizes == [2, 4, 1] and net.layers[2].bias is None
    # issue 12: no "dtype" in the metadata: the tensors' own float64, never narrowed to float32
    assert net.dtype == np.float64
    assert np.array_equal(net.layers[0].weight.data, tensors["layers.0.weight"])
    x = rng.normal(size=(3, 2))
    expected = np.maximum(x @ tensors["layers.0.weight"].T, 0) @ tensors["layers.1.weight"].T
    np.testing.assert_array_equal(net.forward(x), expected)  # one backend: NumPy both sides


def test_layernorm_dropout_and_leaky_networks_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    net = Sequential(
        [
            Linear(4, 6, rng=rng),
            ReLU(),
            LayerNorm(6),
            Dropout(0.2),
            Linear(6, 5, rng=rng),
            LayerNorm(5),
            LeakyReLU(0.1),
            Linear(5, 3, rng=rng, bias=False),
        ]
    )
    net.layers[2].weight.assign(rng.normal(size=6))
    back, _ = roundtrip(net, tmp_path)
    assert [m.kind for m in back.layers] == [m.kind for m in net.layers]
    assert back.layers[6].negative_slope == 0.1 and back.layers[3].p == 0.2
    x = rng.normal(size=(8, 4))
    np.testing.assert_array_equal(net.predict(x), back.predict(x))


def test_affine_net_saves_and_loads(tmp_path):
    aff = AffineNet.from_lists(
        [([[1.0], [-1.0]], [0, 0], "relu"), ([[1.0, 1.0]], [0], "identity")], input_names=["x"]
    )
    path = tio.save(aff, tmp_path / "abs.safetensors")
    back = tio.load_affine(path)
    assert back.sizes == [1, 2, 1] and back.input_names == ("x",)
    assert back(np.array([[-3.0], [2.0]])).ravel().tolist() == [3.0, 2.0]


def corrupt(path, offset_from_end=1):
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0xFF
    path.write_bytes(bytes(data))


def test_tampered_tensor_bytes_fail_the_checksum(tmp_path):
    _, path = roundtrip(MLP([3, 4, 2], rng=0), tmp_path)
    corrupt(path)
    with pytest.raises(WeightsFileError, match="fails its checksum"):
        tio.load(path)


def test_truncated_and_garbage_files_give_one_clear_error(tmp_path):
    _, path = roundtrip(MLP([3, 4, 2], rng=0), tmp_path)
    data = path.read_bytes()
    for name, content in {
        "short.safetensors": data[:5],
        "cut.safetensors": data[:-7],
        "header.safetensors": data[:8] + b"{not json" + data[17:],
        "empty.safetensors": b"",
    }.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(WeightsFileError) as info:
            tio.load(p)
        assert "\n" not in str(info.value) and name in str(info.value)


def test_pickles_are_refused_not_loaded(tmp_path):
    p = tmp_path / "evil.pt"
    p.write_bytes(pickle.dumps({"layers.0.weight": [1.0]}))
    with pytest.raises(WeightsFileError, match="never loads pickles"):
        tio.load(p)


def test_foreign_safetensors_and_wrong_format(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(WeightsFileError, match="no 'tinylens' metadata"):
        tio.load(tmp_path / "plain.safetensors")
    save_file(
        {"w": np.zeros(2)},
        str(tmp_path / "v9.safetensors"),
        metadata={"tinylens": json.dumps({"format": 9})},
    )
    with pytest.raises(WeightsFileError, match="format 9"):
        tio.load(tmp_path / "v9.safetensors")
    with pytest.raises(WeightsFileError, match="does not exist"):
        tio.load(tmp_path / "missing.safetensors")


def test_shape_mismatch_between_metadata_and_tensors(tmp_path):
    from safetensors.numpy import save_file

    meta = {
        "format": 1,
        "activations": ["relu", "identity"],
        "modules": [
            {
                "type": "linear",
                "in_features": 2,
                "out_features": 3,
                "bias": False,
                "tensors": "layers.0",
            },
            {"type": "relu"},
            {
                "type": "linear",
                "in_features": 3,
                "out_features": 1,
                "bias": False,
                "tensors": "layers.1",
            },
        ],
    }
    save_file(
        {"layers.0.weight": np.zeros((3, 2)), "layers.1.weight": np.zeros((2, 3))},
        str(tmp_path / "bad.safetensors"),
        metadata={"tinylens": json.dumps(meta)},
    )
    with (
        pytest.warns(UnverifiedWeightsWarning, match="no checksum"),
        pytest.raises(WeightsFileError, match=r"layers.1.weight' has shape \[2, 3\]"),
    ):
        tio.load(tmp_path / "bad.safetensors")


def test_a_failed_write_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "f.txt"
    tio.atomic_write_text(path, "old")
    with pytest.raises(RuntimeError), tio.atomic_path(path) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_rundir_never_overwrites_without_force(tmp_path):
    out = tmp_path / "run"
    with tio.RunDir(out) as run:
        run.write_json("metrics.json", {"a": 1})
    with pytest.raises(ConfigError, match="already exists; pass --force"):
        tio.RunDir(out)
    assert json.loads((out / "metrics.json").read_text()) == {"a": 1}


def test_rundir_keeps_the_old_run_until_the_new_one_finishes(tmp_path):
    out = tmp_path / "run"
    with tio.RunDir(out) as run:
        run.write_json("metrics.json", {"a": 1})
    with pytest.raises(ZeroDivisionError), tio.RunDir(out, force=True) as run:
        run.write_json("metrics.json", {"a": 2})
        1 / 0
    assert json.loads((out / "metrics.json").read_text()) == {"a": 1}
    with tio.RunDir(out, force=True, resume=False) as run:
        run.write_json("metrics.json", {"a": 3})
    assert json.loads((out / "metrics.json").read_text()) == {"a": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_header_length_field_is_validated(tmp_path):
    p = tmp_path / "huge.safetensors"
    p.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(WeightsFileError, match="-byte header, more than"):
        tio.load(p)


def test_atomic_files_get_the_usual_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        path = tio.atomic_write_text(tmp_path / "report.html", "x")
    finally:
        os.umask(mask)
    assert (path.stat().st_mode & 0o777) == 0o644


# -- integrity: the checksum covers the metadata; damaged files raise WeightsFileError ---------


def _valid(tmp_path):
    net = MLP([2, 5, 3], rng=np.random.default_rng(1))
    return net, tio.save(net, tmp_path / "m.safetensors")


def test_changing_the_metadata_under_its_checksum_is_refused(tmp_path):
    from tests.hostile_cases import with_meta

    _, path = _valid(tmp_path)
    assert tio.checksum_status(path) == "verified"

    def identity(m):  # relu -> identity: a different function with the same tensors
        m["activations"] = ["identity", "identity"]
        m["modules"] = [x for x in m["modules"] if x["type"] == "linear"]

    path.write_bytes(with_meta(path.read_bytes(), identity, reseal=False))
    with pytest.raises(WeightsFileError, match=r"metadata .* was changed"):
        tio.load(path)


def test_a_file_with_the_older_tensor_only_checksum_loads_and_says_so(tmp_path):
    from tests.hostile_cases import join, split

    net, path = _valid(tmp_path)
    header, body = split(path.read_bytes())
    del header["__metadata__"]["tinylens_sha256"]  # exactly what tinylens wrote before
    path.write_bytes(join(header, body))
    assert tio.checksum_status(path) == "tensors only"
    with pytest.warns(UnverifiedWeightsWarning, match="covering its tensors only"):
        loaded = tio.load(path)
    assert np.array_equal(loaded.layers[0].weight.data, net.layers[0].weight.data)
    flipped = bytearray(body)
    flipped[3] ^= 1
    path.write_bytes(join(header, bytes(flipped)))
    with pytest.raises(WeightsFileError, match="tensors were changed"):
        tio.load(path)


def test_a_flipped_bit_with_the_checksums_deleted_is_never_presented_as_verified(tmp_path):
    from tests.hostile_cases import join, split, without_checksums

    _, path = _valid(tmp_path)
    header, body = split(path.read_bytes())
    flipped = bytearray(body)
    flipped[-1] ^= 0x40
    path.write_bytes(without_checksums(join(header, bytes(flipped))))
    assert tio.checksum_status(path) == "unverified"
    with pytest.warns(UnverifiedWeightsWarning, match="unverified"):
        tio.load(path)


def test_the_cli_prints_an_unverified_file_as_one_warning_line(tmp_path, capsys):
    from tinylens.cli.main import main

    from tests.hostile_cases import without_checksums

    _, path = _valid(tmp_path)
    path.write_bytes(without_checksums(path.read_bytes()))
    assert main(["inspect", str(path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning:" in err[0] and "unverified" in err[0]


def test_tensor_dtype_disagreeing_with_metadata_is_refused(tmp_path):
    from tests.hostile_cases import with_meta

    _, path = _valid(tmp_path)  # float32 tensors

    def to64(m):
        m["dtype"] = "float64"

    path.write_bytes(with_meta(path.read_bytes(), to64, reseal=True))
    with pytest.raises(WeightsFileError, match="says dtype float64 but holds"):
        tio.load(path)


def test_every_damaged_file_raises_weights_file_error_or_loads(tmp_path):
    """Hundreds of mutations of a valid file's header, metadata and tensors: the API raises
    WeightsFileError (never another type), and files that must not load do not."""
    import warnings

    from tinylens.circuits.expr import load_exact

    from tests.hostile_cases import damaged_weights, valid_weights_bytes

    counts = {"refused": 0, "loaded": 0}
    path = tmp_path / "d.safetensors"
    for name, data, expected in damaged_weights(valid_weights_bytes()):
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnverifiedWeightsWarning)
            try:
                tio.load(path)
                tio.load_affine(path)
                if "exact" in (tio.read_info(path).get("info") or {}):
                    load_exact(path)
            except WeightsFileError as exc:
                assert "\n" not in str(exc) and len(str(exc)) < 600, name
                counts["refused"] += 1
                continue
            except Exception as exc:  # pragma: no cover - the failure being tested for
                pytest.fail(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        assert expected == "either", f"{name}: loaded but must be refused"
        counts["loaded"] += 1
    assert counts["refused"] > 200 and counts["loaded"] > 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_by_the_api_and_every_command(tmp_path, bad, capsys):
    from tinylens.cli.main import main

    net = MLP([2, 4, 3], rng=np.random.default_rng(0))
    net.layers[0].weight.data[1, 1] = bad
    path = tio.save(net, tmp_path / "nan.safetensors")
    with pytest.raises(WeightsFileError, match="NaN or infinite values in tensor 'layers"):
        tio.load(path)
    for argv in (
        ["inspect", str(path)],
        ["ablate", str(path), "--data", "spiral", "--out", str(tmp_path / "a")],
        ["circuits", "explain", str(path)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "NaN or infinite" in err, argv


# -- runs that cannot corrupt each other -------------------------------------------------------


def test_a_second_run_with_the_same_out_is_refused_as_in_use(tmp_path):
    first = tio.RunDir(tmp_path / "run")
    with pytest.raises(ConfigError, match="in use by another tinylens run"):
        tio.RunDir(tmp_path / "run")
    first.write_json("a.json", 1)
    first.finish()
    with tio.RunDir(tmp_path / "run", force=True) as again:  # free again once finished
        again.write_json("a.json", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no lock file left behind


def test_a_second_process_is_refused_while_the_first_holds_the_out(tmp_path):
    import subprocess
    import sys

    holder = tio.RunDir(tmp_path / "run")
    code = (
        "import sys; from tinylens.io import RunDir; from tinylens.errors import ConfigError\n"
        "try:\n    RunDir(sys.argv[1])\nexcept ConfigError as e:\n    print(e); sys.exit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True
    )
    assert proc.returncode == 3 and "in use" in proc.stdout
    holder.close()
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")])
    assert proc.returncode == 0


@pytest.mark.parametrize("stage", ["between the renames", "after both renames"])
def test_a_run_killed_inside_finish_is_repaired_by_the_next_start(tmp_path, stage):
    out = tmp_path / "run"
    with tio.RunDir(out) as run:
        run.write_json("metrics.json", {"run": "earlier"})
    newer = tio.RunDir(out, force=True)
    newer.write_json("metrics.json", {"run": "newer"})
    os.replace(out, tmp_path / ".run.old")  # the first rename of finish
    if stage == "after both renames":
        os.replace(newer.work, out)
    # killed: the kernel drops the lock with the process; its lock file stays behind
    os.close(newer._lock)
    newer._lock = None
    assert (tmp_path / ".run.lock").exists()
    expected = "earlier" if stage == "between the renames" else "newer"
    with pytest.raises(ConfigError, match="already exists"):
        tio.RunDir(out)  # the next start repairs first, then refuses to overwrite
    assert json.loads((out / "metrics.json").read_text()) == {"run": expected}
    assert not (tmp_path / ".run.old").exists()


@pytest.mark.parametrize("out", [".", "..", ""])
def test_out_naming_the_current_directory_is_refused(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="--out"):
        tio.RunDir(out, force=True)
    assert list(tmp_path.iterdir()) == []


def test_a_header_length_ending_in_0x80_is_not_taken_for_a_pickle(tmp_path):
    """The first byte of a safetensors file is the low byte of its header length: 0x80 is as
    likely as any other (1 file in 256 was refused as 'a pickle')."""
    for width in range(1, 400):
        net = MLP([2, 3, 1], rng=np.random.default_rng(0))
        path = tio.save(net, tmp_path / "m.safetensors", info={"pad": "x" * width})
        if path.read_bytes()[0] == 0x80:
            break
    else:  # pragma: no cover
        pytest.fail("no padding gave a header length ending in 0x80")
    assert tio.load(path).sizes == [2, 3, 1]
