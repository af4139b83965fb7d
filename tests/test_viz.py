"""Tests of scalargrad.viz: DOT text, rendering through the real dot, highlights, frames.

The labels' text (escaping, typeset names) is tested in ``tests/test_labels.py``, the size
guard, the copies of far inputs and the layer ranks in ``tests/test_layout.py``.

Oracles: the DOT text written out by hand (golden), local derivatives derived by
hand in the test, coordinates measured in SVG that the real ``dot`` produced.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

import pytest
from drawings import (
    SVG,
    centre,
    classroom,
    edges,
    needs_dot,
    node_line,
    slow_layout_graph,
    svg_nodes,
    tanh_chain,
    texts,
)

from scalargrad import Value, topological_order
from scalargrad.nn import MLP, squared_error
from scalargrad.trace import backward_steps, explain
from scalargrad.viz import (
    PARTIAL,
    DotNotFoundError,
    draw,
    draw_steps,
    forward_order,
    frames,
    render,
    split_svgs,
    write_drawing,
)


def plain(label: str) -> str:
    """A typeset DOT label back in the notes' text: w<SUB>00</SUB><SUP>(1)</SUP> → w_00^(1)."""
    label = re.sub(r'<FONT POINT-SIZE="[0-9.]+"><SUB>(.*?)</SUB></FONT>', r"_\1", label)
    return re.sub(r'<FONT POINT-SIZE="[0-9.]+"><SUP>(.*?)</SUP></FONT>', r"^\1", label)


# --- DOT text ---------------------------------------------------------------------------

NBSP = "&#160;"

GOLDEN_PRODUCT = """digraph scalargrad {
\tgraph [bgcolor=white fontname="DejaVu Sans" newrank=true nodesep=0.25 rankdir=LR ranksep=0.35]
\tnode [fontname="DejaVu Sans" fontsize=11]
\tedge [arrowsize=0.6 color="#5a5a5a" fontcolor="#1f5fa8" fontname="DejaVu Sans Mono" fontsize=10]
\tn0 [label=<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD COLSPAN="2"><FONT POINT-SIZE="14">x</FONT></TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="#555555">data </FONT></TD><TD ALIGN="RIGHT"><FONT FACE="DejaVu Sans Mono">&#160;&#160;&#160;&#160;&#160;&#160;&#160;&#160;&#160;2</FONT></TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="#555555">grad </FONT></TD><TD ALIGN="RIGHT"><FONT FACE="DejaVu Sans Mono" COLOR="#8a8a8a">&#160;&#160;&#160;not&#160;yet</FONT></TD></TR></TABLE>> class="value input" color="#333333" fillcolor="#cfe2f3" id=n0 margin="0.06,0.03" shape=box style="rounded,filled"]
\tn1 [label=<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD COLSPAN="2"><FONT POINT-SIZE="14">w</FONT></TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="#555555">data </FONT></TD><TD ALIGN="RIGHT"><FONT FACE="DejaVu Sans Mono">&#160;&#160;&#160;&#160;&#160;&#160;&#160;&#160;−3</FONT></TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="#555555">grad </FONT></TD><TD ALIGN="RIGHT"><FONT FACE="DejaVu Sans Mono" COLOR="#8a8a8a">&#160;&#160;&#160;not&#160;yet</FONT></TD></TR></TABLE>> class="value parameter" color="#333333" fillcolor="#fde7b0" id=n1 margin="0.06,0.03" shape=box style="rounded,filled"]
\tn2 [label=<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD COLSPAN="2"><FONT POINT-SIZE="14">c</FONT></TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="#555555">data </FONT></TD><TD ALIGN="RIGHT"><FONT FACE="DejaVu Sans Mono">&#160;&#160;&#160;&#160;&#160;&#160;&#160;&#160;−6</FONT></TD></TR><TR><TD ALIGN="LEFT"><FONT COLOR="#555555">grad </FONT></TD><TD ALIGN="RIGHT"><FONT FACE="DejaVu Sans Mono" COLOR="#8a8a8a">&#160;&#160;&#160;not&#160;yet</FONT></TD></TR></TABLE>> class="value cost" color="#333333" fillcolor="#f6c9c4" id=n2 margin="0.06,0.03" shape=box style="rounded,filled"]
\to2 [label=<×> class=op color="#555555" fillcolor="#f2f2f2" fontsize=12 id=o2 margin=0.02 shape=circle style=filled width=0.3]
\tn0 -> o2 [label=<−3> id=e2_0]
\tn1 -> o2 [label=<2> id=e2_1]
\to2 -> n2 [id=e2]
}
"""  # noqa: E501


