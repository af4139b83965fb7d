"""``scripts/setup.sh`` — the first thing a newcomer runs — says what it is doing.

Each test runs the real script (bash, ``python -m venv``, pip with build
isolation) into a temporary virtual environment, with only the bare package so
that it stays quick. Graphviz and Chromium are already installed wherever the
suite runs, so the apt-get phases are skipped here; they go through the same
``phase`` function that these tests watch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup.sh"


def _setup(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SETUP)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "SCALARGRAD_VENV": str(tmp_path / "venv"),
            "SCALARGRAD_EXTRAS": "",
            "SCALARGRAD_SETUP_LOG": str(tmp_path / "setup.log"),
            "SCALARGRAD_SETUP_HEARTBEAT": "1",
            **env,
        },
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dot") is None, reason="setup.sh would try to install dot")
def test_setup_says_what_it_does_and_hides_the_editable_install_warning(tmp_path: Path) -> None:
    r = _setup(tmp_path, SCALARGRAD_SKIP_BROWSER="1")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    starts = [line for line in lines if line.startswith("setup: ") and "(usually " in line]
    assert [s.split(" (usually")[0] for s in starts] == [
        f"setup: creating the virtual environment {tmp_path / 'venv'}",
        f"setup: upgrading pip in {tmp_path / 'venv'}",
        "setup: installing scalargrad with pip",
    ]
    # every phase that takes longer than the heartbeat says it is still working
    assert any(line.startswith("setup:   ... still installing scalargrad") for line in lines)
    assert sum(line.startswith("setup:   done in ") for line in lines) == 3
    assert lines[-1].startswith("setup: done in ") and str(tmp_path / "setup.log") in lines[-1]
    # setuptools' warning about editable installs of a flat layout is not shown
    shown = r.stdout + r.stderr
    for noise in ("Editable installation", "BuildBackendWarning", "Please be careful"):
        assert noise not in shown, shown
    # and the environment works, with the package installed from this checkout
    version = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "scalargrad"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"from {ROOT / 'scalargrad'} " in version


def test_a_failing_phase_says_which_and_shows_the_log(tmp_path: Path) -> None:
    fake = tmp_path / "python-that-fails"
    fake.write_text("#!/bin/sh\necho 'venv: cannot create it here' >&2\nexit 3\n")
    fake.chmod(0o755)
    r = _setup(tmp_path, PYTHON=str(fake), SCALARGRAD_SKIP_BROWSER="1")
    if shutil.which("dot") is None:
        pytest.skip("setup.sh stops earlier, at the missing dot")
    assert r.returncode == 3
    assert "setup: FAILED while creating the virtual environment" in r.stderr
    assert "venv: cannot create it here" in r.stderr  # the log's last lines
