"""The step-through page in a real headless Chromium, opened from file://.

The oracles: the engine's own backward on a freshly built copy of the graph
(final grads), σ'(z) derived by hand, backward_steps for the step texts, and
sizes measured with getBoundingClientRect() in the browser (never the DOT font
size). Every test runs at a classroom projector's 1024×768 and at 1920×1080.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from scalargrad import Value
from scalargrad.demo import BIASES, WEIGHTS, X, Y
from scalargrad.names import typeset_parts
from scalargrad.nn import MLP, chain, squared_error
from scalargrad.page import save_steps_html
from scalargrad.trace import backward_steps, fmt
from scalargrad.viz import forward_order

SIZES = [(1024, 768), (1920, 1080)]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.needs_dot,
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed"),
]

sync_api = pytest.importorskip("playwright.sync_api")


def classroom() -> Value:
    w, a, b, y = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b"), Value(1.0, "y")
    return ((w * a + b).sigmoid() - y) ** 2


def demo_chain() -> Value:
    return chain(WEIGHTS, BIASES, X, Y).cost


def mlp_231() -> Value:
    net = MLP(2, [3, 1], seed=1)
    return squared_error(net([0.5, -1.0]), [1.0])


def tanh_xy() -> Value:
    x, y = Value(0.5, "x"), Value(-2.0, "y")
    return ((x * y).tanh() + x).label_as("f")


def small() -> Value:
    return (0.00005 * Value(0.3, "x").tanh()).label_as("f")


def plain(text: str) -> str:
    """Text as the page shows it once names are typeset (w_00^(1) reads w00(1))."""
    return "".join(chars for _, chars in typeset_parts(text))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("page")
    return {
        "classroom": save_steps_html(classroom(), where / "steps.html"),
        "chain": save_steps_html(demo_chain(), where / "chain.html"),
        "mlp": save_steps_html(mlp_231(), where / "mlp.html"),
        "practice": save_steps_html(classroom(), where / "practice.html", practice=True),
        "chain_practice": save_steps_html(demo_chain(), where / "chain_practice.html",
                                          practice=True),
        "tanh_practice": save_steps_html(tanh_xy(), where / "tanh_practice.html", practice=True),
        "small_practice": save_steps_html(small(), where / "small_practice.html", practice=True),
    }



class Opened:
    """A page opened from file:// with every request other than the file refused."""

    def __init__(self, browser: Any, path: Path, size: tuple[int, int]) -> None:
        self.url = path.as_uri()
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.route("**/*", lambda route: route.continue_()
                           if route.request.url == self.url else route.abort())
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console",
                     lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(self.url)

    def close(self) -> None:
        self.context.close()
        assert self.requests == [self.url]
        assert self.errors == []

    def counter(self) -> str:
        return str(self.page.locator("#counter").inner_text())

    def lit(self) -> list[str]:
        frame = self.page.locator(".frame:not([hidden])")
        assert frame.count() == 1
        return list(frame.locator("g.value.highlight").evaluate_all("els => els.map(e => e.id)"))

    def text(self) -> str:
        return str(self.page.locator(".text:not([hidden])").inner_text())

    def node_text_heights(self) -> list[float]:
        return list(self.page.locator(".frame:not([hidden]) g.node text").evaluate_all(
            "els => els.filter(e => e.textContent.trim())"
            ".map(e => e.getBoundingClientRect().height)"))

    def rect(self, selector: str) -> dict[str, float]:
        return dict(self.page.locator(selector).first.evaluate(
            "e => { const r = e.getBoundingClientRect(); "
            "return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }"))

    def viewport_rect(self) -> dict[str, float]:
        return dict(self.page.locator("#viewport").evaluate(
            "v => { const r = v.getBoundingClientRect(); return {left: r.left + v.clientLeft,"
            " top: r.top + v.clientTop, right: r.left + v.clientLeft + v.clientWidth,"
            " bottom: r.top + v.clientTop + v.clientHeight}; }"))


@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return tuple(request.param)  # type: ignore[return-value]


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (inner["left"] >= outer["left"] - slack and inner["right"] <= outer["right"] + slack
            and inner["top"] >= outer["top"] - slack and inner["bottom"] <= outer["bottom"] + slack)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5
            and a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5)


def test_page_is_self_contained(pages: dict[str, Path]) -> None:
    for path in pages.values():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org/", "")
        assert "https://" not in text and "<link" not in text and "@import" not in text
        assert "src=" not in text and "url(" not in text
    assert pages["classroom"].read_text(encoding="utf-8").count("<svg") == 7  # before, 5, all
    # practice: one more drawing per step, the question's (the node's grad a "?")
    assert pages["practice"].read_text(encoding="utf-8").count("<svg") == 12


