"""The playground's cost to a student: bytes downloaded and seconds to the first gradients.

Not a test. Serves a built site (``make docs`` first, or ``--site DIR``) on 127.0.0.1, opens
``playground.html#grad=…`` in headless Chromium and measures, from navigation to the moment
``grad``'s output is on the page:

* *cold*: a fresh browser profile (empty HTTP cache): every file is downloaded;
* *warm*: the same profile, the page opened again (the browser revalidates its cache).

Bytes are the response bodies as sent (http.server sends no compression; a host that
gzips, such as GitHub Pages, sends less). Usage::

    .venv/bin/python benchmarks/playground.py [--site site] [--trials 3]

It prints a table and writes ``benchmarks/results_playground.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXPR = "tanh(x*y) + x**2/(1 + exp(-y)) x=0.3 y=-1.5"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _open(context: Any, url: str) -> tuple[float, int, int]:
    """Seconds to the first gradients, bytes received and requests made."""
    received = [0, 0]

    def finished(request: Any) -> None:
        sizes = request.sizes()
        received[0] += int(sizes.get("responseBodySize", 0)) + int(
            sizes.get("responseHeadersSize", 0))
        received[1] += 1

    context.on("requestfinished", finished)
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("document.getElementById('pg-out').textContent.includes('∂f/∂y')",
                           timeout=300_000)
    seconds = time.perf_counter() - start
    page.wait_for_timeout(300)  # let the last responses report their sizes
    page.close()
    context.remove_listener("requestfinished", finished)
    return seconds, received[0], received[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", default=str(ROOT / "site"), help="the built site (make docs)")
    parser.add_argument("--trials", type=int, default=3, help="cold and warm loads each")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    site = Path(args.site)
    if not (site / "playground.html").is_file():
        raise SystemExit(f"{site}/playground.html not found: run make docs first")
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    url = base + "playground.html#grad=" + urllib.parse.quote(EXPR, safe="")
    cold: list[tuple[float, int, int]] = []
    warm: list[tuple[float, int, int]] = []
    with sync_playwright() as p:
        for _ in range(args.trials):
            profile = tempfile.mkdtemp(prefix="playground-profile-")
            context = p.chromium.launch_persistent_context(
                profile, executable_path=args.chromium, headless=True,
                args=["--no-sandbox", "--disable-gpu"])
            # no page.route here: routing turns Chromium's HTTP cache off (the warm load);
            # tests/test_playground.py shows that no request leaves the site
            cold.append(_open(context, url))
            warm.append(_open(context, url))
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
    server.shutdown()
    result: dict[str, Any] = {"expression": EXPR, "trials": args.trials}
    print(f"playground: {EXPR}  ({args.trials} trials, median)")
    print(f"{'':6} {'seconds to gradients':>22} {'bytes received':>16} {'requests':>9}")
    for name, runs in (("cold", cold), ("warm", warm)):
        s = statistics.median(r[0] for r in runs)
        b = statistics.median(r[1] for r in runs)
        n = statistics.median(r[2] for r in runs)
        result[name] = {"seconds": [r[0] for r in runs], "bytes": [r[1] for r in runs],
                        "requests": [r[2] for r in runs], "median_seconds": s,
                        "median_bytes": b}
        print(f"{name:6} {s:22.1f} {b:16,.0f} {n:9.0f}")
    out = ROOT / "benchmarks" / "results_playground.json"
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
