"""Generators of hostile inputs for tests/test_hostile.py and tests/test_io.py.

Nothing here is hand-listed one case at a time: damaged weights files are made by mutating a
valid file's header, metadata and tensors systematically, and CLI argument lists by replacing
each option's value of each registered command with a family of bad values.
"""

from __future__ import annotations

import argparse
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


# -- the command line -------------------------------------------------------------------------


def leaf_commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command the CLI registers, sub-commands expanded (``("circuits", "show")``): new
    commands are covered as soon as they register."""
    from tinylens.cli.main import build_parser

    def walk(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, parser
            return
        for name, sub in subs[0].choices.items():
            yield from walk(sub, (*path, name))

    return list(walk(build_parser(), ()))


BAD_ARGS = [
    "-1",
    "0",
    "100000000",
    "99999999999999999999",
    "1e400",
    "nan",
    "-inf",
    "abc",
    "",
    "1,2,3,-4",
    "x=1..99999999999",
    "../../../../etc/hostname",
    "/dev/zero",
    "a" * 300,
]
"""Values every option and positional is given in turn: negative, zero, huge, non-finite,
non-numeric, empty, list-like, range-like, path-like."""


def fixtures(root) -> dict[str, str]:
    """Valid inputs the bases refer to, written under ``root``: a small model, a compiled
    circuit, a sweep file, a finished run directory."""
    from pathlib import Path

    from tinylens.circuits import compile_expression
    from tinylens.io import Figure, RunDir, Section, save

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    model = root / "model.safetensors"
    model.write_bytes(valid_weights_bytes((2, 4, 3)))
    circuit = root / "circuit.safetensors"
    c = compile_expression("abs(x)", domain="x=-1:1")
    save(c.net.to_float(), circuit, info=c.info())
    sweep = root / "sweep.yaml"
    sweep.write_text(
        "name: t\nstudy: train\nconfig: {data: spiral, data_params: {n: 60}, arch: [2, 4, 3], "
        "train: {epochs: 1}}\ngrid: {train.lr: [0.01]}\nseeds: 1\n"
    )
    run = RunDir(root / "run")
    run.write_text("f.json", "[1]")
    run.add_section(Section("s", "t", figures=[Figure("f.json", kind="widget", widget="x")]))
    run.finish()
    a_file = root / "a-file.txt"
    a_file.write_text("not a directory")
    return {
        "MODEL": str(model),
        "CIRCUIT": str(circuit),
        "SWEEP": str(sweep),
        "RUN": str(root / "run"),
        "FILE": str(a_file),
    }


BASES: dict[str, list[str]] = {
    "demo": ["--quick", "--parts", "circuits"],
    "train": ["--epochs", "1", "--data-param", "n=60", "--arch", "2,4,3"],
    "basis": ["--epochs", "2", "--samples", "40", "--no-animation", "--no-sweep"],
    "optimizers": ["--dataset", "spiral", "--seeds", "1", "--epochs", "1", "--no-paths"],
    "topology": ["--epochs", "1", "--lift-epochs", "1", "--points", "40", "--hidden", "4"],
    "circuits list": [],
    "circuits show": ["abs"],
    "circuits compile": ["abs(x)", "--domain=-1:1"],
    "circuits recover": ["abs", "--seeds", "2", "--steps", "5"],
    "circuits explain": ["{CIRCUIT}"],
    "circuits minimal": ["abs(x)", "--domain=x=-2..2", "--max-width", "2", "--time-limit", "5"],
    "inspect": ["{MODEL}"],
    "mnist": ["--dataset", "digits", "--quick", "--epochs", "1", "--train-size", "200"],
    "regions": ["{MODEL}"],
    "ablate": ["{MODEL}", "--data", "spiral", "--data-param", "n=60"],
    "report": ["{RUN}"],
    "sweep": ["{SWEEP}", "--workers", "1"],
}
"""A valid, quick invocation of each command, mutated one argument at a time. A command not
listed (registered after this was written) gets its positionals filled by name."""

_POSITIONAL_GUESS = {"model": "{MODEL}", "weights": "{MODEL}", "run_dir": "{RUN}"}


def _base(name: str, parser: argparse.ArgumentParser) -> list[str]:
    if name in BASES:
        return list(BASES[name])
    positionals = [a for a in parser._actions if not a.option_strings and a.nargs != "?"]
    return [_POSITIONAL_GUESS.get(a.dest, "{MODEL}") for a in positionals]


def _numeric(action: argparse.Action) -> bool:
    name = getattr(action.type, "__name__", "")
    return action.type in (int, float) or name in {
        "parse",
        "positive_float",
        "finite_float",
        "nonnegative_float",
        "fraction",
        "int_list",
        "float_list",
    }


PATH_OPTIONS = {"out", "data_dir", "config", "scheduler"}
"""Options naming a file, directory or address: they get :data:`BAD_PATHS`."""

BAD_PATHS = ["", "/dev/zero", "a" * 300, "/proc/self/x", "{FILE}/sub"]
"""Paths no output or input can use: empty, a device, a 300-character name, in /proc, under a
regular file."""


def _accepted(action: argparse.Action, value: str) -> bool:
    """Whether the option's own parser takes ``value`` (then it is valid input, not hostile)."""
    if action.type is None or action.dest in PATH_OPTIONS:
        return False
    try:
        action.type(value)
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return False
    return True