@pytest.mark.parametrize("name", ["chain", "mlp"])
def test_readable_at_the_default_zoom_with_one_counter(
    pages: dict[str, Path], browser: Any, size: tuple[int, int], name: str,
) -> None:
    opened = Opened(browser, pages[name], size)
    page = opened.page
    n = len(list(backward_steps(demo_chain() if name == "chain" else mlp_231())))
    for k in range(n + 2):
        if k in (0, 1, n // 2, n + 1):
            heights = opened.node_text_heights()
            assert heights and min(heights) >= 12.0, (k, min(heights))
            # nothing overlaps: the graph, the text and the header are apart …
            for a, b in (("header", "#viewport"), ("#viewport", "aside"), ("header", "aside")):
                assert not overlap(opened.rect(a), opened.rect(b)), (a, b)
            # … the page itself never scrolls (the graph pans inside its own box) …
            assert page.evaluate("document.documentElement.scrollHeight") <= size[1]
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
            # … and no two boxes of the drawing overlap
            boxes = page.locator(".frame:not([hidden]) g.node").evaluate_all(
                "els => els.map(e => { const r = e.getBoundingClientRect(); return "
                "{left: r.left, top: r.top, right: r.right, bottom: r.bottom}; })")
            assert not [(i, j) for i in range(len(boxes)) for j in range(i)
                        if overlap(boxes[i], boxes[j])]
        # one counter, numbered as the steps are
        shown = page.locator("body").inner_text()
        expected = ("Before backward" if k == 0 else "All gradients" if k == n + 1
                    else f"Step {k} of {n}")
        assert opened.counter() == expected
        assert len(re.findall(r"\b\d+ (?:of|/) \d+\b", shown)) == (1 if 0 < k <= n else 0)
        page.keyboard.press("ArrowRight")
    opened.close()


def test_zoom_buttons_keys_fit_and_ctrl_wheel(
    pages: dict[str, Path], browser: Any, size: tuple[int, int],
) -> None:
    opened = Opened(browser, pages["chain"], size)
    page = opened.page

    def height() -> float:
        return float(page.locator(".frame:not([hidden]) svg").evaluate(
            "s => s.getBoundingClientRect().height"))

    def level() -> str:
        return str(page.locator("#zoom-level").inner_text())

    base = height()
    assert level() == "100%"  # the wide chain is never shrunk to fit
    page.locator("#zoom-in").click()
    assert height() == pytest.approx(base * 1.25, rel=1e-3) and level() == "125%"
    assert min(opened.node_text_heights()) >= 15.0
    page.keyboard.press("-")
    assert height() == pytest.approx(base, rel=1e-3)
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert level() == "156%"
    page.keyboard.press("0")
    assert level() == "100%" and height() == pytest.approx(base, rel=1e-3)
    page.locator("#zoom-out").click()
    assert level() == "80%"
    page.locator("#zoom-fit").click()  # the whole graph in the window
    svg = opened.rect(".frame:not([hidden]) svg")
    view = opened.viewport_rect()
    assert svg["right"] - svg["left"] <= view["right"] - view["left"]
    assert svg["bottom"] - svg["top"] <= view["bottom"] - view["top"]
    page.keyboard.press("f")
    fitted = level()
    page.keyboard.press("0")
    box = opened.viewport_rect()
    page.mouse.move((box["left"] + box["right"]) / 2, (box["top"] + box["bottom"]) / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_function("document.getElementById('zoom-level').textContent !== '100%'")
    assert int(level().rstrip("%")) > 100 and fitted != "100%"
    opened.close()


def test_every_step_scrolls_its_node_into_view(
    pages: dict[str, Path], browser: Any, size: tuple[int, int],
) -> None:
    opened = Opened(browser, pages["chain"], size)
    page = opened.page
    page.keyboard.press("+")  # zoomed in, so the graph is far wider than the window
    page.keyboard.press("+")
    n = len(list(backward_steps(demo_chain())))
    seen = set()
    for _ in range(n):
        page.keyboard.press("ArrowRight")
        (node,) = opened.lit()
        seen.add(node)
        assert inside(opened.rect(f".frame:not([hidden]) g#{node}"), opened.viewport_rect())
    assert len(seen) == n
    scrolled = page.locator("#viewport").evaluate("v => v.scrollLeft")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")  # back at the cost: the right end again
    assert page.locator("#viewport").evaluate("v => v.scrollLeft") > 0 or scrolled == 0
    opened.close()


def test_step_through_in_chromium(pages: dict[str, Path], browser: Any) -> None:
    opened = Opened(browser, pages["classroom"], (1400, 800))
    page = opened.page
    fresh = classroom()
    order = forward_order(fresh)
    steps = list(backward_steps(fresh))  # also runs backward: fresh's grads are the engine's
    assert len(steps) == 5

    assert opened.counter() == "Before backward" and opened.lit() == []
    assert "no gradient has been computed yet" in opened.text()
    first = page.locator(".frame:not([hidden])").inner_text().replace("\xa0", " ")
    assert first.count("not yet") == 9
    assert page.locator("#prev").is_disabled()

    page.locator("#next").click()
    assert opened.counter() == "Step 1 of 5"
    assert opened.text() == plain("\n".join(steps[0].lines()))
    assert opened.lit() == [f"n{order.index(fresh)}"]  # the cost itself

    page.keyboard.press("ArrowRight")
    assert opened.counter() == "Step 2 of 5"
    assert opened.text() == plain("\n".join(steps[1].lines()))
    assert opened.lit() == [f"n{order.index(steps[1].node)}"]

    page.keyboard.press("ArrowLeft")
    assert opened.counter() == "Step 1 of 5"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # step 3 is σ: its local derivative σ'(z) = σ(z)(1 − σ(z)) at z = 0.85, by hand
    s = 1 / (1 + math.exp(-0.85))
    assert opened.counter() == "Step 3 of 5" and f"{s * (1 - s):.4g}" in opened.text()
    assert opened.lit() == [f"n{order.index(steps[2].node)}"]

    while not page.locator("#next").is_disabled():
        page.locator("#next").click()
    assert opened.counter() == "All gradients" and opened.lit() == []
    page.keyboard.press("ArrowRight")  # stays on the last frame
    assert opened.counter() == "All gradients"

    # the table shows every engine grad exactly (in the data) …
    rows = page.locator(".text:not([hidden]) tr[data-grad]")
    shown = dict(zip(rows.evaluate_all("els => els.map(e => e.dataset.node)"),
                     rows.evaluate_all("els => els.map(e => Number(e.dataset.grad))")))
    assert shown == {f"n{i}": v.grad for i, v in enumerate(order)}
    # … and to 4 significant digits, as the boxes of the drawing do
    frame = page.locator(".frame:not([hidden])")
    cells = rows.evaluate_all("els => els.map(e => e.cells[1].textContent)")
    for i, v in enumerate(order):
        box = frame.locator(f"g#n{i}").text_content() or ""
        # the steps' text, with the formulas' minus sign (issue 19.9)
        numbers = re.findall(r"−?\d+\.?\d*(?:e[+−]\d+)?", box)
        assert len(numbers) == 2, box
        assert float(numbers[1].replace("−", "-")) == pytest.approx(v.grad, rel=5e-4, abs=1e-12)
        assert cells[i] == numbers[1]  # the table writes it as the box does
    page.keyboard.press("Home")
    assert opened.counter() == "Before backward"
    if os.environ.get("SCALARGRAD_SCREENSHOT"):
        page.keyboard.press("ArrowRight")
        page.screenshot(path=os.environ["SCALARGRAD_SCREENSHOT"])
    opened.close()


def test_typeset_names_in_the_page_text_and_table(pages: dict[str, Path], browser: Any) -> None:
    opened = Opened(browser, pages["chain"], (1024, 768))
    page = opened.page
    page.keyboard.press("End")
    table = page.locator(".text:not([hidden]) table")
    # ∂C_0/∂w^(1): C with a subscript 0, w with a superscript (1), as real <sub>/<sup>
    cells = table.locator("td:first-child").evaluate_all("els => els.map(e => e.innerHTML)")
    assert "∂C<sub>0</sub>/∂w<sup>(1)</sup>" in cells
    assert page.locator("h1 sub").inner_text() == "0"  # "Backpropagation through C₀"
    opened.close()


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


# --- practice mode ------------------------------------------------------------------------


def minus(text: str) -> str:
    """Python's digits with the minus sign every displayed number uses (U+2212, 19.9)."""
    return text.replace("-", "\u2212")


def assert_withheld(text: str, step: Any, later: int) -> None:
    """The worked step as practice shows it while its one input's question (``later``) waits.

    Every line of the step but the amounts sent and the input's grad before and after
    (for one consumer, the input's very gradient).
    """
    first, sent = step.lines()
    head, _, amounts = sent.rpartition(", adds ")
    assert text.startswith(plain(f"{first}\n{head}, sends "))
    assert f"step {later}" in text and "adds" not in text and amounts not in text


def visible_text(page: Any) -> str:
    """Every piece of text a student can see: the page's text and the drawing's."""
    return str(page.locator("body").inner_text()).replace("\xa0", " ")


def test_practice_wrong_right_reveal_and_the_tally(
    pages: dict[str, Path], browser: Any, size: tuple[int, int],
) -> None:
    opened = Opened(browser, pages["practice"], size)
    page = opened.page
    fresh = classroom()
    steps = list(backward_steps(fresh))
    assert page.locator("#practice").is_hidden()
    page.keyboard.press("ArrowRight")
    # step 1 asks for ∂C/∂C; the step's text is not shown yet, Next waits for an answer
    assert opened.counter() == "Step 1 of 5"
    assert page.locator("#practice").is_visible()
    assert page.locator(".text:not([hidden])").count() == 0
    assert page.locator("#next").is_disabled()
    assert "relative 0.001 or an absolute 0.0001" in visible_text(page)  # the tolerance
    page.locator("#answer").fill("2")
    page.locator("#check").click()
    feedback = page.locator("#feedback").inner_text()
    assert "Not quite: you wrote 2" in feedback and "starts" in feedback
    assert opened.counter() == "Step 1 of 5" and page.locator("#practice").is_visible()
    page.locator("#answer").fill("1")
    page.keyboard.press("Enter")
    assert page.locator("#practice").is_hidden()
    assert_withheld(opened.text(), steps[0], 2)  # what it sent is step 2's answer (19.1)
    assert "Right" in page.locator("#verdict").inner_text()
    assert page.locator("#tally").inner_text() == "Right 1 · revealed 0 · of 5 steps"

    # step 2, the subtraction σ − y: reveal
    page.locator("#next").click()
    s = 1 / (1 + math.exp(-0.85))
    assert steps[1].upstream == pytest.approx(2 * (s - 1))  # ∂C/∂(σ − y) = 2(σ − y), by hand
    assert "?" in page.locator(".frame:not([hidden]) g.value.highlight").text_content() or ""
    page.locator("#reveal").click()
    assert "Revealed" in page.locator("#verdict").inner_text()
    assert minus(f"{steps[1].upstream:.4g}") in page.locator("#verdict").inner_text()
    assert page.locator("#tally").inner_text() == "Right 1 · revealed 1 · of 5 steps"

    # step 3, σ: ∂C/∂σ = ∂C/∂(σ − y) · 1, right at once
    page.locator("#next").click()
    page.locator("#answer").fill(f"{2 * (s - 1):.5f}".replace("-", "−"))  # a typeset minus
    page.locator("#check").click()
    assert page.locator("#practice").is_hidden()

    # step 4, z = w·a + b: ∂C/∂z = 2(σ − y) · σ'(z), by hand; not visible anywhere yet
    page.locator("#next").click()
    answer = 2 * (s - 1) * s * (1 - s)
    assert steps[3].upstream == pytest.approx(answer)
    assert "?" in page.locator(".frame:not([hidden]) g.value.highlight").text_content() or ""
    for shown in (f"{answer:.4g}", f"{answer:.4f}", f"{answer:.3f}", f"{answer:.3g}"):
        assert shown not in visible_text(page) and minus(shown) not in visible_text(page)
    page.locator("#answer").fill(f"{2 * (s - 1):.4f}")  # ∂C/∂σ alone: the local factor is named
    page.locator("#check").click()
    feedback = page.locator("#feedback").inner_text()
    assert "Not quite" in feedback and "local derivative" in feedback and "σ'" in feedback
    assert opened.counter() == "Step 4 of 5" and page.locator("#practice").is_visible()
    page.locator("#answer").fill(f"{-answer:.4f}")  # the sign slip is named
    page.locator("#check").click()
    assert "sign" in page.locator("#feedback").inner_text()
    page.locator("#answer").fill(f"{answer * 1.01:.6f}")  # 1% off: outside the tolerance
    page.locator("#check").click()
    feedback = page.locator("#feedback").inner_text()
    # the step's chain rule with every factor's number (each from its own step) …
    assert "Check each factor" in feedback and "(step 3)" in feedback
    assert minus(f"{2 * (s - 1):.4g}") in feedback and f"{s * (1 - s):.4g}" in feedback
    # … and the student's number, but never the answer
    assert f"{answer * 1.01:.6f}" in feedback
    assert minus(f"{answer:.4g}") not in visible_text(page)
    assert page.locator("#next").is_disabled() and opened.counter() == "Step 4 of 5"
    page.keyboard.press("ArrowRight")  # the keys do not skip the question either
    assert opened.counter() == "Step 4 of 5"
    page.locator("#answer").fill("what")
    page.locator("#check").click()
    assert "Type a number" in page.locator("#feedback").inner_text()
    page.locator("#answer").fill(f"{answer * (1 + 5e-4):.8f}")  # within relative 1e-3
    page.locator("#check").click()
    assert page.locator("#practice").is_hidden()
    assert minus(f"{answer:.4g}") in visible_text(page)
    assert page.locator("#tally").inner_text() == "Right 3 · revealed 1 · of 5 steps"

    # going back shows answered steps as worked steps, not as questions again
    page.keyboard.press("ArrowLeft")
    assert opened.counter() == "Step 3 of 5" and page.locator("#practice").is_hidden()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert opened.counter() == "Step 5 of 5" and page.locator("#practice").is_visible()
    opened.close()


def test_practice_asks_each_arrow_when_the_box_is_ticked(
    pages: dict[str, Path], browser: Any,
) -> None:
    opened = Opened(browser, pages["practice"], (1024, 768))
    page = opened.page
    steps = list(backward_steps(classroom()))
    page.keyboard.press("ArrowRight")
    page.locator("#ask-sends").check()
    page.locator("#answer").fill("1")
    page.locator("#check").click()
    # still asking: what step 1 sends down its one arrow, 1 · 2(σ − y)
    assert page.locator("#practice").is_visible() and opened.counter() == "Step 1 of 5"
    assert page.locator("#prompt").inner_text().startswith("→ ")
    assert "Right" in page.locator("#verdict").inner_text()
    sent = steps[0].contributions[0].amount
    page.locator("#answer").fill(f"{-sent:.5f}")
    page.locator("#check").click()
    assert "sign" in page.locator("#feedback").inner_text()
    page.locator("#answer").fill(f"{sent:.5f}")
    page.locator("#check").click()
    assert page.locator("#practice").is_hidden()  # the worked step now
    assert_withheld(opened.text(), steps[0], 2)  # σ − y's own gradient is still to come
    assert page.locator("#tally").inner_text() == "Right 1 · revealed 0 · of 5 steps"
    opened.close()


def test_show_steps_runs_inside_its_sandboxed_frame(browser: Any, tmp_path: Path) -> None:
    """What Jupyter shows: the page in an <iframe srcdoc> with scripts but no same origin."""
    from scalargrad import show_steps

    host = tmp_path / "notebook.html"
    host.write_text("<!DOCTYPE html><html><body>"
                    + show_steps(classroom(), practice=True, height=600)._repr_html_()
                    + "</body></html>", encoding="utf-8")
    opened = Opened(browser, host, (1024, 768))
    frame = opened.page.frame_locator("iframe")
    assert frame.locator("#counter").inner_text() == "Before backward"
    frame.locator("#next").click()
    assert frame.locator("#counter").inner_text() == "Step 1 of 5"
    frame.locator("#answer").fill("1")
    frame.locator("#check").click()
    assert frame.locator("#tally").inner_text() == "Right 1 · revealed 0 · of 5 steps"
    # the frame cannot reach the notebook: no same origin
    assert opened.page.evaluate("document.querySelector('iframe').contentDocument") is None
    opened.close()


# --- round two: practice never leaks, one checker, progress kept, a stable header ----------

IFRAME_WIDTH = 760


def in_iframe(browser: Any, tmp_path: Path, value: Value, *, practice: bool,
              name: str = "host") -> tuple[Opened, Any]:
    """The page as a notebook shows it: show_steps' sandboxed frame, 760 px wide."""
    from scalargrad import show_steps

    host = tmp_path / f"{name}.html"
    host.write_text(f'<!DOCTYPE html><html><body style="margin:0"><div style="width:'
                    f'{IFRAME_WIDTH}px">' + show_steps(value, practice=practice)._repr_html_()
                    + "</div></body></html>", encoding="utf-8")
    opened = Opened(browser, host, (1024, 768))
    frame = opened.page.frames[1]
    frame.locator("#counter").wait_for()
    return opened, frame


def classroom_view(browser: Any, pages: dict[str, Path], tmp_path: Path, where: str, *,
                   practice: bool = True) -> tuple[Opened, Any]:
    """The classroom page as a window at 1024×768 (``"page"``) or in a notebook's frame."""
    if where == "page":
        opened = Opened(browser, pages["practice" if practice else "classroom"], (1024, 768))
        return opened, opened.page
    return in_iframe(browser, tmp_path, classroom(), practice=practice)


def counter_of(target: Any) -> str:
    return str(target.locator("#counter").inner_text())


def press(opened: Opened, target: Any, key: str) -> None:
    target.locator("#viewport").focus()
    opened.page.keyboard.press(key)


def hand_answers() -> list[float]:
    """The classroom cost's gradients, by hand: 1, 2(σ − y), 2(σ − y), 2(σ − y)σ(1 − σ) twice."""
    s = 1 / (1 + math.exp(-0.85))
    d = 2 * (s - 1)
    return [1.0, d, d, d * s * (1 - s), d * s * (1 - s)]


def shown_numbers(target: Any) -> str:
    return str(target.locator("body").inner_text()).replace("\xa0", " ").replace("−", "-")


def assert_not_shown(target: Any, values: list[float]) -> None:
    text = shown_numbers(target)
    for v in values:
        for form in (fmt(v), fmt(v, pad=True), f"{v:.4g}", f"{v:.3f}"):
            assert form.replace("−", "-") not in text, (form, counter_of(target))


@pytest.mark.parametrize("where", ["page", "iframe"])
def test_practice_never_shows_a_gradient_before_its_step(
    pages: dict[str, Path], browser: Any, tmp_path: Path, where: str,
) -> None:
    opened, target = classroom_view(browser, pages, tmp_path, where)
    hand = hand_answers()
    # ∂C/∂z (steps 4, 5) and ∂C/∂w = ∂C/∂z·a, ∂C/∂a = ∂C/∂z·w; steps 2 and 3's −0.5989 is
    # also step 1's local derivative 2(σ − y), on its arrow from the start
    later = [hand[3], hand[3] * 1.5, hand[3] * 0.5]
    # End, Page Down, → and Next stop at the first question not yet answered
    for key in ("End", "PageDown", "ArrowRight", "End"):
        press(opened, target, key)
        assert counter_of(target) == "Step 1 of 5"
        assert target.locator("#practice").is_visible()
    assert target.locator("#next").is_disabled()
    target.locator("#next").click(force=True)
    assert counter_of(target) == "Step 1 of 5"
    assert target.locator(".text:not([hidden])").count() == 0  # no "All gradients" table
    assert target.locator(".frame:not([hidden])").get_attribute("id") == "q1"
    assert_not_shown(target, later)
    target.locator("#answer").fill("1")
    target.locator("#check").click()
    press(opened, target, "End")  # the next question, never the final table
    assert counter_of(target) == "Step 2 of 5" and target.locator("#practice").is_visible()
    assert_not_shown(target, later)
    press(opened, target, "ArrowLeft")  # back from End: the step before, none skipped
    assert counter_of(target) == "Step 1 of 5" and target.locator("#practice").is_hidden()
    press(opened, target, "Home")
    press(opened, target, "End")
    assert counter_of(target) == "Step 2 of 5"
    target.locator("#reveal").click()
    press(opened, target, "End")
    assert counter_of(target) == "Step 3 of 5"
    assert_not_shown(target, [hand[3]])
    for k in (3, 4, 5):
        assert counter_of(target) == f"Step {k} of 5"
        target.locator("#reveal").click()
        press(opened, target, "End")
    assert counter_of(target) == "All gradients"  # every step answered or revealed
    opened.close()


def test_practice_no_address_opens_a_later_position(pages: dict[str, Path], browser: Any) -> None:
    opened = Opened(browser, pages["practice"], (1024, 768))
    for tail in ("#t6", "#f6", "#6", "#All%20gradients"):
        opened.page.goto(opened.url + tail)
        assert opened.counter() == "Before backward"
        assert opened.page.locator(".frame:not([hidden])").get_attribute("id") == "f0"
    opened.page.goto(opened.url)  # the routes allow only the file itself
    opened.requests = [opened.url]
    opened.close()


def header_boxes(target: Any) -> list[tuple[float, ...]]:
    return [tuple(round(v, 1) for v in b) for b in target.locator(
        "#prev, #next, #counter, #zoom-out, #zoom-reset, #zoom-in, #zoom-fit").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); "
        "return [r.left, r.top, r.width, r.height]; })")]


