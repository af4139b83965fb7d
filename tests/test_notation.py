"""Tests of :mod:`scalargrad.notation` and the notation issue 19 asks a student can trust.

One number format and one minus (19.9), made-up names that are never a label or
a notes letter and are always defined (19.6), local derivatives told apart from
total ones (19.5), and whatever the library prints reads back in (19.7). The
properties run over random expressions from :func:`scalargrad.testing.expressions`;
the oracles are hand values, Python's own float reading and the graph's data.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from scalargrad import Value, backward_steps, draw, explain, topological_order
from scalargrad.names import abbreviations, display_names
from scalargrad.notation import LETTERS, LOCAL_MARK, MINUS, NOTES_LETTERS, format_number
from scalargrad.parse import ParseError, parse
from scalargrad.testing import expressions
from scalargrad.testing.examples import OPS, Expression

ROOT = Path(__file__).resolve().parents[1]
# Variables named with the notes' letters and with the made-up names' first letters,
# so that a clash would show.
LABELS = ["w", "a", "b", "y", "u", "v"]
DERIVATIVE = re.compile(r"∂(\([^∂]*\)|[^/∂ ]+)/∂(\([^∂]*?\)|[^ ,∂|]+?)(\|local)?(?= |$|,)")


def unlabelled(expr: Expression) -> tuple[Value, list[Value]]:
    """The expression's graph with only its variables labelled (the ops are not)."""
    nodes = expr.leaves()
    for rec in expr.records:
        nodes.append(OPS[rec.op].build([nodes[i] for i in rec.args], rec.exponent))
    root = nodes[-1].label_as("f")
    return root, nodes


def made_up(root: Value) -> dict[int, str]:
    """The nodes whose names the library made up (no label, no short expression)."""
    names = display_names(root)
    return {k: n for k, n in names.items() if re.fullmatch(r"[a-zA-Zδ][0-9]*", n)
            and not any(v.label == n for v in topological_order(root))}


def uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z_^]){re.escape(name)}(?![A-Za-z0-9_])", text) is not None


# --- 19.9: one number format, one minus ----------------------------------------------------


@pytest.mark.parametrize(("x", "text"), [
    (0.25, "0.25"),  # exactly 0.25: no zeros to keep
    (-0.0332, "−0.0332"),  # exactly what it says …
    (-0.03320004, "−0.03320"),  # … a rounded value keeps its 4 digits
    (0.419974341614026, "0.4200"),
    (-1.0, "−1"),
    (1.5e-5, "1.5e−05"),
    (-1.23456e-7, "−1.235e−07"),
])
def test_one_format_with_the_formulas_minus(x: float, text: str) -> None:
    assert format_number(x) == text
    assert format_number(x, minus="-") == text.replace(MINUS, "-")
    assert float(format_number(x, minus="-")) == pytest.approx(x, rel=5e-4)


def test_variants_are_parameters_of_the_one_format() -> None:
    assert format_number(0.25, width=10) == "      0.25"
    assert format_number(-3.0, constant=True) == "−3" and format_number(1 / 3, constant=True) \
        == "0.333333"
    assert format_number(0.5, pad=True) == "0.5000"


def test_a_step_line_has_one_minus_sign() -> None:
    """The issue's line: a formula's −1 and the numbers beside it share the minus sign."""
    a, y = Value(0.8, "a"), Value(1.0, "y")
    c = (a - y).square().label_as("C")
    lines = [line for s in backward_steps(c) for line in s.lines()]
    assert "→ y: ∂(a − y)/∂y = −1, adds 0.4000 (0 → 0.4000)" in lines  # 2(a − y)·(−1), by hand
    assert not any("-" in line for line in lines), lines