def cli_cases() -> Iterator[dict[str, Any]]:
    """``{"id", "argv", "must_fail"}`` for every command: each option's value and each
    positional replaced by each of :data:`BAD_ARGS` (paths by :data:`BAD_PATHS`). A value the
    option's own parser accepts is valid input and skipped (it would just run the study). A
    ``must_fail`` case (a typed option given a value its parser refuses, or a bad path) must
    exit with code 2: accepting it silently is a bug."""
    for path, parser in leaf_commands():
        name = " ".join(path)
        base = _base(name, parser)
        positionals = [a for a in parser._actions if not a.option_strings and a.nargs != "?"]
        positional_slots = range(len(positionals))  # bases list positionals first
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0 or action.dest == "help":
                continue
            if action.choices is not None:
                continue  # argparse itself checks choices
            opt = action.option_strings[-1]
            values = BAD_PATHS if action.dest in PATH_OPTIONS else BAD_ARGS
            for value in values:
                if _accepted(action, value):
                    continue
                yield {
                    "id": f"{name} {opt}={value[:20]!r}",
                    "argv": [*path, *_without(base, opt), f"{opt}={value}"],
                    "must_fail": (action.type is not None or action.dest == "out")
                    and not value.startswith("../"),  # inside the test's tree: valid
                }
        for slot in positional_slots:
            for value in BAD_ARGS:
                argv = list(base)
                argv[slot] = value
                yield {
                    "id": f"{name} [positional]={value[:20]!r}",
                    "argv": [*path, *argv],
                    "must_fail": False,
                }


def _without(base: list[str], opt: str) -> list[str]:
    """``base`` without ``opt`` and its value (the mutation replaces it)."""
    out, skip = [], False
    for token in base:
        if skip:
            skip = False
            continue
        if token == opt:
            skip = True
            continue
        if token.startswith(opt + "="):
            continue
        out.append(token)
    return out


# -- the worker: runs cases in-process, one process per command, under a memory limit ----------


def run_cases(cases: list[dict[str, Any]], results_path: str, *, seconds: float) -> None:
    """Run each case through ``tinylens.cli.main.main`` in this process and append one JSON line
    per case to ``results_path``: exit code, stderr, wall time, and the process's peak RSS."""
    import contextlib
    import io
    import os
    import resource
    import signal
    import time
    import traceback

    import matplotlib

    matplotlib.use("Agg")
    from tinylens.cli.main import main

    class CaseTimeout(BaseException):
        pass

    def alarm(signum, frame):
        raise CaseTimeout

    signal.signal(signal.SIGALRM, alarm)
    with open(results_path, "a", encoding="utf-8") as out:
        for case in cases:
            os.makedirs(case["cwd"], exist_ok=True)
            os.chdir(case["cwd"])
            err, std = io.StringIO(), io.StringIO()
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
                    code = main(case["argv"])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
            except CaseTimeout:
                code = "timeout"
            except BaseException:
                code = "traceback"
                err.write("Traceback (escaped main):\n" + traceback.format_exc()[-3000:])
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            record = {
                "id": case["id"],
                "code": code,
                "stderr": err.getvalue()[-4000:],
                "seconds": time.perf_counter() - t0,
                "peak_rss": peak,
            }
            out.write(json.dumps(record) + "\n")
            out.flush()


if __name__ == "__main__":  # python tests/hostile_cases.py CASES.json RESULTS.jsonl SECONDS AS
    import resource
    import sys

    cases_file, results_file, limit, address_space = sys.argv[1:5]
    resource.setrlimit(resource.RLIMIT_AS, (int(address_space), int(address_space)))
    with open(cases_file, encoding="utf-8") as fh:
        todo = json.load(fh)
    run_cases(todo, results_file, seconds=float(limit))


# -- files: damaged weights and malformed YAML given to every command that reads them ---------


def bad_yaml_files(root) -> dict[str, str]:
    """Malformed config files written under ``root``: name -> path."""
    import os
    from pathlib import Path

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str | bytes] = {
        "binary": bytes(range(256)) * 4,
        "deep": "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "name: t\nstudy: train\nconfig: {data: spiral, data_params: {n: *i}}\n",
        "empty": "",
        "a list": "- 1\n- 2\n",
        "not yaml": "name: [unclosed\n",
        "unknown keys": "name: t\nstudy: train\nbogus: 1\n",
        "huge grid": "name: t\nstudy: train\nconfig: {data: spiral}\n"
        "grid: {train.lr: [0.1]}\nseeds: 100000000\n",
    }
    out = {}
    for name, text in texts.items():
        p = root / f"{name.replace(' ', '-')}.yaml"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        out[name] = str(p)
    fifo = root / "pipe.yaml"
    os.mkfifo(fifo)
    out["named pipe"] = str(fifo)
    out["directory"] = str(root)
    out["device"] = "/dev/zero"
    return out