@pytest.mark.parametrize("where", ["page", "iframe"])
@pytest.mark.parametrize("practice", [False, True], ids=["watch", "practice"])
def test_header_buttons_never_move(
    pages: dict[str, Path], browser: Any, tmp_path: Path, where: str, practice: bool,
) -> None:
    opened, target = classroom_view(browser, pages, tmp_path, where, practice=practice)
    first = header_boxes(target)
    seen = []
    for _ in range(7):  # every position, answering as it goes
        if practice and target.locator("#practice").is_visible():
            target.locator("#reveal").click()
        seen.append((counter_of(target), header_boxes(target)))
        target.locator("#next").click(force=True)
    for button, times in (("#zoom-in", 9), ("#zoom-out", 30), ("#zoom-fit", 1),
                          ("#zoom-reset", 1), ("#zoom-out", 1)):
        for _ in range(times):
            target.locator(button).click()
        seen.append((str(target.locator("#zoom-level").inner_text()), header_boxes(target)))
    assert {label for label, _ in seen} >= {"Before backward", "Step 1 of 5", "All gradients",
                                            "400%", "10%", "100%", "80%"}
    moved = [(label, boxes) for label, boxes in seen if boxes != first]
    assert not moved, (first, moved[:2])
    opened.close()


@pytest.mark.parametrize("where", ["page", "iframe"])
def test_legend_colours_and_swatches_stay_with_their_labels(
    pages: dict[str, Path], browser: Any, tmp_path: Path, where: str,
) -> None:
    opened, target = classroom_view(browser, pages, tmp_path, where)
    items = target.locator(".legend .item")
    assert items.count() == 9
    # each swatch is on its label's line: every box of an item on one line
    lines = items.evaluate_all("els => els.map(e => [e.textContent, Array.from("
                               "e.getClientRects()).map(r => Math.round(r.top))])")
    for text, tops in lines:
        assert len(set(tops)) == 1, text
    colours = dict(items.evaluate_all(
        "els => els.filter(e => e.querySelector('.sw')).map(e => [e.textContent.trim(),"
        " getComputedStyle(e.querySelector('.sw')).borderTopColor])"))
    sends, comes = colours["inputs it sends to"], colours["the nodes it comes from"]
    assert sends != comes
    def strokes() -> set[str]:
        return set(target.locator(".frame:not([hidden]) g.value.receiver > path").evaluate_all(
            "els => els.map(e => getComputedStyle(e).stroke)"))

    press(opened, target, "ArrowRight")
    target.locator("#answer").fill("1")
    target.locator("#check").click()  # the worked step 1: its input framed in "sends to"
    assert strokes() == {sends}
    target.locator("#next").click()  # question 2: the node it comes from, in "comes from"
    assert target.locator("#practice").is_visible() and strokes() == {comes}
    opened.close()


