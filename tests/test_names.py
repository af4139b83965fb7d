"""Tests of :mod:`scalargrad.names`: one display name per node, the same on every build."""

from __future__ import annotations

import itertools
import re
import shutil
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from scalargrad import Value, sum_values, topological_order
from scalargrad.names import MAX_EXPR, display_names, format_number, typeset_parts


def names_of(root: Value, *nodes: Value) -> list[str]:
    table = display_names(root)
    return [table[id(v)] for v in nodes]


def test_every_node_is_named() -> None:
    x, y = Value(1.0), Value(2.0, "y")
    root = ((x * y).tanh() + 3).exp()
    table = display_names(root)
    assert set(table) == {id(v) for v in topological_order(root)}
    assert all(isinstance(n, str) and n for n in table.values())


def test_label_wins() -> None:
    w, a, b = Value(0.5, "w^(L)"), Value(0.7, "a^(L-1)"), Value(0.1, "b^(L)")
    z = (w * a + b).label_as("z^(L)")
    act = z.sigmoid().label_as("a^(L)")
    assert names_of(act, w, a, b, z, act) == ["w^(L)", "a^(L-1)", "b^(L)", "z^(L)", "a^(L)"]


def test_labelled_constant_shows_its_label() -> None:
    x = Value(3.0, "x")
    out = 2 * x
    two = out.inputs[0].label_as("two")
    assert names_of(out, two, out) == ["two", "two·x"]


@pytest.mark.parametrize(
    ("number", "text"),
    [(2, "2"), (0.5, "0.5"), (-3, "−3"), (1e-8, "1e−08"), (2.0, "2"), (0.1, "0.1")],
)
def test_constants_show_their_number(number: float, text: str) -> None:
    x = Value(1.0, "x")
    out = number * x
    assert names_of(out, out.inputs[0]) == [text]
    assert format_number(number) == text


def test_format_number() -> None:
    assert format_number(1e20) == "1e+20"  # no 21-digit integers
    assert format_number(-0.0) == "0"
    assert format_number(1 / 3) == "0.333333"


def test_notes_cost_reads_inline() -> None:
    a, y = Value(0.8, "a^(L)"), Value(1.0, "y")
    diff = a - y
    cost = diff.square()
    assert names_of(cost, diff, cost) == ["a^(L) − y", "(a^(L) − y)²"]


def test_short_expressions_of_constants_and_labels() -> None:
    x = Value(2.0, "x")
    out = 1 - x
    half = out / 2
    assert names_of(half, out, half) == ["1 − x", "(1 − x)/2"]


def test_long_expressions_fall_back_to_letters() -> None:
    p, q = Value(1.0, "p_long_name"), Value(2.0, "q_long_name")
    s = p + q
    assert len("p_long_name + q_long_name") > MAX_EXPR
    assert names_of(s, s) == ["u"]  # a made-up name, never a notes letter (issue 19.6)
    t = s * p  # its expression uses the letter: "u·p_long_name"
    assert names_of(t, s, t) == ["u", "u·p_long_name"]


def test_expressions_stay_short() -> None:
    v = Value(1.0, "v")
    for _ in range(12):
        v = (v + 1).tanh()
    for name in display_names(v).values():
        assert len(name) <= MAX_EXPR or name == "v"


def test_letters_follow_the_operands_left_to_right() -> None:
    x, y, z = Value(1.0), Value(2.0), Value(3.0)
    out = x * y + z
    names = names_of(out, x, y, z, out)
    assert names[:3] == ["u", "v", "p"]  # made-up names, never a notes letter (issue 19.6)
    assert names[3] in ("u·v + p", "(u·v) + p")  # both read right; the product is not split
    p, q = Value(1.0), Value(2.0)
    assert names_of(p + q, p, q) == ["u", "v"]


def test_letters_skip_names_taken_by_labels() -> None:
    p, q, r, s = Value(1.0), Value(2.0), Value(3.0, "u"), Value(4.0, "p")
    root = sum_values([p, q, r, s], label="S")
    names = names_of(root, p, q, r, s)
    assert names[2:] == ["u", "p"]
    assert set(names[:2]) == {"v", "q"}  # made-up names skip u and p (issue 19.6)
    assert len(set(names)) == 4