def test_the_drawing_shows_the_numbers_the_steps_show() -> None:
    w, x = Value(0.25, "w"), Value(-1.5, "x")
    f = (w * x).label_as("f")
    f.backward()
    source = draw(f).source
    # data 0.25 and −1.5, grads ∂f/∂w = x = −1.5 and ∂f/∂x = w = 0.25: as the text writes them
    for text in ("0.25", "−1.5"):
        assert f"&#160;{text}</FONT>" in source
    assert "+0.2500" not in source and "-1.500" not in source


def test_x_squared_and_square_read_alike() -> None:
    x = Value(3.0, "x")
    a, b = x**2, x.square()
    names = display_names(a + b)
    assert names[id(a)] == names[id(b)] == "x²"


@settings(max_examples=60, deadline=None)
@given(expressions(variables=LABELS[:3], max_nodes=6))
def test_no_hyphen_minus_in_steps_or_explanations(expr: Expression) -> None:
    root, nodes = unlabelled(expr)
    text = "\n".join(line for s in backward_steps(root) for line in s.lines())
    inputs = {id(c) for v in topological_order(root) for c in v.inputs}
    text += "".join("\n" + str(explain(root, leaf)) for leaf in nodes[:len(expr.names)]
                    if id(leaf) in inputs)
    assert "-" not in text, text


# --- 19.6: made-up names ---------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(expressions(variables=LABELS, min_nodes=2, max_nodes=9))
def test_made_up_names_are_never_a_label_or_a_notes_letter(expr: Expression) -> None:
    root, _ = unlabelled(expr)
    names = display_names(root)
    labels = {v.label for v in topological_order(root) if v.label}
    for v in topological_order(root):
        if not v.label and not v.is_constant:
            name = names[id(v)]
            assert name not in labels, (name, labels)
            assert name not in NOTES_LETTERS, name


@settings(max_examples=80, deadline=None)
@given(expressions(variables=LABELS, min_nodes=3, max_nodes=9))
def test_every_made_up_name_a_text_uses_is_defined_in_it(expr: Expression) -> None:
    root, nodes = unlabelled(expr)
    invented = set(made_up(root).values())
    texts = [str(explain(root, leaf)) for leaf in nodes[:len(expr.names)]
             if any(c is leaf for v in topological_order(root) for c in v.inputs)]
    for text in texts:
        body, _, where = text.partition("\nwhere ")
        defined = {d.split(" = ", 1)[0] for d in where.split("; ")} if where else set()
        for name in invented:
            if uses(body, name) or uses(where, name):
                assert name in defined, (name, text)


def test_the_issues_cost_names_sigma_minus_y_and_defines_it() -> None:
    w1, a, b1, w2, b2, y = (Value(x, n) for x, n in
                            [(0.5, "w1"), (1.0, "a"), (0.1, "b1"), (0.3, "w2"), (-0.2, "b2"),
                             (1.0, "y")])
    f = ((w2 * (w1 * a + b1).sigmoid() + b2).sigmoid() - y).square().label_as("f")
    first = next(iter(backward_steps(f))).lines()[1]
    assert first.startswith("→ u: ∂f/∂u = 2u = ")  # not b, the notes' bias
    assert abbreviations(f, first) == ["u = σ(w2·σ(w1·a + b1) + b2) − y"]
    assert str(explain(f, w1)).endswith("\nwhere u = σ(w2·σ(w1·a + b1) + b2) − y")