def test_every_step_shows_its_node_and_its_inputs(
    pages: dict[str, Path], browser: Any, size: tuple[int, int],
) -> None:
    opened = Opened(browser, pages["chain"], size)
    page = opened.page
    n = len(list(backward_steps(demo_chain())))
    for k in range(1, n + 1):
        page.keyboard.press("ArrowRight")
        view = opened.viewport_rect()
        lit = page.locator(".frame:not([hidden]) g.value.highlight, "
                           ".frame:not([hidden]) g.value.receiver").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); "
            "return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; })")
        assert len(lit) >= 2
        span_w = max(r["right"] for r in lit) - min(r["left"] for r in lit)
        span_h = max(r["bottom"] for r in lit) - min(r["top"] for r in lit)
        room_w, room_h = view["right"] - view["left"] - 32, view["bottom"] - view["top"] - 32
        if span_w <= room_w and span_h <= room_h:
            assert all(inside(r, view) for r in lit), (k, lit, view)
    opened.close()


def test_the_graph_gets_the_height_the_text_does_not_need(
    pages: dict[str, Path], browser: Any,
) -> None:
    opened = Opened(browser, pages["mlp"], (1024, 768))
    page = opened.page
    page.keyboard.press("ArrowRight")  # step 1: two lines of text
    page.keyboard.press("f")
    svg = opened.rect(".frame:not([hidden]) svg")
    width, height = svg["right"] - svg["left"], svg["bottom"] - svg["top"]
    assert width >= 0.8 * 1024 or height >= 0.6 * 768, (width, height)
    # at every position the text is not cut and the graph takes all the rest
    n = len(list(backward_steps(mlp_231())))
    for k in range(n + 1):
        need = page.locator("aside").evaluate("a => a.scrollHeight - a.clientHeight")
        view, aside = opened.rect("#viewport"), opened.rect("aside")
        main = opened.rect("main")
        gap = aside["top"] - view["bottom"]
        assert 0 <= gap <= 20
        if aside["bottom"] - aside["top"] < 0.4 * (main["bottom"] - main["top"]):
            assert need <= 1, k  # the text has all it needs …
        assert main["bottom"] - aside["bottom"] <= 20, k  # … and nothing is left over
        page.keyboard.press("ArrowRight")
    opened.close()