def test_letters_after_z_stay_unique() -> None:
    leaves = [Value(float(i)) for i in range(60)]
    root = sum_values(leaves, label="total")
    names = names_of(root, *leaves)
    assert len(set(names)) == 60
    assert names[:3] == ["u", "v", "p"]  # made-up names, never a notes letter (issue 19.6)
    assert "m" in names and "total" not in names


def test_a_reused_node_has_one_name() -> None:
    a = Value(3.0)
    b = a + a
    c = b * b
    assert names_of(c, a, b, c) == ["u", "u + u", "(u + u)·(u + u)"]  # issue 19.6


def build(seed: int) -> Value:
    """A graph whose shape depends only on ``seed``."""
    xs = [Value(0.1 * i, f"x{i}" if i % 3 == 0 else "") for i in range(6)]
    nodes = list(xs)
    k = seed
    for _ in range(12):
        k = (k * 1103515245 + 12345) % 2**31
        i, j = k % len(nodes), (k // 7) % len(nodes)
        op = k % 4
        if op == 0:
            nodes.append(nodes[i] * nodes[j])
        elif op == 1:
            nodes.append((nodes[i] + nodes[j]).tanh())
        elif op == 2:
            nodes.append(nodes[i] - 2.0)
        else:
            nodes.append(sum_values([nodes[i], nodes[j], nodes[-1]]))
    return sum_values(nodes, label="C")


@given(seed=st.integers(min_value=0, max_value=10_000))
def test_names_are_deterministic_across_builds(seed: int) -> None:
    first, second = build(seed), build(seed)
    names_1 = display_names(first)
    names_2 = display_names(second)
    order_1, order_2 = topological_order(first), topological_order(second)
    assert [names_1[id(v)] for v in order_1] == [names_2[id(v)] for v in order_2]
    assert display_names(first) == names_1  # and stable on the same graph


@given(seed=st.integers(min_value=0, max_value=10_000))
def test_letter_names_are_unique_and_distinct_from_labels(seed: int) -> None:
    root = build(seed)
    table = display_names(root)
    labels = {v.label for v in topological_order(root) if v.label}
    letters = [
        table[id(v)] for v in topological_order(root)
        if not v.label and not v.is_constant and table[id(v)].isalnum()
    ]
    assert len(letters) == len(set(letters))
    assert not set(letters) & labels


def test_deep_chain_is_named_without_recursion() -> None:
    v = Value(1.0, "x")
    for _ in range(50_000):
        v = -v
    table = display_names(v)
    assert len(table) == 50_001


# --- typesetting ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "parts"), [
    ("w_00^(1)", [("text", "w"), ("sub", "00"), ("sup", "(1)")]),
    ("a^(L-1)", [("text", "a"), ("sup", "(L-1)")]),
    ("C_0", [("text", "C"), ("sub", "0")]),
    ("δ^(l)", [("text", "δ"), ("sup", "(l)")]),
    ("∂C_0/∂z_j^(l)", [("text", "∂C"), ("sub", "0"), ("text", "/∂z"), ("sub", "j"),
                       ("sup", "(l)")]),
    ("σ(z^(1)) − y", [("text", "σ(z"), ("sup", "(1)"), ("text", ") − y")]),
])
def test_names_in_the_notes_form_are_typeset(text: str, parts: list[tuple[str, str]]) -> None:
    assert typeset_parts(text) == parts


@pytest.mark.parametrize("text", [
    "my_var_name", "x^2", "a_b_c", "loss_total", "w^(", "w_", "x^(1)^(2)", "__init__", "",
    "w^((1))", "cost", "2^(3)",
])
def test_other_labels_are_shown_literally(text: str) -> None:
    assert typeset_parts(text) == ([("text", text)] if text else [])


@given(st.text(alphabet="wabzCxy_^()0123456789jkLl-,+ ·σ−\n<>&\"\\{|}", max_size=30))
def test_typeset_parts_give_the_text_back(text: str) -> None:
    parts = typeset_parts(text)
    back = "".join({"text": "", "sub": "_", "sup": "^"}[k] + chars for k, chars in parts)
    assert back == text
    assert all(chars for _, chars in parts)
    assert all(a[0] != "text" or b[0] != "text" for a, b in itertools.pairwise(parts))


# --------------------------------------------- hostile labels round-trip exactly (#10)