def test_golden_dot_for_a_product_before_backward() -> None:
    x, w = Value(2.0, "x"), Value(-3.0, "w")
    c = (x * w).label_as("c")
    # ∂c/∂x = w = −3 and ∂c/∂w = x = 2 on the arrows; no grad yet.
    assert draw(c).source == GOLDEN_PRODUCT


def test_golden_dot_after_backward_shows_grads_and_is_stable() -> None:
    def build() -> Value:
        x, w = Value(2.0, "x"), Value(-3.0, "w")
        c = (x * w).label_as("c")
        c.backward()
        return c

    first, second = draw(build()).source, draw(build()).source
    assert first == second  # ids from the order, never from memory addresses
    assert "not&#160;yet" not in first
    # grad x = w = −3, grad w = x = 2, grad c = 1, fixed width 10 characters, the steps' text
    cells = [NBSP * 8 + "−3", NBSP * 9 + "2", NBSP * 9 + "1"]
    for node, cell in zip(("n0", "n1", "n2"), cells):
        assert f"{cell}</FONT></TD></TR></TABLE>" in node_line(first, node)
    expected = GOLDEN_PRODUCT.replace(
        '<FONT FACE="DejaVu Sans Mono" COLOR="#8a8a8a">&#160;&#160;&#160;not&#160;yet', "@"
    )
    for cell in cells:
        expected = expected.replace("@", f'<FONT FACE="DejaVu Sans Mono">{cell}', 1)
    assert first == expected


def test_ids_follow_reading_order_and_local_derivatives_are_hand_formulas() -> None:
    cost, _ = classroom()
    source = draw(cost).source
    order = forward_order(cost)
    assert [n.label for n in order[:2]] == ["w", "a"]  # n0 = w, n1 = a
    assert order[-1] is cost and len(order) == 9
    z = 0.5 * 1.5 + 0.1
    s = 1 / (1 + math.exp(-z))
    e = edges(source)
    # node indices: w=0 a=1 w·a=2 b=3 z=4 σ=5 y=6 σ−y=7 cost=8
    expected = {
        "e2_0": ("n0", 1.5),  # ∂(w·a)/∂w = a
        "e2_1": ("n1", 0.5),  # ∂(w·a)/∂a = w
        "e4_0": ("n2", 1.0),  # ∂z/∂(w·a) = 1
        "e4_1": ("n3", 1.0),  # ∂z/∂b = 1
        "e5_0": ("n4", s * (1 - s)),  # σ'(z) = σ(z)(1 − σ(z))
        "e7_0": ("n5", 1.0),  # ∂(σ − y)/∂σ = 1
        "e7_1": ("n6", -1.0),  # ∂(σ − y)/∂y = −1
        "e8_0": ("n7", 2 * (s - 1.0)),  # ∂(u²)/∂u = 2u
    }
    assert set(expected) == {k for k in e if "_" in k}
    for eid, (tail, local) in expected.items():
        got_tail, head, attrs = e[eid]
        assert got_tail == tail and head == "o" + eid[1:].split("_")[0]
        label = re.search(r"label=<([^>]*)>", attrs)
        assert label and float(label.group(1).replace("−", "-")) == pytest.approx(local, abs=5e-5)
    for i in (2, 4, 5, 7, 8):  # one op → value edge per op node
        assert e[f"e{i}"][:2] == (f"o{i}", f"n{i}")
    assert 'class="value parameter"' in node_line(source, "n0")  # w
    assert 'class="value input"' in node_line(source, "n1")  # a
    assert 'class="value cost"' in node_line(source, "n8")
    assert "label=" not in "".join(a for _, _, a in e.values() if "label" not in a)
    bare = draw(cost, show_local_grads=False, show_grad=False).source
    assert "label=<" not in "".join(a for _, _, a in edges(bare).values())
    assert ">grad <" not in bare and ">data <" in bare