def test_practice_progress_is_kept_in_the_browser_with_a_reset(
    pages: dict[str, Path], browser: Any,
) -> None:
    opened = Opened(browser, pages["practice"], (1024, 768))
    page = opened.page
    page.keyboard.press("ArrowRight")
    page.locator("#answer").fill("1")
    page.locator("#check").click()
    page.locator("#next").click()
    page.locator("#reveal").click()
    page.locator("#next").click()
    assert opened.counter() == "Step 3 of 5"
    assert "kept in this browser" in page.locator("#kept").inner_text()
    page.reload()
    assert opened.counter() == "Step 3 of 5" and page.locator("#practice").is_visible()
    assert page.locator("#tally").inner_text() == "Right 1 · revealed 1 · of 5 steps"
    page.keyboard.press("ArrowLeft")  # step 2 as it was left: revealed, worked
    assert opened.counter() == "Step 2 of 5" and page.locator("#practice").is_hidden()
    assert "Revealed" in page.locator("#verdict").inner_text()
    # another page in the same browser keeps its own progress
    other_url = pages["chain_practice"].as_uri()
    opened.context.route(other_url, lambda route: route.continue_())
    other = opened.context.new_page()
    other.goto(other_url)
    assert other.locator("#tally").inner_text().startswith("Right 0 · revealed 0")
    other.close()
    page.locator("#reset").click()  # once: asks again, forgets nothing yet
    assert "again" in page.locator("#reset").inner_text()
    assert page.locator("#tally").inner_text() == "Right 1 · revealed 1 · of 5 steps"
    page.locator("#reset").click()
    assert opened.counter() == "Before backward"
    assert page.locator("#tally").inner_text() == "Right 0 · revealed 0 · of 5 steps"
    page.reload()
    assert page.locator("#tally").inner_text() == "Right 0 · revealed 0 · of 5 steps"
    page.keyboard.press("End")
    assert opened.counter() == "Step 1 of 5" and page.locator("#practice").is_visible()
    assert set(opened.requests) == {opened.url, other_url}
    opened.requests = [opened.url]
    opened.close()


