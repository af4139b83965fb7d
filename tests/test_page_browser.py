"""The step-through page in a real headless Chromium, opened from file://.

The oracles: the engine's own backward on a freshly built copy of the graph
(final grads), σ'(z) derived by hand, and backward_steps for the step texts.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from scalargrad import Value
from scalargrad.page import save_steps_html
from scalargrad.trace import backward_steps
from scalargrad.viz import forward_order

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.needs_dot,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed"),
]

sync_api = pytest.importorskip("playwright.sync_api")


def classroom() -> Value:
    w, a, b, y = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b"), Value(1.0, "y")
    return ((w * a + b).sigmoid() - y) ** 2


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cost = classroom()
    return save_steps_html(cost, tmp_path_factory.mktemp("page") / "steps.html")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_page_is_self_contained(page_file: Path) -> None:
    text = page_file.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/", "")
    assert "https://" not in text and "<link" not in text and "@import" not in text
    assert "src=" not in text and "url(" not in text
    assert text.count("<svg") == 7  # before, 5 steps, all grads


def test_step_through_in_chromium(page_file: Path, browser: object) -> None:
    url = page_file.as_uri()
    context = browser.new_context(viewport={"width": 1400, "height": 800})  # type: ignore[attr-defined]
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.route("**/*", lambda route: route.continue_() if route.request.url == url
                  else route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)

    fresh = classroom()
    order = forward_order(fresh)
    steps = list(backward_steps(fresh))  # also runs backward: fresh's grads are the engine's
    assert len(steps) == 5

    def state() -> tuple[str, str, str, list[str]]:
        frame = page.locator(".frame:not([hidden])")
        assert frame.count() == 1
        lit = frame.locator("g.value.highlight").evaluate_all("els => els.map(e => e.id)")
        return (page.locator("#counter").inner_text(), page.locator("#heading").inner_text(),
                page.locator(".text:not([hidden])").inner_text(), lit)

    counter, heading, text, lit = state()
    assert counter == "1 / 7" and heading.startswith("Before backward") and lit == []
    assert "no gradient has been computed yet" in text
    first = page.locator(".frame:not([hidden])").inner_text().replace("\xa0", " ")
    assert first.count("not yet") == 9
    assert page.locator("#prev").is_disabled()

    page.locator("#next").click()
    counter, heading, text, lit = state()
    assert counter == "2 / 7" and heading.startswith("Step 1 of 5")
    assert text == "\n".join(steps[0].lines())
    assert lit == [f"n{order.index(fresh)}"]  # the cost itself

    page.keyboard.press("ArrowRight")
    counter, heading, text, lit = state()
    assert counter == "3 / 7" and heading.startswith("Step 2 of 5")
    assert text == "\n".join(steps[1].lines())
    assert lit == [f"n{order.index(steps[1].node)}"] and lit != [f"n{order.index(fresh)}"]

    page.keyboard.press("ArrowLeft")
    assert state()[0] == "2 / 7"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    counter, _, text, lit = state()
    # step 3 is σ: its local derivative σ'(z) = σ(z)(1 − σ(z)) at z = 0.85, by hand
    s = 1 / (1 + math.exp(-0.85))
    assert counter == "4 / 7" and f"{s * (1 - s):.4g}" in text
    assert lit == [f"n{order.index(steps[2].node)}"]

    while not page.locator("#next").is_disabled():
        page.locator("#next").click()
    counter, heading, _, lit = state()
    assert counter == "7 / 7" and heading.startswith("All gradients") and lit == []
    page.keyboard.press("ArrowRight")  # stays on the last frame
    assert state()[0] == "7 / 7"

    # the table shows every engine grad exactly …
    rows = page.locator(".text:not([hidden]) tr[data-grad]")
    shown = dict(zip(rows.evaluate_all("els => els.map(e => e.dataset.node)"),
                     rows.evaluate_all("els => els.map(e => Number(e.dataset.grad))")))
    assert shown == {f"n{i}": v.grad for i, v in enumerate(order)}
    # … and the drawing shows them to 4 decimals, in every box
    frame = page.locator(".frame:not([hidden])")
    for i, v in enumerate(order):
        box = frame.locator(f"g#n{i}").text_content() or ""
        numbers = re.findall(r"[+-]\d+\.\d+(?:e[+-]\d+)?", box)
        assert len(numbers) == 2, box
        assert float(numbers[1]) == pytest.approx(v.grad, abs=5e-5, rel=5e-4)

    page.keyboard.press("Home")
    assert state()[0] == "1 / 7"
    if os.environ.get("SCALARGRAD_SCREENSHOT"):
        page.keyboard.press("ArrowRight")
        page.screenshot(path=os.environ["SCALARGRAD_SCREENSHOT"])
    context.close()
    assert requests == [url]
    assert errors == []


def test_final_table_brackets_names_as_the_steps_do(tmp_path: Path) -> None:
    w, a, b, y = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b"), Value(1.0, "y")
    f = ((w * a + b).sigmoid() - y).square().label_as("f")
    text = save_steps_html(f, tmp_path / "p.html").read_text(encoding="utf-8")
    table = text[text.index('<table class="grads">'):]
    cells = re.findall(r"<tr data-node=\"n\d+\" data-grad=\"[^\"]+\"><td>([^<]*)</td>", table)
    assert "∂f/∂(w·a + b)" in cells and "∂f/∂(w·a)" in cells and "∂f/∂w" in cells
    assert "∂f/∂(σ(w·a + b) − y)" in cells and "∂f/∂σ(w·a + b)" in cells
    assert not any(c.startswith("∂f/∂w·a") for c in cells)
    # the step texts say the same: ∂f/∂(w·a + b) = …
    assert "∂f/∂(w·a + b) = " in text