def test_a_times_a_draws_two_edges_and_constants_get_their_role() -> None:
    a = Value(3.0, "a")
    out = (2 * (a * a)).label_as("out")
    # reading order: the constant 2 just before the product that uses it
    assert [v.label or v.data for v in forward_order(out)] == ["a", 9.0, 2.0, "out"]
    source = draw(out).source
    e = edges(source)
    assert e["e1_0"][:2] == ("n0", "o1") and e["e1_1"][:2] == ("n0", "o1")
    assert re.search(r"label=<3>.*\n.*label=<3>", source)  # ∂(a·a)/∂a = a, twice
    assert 'class="value constant"' in node_line(source, "n2")  # the 2
    assert ">2</FONT>" in node_line(source, "n2")


def test_grads_option_and_state_before_and_after_backward() -> None:
    cost, v = classroom()
    assert draw(cost).source.count("not&#160;yet") == 9
    partial = draw(cost, grads={v["w"]: 0.25}).source
    assert partial.count("not&#160;yet") == 8
    assert "&#160;0.25</FONT>" in node_line(partial, "n0")  # as the steps write 0.25
    cost.backward()
    assert draw(cost).source.count("not&#160;yet") == 0
    cost.zero_grad()
    assert draw(cost).source.count("not&#160;yet") == 9


def test_highlight_value_list_step_and_path() -> None:
    cost, v = classroom()
    one = draw(cost, highlight=v["b"]).source
    assert "highlight" in node_line(one, "n3") and "penwidth=3" in node_line(one, "n3")
    assert one.count("highlight") == 1
    several = draw(cost, highlight=[v["w"], v["a"]]).source
    assert several.count("highlight") == 2
    steps = list(backward_steps(cost))
    sig = next(s for s in steps if s.node.op == "sigmoid")
    hl = draw(cost, highlight=sig).source
    e = edges(hl)
    lit = {k for k, (_, _, attrs) in e.items() if "highlight" in attrs}
    assert lit == {"e5", "e5_0"}  # the σ node's own edge and its input edge
    assert "highlight" in node_line(hl, "n5") and "highlight" in node_line(hl, "o5")
    assert "receiver" in node_line(hl, "n4")  # z receives σ's gradient
    path = explain(cost, v["w"]).paths[0]
    ph = draw(cost, highlight=path).source
    lit = {k for k, (_, _, attrs) in edges(ph).items() if "highlight" in attrs}
    assert lit == {"e8", "e8_0", "e7", "e7_0", "e5", "e5_0", "e4", "e4_0", "e2", "e2_0"}
    assert {f"n{i}" for i in (0, 2, 4, 5, 7, 8)} == {
        n for n in re.findall(r"^\t(n\d+) \[", ph, re.M) if "highlight" in node_line(ph, n)
    }