def test_practice_without_storage_works_and_says_so(browser: Any, tmp_path: Path) -> None:
    """A sandboxed frame (show_steps in Jupyter) may keep nothing: no error, not kept."""
    opened, frame = in_iframe(browser, tmp_path, classroom(), practice=True)
    assert "not kept" in frame.locator("#kept").inner_text()
    frame.locator("#next").click()
    frame.locator("#answer").fill("1")
    frame.locator("#check").click()
    assert frame.locator("#tally").inner_text() == "Right 1 · revealed 0 · of 5 steps"
    frame.locator("#reset").click()
    frame.locator("#reset").click()
    assert frame.locator("#tally").inner_text() == "Right 0 · revealed 0 · of 5 steps"
    opened.close()  # no console error, no page error


CORPUS = [
    "1", "-1", "+1", "−1", " 1 ", "1.", ".5", "-.5", "+.5e-1", "1e3", "1E-3", "1.e2", "2.5e-3",
    "1/4", "-3/4", "1/-4", "1/+4", "−1/−4", "1 / 4", "1\u202f000", "1\u00a0000", "0", "-0",
    "0.0", "1/0", "1/-0", "0/0", "1e400", "-1e400", "1e-400", "1/1e-400", "1e308/1e-308",
    "1/++4", "++4", "--4", "+-4", "1e++4", "1//4", "1/4/2", "/4", "1/", "", " ", "-", ".",
    "e5", "1e", "1.2.3", "abc", "nan", "NaN", "inf", "Infinity", "-inf", "0x10", "1_000",
    "١", "½", "1,5", "\U0001d7d9", "1\U0001d7d9", "\t1\t", "1\n", "x", "1x",
    "5" * 400 + "x", "0." + "0" * 300 + "1", "9" * 400, "1/" + "3" * 40,
]