PLACEHOLDER_TOKENS = ["{x}", "{y}", "{out}", "{c}", "{c-1}", "{all}", "{0}", "{1}", "{", "}"]
HOSTILE_TOKENS = [
    *PLACEHOLDER_TOKENS, "\\N", "\\G", "\\", '"', "'", "<", ">", "&", "&amp;", "|", "</script>",
    "<img src=x onerror=alert(1)>", "\x00", "\x1b[31m", "\x7f", "\t", "\n", "  ", "σ", "ｘ", "−",
]
labels = st.lists(
    st.one_of(st.sampled_from(HOSTILE_TOKENS), st.characters(blacklist_categories=("Cs",))),
    min_size=1, max_size=8,
).map("".join)
"""Any text: placeholders of the rule templates, DOT/HTML/LaTeX specials, control characters."""


def hostile_graph(la: str, lb: str, lc: str) -> tuple[Value, Value, Value, Value]:
    a, b = Value(2.0, la), Value(3.0, lb)
    c = (a * b).label_as(lc)
    return (c + a).tanh(), a, b, c


@given(labels, labels, labels)
def test_hostile_labels_round_trip_through_steps_explanations_and_code(
    la: str, lb: str, lc: str
) -> None:
    from scalargrad.codegen import compile_graph
    from scalargrad.trace import backward_steps, explain

    root, a, b, c = hostile_graph(la, lb, lc)
    table = display_names(root)
    assert (table[id(a)], table[id(b)], table[id(c)]) == (la, lb, lc)
    steps = list(backward_steps(root))
    (mul,) = [s for s in steps if s.node is c]
    assert mul.name == lc
    assert [x.name for x in mul.contributions] == [la, lb]
    # ∂c/∂a = b and ∂c/∂b = a: the other label, exactly (bracketed if it reads as an expression)
    assert mul.contributions[0].formula in (lb, f"({lb})")
    assert mul.contributions[1].formula in (la, f"({la})")
    assert lb in mul.lines()[1] and la in mul.lines()[2]
    e = explain(root, b)
    assert (e.leaf_name, len(e.paths)) == (lb, 1)
    assert [f.child_name for f in e.paths[0].factors][-1] == lb
    assert lb in str(e)
    f = compile_graph(root, [a, b])
    _, grads = f(2.0, 3.0)
    assert grads == (a.grad, b.grad)  # the code runs whatever the labels are


def svg_texts(svg: str) -> str:
    """Every text of an SVG in document order, Graphviz's no-break spaces read as spaces."""
    tree = ET.fromstring(svg)
    return "".join(t.text or "" for t in tree.iter() if t.tag.endswith("}text") or t.tag == "text"
                   ).replace("\u00a0", " ")


def visible(label: str) -> str:
    """How a drawing shows a label (written out here, not taken from viz): as typed, with a
    control character as its \\xNN escape, a tab as four spaces, each line on its own."""
    out = []
    for ch in label.replace("\r\n", "\n"):
        if ch in "\n\r":
            continue  # a line break: the next line is a separate text
        if ch == "\t":
            out.append("    ")
        elif unicodedata.category(ch) == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) in (0xFFFE, 0xFFFF):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out).replace("\u00a0", " ")  # compared as svg_texts reads them


@pytest.mark.needs_dot
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")
@settings(max_examples=12)
@given(labels, labels, labels)
@example("{y}", "</script><img src=x onerror=alert(1)>", "\\N & {out}\n\x00")
def test_hostile_labels_round_trip_through_drawings_and_the_page(
    la: str, lb: str, lc: str
) -> None:
    from scalargrad.page import steps_html
    from scalargrad.viz import draw, render

    # names of the notes' form (w_0, a^(1)) are typeset; these are shown character for character
    assume(all(typeset_parts(x) == [("text", x)] for x in (la, lb, lc)))
    root, *_ = hostile_graph(la, lb, lc)
    drawn = svg_texts(render(draw(root).source).decode("utf-8"))
    for label in (la, lb, lc):
        assert visible(label) in drawn
    page = steps_html(root)
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(svgs) >= 2  # the frames
    for svg in svgs:
        text = svg_texts(svg)
        for label in (la, lb, lc):
            assert visible(label) in text
    # a label never closes a script or opens an element of the page
    assert "<img src=x" not in page
    assert page.count("</script>") == len(re.findall(r"<script\b", page))