def test_bad_arguments_are_named() -> None:
    cost, _ = classroom()
    with pytest.raises(ValueError, match="not in the drawn graph"):
        draw(cost, highlight=Value(1.0, "stranger"))
    with pytest.raises(TypeError, match=r"highlight.*str"):
        draw(cost, highlight="w")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"rankdir must be one of \['LR', 'RL', 'TB', 'BT'\]"):
        draw(cost, rankdir="XY")
    with pytest.raises(TypeError, match="draw needs a Value"):
        draw(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_nodes"):
        draw(cost, max_nodes=0)


def test_deep_graph_needs_no_recursion() -> None:
    x = Value(1.0, "x")
    for _ in range(5 * sys.getrecursionlimit()):
        x = x + 1.0
    assert len(forward_order(x)) == 10 * sys.getrecursionlimit() + 1
    assert draw(x, max_nodes=None).source.count("\tn") > 10_000


# --- rendering through the real dot ---------------------------------------------------


@needs_dot
def test_svg_has_every_node_edge_and_label() -> None:
    cost, _ = classroom()
    cost.backward()
    svg = draw(cost).svg()
    root = ET.fromstring(svg.encode("utf-8"))
    gs = list(root.iter(f"{SVG}g"))
    values = [g for g in gs if g.get("class", "").startswith("node value")]
    ops = [g for g in gs if g.get("class") == "node op"]
    edge_gs = [g for g in gs if g.get("class", "").startswith("edge")]
    assert (len(values), len(ops), len(edge_gs)) == (9, 5, 8 + 5)
    names = {texts(g)[0] for g in values}
    assert {"w", "a", "b", "y"} <= names
    assert {texts(g)[0] for g in ops} == {"×", "+", "σ", "−", "²"}  # **2 reads as square()
    w = svg_nodes(svg)["n0"]
    # ∂C/∂w = 2(σ − 1)σ(1 − σ)·a, derived by hand
    s = 1 / (1 + math.exp(-0.85))
    grad_w = 2 * (s - 1) * s * (1 - s) * 1.5
    grad_text = f"{grad_w:.4f}".replace("-", "−").rjust(10)  # the steps' text, 10 wide
    assert texts(w)[1:] == ["data ", "       0.5", "grad ", grad_text]


@needs_dot
def test_render_many_graphs_in_one_call_and_errors() -> None:
    a = Value(1.0, "a")
    sources = [draw(a).source, draw((a * 2).label_as("b")).source]
    svgs = split_svgs(render("\n".join(sources)))
    assert len(svgs) == 2 and all(s.rstrip().endswith("</svg>") for s in svgs)
    with pytest.raises(RuntimeError, match=r"dot -Tsvg failed.*syntax error"):
        render("digraph { a -> }")


# --- frames -----------------------------------------------------------------------------


def reused() -> tuple[Value, Value]:
    """x feeds two consumers: C = x·y + x, so ∂C/∂x = y + 1 arrives in two parts."""
    x, y = Value(2.0, "x"), Value(3.0, "y")
    return ((x * y) + x).label_as("C"), x


def test_draw_steps_shows_partial_sums_and_leaves_grads_alone() -> None:
    cost, x = reused()
    x.grad = 7.0  # something an earlier pass left behind
    drawings = draw_steps(cost)
    assert x.grad == 7.0 and cost.grad == 0.0
    steps = list(backward_steps(reused()[0]))
    assert len(drawings) == len(steps) + 1 == 3
    # step 0 is C = (x·y) + x: x gets 1 from the + but still waits for the ×
    first = node_line(drawings[0].source, "n0")
    assert PARTIAL in first and "&#160;1</FONT>" in first
    last = node_line(drawings[-1].source, "n0")
    assert PARTIAL not in last and "&#160;4</FONT>" in last  # y + 1
    assert "highlight" not in drawings[-1].source


def test_frames_final_grads_equal_backward() -> None:
    cost, _ = classroom()
    made = frames(cost)
    fresh, _ = classroom()
    fresh.backward()
    expected = [v.grad for v in forward_order(fresh)]
    assert [g for _, _, g in made.grads] == expected
    assert made.before.source.count("not&#160;yet") == 9


@needs_dot
def test_frames_keep_every_node_in_place() -> None:
    cost, _ = classroom()
    made = frames(cost)
    drawings = [made.before, *(d for _, d in made.steps), made.final]
    svgs = split_svgs(render("\n".join(d.source for d in drawings)))
    assert len(svgs) == 7
    layouts = []
    for svg in svgs:
        nodes = svg_nodes(svg)
        layouts.append({nid: centre(g) for nid, g in nodes.items()})
    assert len(layouts[0]) == 14
    for k, layout in enumerate(layouts[1:], 1):
        assert layout == layouts[0], f"frame {k} moved nodes"
    sizes = {re.search(r'<svg width="[^"]+" height="[^"]+"', s).group(0) for s in svgs}  # type: ignore[union-attr]
    assert len(sizes) == 1
    for k, (step, _) in enumerate(made.steps, 1):
        hl = [nid for nid, g in svg_nodes(svgs[k]).items()
              if "highlight" in g.get("class", "") and nid.startswith("n")]
        assert hl == [f"n{forward_order(cost).index(step.node)}"]


# --- files and the missing-dot message ---------------------------------------------------


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [
    (".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"), (".dot", b"digraph"),
])
def test_write_drawing_formats(tmp_path, suffix: str, magic: bytes) -> None:  # type: ignore[no-untyped-def]
    cost, _ = classroom()
    path = write_drawing(cost, tmp_path / f"g{suffix}")
    assert path == tmp_path / f"g{suffix}" and path.read_bytes().startswith(magic)