def corpus_for(q: Any) -> list[str]:
    """The corpus and the edges of every window the item has."""
    from scalargrad.practice import slip_windows

    out = list(CORPUS)
    for lo, hi in [q.window(), *slip_windows(q)]:
        for v in (lo, hi, math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf),
                  (lo + hi) / 2):
            out += [repr(v), f"{v:.4g}", f"{v:.6f}", f"{v:.3e}".replace("-", "−")]
    return out


@pytest.mark.parametrize("name", ["practice", "tanh_practice", "small_practice"])
def test_python_and_the_page_judge_every_answer_alike(
    pages: dict[str, Path], browser: Any, name: str,
) -> None:
    from scalargrad.practice import judge, questions, read_number, slip_windows

    value = {"practice": classroom, "tanh_practice": tanh_xy, "small_practice": small}[name]()
    asked = questions(backward_steps(value))
    opened = Opened(browser, pages[name], (1024, 768))
    cases, expected = [], []
    for k, q in enumerate(asked, 1):
        for stage, item in enumerate([q, *q.sends()]):
            for text in corpus_for(item):
                number = read_number(text)
                verdict = ("unreadable" if number is None
                           else judge(number, item.window(), slip_windows(item)))
                cases.append([k, stage, text])
                expected.append(verdict)
    got = opened.page.evaluate(
        "cases => cases.map(c => window.scalargradVerdict(c[0], c[1], c[2]))", cases)
    diff = [(c, e, g) for c, e, g in zip(cases, expected, got) if e != g]
    assert not diff, diff[:5]
    assert {"unreadable", -1, None} <= set(expected) and any(
        isinstance(e, int) and e >= 0 for e in expected)
    # and what the Python check says is what judge says
    for (k, stage, text), e in zip(cases, expected):
        item = [asked[k - 1], *asked[k - 1].sends()][stage]
        number = read_number(text)
        if number is not None:
            verdict = item.check(number)
            assert verdict.right == (e == -1) and verdict.slip == (e if e != -1 else None)
    opened.close()


