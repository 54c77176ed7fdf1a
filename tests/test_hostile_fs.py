"""Issue 17 on real filesystems: a read-only disk, a full disk and a directory the user may not
write, for every command that writes (``train``, ``regions``, ``circuits compile``, ``circuits
list``, ``sweep``).

Each case first writes a good result to ``--out``, then breaks the filesystem and runs the same
command again with ``--force``. What must hold, every time:

* exit code 2, one line on stderr, no traceback;
* the earlier result is intact, byte for byte;
* nothing half-written is left beside it (no ``.partial`` directory, no temporary file).

The filesystems are real: a small tmpfs (mounted for the test, so it needs root; skipped
otherwise, with the reason), remounted read-only, or filled to the last byte; the permission
case runs the command without root's power to ignore file modes (CAP_DAC_OVERRIDE and its
kin dropped from the bounding set) against a directory of mode 0555.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import hostile_cases as hc

ROOT = Path(__file__).resolve().parent.parent
DISK_KIB = 16 * 1024
"""Size of the test's tmpfs: room for the largest first result here (``circuits list``,
about 2.5 MiB of figures) with space to spare."""

SECONDS = 300


def _mount(path: Path, size_kib: int) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0


@pytest.fixture
def disk():
    """A fresh tmpfs of ``DISK_KIB`` KiB, unmounted after the test."""
    point = Path(tempfile.mkdtemp(prefix="tinylens-fs-"))
    if not _mount(point, DISK_KIB):
        point.rmdir()
        pytest.skip("needs root and mount(8) to make a small tmpfs (read-only, full disk)")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)
        with contextlib.suppress(OSError):
            point.rmdir()


def _fixtures(disk: Path) -> dict[str, str]:
    return hc.fixtures(disk / "fixtures")


def _commands(paths: dict[str, str]) -> dict[str, tuple[list[str], str]]:
    """Command -> (argv without --out, what --out names: a directory or a file)."""
    return {
        "train": (["train", "--epochs", "1", "--data-param", "n=60", "--arch", "2,4,3"], "dir"),
        "regions": (["regions", paths["MODEL"], "--box=-1,1,-1,1"], "dir"),
        "circuits compile": (["circuits", "compile", "abs(x)", "--domain=-1:1"], "file"),
        "circuits list": (["circuits", "list", "--quiet"], "dir"),
        "sweep": (["sweep", paths["SWEEP"], "--workers", "1", "--quiet"], "dir"),
    }


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _drop_file_capabilities() -> None:
    """In the child, before exec: give up root's power to ignore file permissions.

    Dropped from the bounding set, the capabilities are gone from the exec'd process, so a
    directory of mode 0555 refuses writes even to its owner, root (as it does for any user).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _run(argv: list[str], cwd: Path, *, unprivileged: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    env["MPLCONFIGDIR"] = str(cwd / ".mpl")
    env.pop("TINYLENS_REQUIRE_BROWSER", None)
    kwargs = {}
    if unprivileged:
        kwargs["preexec_fn"] = _drop_file_capabilities
    return subprocess.run(
        [sys.executable, "-m", "tinylens", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        **kwargs,
    )


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (or ``root`` itself), by relative path, with its SHA-256."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {
        str(p.relative_to(root.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def _first_result(disk: Path, command: str, paths) -> tuple[list[str], Path, Path]:
    argv, kind = _commands(paths)[command]
    work = disk / "work"
    (work / ".mpl").mkdir(parents=True)  # matplotlib's cache, writable in every case
    outdir = disk / "results"
    outdir.mkdir()
    out = outdir / ("c.safetensors" if kind == "file" else "run")
    argv = [*argv, "--out", str(out)]
    first = _run(argv, work)
    assert first.returncode == 0, first.stderr[-2000:]
    return argv, work, out


def _assert_refused_and_intact(proc, out: Path, before: dict[str, str], listing: set[str]):
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    lines = [ln for ln in err.splitlines() if ln.strip() and ": warning: " not in ln]
    assert len(lines) == 1, err[-2000:]
    assert _snapshot(out) == before, "the earlier result changed"
    assert set(os.listdir(out.parent)) == listing, "something was left beside the result"


COMMANDS = ["train", "regions", "circuits compile", "circuits list", "sweep"]


@contextlib.contextmanager
def _read_only(disk: Path, out: Path):
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    try:
        yield False
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)


@contextlib.contextmanager
def _full(disk: Path, out: Path):
    with open(disk / "filler", "wb") as f, contextlib.suppress(OSError):
        while True:  # until ENOSPC: the disk is full to the last block
            f.write(b"\0" * 65536)
            f.flush()
    yield False


@contextlib.contextmanager
def _not_writable(disk: Path, out: Path):
    for p in [out.parent, *out.parent.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)  # readable, writable by no one
    yield True  # run without root's power to ignore file modes


BREAKAGES = {
    "read-only": (_read_only, "read-only"),
    "full": (_full, "space"),
    "permission": (_not_writable, "permission"),
}
"""How the filesystem is broken -> (a context that breaks it, a word the error must say)."""


@pytest.mark.slow
@pytest.mark.parametrize("breakage", list(BREAKAGES))
@pytest.mark.parametrize("command", COMMANDS)
def test_a_broken_filesystem_is_one_line_and_loses_nothing(command, breakage, disk):
    argv, work, out = _first_result(disk, command, _fixtures(disk))
    before, listing = _snapshot(out), set(os.listdir(out.parent))
    breaker, word = BREAKAGES[breakage]
    with breaker(disk, out) as unprivileged:
        proc = _run([*argv, "--force"], work, unprivileged=unprivileged)
    _assert_refused_and_intact(proc, out, before, listing)
    assert word in proc.stderr.lower(), proc.stderr


# -- the same promise without a real filesystem (any machine, any user) -----------------------
def _fail_inside_run(tmp_path, exc: BaseException, *, resumable: bool) -> set[str]:
    from argparse import Namespace

    from tinylens.cli.common import open_run

    args = Namespace(out=str(tmp_path / "run"), force=False)
    with pytest.raises(type(exc)), open_run(args, "test", resumable=resumable) as run:
        run.write_text("checkpoint.json", "{}")
        raise exc
    return set(os.listdir(tmp_path))


def test_an_unfinished_run_leaves_nothing_behind(tmp_path):
    assert _fail_inside_run(tmp_path, RuntimeError("boom"), resumable=False) == set()


def test_a_resumable_run_keeps_its_checkpoint_unless_the_disk_is_full(tmp_path):
    import errno

    kept = _fail_inside_run(tmp_path / "a", KeyboardInterrupt(), resumable=True)
    assert kept == {".run.partial"}  # the next `train` with this --out resumes from it
    full = OSError(errno.ENOSPC, "No space left on device")
    wrapped = RuntimeError("could not save")
    wrapped.__cause__ = full  # as the writers raise it: their own error, from the OSError
    assert _fail_inside_run(tmp_path / "b", wrapped, resumable=True) == set()