def test_write_drawing_rejects_unknown_suffix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cost, _ = classroom()
    suffixes = r"\['\.dot', '\.gv', '\.pdf', '\.png', '\.svg'\]"
    with pytest.raises(ValueError, match=r"'g\.jpg'.*" + suffixes):
        write_drawing(cost, tmp_path / "g.jpg")
    assert not (tmp_path / "g.jpg").exists()


def test_missing_dot_says_what_to_install(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))  # a real PATH on which there is no dot
    cost, _ = classroom()
    drawing = draw(cost)
    assert drawing.source.startswith("digraph")  # DOT text needs no dot
    assert write_drawing(cost, tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source
    for attempt in (lambda: drawing._repr_mimebundle_(),
                    lambda: write_drawing(cost, tmp_path / "g.svg")):
        with pytest.raises(DotNotFoundError, match=r"apt-get install graphviz.*brew install"):
            attempt()


@needs_dot
def test_displays_inline_in_jupyter() -> None:
    cost, _ = classroom()
    bundle = draw(cost)._repr_mimebundle_(include=None, exclude=None)
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_highlight_an_explanation_or_connected_values_lights_their_edges() -> None:
    from scalargrad import nn

    net = nn.MLP.from_weights([[[0.5, -0.5], [0.25, 1.0]], [[1.0, -1.0]]], [[0.0, 0.1], [0.2]])
    xs = [Value(0.3, "a_0^(0)"), Value(-0.7, "a_1^(0)")]
    cost = nn.squared_error(net(xs), 1.0)
    cost.backward()
    # ∂C_0/∂a_1^(0): one path per neuron j of layer 1 — the sum over j
    why = explain(cost, xs[1])
    assert len(why.paths) == 2
    src = draw(cost, highlight=why).source
    lit = {k for k, (_, _, attrs) in edges(src).items() if "highlight" in attrs}
    for path in why.paths:
        alone = draw(cost, highlight=path).source
        mine = {k for k, (_, _, attrs) in edges(alone).items() if "highlight" in attrs}
        assert mine and mine <= lit
    assert lit == set().union(*(
        {k for k, (_, _, a) in edges(draw(cost, highlight=p).source).items() if "highlight" in a}
        for p in why.paths
    ))
    # a list of Values: a_1^(0) and the two z_j^(1) it feeds → the arrows between them light up
    zs = [v for v in topological_order(cost) if v.label.startswith("z_") and "(1)" in v.label]
    assert len(zs) == 2
    joined = draw(cost, highlight=[xs[1], *zs]).source
    e = edges(joined)
    lit = {k for k, (_, _, attrs) in e.items() if "highlight" in attrs}
    # each z_j^(1) = w_j0·a_0 + w_j1·a_1 + b_j: a_1 is input 3; plus each op → z arrow
    n_a1 = next(n for n in re.findall(r"^\t(n\d+) \[", joined, re.M)
                if "a_1^(0)" in plain(node_line(joined, n)))
    assert {e[k][0] for k in lit if "_" in k} == {n_a1}
    assert len([k for k in lit if k.endswith("_3")]) == 2 and len(lit) == 4


# --- network drawings ---------------------------------------------------------------------

MONO_ADVANCE = 0.602  # DejaVu Sans Mono: every glyph advances 0.602 em


def label_boxes(svg: str) -> dict[str, list[tuple[float, float, float, float]]]:
    """Boxes of every local-derivative number: edge labels and Σ nodes' port cells.

    From the SVG the real ``dot`` wrote: ``x``/``y``/``text-anchor`` of each text,
    its font size, and the monospace advance width.
    """
    root = ET.fromstring(svg.encode("utf-8"))
    out: dict[str, list[tuple[float, float, float, float]]] = {}
    for g in root.iter(f"{SVG}g"):
        cls, gid = g.get("class", ""), g.get("id", "")
        if cls != "edge" and not (cls.startswith("node") and gid.startswith("o")):
            continue
        for t in g.iter(f"{SVG}text"):
            if not (t.get("font-family") or "").startswith("DejaVu Sans Mono"):
                continue
            size, x, y = float(t.get("font-size", "0")), float(t.get("x", "0")), float(
                t.get("y", "0"))
            width = MONO_ADVANCE * size * len((t.text or "").replace("\xa0", " "))
            anchor = t.get("text-anchor")
            left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
            out.setdefault(gid, []).append((left, y - 0.8 * size, left + width, y + 0.2 * size))
    return out


def arrow_tip(g: ET.Element) -> tuple[float, float]:
    """Where an edge's arrow ends: the arrowhead polygon's point farthest from its base."""
    poly = next(el for el in g if el.tag == f"{SVG}polygon")
    pts = [tuple(map(float, p.split(","))) for p in (poly.get("points") or "").split()]
    return max(pts[:3], key=lambda p: sum(math.dist(p, q) for q in pts[:3]))


@needs_dot
@pytest.mark.parametrize("sizes", [[3, 1], [4, 4, 1]], ids=["2-3-1", "2-4-4-1"])
def test_every_local_derivative_is_on_its_own_arrow(sizes: list[int]) -> None:
    net = MLP(2, sizes, seed=1)
    cost = squared_error(net([0.5, -1.0]), [1.0])
    order = forward_order(cost)
    svg = draw(cost).svg()
    boxes = label_boxes(svg)
    flat = [(gid, b) for gid, bs in boxes.items() for b in bs]
    # every local derivative is drawn once: one per edge into an op
    assert len(flat) == sum(len(v.inputs) for v in order)
    # no two of them overlap
    clash = [(a[0], b[0]) for a, b in itertools.combinations(flat, 2)
             if a[1][0] < b[1][2] and b[1][0] < a[1][2] and a[1][1] < b[1][3] and b[1][1] < a[1][3]]
    assert clash == []
    # a Σ node's number k sits where arrow k ends (the k-th input's arrow, in order)
    root = ET.fromstring(svg.encode("utf-8"))
    edges_by_id = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}
    for i, v in enumerate(order):
        if v.op != "affine":
            continue
        cells = sorted(boxes[f"o{i}"], key=lambda b: b[1])  # top to bottom = port order
        assert len(cells) == len(v.inputs)
        for k, cell in enumerate(cells):
            x, y = arrow_tip(edges_by_id[f"e{i}_{k}"])
            assert cell[1] - 4 <= y <= cell[3] + 4, (i, k)
            assert x <= cell[0] + 2  # the arrow arrives at the number's left


