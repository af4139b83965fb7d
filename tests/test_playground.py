"""The playground: scalargrad.playground in CPython, and the real page in Chromium.

The first part calls the functions the browser's worker calls, here with the real ``dot``,
against hand-derived derivatives. The second serves the built site on 127.0.0.1 (every
request to another host is refused and recorded) and drives the playground as a student
does: a ``#grad=`` link of an expression in no preset, the gradients it shows compared with
the Python engine's and with the formulas below, stepping with the arrow keys, a practice
question answered wrongly and then rightly, and a wrong derivation checked until Hypothesis
shows a counterexample, with no console error.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import urllib.parse
from typing import Any

import pytest

from scalargrad import page, playground
from scalargrad.parse import parse

# f = tanh(x·y) + x²/(1 + e^(−y)), in no preset.
EXPR = "tanh(x*y) + x**2/(1 + exp(-y))"
X, Y = 0.3, -1.5


def df_dx(x: float, y: float) -> float:
    """∂f/∂x = y(1 − tanh²(xy)) + 2x/(1 + e^(−y)), by hand."""
    return y * (1 - math.tanh(x * y) ** 2) + 2 * x / (1 + math.exp(-y))


def df_dy(x: float, y: float) -> float:
    """∂f/∂y = x(1 − tanh²(xy)) + x²e^(−y)/(1 + e^(−y))², by hand."""
    return x * (1 - math.tanh(x * y) ** 2) + x**2 * math.exp(-y) / (1 + math.exp(-y)) ** 2


# The wrong derivation: the 2 of d(x²)/dx is forgotten.
WRONG_CLAIM = "y*(1 - tanh(x*y)**2) + x/(1 + exp(-y))"


def wrong(x: float, y: float) -> float:
    return y * (1 - math.tanh(x * y) ** 2) + x / (1 + math.exp(-y))


# --- the worker's Python, in CPython ---------------------------------------------------


def test_split_args_reads_grad_arguments_without_quotes() -> None:
    assert playground.split_args("(w*a + b)**2 w=0.5 a=1 b=0") == ["(w*a + b)**2", "w=0.5",
                                                                  "a=1", "b=0"]
    assert playground.split_args('"x * y" x=1 --explain x y=2') == ["x * y", "x=1",
                                                                    "--explain", "x", "y=2"]
    assert playground.split_args("-x**2 x=3") == ["--", "-x**2", "x=3"]
    for bad, said in [("", "no expression"), ('"x', "cannot split"),
                      ("x x=1 --draw g.svg", "--draw")]:
        with pytest.raises(playground.PlaygroundError, match=said):
            playground.split_args(bad)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_grad_gives_the_clis_output_the_gradients_and_a_drawing() -> None:
    r = playground.grad(f"{EXPR} x={X} y={Y}", explain_var="x", hessian=True)
    assert r["status"] == 0, r["stderr"]
    assert r["variables"] == ["x", "y"]
    assert r["grads"]["x"] == pytest.approx(df_dx(X, Y), rel=1e-12)
    assert r["grads"]["y"] == pytest.approx(df_dy(X, Y), rel=1e-12)
    assert f"∂f/∂x = {df_dx(X, Y):.10g}" in r["stdout"]
    assert "chain rule for ∂f/∂x" in r["stdout"] and "∂²f/∂x∂y" in r["stdout"]
    assert r["dot"].lstrip().startswith("digraph")
    assert r["latex"].startswith("\\begin{aligned}")
    assert "\\frac{\\partial f}{\\partial x}" in r["latex"]
    other = playground.grad("u*u u=2", explain_var="x")  # the page's choice, for another f
    assert other["status"] == 0 and other["latex"] == "" and other["grads"] == {"u": 4.0}
    svg = json.loads(playground.handle(json.dumps({"kind": "grad", "text": f"{EXPR} x=1 y=2"})))
    assert svg["status"] == 0 and "<svg" in svg["svg"]


def test_an_expression_starting_with_minus_takes_options() -> None:
    r = playground.grad("-x**2 x=3 --explain x", hessian=True)
    assert r["status"] == 0, r["stderr"]
    assert "∂f/∂x = -6" in r["stdout"] and "∂²f/∂x² = -2" in r["stdout"]  # by hand
    assert "chain rule for ∂f/∂x" in r["stdout"]


def _sigma(t: float) -> float:
    return 1 / (1 + math.exp(-t))


@pytest.mark.parametrize("name", sorted(playground.PRESETS))
def test_every_preset_gives_the_gradients_of_central_differences(name: str) -> None:
    expr, *pairs = playground.split_args(playground.PRESETS[name])
    point = {k: float(v) for k, v in (p.split("=") for p in pairs)}
    floats = {"square": lambda t: t * t, "sigmoid": _sigma, "tanh": math.tanh}

    def f(at: dict[str, float]) -> float:  # the preset's text as plain floats: the oracle
        return float(eval(expr, {"__builtins__": {}}, {**floats, **at}))  # our own text

    r = playground.grad(playground.PRESETS[name])
    assert r["status"] == 0, r["stderr"]
    assert sorted(r["grads"]) == sorted(point)
    h = 1e-6
    for v in point:
        up, down = {**point, v: point[v] + h}, {**point, v: point[v] - h}
        assert r["grads"][v] == pytest.approx((f(up) - f(down)) / (2 * h), rel=1e-6, abs=1e-9)
    if name == "sum_over_j":  # ∂C/∂a_0 = Σ_j 2(a_j − y_j)·σ'(z_j)·w_j0: the notes' sum over j
        p = point
        z = [p["w_00"] * p["a_0"] + p["w_01"] * p["a_1"] + p["b_0"],
             p["w_10"] * p["a_0"] + p["w_11"] * p["a_1"] + p["b_1"]]
        by_hand = sum(2 * (_sigma(z[j]) - p[f"y_{j}"]) * _sigma(z[j]) * (1 - _sigma(z[j]))
                      * p[f"w_{j}0"] for j in (0, 1))
        assert r["grads"]["a_0"] == pytest.approx(by_hand, rel=1e-12)


def test_grad_refuses_with_the_clis_messages_never_a_traceback() -> None:
    missing = playground.grad("x*y x=1")
    assert missing["status"] == 2 and "no value for y" in missing["stderr"]
    code = playground.grad("__import__('os').system('true') x=1")
    assert code["status"] == 2 and "Traceback" not in code["stderr"]
    domain = playground.grad("log(x) x=-1")
    assert domain["status"] == 1 and "log" in domain["stderr"]
    unknown = json.loads(playground.handle('{"kind": "nope"}'))
    assert unknown["status"] == 2 and "unknown request" in unknown["stderr"]
    broken = json.loads(playground.handle("not json"))
    assert broken["status"] == 2 and "JSONDecodeError" in broken["stderr"]


def test_check_finds_a_counterexample_that_really_fails() -> None:
    pytest.importorskip("hypothesis")
    r = playground.check(EXPR, "x", WRONG_CLAIM, seed=1)
    assert r["status"] == 1 and "FAILS at" in r["stdout"]
    point = dict(re.findall(r"\b([xy]) = (-?[0-9.e+-]+)", r["stdout"].split("FAILS at")[1]))
    x, y = float(point["x"]), float(point["y"])
    assert not math.isclose(wrong(x, y), df_dx(x, y), rel_tol=1e-6, abs_tol=1e-9)
    right = playground.check(EXPR, "x", "y*(1 - tanh(x*y)**2) + 2*x/(1 + exp(-y))", seed=1)
    assert right["status"] == 0, right


def test_the_command_lines_limits_hold() -> None:
    # 60 levels of x*0.9 + x: over the step page's 150-node limit, under the drawing's 400
    expr = "x"
    for _ in range(60):
        expr = f"tanh({expr}*0.9 + x)"
    made = playground.steps(f"{expr} x=0.5", lambda dot: "")
    assert made["status"] == 2 and "150" in made["stderr"] and made["html"] == ""
    paths = playground.grad("(x+x)*(x+x)*(x+x)*(x+x)*(x+x)*(x+x)*(x+x)*(x+x)*(x+x)*(x+x)*(x+x) "
                            "x=1 --max-paths 10", explain_var="x")
    assert paths["status"] == 1 and "--max-paths" in paths["stderr"]
    assert paths["grads"]["x"] == pytest.approx(11 * 2**11)  # d/dx (2x)^11 at 1, by hand
    assert paths["latex"] == ""


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_steps_is_the_libraries_step_page_whatever_lays_it_out() -> None:
    text = f"{EXPR} x={X} y={Y}"
    made = playground.steps(text, practice=True)
    root, _ = parse(EXPR).evaluate({"x": X, "y": Y})
    root.label = "f"
    root.backward()
    assert made["status"] == 0
    assert made["html"] == page.steps_html(root, practice=True)
    calls: list[str] = []

    def fake_layout(dot: str) -> str:  # counts graphs; the fonts are the wasm build's
        calls.append(dot)
        assert "DejaVu" not in dot and "Courier" in dot
        return f'<?xml version="1.0"?><svg viewBox="0 0 1 1" n="{len(calls)}"></svg>'

    other = playground.steps(text, fake_layout, practice=False)
    assert other["status"] == 0 and len(calls) > 2
    for k in range(1, len(calls) + 1):  # every frame is the one laid out for it
        assert f'n="{k}"' in other["html"]
    # passed as steps_html's render=, nothing is patched: dot still lays the next page out
    assert page.steps_html(root, practice=True) == made["html"]


# --- the page in Chromium ---------------------------------------------------------------

WAIT = 120_000  # ms: Pyodide loads in seconds, Hypothesis imports in seconds; no time asserts



class Served:
    """A page of the served site; requests to any other host are refused and recorded."""

    def __init__(self, browser: Any, base: str, path: str, size: tuple[int, int]) -> None:
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        self.elsewhere: list[str] = []
        self.errors: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith(base):
                r.continue_()
            else:
                self.elsewhere.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console",
                     lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(base + path)

    def close(self) -> None:
        self.context.close()
        assert self.elsewhere == []
        assert self.errors == []


def wait_text(page: Any, selector: str, needle: str) -> str:
    page.wait_for_function(
        "([s, n]) => (document.querySelector(s).textContent || '').includes(n)",
        arg=[selector, needle], timeout=WAIT)
    return str(page.locator(selector).inner_text())


@pytest.mark.browser
@pytest.mark.slow
def test_a_link_computes_steps_practises_and_checks_in_chromium(
    served_site: str, browser: Any
) -> None:
    args = f"{EXPR} x={X} y={Y}"
    assert args not in playground.PRESETS.values()
    link = "playground.html#grad=" + urllib.parse.quote(args, safe="")
    opened = Served(browser, served_site, link, (1024, 768))
    page = opened.page

    # the gradients: the Python engine's to the digits shown, and the hand formulas'
    out = wait_text(page, "#pg-out", "∂f/∂y")
    shown = dict(re.findall(r"∂f/∂([xy]) = (\S+)", out))
    engine = playground.grad(args)["grads"]
    assert shown == {name: f"{engine[name]:.10g}" for name in ("x", "y")}
    assert float(shown["x"]) == pytest.approx(df_dx(X, Y), rel=1e-9)
    assert float(shown["y"]) == pytest.approx(df_dy(X, Y), rel=1e-9)
    assert page.locator("#pg-drawing svg g.node").count() >= 8  # the graph, laid out in wasm
    assert page.locator("#pg-args").input_value() == args

    # second derivatives: grad --hessian's lines, as the Python engine prints them
    page.locator("#pg-hessian").check()
    out = wait_text(page, "#pg-out", "second derivatives")
    hessian = [ln for ln in playground.grad(args, hessian=True)["stdout"].splitlines()
               if ln.startswith("∂²")]
    assert len(hessian) == 3 and all(line in out.splitlines() for line in hessian)
    page.locator("#pg-hessian").uncheck()
    wait_text(page, "#pg-status", "Done")

    # the chain rule for a chosen variable, as text and typeset
    page.locator("#pg-explain").select_option("y")
    assert "chain rule for ∂f/∂y" in wait_text(page, "#pg-out", "chain rule")
    page.locator("#pg-explain-tex .katex").first.wait_for(timeout=WAIT)
    assert page.locator("#pg-explain-tex .katex-error").count() == 0
    assert page.locator("#pg-drawing svg g.node.highlight, #pg-drawing svg .highlight").count() > 0

    # step through: the library's page in a sandboxed iframe, the same keys
    page.locator("#pg-step").click()
    frame = page.frame_locator("#pg-steps")
    counter = frame.locator("#counter")
    counter.wait_for(timeout=WAIT)
    assert counter.inner_text() == "Before backward"
    frame.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press("ArrowRight")
    assert counter.inner_text().startswith("Step 1 of ")
    page.keyboard.press("ArrowRight")
    assert counter.inner_text().startswith("Step 2 of ")
    page.keyboard.press("ArrowLeft")
    assert counter.inner_text().startswith("Step 1 of ")

    # practise: step 1 asks for ∂f/∂f; 2 is wrong, 1 is right
    page.locator("#pg-practice").click()
    frame = page.frame_locator("#pg-steps")
    frame.locator("#practice").wait_for(state="attached", timeout=WAIT)
    frame.locator("#next").click()
    frame.locator("#answer").fill("2")
    frame.locator("#check").click()
    assert "Not quite: you wrote 2" in frame.locator("#feedback").inner_text()
    frame.locator("#answer").fill("1")
    frame.locator("#check").click()
    assert "Right" in frame.locator("#verdict").inner_text()

    # check a wrong derivation: Hypothesis's counterexample, which really fails
    page.locator("#pg-wrt").select_option("x")
    page.locator("#pg-claim").fill(WRONG_CLAIM)
    page.locator("#pg-claim").press("Enter")  # as the Check button does
    verdict = wait_text(page, "#pg-check-out", "FAILS at")
    point = dict(re.findall(r"\b([xy]) = (-?[0-9.e+-]+)", verdict.split("FAILS at")[1]))
    x, y = float(point["x"]), float(point["y"])
    assert not math.isclose(wrong(x, y), df_dx(x, y), rel_tol=1e-6, abs_tol=1e-9)
    assert "counterexample" in page.locator("#pg-status").inner_text()
    opened.close()


@pytest.mark.browser
@pytest.mark.slow
def test_stop_restarts_python_and_says_so(served_site: str, browser: Any) -> None:
    opened = Served(browser, served_site, "playground.html", (1024, 768))
    page = opened.page
    wait_text(page, "#pg-out", "∂f/∂w_1")  # the chain preset, computed on load
    page.locator("#pg-claim").fill("0")
    page.locator("#pg-check").click()  # Hypothesis's import alone takes seconds
    page.locator("#pg-stop").click()
    assert "Stopped." in page.locator("#pg-status").inner_text()
    assert page.locator("#pg-check").is_disabled()
    wait_text(page, "#pg-status", "Ready")  # a fresh worker
    page.locator("#pg-args").fill("x*x x=3")
    page.locator("#pg-form button[type=submit]").click()
    assert "∂f/∂x = 6" in wait_text(page, "#pg-out", "∂f/∂x")
    opened.close()


@pytest.mark.browser
def test_a_browser_without_webassembly_is_told_so(served_site: str, browser: Any) -> None:
    context = browser.new_context()
    context.add_init_script("delete globalThis.WebAssembly")
    page = context.new_page()
    page.goto(served_site + "playground.html")
    status = wait_text(page, "#pg-status", "WebAssembly")
    assert "cannot run the playground" in status
    assert page.locator("#pg-form button[type=submit]").is_disabled()
    context.close()


@pytest.mark.browser
def test_opened_from_disk_it_says_to_serve_the_site(built_site: Any, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto((built_site / "playground.html").as_uri())
    status = wait_text(page, "#pg-status", "file://")
    assert "make serve" in status and "cannot load" in status
    context.close()
