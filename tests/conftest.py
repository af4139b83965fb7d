"""Shared test set-up: Hypothesis profiles, the ``patch_rule`` fixture and the built site.

``ci`` (loaded when the CI environment variable is set, as CI does) is
deterministic with no deadline and no example database; ``dev`` is the default
locally, also without a deadline (finite-difference checks take milliseconds).
Choose one with ``HYPOTHESIS_PROFILE=thorough pytest`` for a longer run.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
Forward = Callable[..., tuple[float, tuple[float, ...]]]

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("thorough", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def patch_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Forward], None]]:
    """Replaces a rule's forward in RULES, the engine's cached rules and its operators.

    The planted forward is the rule's own (``own_replay``): the operators
    ``+ − ·`` the engine wrote from the rule's forms are made again from the
    new rule, so they call the planted forward instead.
    """
    import scalargrad.engine as engine
    from scalargrad.rules import RULES

    def patch(name: str, forward: Forward) -> None:
        old = RULES[name]
        new = dataclasses.replace(old, forward=forward, own_replay=True)
        monkeypatch.setitem(RULES, name, new)
        for attr, val in list(vars(engine).items()):  # the engine caches rules (_MUL, …)
            if val is old:
                monkeypatch.setattr(engine, attr, new)
        for method, op in (("__add__", "add"), ("__sub__", "sub"), ("__mul__", "mul")):
            if op == name:
                monkeypatch.setattr(engine.Value, method, engine._operator(new, method))

    yield patch


# --- the documentation site, built once per session (tests/test_site.py, test_playground.py)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real ``mkdocs build --strict`` (what ``make docs`` runs) into a temporary folder.

    A broken link, a missing page, a docstring mkdocstrings cannot render, a lesson whose
    cell raises or a browser file that cannot be vendored (npm, pip) fails it.
    """
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot not installed")
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e .[docs])")
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    warnings = [line for line in r.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, warnings
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".whl": "application/zip",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def served_site(built_site: Path) -> Iterator[str]:
    """The built site served over http on 127.0.0.1 (a threaded server); yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# --- headless Chromium, one launch per test module that asks for it ----------------------------

CHROMIUM = "/usr/bin/chromium"
# As root with no sandbox; without the background-networking flags Chromium keeps trying
# hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (skips when either is missing)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