# ----------------------------------------------------- the layout time limit (#10 item 5)


def processes_in_group(pgid: int) -> list[int]:
    """Live process ids whose process group is ``pgid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        if int(fields[2]) == pgid:  # after "pid (comm)": state, ppid, pgrp
            found.append(int(entry))
    return found


@needs_dot
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to find processes")
def test_a_slow_layout_is_stopped_and_no_dot_is_left_running() -> None:
    from scalargrad.viz import DotTimeoutError, render

    root = slow_layout_graph()
    assert len(topological_order(root)) == 117
    source = draw(root, max_edges=None).source  # 6,960 arrows: over the arrow limit
    with pytest.raises(DotTimeoutError) as info:
        render(source, timeout=1.0)
    err = info.value
    assert err.timeout == 1.0
    assert "within 1 s and was stopped" in str(err) and "timeout=60" in str(err)
    assert processes_in_group(err.pid) == []  # dot and anything it started: killed and reaped
    assert not os.path.exists(f"/proc/{err.pid}")
    ok = render(draw(Value(2.0, "x") * 3).source, timeout=60.0)  # a small graph still renders
    assert ok.lstrip().startswith(b"<?xml")


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, True, "5"])
def test_render_timeout_must_be_a_positive_number(bad: object) -> None:
    from scalargrad.viz import render

    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        render("digraph {}", timeout=bad)  # type: ignore[arg-type]


# ------------------------------------ long arrows are drawn from copies (#19 item 12)


def test_a_copy_lights_up_with_its_box_in_the_steps() -> None:
    x, root = tanh_chain(6)
    order = forward_order(root)
    last_add = max(i for i, v in enumerate(order) if v.op == "add")
    made = frames(root)
    (frame,) = [d for s, d in made.steps if s.node is order[last_add]]
    (copy,) = re.findall(rf"^\tg0_{last_add} \[(.*)\]$", frame.source, re.M)
    assert "receiver" in copy and "penwidth=2.5" in copy  # x receives at this step
    assert "receiver" not in re.findall(r"^\tn0 \[(.*)\]$", made.before.source, re.M)[0]
    lit = draw(root, highlight=x).source
    assert all("highlight" in c for c in re.findall(r"^\tg0_\d+ \[(.*)\]$", lit, re.M))
