"""Tests of scalargrad.page without a browser: templates as package data, the installed
wheel, escaping, typeset names, practice data and the Jupyter view.

(tests/test_page_browser.py drives the page itself in Chromium.)
"""

from __future__ import annotations

import html
import inspect
import json
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from scalargrad import Value, show_steps
from scalargrad import page as page_module
from scalargrad.page import StepsView, html_name, steps_html

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ("steps.html", "steps.css", "steps.js", "practice.html")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def neuron() -> Value:
    w, a, b, y = Value(0.5, "w_0^(1)"), Value(1.5, "a^(0)"), Value(0.1, "b^(1)"), Value(1.0, "y")
    return ((w * a + b).sigmoid() - y).square().label_as("C_0")


def test_the_page_is_made_of_package_data_files() -> None:
    folder = resources.files("scalargrad").joinpath("templates")
    for name in TEMPLATES:
        assert folder.joinpath(name).is_file(), name
    source = inspect.getsource(page_module)
    # no page in Python strings: no HTML skeleton, no style sheet, no script
    assert "<!DOCTYPE html>" not in source and "<style" not in source
    assert "addEventListener" not in source and "box-sizing" not in source


@needs_dot
def test_every_slot_is_filled_and_the_data_is_safe_json() -> None:
    text = steps_html(neuron(), title="</script><b>x</b> & C_0", practice=True)
    assert not re.search(r"\{\{\w+\}\}", text)
    assert text.count("<script") == 2 and "</script><b>" not in text
    assert "<h1>&lt;/script&gt;&lt;b&gt;x&lt;/b&gt; &amp; C<sub>0</sub></h1>" in text
    assert "<title>&lt;/script&gt;&lt;b&gt;x&lt;/b&gt; &amp; C₀</title>" in text  # typeset (19.8)
    raw = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', text, re.S)
    assert raw and "<" not in raw.group(1)
    data = json.loads(raw.group(1))
    assert data["practice"] is True and len(data["questions"]) == 5
    assert data["counters"] == ["Before backward", *(f"Step {k} of 5" for k in range(1, 6)),
                                "All gradients"]
    assert data["relTol"] == 1e-3 and data["absTol"] == 1e-4


def test_html_name_typesets_and_escapes() -> None:
    assert html_name("w_00^(1)") == "w<sub>00</sub><sup>(1)</sup>"
    assert html_name("∂C_0/∂a^(L-1)") == "∂C<sub>0</sub>/∂a<sup>(L-1)</sup>"
    assert html_name('<w_0> & "q"') == "&lt;w<sub>0</sub>&gt; &amp; &quot;q&quot;"
    assert html_name("my_var^2") == "my_var^2"
    for nasty in ['"', "\\", "<", ">", "&", "{ | }", "a\nb", "<script>", "w_<b>"]:
        out = html_name(nasty)
        assert html.unescape(re.sub(r"</?su[bp]>", "", out)) == nasty
        assert "<script" not in out


@needs_dot
def test_page_text_and_table_typeset_names() -> None:
    text = steps_html(neuron())
    assert "∂C<sub>0</sub>/∂w<sub>0</sub><sup>(1)</sup>" in text  # the table and the steps
    assert "w_0^(1)" not in re.sub(r"<svg.*?</svg>", "", text, flags=re.S)


@needs_dot
def test_show_steps_displays_the_page_in_a_sandboxed_frame() -> None:
    view = show_steps(neuron(), practice=True, height=500)
    assert isinstance(view, StepsView)
    shown = view._repr_html_()
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" style="[^"]*'
                     r'height:500px[^"]*" title="[^"]*"></iframe>', shown)
    assert m, shown[:200]
    assert "allow-same-origin" not in shown
    page = html.unescape(m.group(1))
    assert page.startswith("<!DOCTYPE html>") and '<body class="practice">' in page
    assert page == view.html
    with pytest.raises(ValueError, match="height"):
        show_steps(neuron(), height=10)