def file_cases(root, paths: dict[str, str]) -> list[dict[str, Any]]:
    """Every command that reads a weights file given each damaged one (and devices, pipes),
    and every command that reads YAML given each malformed file. All must exit with code 2,
    except damaged files that may still load (see :func:`damaged_weights`)."""
    import os
    from pathlib import Path

    root = Path(root)
    weights_dir = root / "damaged"
    weights_dir.mkdir(parents=True, exist_ok=True)
    damaged = []
    for i, (name, data, expected) in enumerate(damaged_weights(valid_weights_bytes((2, 4, 3)))):
        p = weights_dir / f"d{i}.safetensors"
        p.write_bytes(data)
        damaged.append((name, str(p), expected))
    fifo = weights_dir / "pipe.safetensors"
    os.mkfifo(fifo)
    damaged += [("named pipe", str(fifo), "refused"), ("/dev/zero", "/dev/zero", "refused")]
    cases = []
    readers = [(path, parser) for path, parser in leaf_commands() if _reads_weights(parser)]
    for k, (name, file, expected) in enumerate(damaged):
        path, parser = readers[k % len(readers)]  # each file to one reader, in turn
        base = _base(" ".join(path), parser)
        argv = [*path, file, *base[1:]]
        cases.append(
            {"id": f"{' '.join(path)} <- {name}", "argv": argv, "must_fail": expected == "refused"}
        )
    for name, file in bad_yaml_files(root / "yaml").items():
        cases.append({"id": f"sweep <- {name}", "argv": ["sweep", file], "must_fail": True})
        cases.append(
            {
                "id": f"optimizers --config <- {name}",
                "argv": ["optimizers", *BASES["optimizers"], "--config", file],
                "must_fail": True,
            }
        )
    return cases


def _reads_weights(parser: argparse.ArgumentParser) -> bool:
    return any(not a.option_strings and a.dest in ("model", "weights") for a in parser._actions)


ISSUE_CASES: list[tuple[list[str], bool]] = [
    (["circuits", "show", "bottleneck_sum", "--param", "n=100000000"], True),
    (["circuits", "recover", "min", "--batch-size", "100000000"], True),
    (["circuits", "compile", "+".join(["x"] * 3000), "--domain=-1:1"], True),
    (["circuits", "compile", "*".join(["x"] * 3000), "--domain=-1:1"], True),
    (["circuits", "compile", "1" * 5000 + " + x", "--domain=-1:1"], True),
    (["circuits", "compile", "1e400 + x", "--domain=-1:1"], False),
    (["circuits", "compile", "1e400 + x", "--domain=-1:1", "--out", "big.safetensors"], True),
    (
        ["circuits", "compile", "abs(x)", "--domain=-1:1", "--out", "/nonexistent/d/f.safetensors"],
        True,
    ),
    (["circuits", "explain", "{CIRCUIT}", "--digits", "100000"], True),
    (["train", "--arch", "2,99999999999999999999,3"], True),
    (["train", "--arch", "2,1000000000,3"], True),
    (["basis", "--hidden-dim", "1000000000"], True),
    (["demo", "--parts", ""], True),
    (["ablate", "{MODEL}", "--data", "spiral", "--data-param", "classes=2"], True),
    (["ablate", "{MODEL}", "--data", "spiral", "--data-param", "classes=5"], True),
    (["train", "--seed", "-1"], True),
    (["train", "--out", "."], True),
    (["train", "--out", "{FILE}/run"], True),
    (["train", "--epochs", "1", "--data-param", "n=&a [1, 2]"], True),
    (["report", "{FILE}"], True),
]
"""The reproductions listed in issue 17, kept as they were reported (True: must exit 2)."""


def issue_cases() -> list[dict[str, Any]]:
    return [
        {"id": f"issue: {' '.join(argv)[:80]}", "argv": argv, "must_fail": must_fail}
        for argv, must_fail in ISSUE_CASES
    ]


# Issue 17's hangs, refused before any work (appended by the circuits change): the exact check
# of max(x1, ..., x12) on a real box (2^12 vertices per piece), and an explain whose formula is
# larger than --max-terms (the 2-16-16-3 net of the issue has about 2,700 terms).
_MAX12 = f"max({', '.join(f'x{i}' for i in range(1, 13))})"
ISSUE_CASES += [
    (["circuits", "compile", _MAX12, "--domain=-1:1", "--verify"], True),
    (["circuits", "explain", "{MODEL}", "--max-terms", "1"], True),
]
