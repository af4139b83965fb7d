"""Tests of :mod:`scalargrad._files`: every file is written whole or not at all.

A failed write (here a full disk, simulated with ``RLIMIT_FSIZE`` in a real
``scalargrad grad`` process) must leave the file that was there byte for
byte, leave no temporary file, exit 1 and name the file.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from scalargrad import Value
from scalargrad._files import write_atomically
from scalargrad.page import save_steps_html
from scalargrad.viz import write_drawing

LIMIT = 4096  # bytes any file may reach in the child (a page or an SVG is larger)


def _disk_full() -> None:
    """In the child: files stop growing at LIMIT bytes, and write() then fails with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # no signal: write() raises instead
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, hard))


def _grad_on_a_full_disk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "scalargrad", "grad", *args], capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL, env=env, preexec_fn=_disk_full,
    )


@pytest.mark.parametrize("option, name", [("--draw", "f.svg"), ("--draw", "f.dot"),
                                          ("--html", "page.html")])
def test_a_write_that_fails_on_a_full_disk_keeps_the_old_file(
    option: str, name: str, tmp_path: Path
) -> None:
    target = tmp_path / name
    old = b"<the good file from yesterday>\n" * 40  # 1,240 bytes: under the limit
    target.write_bytes(old)
    expr = "*".join(["x"] * 30)  # 30 Values: every output format is larger than LIMIT
    r = _grad_on_a_full_disk(expr, "x=1.01", option, str(target))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"cannot write {target}" in r.stderr and "File too large" in r.stderr
    assert "previous file is unchanged" in r.stderr
    assert "Traceback" not in r.stderr and "wrote" not in r.stdout
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == [name]  # no temporary file left beside it
    # the same command with room to write replaces the file with the whole output
    ok = subprocess.run([sys.executable, "-m", "scalargrad", "grad", expr, "x=1.01", option,
                         str(target)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert target.stat().st_size > LIMIT and os.listdir(tmp_path) == [name]


def test_a_failed_write_to_a_new_file_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.dot"
    r = _grad_on_a_full_disk("*".join(["x"] * 30), "x=1.01", "--draw", str(target))
    assert r.returncode == 1 and f"cannot write {target}" in r.stderr
    assert "nothing was written" in r.stderr
    assert os.listdir(tmp_path) == []


def test_write_atomically_replaces_text_and_bytes_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    assert write_atomically(target, "σ(z) − y\n") == target
    assert target.read_bytes() == "σ(z) − y\n".encode()
    target.chmod(0o640)
    write_atomically(str(target), b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_new_file_gets_the_umask_not_private_temp_file_bits(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "page.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "page.html").stat().st_mode) == 0o644


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.svg"
    real.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(real)
    write_atomically(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_an_unwritable_place_is_an_oserror_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "f.svg"
    with pytest.raises(FileNotFoundError, match=r"cannot write .*no such folder/f\.svg"):
        write_atomically(missing, "x")
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "f.dot").write_text("kept")
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root ignores permissions
            pytest.skip("running as root: a read-only folder is writable")
        with pytest.raises(PermissionError, match="previous file is unchanged"):
            write_drawing(Value(1.0, "x") * 2, folder / "f.dot")
        assert (folder / "f.dot").read_text() == "kept"
        assert sorted(os.listdir(folder)) == ["f.dot"]
    finally:
        folder.chmod(0o700)


def test_the_library_writers_go_through_write_atomically(tmp_path: Path) -> None:
    # a directory where the file should be: the rename fails, the directory stays
    x = Value(0.5, "x")
    y = (x * x).tanh()
    for write, name in ((write_drawing, "d.dot"), (save_steps_html, "p.html")):
        (tmp_path / name).mkdir()
        with pytest.raises(OSError, match=f"cannot write .*{name}"):
            write(y, tmp_path / name)
        assert (tmp_path / name).is_dir()
    assert sorted(os.listdir(tmp_path)) == ["d.dot", "p.html"]