@needs_dot
@pytest.mark.slow
def test_the_installed_wheel_renders_a_page(tmp_path: Path) -> None:
    """Build the wheel, install it into a fresh venv, render a page from the installed copy."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "scalargrad", src / "scalargrad",
                    ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(src)], check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in TEMPLATES:
        assert f"scalargrad/templates/{name}" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    out = tmp_path / "page.html"
    script = (
        "import sys, scalargrad\n"
        "from scalargrad import Value, save_steps_html\n"
        "assert scalargrad.__file__.startswith(sys.prefix), scalargrad.__file__\n"
        "w, a = Value(0.5, 'w_0^(1)'), Value(1.5, 'a^(0)')\n"
        f"save_steps_html((w * a).sigmoid().label_as('C_0'), {str(out)!r}, practice=True)\n"
    )
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    for name in ("steps.css", "steps.js"):  # the installed files, inlined whole
        assert resources.files("scalargrad").joinpath("templates").joinpath(name).read_text(
            encoding="utf-8") in text
    assert '<body class="practice">' in text and text.count("<svg") == 2 + 2 + 2


@needs_dot
def test_the_final_table_is_in_the_notes_reading_order() -> None:
    from scalargrad.nn import chain

    text = steps_html(chain([0.5, -1.2, 0.8], [0.1, 0.2, -0.3], 0.7, 1.0).cost)
    table = text[text.index('<table class="grads">'):]
    rows = re.findall(r"<tr data-node=\"n\d+\" data-grad=\"[^\"]+\"><td>(.*?)</td>", table)
    bottoms = [re.sub(r"</?su[bp]>", "", r).split("/∂", 1)[1] for r in rows]
    assert bottoms == ["w(1)", "a(0)", "b(1)", "z(1)", "a(1)", "w(2)", "b(2)", "z(2)", "a(2)",
                       "w(3)", "b(3)", "z(3)", "a(3)", "y", "(a(3) − y)", "C0"]


def page_data(text: str) -> Any:
    raw = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', text, re.S)
    assert raw
    return json.loads(raw.group(1))


@needs_dot
def test_the_page_judges_by_the_data_python_made() -> None:
    from scalargrad import backward_steps
    from scalargrad.practice import READER, questions, slip_windows

    data = page_data(steps_html(neuron(), practice=True))
    assert data["reader"] == json.loads(json.dumps(READER))
    asked = questions(backward_steps(neuron()))
    pairs: list[Any] = list(zip(data["questions"], asked))
    pairs += [(ds, s) for d, q in pairs for ds, s in zip(d["sends"], q.sends())]
    assert len(pairs) > len(asked)
    for d, q in pairs:
        assert d["window"] == list(q.window()) and "answer" not in d
        assert [s[:2] for s in d["slips"]] == [list(w) for w in slip_windows(q)]
    # the watch page carries no reader; progress keys differ by content, not by path
    assert page_data(steps_html(neuron()))["reader"] is None
    again = page_data(steps_html(neuron(), practice=True))["key"]
    other = Value(0.7, "w") * Value(2.0, "a")
    assert again == data["key"] != page_data(steps_html(other, practice=True))["key"]


@needs_dot
def test_the_title_and_prose_typeset_c0_as_the_heading_does() -> None:
    """Issue 19.8: C_0 reads C₀ in the tab title and in the first frame's prose too."""
    text = steps_html(neuron())
    assert "<title>Backpropagation through C₀</title>" in text
    first = re.search(r'<div class="text" id="t0" hidden>(.*?)</div>', text, re.S)
    assert first and "Backward starts at C<sub>0</sub> with ∂C<sub>0</sub>/∂C<sub>0</sub> = 1" \
        in first.group(1)
    assert "C_0" not in re.sub(r"<svg.*?</svg>", "", text, flags=re.S)


@needs_dot
def test_render_lays_out_every_frame_in_one_call_and_nothing_else() -> None:
    from scalargrad.dot import render as dot_render
    calls: list[tuple[str, str, float]] = []

    def recording(source: str, fmt: str = "svg", *, timeout: float = 1.0) -> bytes:
        calls.append((source, fmt, timeout))
        return dot_render(source, fmt, timeout=timeout)

    assert steps_html(neuron(), practice=True, render=recording, timeout=77.0) == \
        steps_html(neuron(), practice=True)  # the default is the dot program itself
    assert len(calls) == 1 and calls[0][1:] == ("svg", 77.0)
    # before, 5 steps, all gradients, and 5 practice question frames: 12 graphs
    assert calls[0][0].count("digraph") == 12

    def broken(source: str, fmt: str = "svg", *, timeout: float = 1.0) -> bytes:
        return b'<?xml version="1.0"?><svg></svg>'  # one SVG for twelve frames

    with pytest.raises(RuntimeError, match="1 SVGs for 12 frames"):  # refused, no gaps
        steps_html(neuron(), practice=True, render=broken)