def test_a_pasted_80000_character_answer_is_judged_promptly(
    pages: dict[str, Path], browser: Any,
) -> None:
    """The page's old regular expression froze it for 12 s on 80,000 characters."""
    opened = Opened(browser, pages["practice"], (1024, 768))
    page = opened.page
    page.keyboard.press("ArrowRight")
    times = page.evaluate("""long => {
        const a = document.getElementById("answer"), c = document.getElementById("check");
        function best(text, n, inner) {
          let t = Infinity;
          for (let i = 0; i < n; i++) {
            const s = performance.now();
            for (let j = 0; j < inner; j++) { a.value = text; c.click(); }
            t = Math.min(t, (performance.now() - s) / inner);
          }
          return t;
        }
        return [best("0.37", 5, 40), best(long[0], 3, 1), best(long[1], 3, 1),
                best(long[2], 3, 1)];
    }""", ["1" * 79_999 + "x", "." + "5" * 79_998 + "x", "0." + "7" * 79_998])
    short, *long = times
    assert max(long) < 2000 * max(short, 0.005), times  # linear: ~100×; the regex: ~10⁶×
    assert "Not quite" in page.locator("#feedback").inner_text()
    assert opened.counter() == "Step 1 of 5"
    opened.close()


# --- 19.1: an answered step's text and frame never show a later question's answer ----------

_SHOWN_NUMBER = re.compile(r"−?[0-9]+(?:\.[0-9]+)?(?:e[−+]?[0-9]+)?")


def displayed(x: float) -> set[str]:
    """The texts a number is displayed as: in a sentence, and in a box's 4-digit cell."""
    from scalargrad.notation import format_number
    return {format_number(x), format_number(x, pad=True)}


def visible_numbers(page: Any) -> tuple[set[str], list[str]]:
    """The numbers in every visible text and in the visible drawing; the drawing's texts."""
    svg = list(page.locator(".frame:not([hidden]) svg text").evaluate_all(
        "els => els.map(e => e.textContent)"))
    text = visible_text(page) + "\n" + "\n".join(svg)
    return set(_SHOWN_NUMBER.findall(text)), svg


@pytest.mark.parametrize("graph", ["chain", "mlp", "tanh"])
def test_practice_never_shows_a_later_questions_gradient_in_a_worked_step(
    browser: Any, tmp_path: Path, graph: str,
) -> None:
    """A whole session, answered in order; after every answer every position so far is seen.

    Oracle: backward_steps on a fresh copy of the graph gives, for each node that has a
    question, its gradient and the partial sums it passes through. None of them, as
    displayed, may be visible while that node's question is unanswered, unless the same
    number is also something the student may see: a data value or local derivative (on
    the arrows from the start), a leaf's grad, or a number of a node already answered.
    """
    make = {"chain": demo_chain, "mlp": mlp_231, "tanh": tanh_xy}[graph]
    path = save_steps_html(make(), tmp_path / f"{graph}.html", practice=True)
    fresh = make()
    steps = list(backward_steps(fresh))
    number = {id(s.node): k for k, s in enumerate(steps, 1)}
    secret: dict[int, set[str]] = {}  # step k → its node's gradient and partial sums
    for s in steps:
        for c in s.contributions:
            if id(c.input) in number:
                secret.setdefault(number[id(c.input)], set()).update(displayed(c.grad_after))
    for k, s in enumerate(steps, 1):
        secret.setdefault(k, set()).update(displayed(s.upstream))
    given: set[str] = set()  # shown from the start, or a leaf's
    for v in forward_order(fresh):
        given |= displayed(v.data)
        given |= {t for x in v.local_grads for t in displayed(x)}
        if not v.inputs:
            given |= displayed(v.grad)
    reached = [set() for _ in range(len(steps) + 1)]  # position → nodes sent a share by then
    for k, s in enumerate(steps, 1):
        reached[k] = reached[k - 1] | {number[id(c.input)] for c in s.contributions
                                       if id(c.input) in number}
    opened = Opened(browser, path, (1024, 768))
    page = opened.page

    def check(position: int, answered: int) -> None:
        seen, svg = visible_numbers(page)
        allowed = given.union(*(secret[k] for k in range(1, answered + 1)))
        for k in range(answered + 1, len(steps) + 1):
            leaked = (seen & secret[k]) - allowed
            assert not leaked, (graph, position, answered, k, leaked)
        if 0 < position <= answered:  # the boxes still held are exactly the later ones
            held = sum(1 for t in svg if t.strip() == "not shown")
            assert held == len({k for k in reached[position] if k > answered}), position

    for k, s in enumerate(steps, 1):
        page.keyboard.press("ArrowRight")
        assert opened.counter() == f"Step {k} of {len(steps)}"
        check(k, k - 1)
        page.locator("#answer").fill(repr(s.upstream))
        page.locator("#check").click()
        assert page.locator("#practice").is_hidden(), (graph, k)
        check(k, k)
        for back in range(k - 1, -1, -1):  # every answered position again
            page.keyboard.press("ArrowLeft")
            check(back, k)
        for _ in range(k):
            page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert opened.counter() == "All gradients"
    text = visible_text(page)
    assert all(any(t in text for t in displayed(s.upstream)) for s in steps)
    opened.close()
