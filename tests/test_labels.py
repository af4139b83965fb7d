"""Tests of scalargrad.labels: the text of a drawing's Graphviz labels.

Escaping (quotes, backslashes, markup, controls, a closing bracket) and typeset
names are checked in the SVG the real ``dot`` rendered: every name must read as
written, nothing injected. The oracle is the label itself, with the few
documented changes (tabs as four spaces, controls as escapes, scripts without
their ``_``/``^``) applied by hand in the test.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
from drawings import SVG, needs_dot, svg_nodes, texts
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad import Value, labels, sum_values, viz
from scalargrad.labels import html_text
from scalargrad.names import typeset_parts
from scalargrad.nn import MLP, squared_error
from scalargrad.viz import draw, forward_order, render, split_svgs


def test_viz_re_exports_the_labels() -> None:
    for name in ("html_text", "graphviz_html_name", "number_text", "HIGHLIGHT", "RECEIVER",
                 "PARTIAL", "PENDING"):
        assert getattr(viz, name) is getattr(labels, name), name


def name_lines(g: ET.Element) -> list[str]:
    """The name rows of a Value box (every text but the last four: data, number, grad, number).

    A typeset name is several texts on one baseline (``w``, ``00``, ``(1)``): texts
    with the same ``y`` are one row. dot drops empty lines and trims blanks at the
    ends of a line; everything else must read as written.
    """
    rows: dict[str, str] = {}
    for t in list(g.iter(f"{SVG}text"))[:-4]:
        y = t.get("y", "")
        rows[y] = rows.get(y, "") + (t.text or "").replace("\xa0", " ")
    return [r.strip() for r in rows.values() if r.strip()]


def typeset(line: str) -> str:
    """A line as it reads once typeset: scripts lose their ``_`` and ``^`` (w_00^(1) → w00(1))."""
    return "".join(chars for _, chars in typeset_parts(line))


NASTY = [
    'say "hi"',
    "back\\slash \\n \\N \\G \\l",
    "<b>bold?</b>",
    "<a> & <b>",
    "{record|field}",
    "a:b -> c -- d",
    '"]; evil [label="pwned',
    "} digraph { x",
    "two\nlines",
    "tab\there",
    "ünïcødé σ′ ∂C₀/∂w⁽ᴸ⁾ 中文",
    "&amp; &#60; &lt;",
    "]]> <!-- x -->",
    "ctrl\x01char",
    "  spaced  out  ",
    "'single' `tick`",
]


def shown(label: str) -> list[str]:
    """How a label must read in the SVG: lines as written, tabs 4 spaces, controls escaped."""
    text = label.replace("\t", "    ").replace("\x01", "\\x01")
    return text.split("\n")


@needs_dot
def test_nasty_labels_render_as_written() -> None:
    drawings = []
    for i, label in enumerate(NASTY):
        leaf = Value(float(i), label)
        drawings.append(draw((leaf * 2.0).label_as(label + "!"), title=label))
    svgs = split_svgs(render("\n".join(d.source for d in drawings)))
    assert len(svgs) == len(NASTY)
    for label, svg in zip(NASTY, svgs):
        nodes = svg_nodes(svg)
        assert sorted(nodes) == ["n0", "n1", "n2", "o2"], label  # nothing injected
        for nid, name in (("n0", label), ("n2", label + "!")):
            assert name_lines(nodes[nid]) == [typeset(t).strip() for t in shown(name)], label
        root = ET.fromstring(svg.encode("utf-8"))
        title = [t for t in texts(root) if t.strip()][: len(shown(label))]
        assert [t.strip() for t in title] == [t.strip() for t in shown(label)]


def test_html_text_never_leaves_markup() -> None:
    for label in NASTY:
        out = html_text(label)
        bare = out.replace("<BR/>", "")
        assert "<" not in bare and ">" not in bare and '"' not in bare
        assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt|quot|#x27|#93);)*", bare), label


NONCHARS = (0xFFFE, 0xFFFF)


def visible(line: str) -> str:
    """A label line as drawings must show it: tabs as 4 spaces, unprintables as escapes."""
    out = []
    for ch in line.replace("\xa0", " "):
        code = ord(ch)
        if ch == "\t":
            out.append("    ")
        elif code < 32 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000 or code in NONCHARS:
            out.append(f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


@needs_dot
@settings(max_examples=25)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8))
def test_any_labels_render_as_written(labels: list[str]) -> None:
    leaves = [Value(float(i), lab) for i, lab in enumerate(labels)]
    total = sum_values(leaves, label="total")
    svg = draw(total).svg()
    nodes = svg_nodes(svg)
    order = forward_order(total)
    assert len([n for n in nodes if n.startswith("n")]) == len(order)
    for i, v in enumerate(order[:-1]):
        lines = [visible(typeset(line)) for line in re.split(r"\r\n|\r|\n", v.label)]
        assert name_lines(nodes[f"n{i}"]) == [t.strip() for t in lines if t.strip()]


@needs_dot
@pytest.mark.parametrize("label", ["]", "]]>", "[]", "a]"])
def test_a_closing_bracket_label_renders(label: str) -> None:
    # "]" right after a tag was a syntax error in Graphviz's HTML-label parser (dot exit 1)
    svg = render(draw(Value(1.0, label) * 2).source).decode("utf-8")
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert label in texts


def test_names_in_the_notes_form_are_drawn_with_sub_and_sup() -> None:
    w, a = Value(0.5, "w_00^(1)"), Value(0.7, "a^(L-1)")
    source = draw((w * a).label_as("C_0"), title="∂C_0/∂w_00^(1)").source
    small = r'<FONT POINT-SIZE="[0-9.]+">'
    assert re.search(rf"w{small}<SUB>00</SUB></FONT>{small}<SUP>\(1\)</SUP></FONT>", source)
    assert re.search(rf"a{small}<SUP>\(L-1\)</SUP></FONT>", source)
    assert re.search(rf"C{small}<SUB>0</SUB></FONT>", source)
    assert re.search(rf"label=<∂C{small}<SUB>0</SUB></FONT>/∂w", source)  # the title too
    assert "w_00" not in source and "^(" not in source


@needs_dot
def test_typeset_drawings_render_without_warnings_and_scripts_are_smaller() -> None:
    net = MLP(2, [3, 1], seed=1)
    cost = squared_error(net([0.5, -1.0]), [1.0])
    done = subprocess.run(["dot", "-Tsvg"], input=draw(cost).source.encode(),
                          capture_output=True, check=True)
    assert done.stderr == b""
    root = ET.fromstring(done.stdout)
    scripts = [t for t in root.iter(f"{SVG}text") if t.get("baseline-shift")]
    assert {t.get("baseline-shift") for t in scripts} == {"sub", "super"}
    names = [t for t in root.iter(f"{SVG}text") if t.text == "w"]
    assert names and all(float(t.get("font-size", "0")) < float(names[0].get("font-size", "0"))
                         for t in scripts)


@needs_dot
def test_typeset_names_with_special_characters_still_render_as_written() -> None:
    labels = ['w_0<&>"', "a^(1)\\N", "x_1{|}\nC_0", "b_1 & <b>"]
    leaves = [Value(float(i), lab) for i, lab in enumerate(labels)]
    total = sum_values(leaves, label="z_0^(2)")
    source = draw(total).source
    assert "&lt;&amp;&gt;&quot;" in source and "\\\\N" in source
    nodes = svg_nodes(draw(total).svg())
    for i, label in enumerate(labels):
        assert name_lines(nodes[f"n{i}"]) == [typeset(line) for line in label.split("\n")]


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "RL", "TB", "BT"])
def test_sigma_ports_face_the_arrows_in_every_direction(rankdir: str) -> None:
    net = MLP(2, [3, 1], seed=1)
    cost = squared_error(net([0.5, -1.0]), [1.0])
    root = ET.fromstring(draw(cost, rankdir=rankdir).svg().encode("utf-8"))
    order = forward_order(cost)
    for i, v in enumerate(order):
        if v.op != "affine":
            continue
        g = next(g for g in root.iter(f"{SVG}g") if g.get("id") == f"o{i}")
        texts = list(g.iter(f"{SVG}text"))
        symbol = next(t for t in texts if "Σ" in (t.text or ""))
        cells = [t for t in texts if t is not symbol]
        assert len(cells) == len(v.inputs)
        sx, sy = float(symbol.get("x", "0")), float(symbol.get("y", "0"))
        # the numbers sit on the side the arrows come from: left (LR), right (RL), top, bottom
        for t in cells:
            x, y = float(t.get("x", "0")), float(t.get("y", "0"))
            assert {"LR": x < sx, "RL": x > sx, "TB": y < sy, "BT": y > sy}[rankdir], rankdir