def test_micrograds_readme_example_keeps_its_letters_free() -> None:
    from scalargrad.micrograd import Value as MValue

    a, b = MValue(-4.0), MValue(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    names = set(display_names(g).values())
    # the README's variables are a … g: no box may carry one of them for another value
    assert not names & set("abcdefg"), names
    assert set(LETTERS).isdisjoint("abcdefgwzyCδ")


# --- 19.5: local and total derivatives -----------------------------------------------------


def test_the_issues_expression_tells_local_from_total() -> None:
    x, y = Value(0.5, "x"), Value(-2.0, "y")
    f = ((x * y).tanh() + x).label_as("f")
    steps = list(backward_steps(f))
    assert steps[0].lines()[2] == f"→ x: ∂f/∂x{LOCAL_MARK} = 1, adds 1 (0 → 1)"
    assert steps[0].lines()[1].startswith("→ tanh(x·y): ∂f/∂tanh(x·y) = 1")  # the total too
    text = str(explain(f, x))
    assert text.splitlines()[:2] == ["∂f/∂x = ∂f/∂(x·y) · ∂(x·y)/∂x", "      + ∂f/∂x|local"]
    latex = explain(f, x)._repr_latex_()
    assert "\\left.\\frac{\\partial f}{\\partial x}\\right|_{\\text{local}}" in latex
    # by hand: ∂f/∂x = (1 − tanh²(xy))·y + 1
    assert x.grad == pytest.approx((1 - math.tanh(-1.0) ** 2) * -2 + 1, rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(expressions(variables=LABELS[:3], min_nodes=2, max_nodes=8))
def test_a_local_derivative_never_reads_as_a_different_total(expr: Expression) -> None:
    """Every ∂root/∂X written without the mark is the total ∂root/∂X, in steps and explanations."""
    root, nodes = unlabelled(expr)
    names = display_names(root)
    steps = list(backward_steps(root))  # fresh grads: each node's grad is its total
    totals: dict[str, list[float]] = {}  # by name: x·y built twice is two nodes of one name
    for v in topological_order(root):
        totals.setdefault(names[id(v)], []).append(v.grad)
    for s in steps:
        for c in s.contributions:
            symbol = s.local_text(c)
            if symbol.startswith(f"∂{names[id(root)]}/") and not symbol.endswith(LOCAL_MARK):
                assert c.local_grad == pytest.approx(c.input.grad, rel=1e-9, abs=1e-12)
    for leaf in nodes[:len(expr.names)]:
        if not any(c is leaf for v in topological_order(root) for c in v.inputs):
            continue
        e = explain(root, leaf)
        for terms in e._terms:
            for t in terms:
                if t.top == e.root_name and not t.local:
                    assert any(t.value == pytest.approx(g, rel=1e-9, abs=1e-12)
                               for g in totals[t.bottom]), (t, totals[t.bottom])


# --- 19.7: what the library prints, it reads ----------------------------------------------


@pytest.mark.parametrize(("typed", "python"), [
    ("σ(w·a + b) − y", "sigmoid(w*a + b) - y"),
    ("(a − y)²", "(a - y)**2"),
    ("x⁻¹ + x^3 + x^−0.5", "x**-1 + x**3 + x**-0.5"),
    ("2×x", "2*x"),
])
def test_the_printed_notation_parses(typed: str, python: str) -> None:
    point = {"w": 0.3, "a": 0.7, "b": -0.2, "y": 1.0, "x": 1.7}
    got, want = parse(typed), parse(python)
    assert got.variables == want.variables and got.text == typed
    pick = {n: point[n] for n in got.variables}
    assert got.evaluate(pick)[0].data == want.evaluate(pick)[0].data


def test_implicit_multiplication_suggests_the_product() -> None:
    with pytest.raises(ParseError) as info:
        parse("2(x + 1)")
    assert "write 2*(…)" in str(info.value) and info.value.column == 2
    with pytest.raises(ParseError) as info:
        parse("σ(x)·2σ(y)")
    assert "2*σ" in str(info.value) and info.value.column == 7  # the σ, as typed


def test_the_caret_error_underlines_the_caret() -> None:
    with pytest.raises(ParseError) as info:
        parse("σ(x) − x ^ y")
    err = info.value
    assert err.column == 10 and str(err).splitlines()[-1] == " " * 11 + "^"
    assert "x**2" in str(err)


@settings(max_examples=80, deadline=None)
@given(expressions(variables=LABELS, min_nodes=1, max_nodes=8))
def test_every_printed_name_parses_back_to_its_node(expr: Expression) -> None:
    root, _ = unlabelled(expr)
    names = display_names(root)
    invented = set(made_up(root).values())
    values = dict(zip(expr.names, expr.values))
    for v in topological_order(root):
        name = names[id(v)]
        if not v.inputs or v is root or any(uses(name, n) for n in invented):
            continue
        parsed = parse(name)
        rebuilt, _ = parsed.evaluate({n: values[n] for n in parsed.variables})
        assert rebuilt.data == pytest.approx(v.data, rel=1e-12, abs=1e-300), name


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scalargrad", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def test_the_cli_reads_back_what_it_prints() -> None:
    out = run("grad", "tanh(x*y)+x", "x=0.5", "y=-2", "--steps").stdout
    printed = re.findall(r"→ (.+?): ∂", out)
    assert printed == ["tanh(x·y)", "x", "x·y", "x", "y"]
    for name in printed:  # each node's name, typed back in, gives that node's value
        again = run("grad", name, *(f"{n}={v}" for n, v in (("x", 0.5), ("y", -2))
                                     if n in name))
        assert again.returncode == 0, again.stderr
        value = float(again.stdout.splitlines()[1].split("=")[1])
        assert value == pytest.approx({"tanh(x·y)": math.tanh(-1.0), "x": 0.5,
                                       "x·y": -1.0, "y": -2.0}[name], rel=1e-9)
    # check's formula argument too: ∂σ(2x)/∂x = 2σ(2x)(1 − σ(2x)), typed as the tool writes it
    ok = run("check", "σ(2·x)", "--wrt", "x", "2·σ(2·x)·(1 − σ(2·x))", "--examples", "20")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_name_precedence_and_the_brackets_of_derivative_text() -> None:
    from scalargrad.notation import derivative_text, is_atom, latex_derivative, name_precedence

    # by hand: 1 a sum, 0.9 a leading minus, 2 a product, 3 a power, 9 one token
    cases = {"a^(L) − y": 1.0, "−x": 0.9, "w·a": 2.0, "x/y": 2.0, "x^2": 3.0, "x²": 3.0,
             "w_jk^(l)": 9.0, "σ(z + 1)": 9.0, "a^(L-1)": 9.0, "2": 9.0}
    assert {name: name_precedence(name) for name in cases} == cases
    assert [n for n in cases if is_atom(n)] == ["w_jk^(l)", "σ(z + 1)", "a^(L-1)", "2"]
    assert derivative_text("C_0", "a^(L) − y") == "∂C_0/∂(a^(L) − y)"
    assert derivative_text("f", "x", local=True) == "∂f/∂x|local"
    assert latex_derivative("f", "w·a") == "\\frac{\\partial f}{\\partial (w \\cdot a)}"


def test_the_read_back_variant_is_the_constant_format_with_ten_digits() -> None:
    assert format_number(1 / 3, constant=True, digits=10, minus="-") == "0.3333333333"
    assert format_number(-2.5, constant=True, digits=10, minus="-") == "-2.5"
    assert format_number(-0.0, constant=True, digits=10, minus="-") == "0"
    assert format_number(1e12, constant=True, digits=10) == "1000000000000"
    assert format_number(-1e-12 / 3, constant=True, digits=10) == f"{-1e-12 / 3:.10g}".replace(
        "-", MINUS)
    assert format_number(1 / 3, constant=True) == "0.333333"  # formulas keep 6


def test_outside_brackets_yields_only_the_characters_at_depth_zero() -> None:
    from scalargrad.notation import outside_brackets

    # by hand: σ(a + b)·c^{2} − [x] leaves σ, ·, c, ^, the spaces and − outside
    text = "σ(a + b)·c^{2} − [x]"
    assert "".join(ch for _, ch in outside_brackets(text)) == "σ·c^ − "
    assert [i for i, ch in outside_brackets(text) if ch == "·"] == [text.index("·")]
    assert list(outside_brackets("((a))")) == []
