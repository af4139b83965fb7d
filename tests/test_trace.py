"""Tests for scalargrad.trace: backward_steps and explain.

Oracles: the notes' chain-rule formulas written out by hand here, central
finite differences, and backward() itself for the accumulation semantics.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.mathtext import MathTextParser

from scalargrad import Value, affine, sum_values, topological_order
from scalargrad.testing import Expression, expressions
from scalargrad.trace import (
    Explanation,
    Step,
    TooManyPathsError,
    backward_steps,
    explain,
    fmt,
    latex_name,
)

W, A0, B, Y = 0.5, 0.71, 0.1, 1.0


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def notes_chain() -> tuple[Value, Value, Value, Value, Value]:
    """The notes' last layer, built by hand: C_0 = (σ(w^(L)·a^(L-1) + b^(L)) − y)²."""
    w, a0, b, y = Value(W, "w^(L)"), Value(A0, "a^(L-1)"), Value(B, "b^(L)"), Value(Y, "y")
    z = sum_values([w * a0, b], "z^(L)")
    a = z.sigmoid().label_as("a^(L)")
    cost = (a - y).square().label_as("C_0")
    return cost, w, a0, b, y


def hand_grads() -> dict[str, float]:
    z = W * A0 + B
    a = sig(z)
    d_a = 2 * (a - Y)
    d_z = d_a * a * (1 - a)
    return {"w": d_z * A0, "a0": d_z * W, "b": d_z, "y": -d_a, "d_a": d_a, "d_z": d_z,
            "sp": a * (1 - a)}


# --- steps ------------------------------------------------------------------------


def test_steps_match_the_hand_formulas_and_backward() -> None:
    cost, w, a0, b, y = notes_chain()
    steps = list(backward_steps(cost))
    h = hand_grads()
    assert [s.name for s in steps] == ["C_0", "a^(L) − y", "a^(L)", "z^(L)", "w^(L)·a^(L-1)"]
    assert all(isinstance(s, Step) for s in steps)
    assert [s.index for s in steps] == list(range(5))
    assert steps[3].upstream == pytest.approx(h["d_z"], rel=1e-12)
    for leaf, key in ((w, "w"), (a0, "a0"), (b, "b"), (y, "y")):
        assert leaf.grad == pytest.approx(h[key], rel=1e-12)


def test_golden_step_text_for_the_notes_chain() -> None:
    cost, *_ = notes_chain()
    h = hand_grads()
    text = [str(s) for s in backward_steps(cost)]
    assert f"{h['d_a']:.4g}" == "-0.7763" and f"{h['sp']:.4g}" == "0.2375"
    assert text == [
        "∂C_0/∂C_0 = 1; → a^(L) − y: ∂C_0/∂(a^(L) − y) = 2(a^(L) − y) = −0.7763, "
        "adds −0.7763 (0 → −0.7763)",
        "∂C_0/∂(a^(L) − y) = −0.7763; → a^(L): ∂(a^(L) − y)/∂a^(L) = 1, adds −0.7763 "
        "(0 → −0.7763); → y: ∂(a^(L) − y)/∂y = −1, adds 0.7763 (0 → 0.7763)",
        "∂C_0/∂a^(L) = −0.7763; → z^(L): ∂a^(L)/∂z^(L) = σ'(z^(L)) = 0.2375, adds −0.1844 "
        "(0 → −0.1844)",
        "∂C_0/∂z^(L) = −0.1844; → w^(L)·a^(L-1): ∂z^(L)/∂(w^(L)·a^(L-1)) = 1, adds −0.1844 "
        "(0 → −0.1844); → b^(L): ∂z^(L)/∂b^(L) = 1, adds −0.1844 (0 → −0.1844)",
        "∂C_0/∂(w^(L)·a^(L-1)) = −0.1844; → w^(L): ∂(w^(L)·a^(L-1))/∂w^(L) = a^(L-1) = 0.71, "
        "adds −0.1309 (0 → −0.1309); → a^(L-1): ∂(w^(L)·a^(L-1))/∂a^(L-1) = w^(L) = 0.5, "
        "adds −0.09219 (0 → −0.09219)",
    ]


def test_contributions_add_up_to_each_final_grad_and_order_is_reverse_topological() -> None:
    # A reused non-leaf, a diamond and a*a in one graph.
    x, y = Value(0.3, "x"), Value(-1.2, "y")
    b = x + x
    c = b * b + (b * y).tanh()
    root = (c * x).sigmoid() + c
    steps = list(backward_steps(root))
    order = [v for v in topological_order(root) if v.inputs]
    assert [s.node for s in steps] == order
    into: dict[int, float] = {}
    for s in steps:
        for con in s.contributions:
            assert con.input is s.node.inputs[con.index]
            assert con.amount == s.upstream * con.local_grad
            assert con.grad_after == pytest.approx(con.grad_before + con.amount, rel=1e-12,
                                                   abs=1e-15)
            into[id(con.input)] = into.get(id(con.input), 0.0) + con.amount
        # upstream is final: no later step adds to this node
        assert all(id(s.node) != id(c2.input) for t in steps[s.index:] for c2 in t.contributions)
    for v in topological_order(root):
        if v is not root:
            assert v.grad == pytest.approx(into[id(v)], rel=1e-12, abs=1e-15)
    grads = [v.grad for v in (x, y)]
    for v in topological_order(root):
        v.grad = 0.0
    root.backward()
    assert [x.grad, y.grad] == grads  # exactly what backward() gives


def test_accumulation_matches_backward_exactly_with_leftovers() -> None:
    def build() -> tuple[Value, list[Value]]:
        x, y = Value(0.7, "x"), Value(1.3, "y")
        h = x * y + x.exp()
        return (h * h).log(), [x, y, h]

    r1, n1 = build()
    r2, n2 = build()
    for _ in range(2):  # a second pass doubles leaf grads, never re-propagates h's leftover
        r1.backward()
        for _s in backward_steps(r2):
            pass
    assert [v.grad for v in n1] == [v.grad for v in n2]
    assert r1.grad == r2.grad == 2.0


def test_early_stop_leaves_exactly_the_steps_taken() -> None:
    cost, w, a0, b, y = notes_chain()
    h = hand_grads()
    it = backward_steps(cost)
    assert cost.grad == 0.0  # nothing happens before the first next()
    next(it)
    second = next(it)
    assert cost.grad == 1.0
    assert y.grad == second.contributions[1].amount == pytest.approx(h["y"], rel=1e-12)
    a = second.contributions[0].input
    assert a.grad == second.contributions[0].amount == pytest.approx(h["d_a"], rel=1e-12)
    assert a.inputs[0].grad == 0.0  # z^(L): a^(L)'s step was not taken
    assert w.grad == a0.grad == b.grad == 0.0
    rest = list(it)  # finishing later gives the full backward
    assert len(rest) == 3
    assert w.grad == pytest.approx(h["w"], rel=1e-12)


def test_steps_on_a_leaf_root_seed_it_like_backward() -> None:
    x = Value(2.0, "x")
    assert list(backward_steps(x)) == []
    assert x.grad == 1.0
    with pytest.raises(TypeError, match="needs a Value"):
        backward_steps(3.0)  # type: ignore[arg-type]


def test_steps_handle_a_deep_chain_without_recursion() -> None:
    x = Value(0.5, "x")
    v = x
    for _ in range(20_000):
        v = v * 1.0
    n = sum(1 for _ in backward_steps(v))
    assert n == 20_000
    assert x.grad == 1.0


# --- explanations -----------------------------------------------------------------


def test_explain_chain_reads_like_the_notes() -> None:
    cost, w, _a0, b, _y = notes_chain()
    h = hand_grads()
    e = explain(cost, w)
    assert isinstance(e, Explanation)
    assert len(e.paths) == 1
    path = e.paths[0]
    assert path.nodes[0] is cost and path.nodes[-1] is w
    assert [f.parent for f in path.factors] == list(path.nodes[:-1])
    assert e.total == pytest.approx(h["w"], rel=1e-12)
    assert str(e) == (
        "∂C_0/∂w^(L) = ∂C_0/∂a^(L) · ∂a^(L)/∂z^(L) · ∂z^(L)/∂w^(L)\n"
        "            = 2(a^(L) − y) · σ'(z^(L)) · a^(L-1)\n"
        "            = −0.7763 · 0.2375 · 0.71\n"
        "            = −0.1309"
    )
    eb = explain(cost, b)
    assert str(eb).splitlines()[1].strip() == "= 2(a^(L) − y) · σ'(z^(L)) · 1"  # as the notes
    latex = e._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert "\\frac{\\partial C_{0}}{\\partial w^{(L)}}" in latex
    assert "&= 2(a^{(L)} - y) \\cdot \\sigma'(z^{(L)}) \\cdot a^{(L-1)} \\\\" in latex


def test_latex_names() -> None:
    assert latex_name("w_jk^(l)") == "w_{jk}^{(l)}"
    assert latex_name("w_1,12^(2)") == "w_{1,12}^{(2)}"
    assert latex_name("a^(L-1)") == "a^{(L-1)}"
    assert latex_name("a^(L) − y") == "a^{(L)} - y"


def test_sum_over_j_gives_one_path_per_neuron() -> None:
    n_l = 3
    ws = [0.4, -0.3, 0.8]
    ys = [1.0, 0.0, 0.5]
    a_k = Value(0.6, "a_0^(1)")
    terms = []
    for j in range(n_l):
        w = Value(ws[j], f"w_{j}0^(2)")
        z = sum_values([w * a_k, Value(0.1, f"b_{j}^(2)")], f"z_{j}^(2)")
        a = z.sigmoid().label_as(f"a_{j}^(2)")
        terms.append((a - Value(ys[j], f"y_{j}")).square())
    cost = sum_values(terms, "C_0")
    e = explain(cost, a_k)
    assert len(e.paths) == n_l
    hand = 0.0
    for j in range(n_l):
        a = sig(ws[j] * 0.6 + 0.1)
        hand += 2 * (a - ys[j]) * a * (1 - a) * ws[j]
    assert e.total == pytest.approx(hand, rel=1e-12)
    lines = str(e).splitlines()
    assert lines[0] == ("∂C_0/∂a_0^(1) = ∂C_0/∂a_0^(2) · ∂a_0^(2)/∂z_0^(2) · "
                        "∂z_0^(2)/∂a_0^(1)")
    assert lines[1].lstrip().startswith("+ ∂C_0/∂a_1^(2)")
    assert lines[3].lstrip() == "= 2(a_0^(2) − y_0) · σ'(z_0^(2)) · w_00^(2)"
    assert lines[-1].lstrip() == f"= {hand:.4g}".replace("-", "−")  # the formulas' minus


def test_a_times_a_has_two_paths() -> None:
    x = Value(3.0, "x")
    e = explain(x * x, x)
    assert len(e.paths) == 2 and e.total == 6.0


def test_path_limit_error_says_how_many_and_what_to_do() -> None:
    x = Value(1.0, "x")
    v = x
    for _ in range(11):
        v = v * v  # every level doubles the paths
    with pytest.raises(TooManyPathsError, match=r"2048 paths .*max_paths=1000") as info:
        explain(v, x)
    assert "backward" in str(info.value)
    # 2048 paths of 11 factors each: 22,528 factors, more than the default 20,000
    assert len(explain(v, x, max_paths=4096, max_factors=22_528).paths) == 2048
    for _ in range(200):
        v = v * v
    with pytest.raises(TooManyPathsError, match=r"about 10\^"):
        explain(v, x)


def test_explain_refuses_a_node_outside_the_graph() -> None:
    x, y = Value(1.0, "x"), Value(2.0, "y")
    with pytest.raises(ValueError, match="not in the graph"):
        explain(x * 2, y)


def built(expr: Expression, anonymous: bool) -> tuple[Value, list[Value]]:
    """The drawn expression as a fresh graph; ``anonymous`` drops the op nodes' labels.

    Without labels the nodes get display names (``x0·x1``, ``a``, …), as in the CLI.
    """
    graph = expr.build()
    if anonymous:
        for node in graph.nodes[len(graph.leaves):]:
            node.label = ""
    return graph.root, graph.leaves


dags = st.builds(built, expressions(min_nodes=1, max_nodes=8, variables=3), st.booleans())
"""Random DAGs from the shipped strategy: reuse (x·x) and diamonds appear naturally."""


@given(dags)
def test_explanation_total_equals_backward_grad(dag: tuple[Value, list[Value]]) -> None:
    root, leaves = dag
    root.backward()
    for leaf in leaves:
        try:
            e = explain(root, leaf, max_paths=10_000)
        except ValueError:  # the leaf is not used by the root
            assert leaf.grad == 0.0
            continue
        scale = math.fsum(abs(p.product) for p in e.paths)
        assert math.isclose(e.total, leaf.grad, rel_tol=1e-9, abs_tol=1e-12 * (1 + scale))
        for p in e.paths:
            assert p.nodes[0] is root and p.nodes[-1] is leaf
            assert math.prod(f.local_grad for f in p.factors) == p.product
        assert str(e)  # renders


def test_explanation_matches_finite_differences() -> None:
    def f(w: float) -> float:
        return (sig(w * A0 + B) - Y) ** 2

    cost, w, *_ = notes_chain()
    h = 1e-6
    fd = (f(W + h) - f(W - h)) / (2 * h)
    assert explain(cost, w).total == pytest.approx(fd, rel=1e-6)


@given(dags)
def test_steps_give_exactly_the_grads_of_backward(dag: tuple[Value, list[Value]]) -> None:
    root, _ = dag
    nodes = topological_order(root)
    root.backward()
    root.backward()  # leftovers on every node, as after an earlier pass
    expected = [v.grad for v in nodes]
    root.zero_grad()
    root.backward()
    steps = list(backward_steps(root))
    assert [v.grad for v in nodes] == expected
    assert len(steps) == sum(1 for v in nodes if v.inputs)


def test_explaining_the_root_itself() -> None:
    x = Value(2.0, "x")
    e = explain(x, x)
    assert e.total == 1.0 and len(e.paths) == 1 and e.paths[0].factors == ()
    assert str(e) == "∂x/∂x = 1"


def test_negative_factors_after_the_first_are_bracketed() -> None:
    from scalargrad import Value, explain

    w = Value(-1.2, "w")
    x = Value(0.5, "x")
    f = (w * x).label_as("f")
    f.backward()
    text = str(explain(f, x))
    assert "= −1.2" in text  # first factor: no brackets
    e = explain((Value(2.0, "c") * (w * x)).label_as("g"), x)
    assert "2 · (−1.2)" in str(e), str(e)


# --- how explanations read: repeated inputs, signs, LaTeX ------------------------------


def test_x_times_x_tells_its_two_paths_apart_and_repeats_no_row() -> None:
    x = Value(1.0, "x")
    f = (x * x).label_as("f")
    assert str(explain(f, x)) == (
        "∂f/∂x = ∂f/∂x|local  (1st input of f)\n"  # a local factor, not the total (19.5)
        "      + ∂f/∂x|local  (2nd input of f)\n"
        "      = x\n"
        "      + x\n"
        "      = 1\n"
        "      + 1\n"
        "      = 2"
    )


def test_reuse_reads_well_and_negative_terms_are_bracketed_alike() -> None:
    a, b = Value(1.5, "a"), Value(-0.7, "b")
    f = (a * a * b + a).label_as("f")
    # by hand: f = a²b + a, ∂f/∂a = 2ab + 1 = -1.1; each path through a·a gives b·a = -1.05
    assert str(explain(f, a)) == (
        "∂f/∂a = ∂f/∂(a·a) · ∂(a·a)/∂a  (1st input of a·a)\n"
        "      + ∂f/∂(a·a) · ∂(a·a)/∂a  (2nd input of a·a)\n"
        "      + ∂f/∂a|local\n"  # f's own edge to a, not the total ∂f/∂a (issue 19.5)
        "      = b · a\n"
        "      + b · a\n"
        "      + 1\n"
        "      = −0.7 · 1.5\n"
        "      + (−0.7) · 1.5\n"
        "      + 1\n"
        "      = −1.050 + (−1.050) + 1\n"
        "      = −1.100"
    )


def test_a_sum_inside_a_product_is_bracketed() -> None:
    x = Value(-0.5, "x")
    f = (x.sigmoid() * x.tanh() - x).label_as("f")
    lines = [line.strip() for line in str(explain(f, x)).splitlines()]
    # the formula −1 and the number −1: one minus sign for both
    assert "+ σ(x) · (1 − tanh(x)²)" in lines and lines.count("+ (−1)") == 2


def test_diamond_paths_through_one_node_used_twice() -> None:
    x = Value(2.0, "x")
    y = x * x  # unlabelled: named x·x
    f = (y * y).label_as("f")
    text = str(explain(f, x))
    first = [line.split("=", 1)[-1].split("+", 1)[-1].strip() for line in text.splitlines()[:4]]
    assert first == [  # one edge of f's two to x·x: a local factor, not the total (19.5)
        "∂f/∂(x·x)|local · ∂(x·x)/∂x  (1st input of f, 1st input of x·x)",
        "∂f/∂(x·x)|local · ∂(x·x)/∂x  (1st input of f, 2nd input of x·x)",
        "∂f/∂(x·x)|local · ∂(x·x)/∂x  (2nd input of f, 1st input of x·x)",
        "∂f/∂(x·x)|local · ∂(x·x)/∂x  (2nd input of f, 2nd input of x·x)",
    ]
    assert text.endswith("= 8 + 8 + 8 + 8\n      = 32")  # by hand: d(x⁴)/dx = 4x³ = 32


def _rows(text: str) -> list[list[str]]:
    """An explanation's rows: each '=' line with the '+' lines that follow it."""
    rows: list[list[str]] = []
    for k, line in enumerate(text.splitlines()):
        if k == 0:
            sign, entry = "=", line.split(" = ", 1)[1]
        else:
            sign, entry = line.strip()[:1], line.strip()[2:]
        if sign == "+":
            rows[-1].append(entry)
        else:
            rows.append([entry])
    return rows


@given(dags)
def test_explanations_never_repeat_a_row_or_a_path_and_bracket_negatives(
    dag: tuple[Value, list[Value]],
) -> None:
    root, leaves = dag
    for leaf in leaves:
        try:
            e = explain(root, leaf, max_paths=500)
        except (ValueError, TooManyPathsError):  # unused, or too many paths to list
            continue
        text = str(e)
        rows = _rows(text)
        assert all(r1 != r2 for r1, r2 in itertools.pairwise(rows)), text
        assert len(set(rows[0])) == len(rows[0]) == len(e.paths), text
        for row in rows[1:]:  # formulas and numbers: a negative term after '+' is bracketed
            assert not any(entry[:1] in "-−" for entry in row[1:]), text
            assert not re.search(r"[+·] -\d", " + ".join(row)), text


# LaTeX specials in labels: each must print as written and leave the LaTeX valid.
NASTY = ["rate%", "a&b", "cost$", "loss#1", "x_", "a{b}", "c}", "{d", "\\alpha", "~t", "x^",
         "p^q", "50%_off^(1)", "w_jk^(l)", "e^(a%b)", "$$", "\\\\", "a_b_c"]


def _balanced(latex: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\.|[{}]", latex, re.S):
        if m[0] in "{}":
            depth += 1 if m[0] == "{" else -1
            if depth < 0:
                return False
    return depth == 0


@pytest.mark.parametrize("label", NASTY)
def test_latex_escapes_every_special_in_a_label(label: str) -> None:
    leaf, x = Value(2.0, label), Value(3.0, "x")
    root = (leaf * x + leaf).sigmoid()  # unlabelled: its name contains the label twice
    latex = explain(root, leaf)._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}\n") and latex.endswith("\n\\end{aligned}$$")
    body = latex[len("$$\\begin{aligned}\n"):-len("\n\\end{aligned}$$")]
    assert _balanced(body), body
    lines = body.split(" \\\\\n")
    assert len(lines) >= 4
    parser = MathTextParser("path")  # matplotlib's own TeX-math parser as an independent check
    for line in lines:
        unescaped = re.sub(r"\\.", "", line, flags=re.S)
        assert not re.search(r"[%$#]", unescaped), line
        assert unescaped.count("&") == 1, line  # only the alignment mark
        assert line.count("&= ") + line.count("&\\quad + ") == 1
        for part in line.replace("&\\quad + ", "&= ").split("&= "):
            if part.strip():  # (mathtext lacks TeX's \\&, so it reads it as another symbol)
                parser.parse(f"${part.replace(chr(92) + '&', chr(92) + '%')}$")


def test_latex_names_escape_specials_but_keep_the_notes_notation() -> None:
    assert latex_name("rate%") == "\\mathrm{rate}\\%"
    assert latex_name("a&b") == "a\\&b"
    assert latex_name("cost$") == "\\mathrm{cost}\\$"
    assert latex_name("loss#1") == "\\mathrm{loss}\\#1"
    assert latex_name("x^2") == "x^{2}" and latex_name("x^-1") == "x^{-1}"
    assert latex_name("z_j^(l)") == "z_{j}^{(l)}" and latex_name("x0_1") == "x0_{1}"


# --- a step whose contribution is not finite raises; earlier steps stay ---------------


def test_step_with_an_overflowing_contribution_raises_and_keeps_earlier_steps() -> None:
    from scalargrad import DomainError

    # q = p·1e200 with p = relu(m)·1e200, m = −1. By hand: step 0 (q) sends
    # 1·1e200 to p and 1·p = 0 to the constant; step 1 (p) would send
    # 1e200·1e200 = inf to relu(m): it raises and changes nothing.
    m = Value(-1.0, "m")
    r = m.relu()
    p = r * 1e200
    q = p * 1e200
    m.grad = 0.5  # from an earlier pass
    steps = backward_steps(q)
    first = next(steps)
    assert first.node is q and [c.amount for c in first.contributions] == [1e200, 0.0]
    with pytest.raises(DomainError) as info:
        next(steps)
    text = str(info.value)
    assert "step 1" in text and "mul node" in text and "relu(m)" in text
    assert "1e+200" in text and "inf" in text and "changed nothing" in text
    assert q.grad == 1.0 and p.grad == 1e200  # step 0's contributions stay
    assert r.grad == 0.0 and m.grad == 0.5  # step 1 sent nothing
    with pytest.raises(StopIteration):  # the iterator is finished
        next(steps)


def test_step_that_fails_on_its_second_edge_sends_nothing_on_its_first() -> None:
    from scalargrad import DomainError

    # s = w·x with w = 1e200, x = 1e-200, root t = s·1e200: step 1 (s) sends
    # ∂t/∂w = 1e200·x = 1 on edge 0, then ∂t/∂x = 1e200·w = inf on edge 1.
    w, x = Value(1e200, "w"), Value(1e-200, "x")
    t = (w * x) * 1e200
    steps = list(itertools.islice(backward_steps(t), 1))
    assert len(steps) == 1
    with pytest.raises(DomainError, match=r"step 1 .*∂.*/∂x = inf"):
        list(backward_steps(t))  # a fresh pass: step 0 again, then step 1 fails
    # two passes of step 0 only: ∂t/∂(w·x) = 1e200 twice; w untouched by the failed step
    assert w.grad == 0.0 and x.grad == 0.0 and t.inputs[0].grad == 2e200


def test_step_raises_when_adding_to_an_earlier_grad_overflows() -> None:
    from scalargrad import DomainError

    a = Value(1.0, "a")
    a.grad = 1.7e308
    with pytest.raises(DomainError, match=r"step 0 .*1\.7e\+308 that earlier"):
        list(backward_steps(a * 1e308))
    assert a.grad == 1.7e308


def test_step_raises_when_a_reused_input_sums_past_the_float_range() -> None:
    from scalargrad import DomainError

    b = Value(1e-300, "b")
    top = sum_values([b * 1e308, b * 1e308])  # ∂top/∂b = 1e308 + 1e308 = inf
    with pytest.raises(DomainError, match=r"step 2 .*already sent to b in this pass"):
        list(backward_steps(top))
    assert b.grad == 1e308  # step 1 sent the first 1e308


def test_unlabelled_expression_explains_like_the_notes() -> None:
    from scalargrad import Value, explain

    w, a, b, y = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b"), Value(1.0, "y")
    f = ((w * a + b).sigmoid() - y).square().label_as("f")
    f.backward()
    text = str(explain(f, w))
    # the notes' three factors ∂C/∂a · ∂a/∂z · ∂z/∂w, with the unlabelled sum and product
    # folded away and the σ node kept
    assert text.splitlines()[0] == (
        "∂f/∂w = ∂f/∂σ(w·a + b) · ∂σ(w·a + b)/∂(w·a + b) · ∂(w·a + b)/∂w"
    )
    assert text.splitlines()[1].strip() == "= 2(σ(w·a + b) − y) · σ'(w·a + b) · a"
    s = 1 / (1 + math.exp(-(0.5 * 1.5 + 0.1)))
    assert text.splitlines()[-1].strip() == f"= {2 * (s - 1) * s * (1 - s) * 1.5:.4g}".replace(
        "-", "−")  # the formulas' minus


# --- the one number format --------------------------------------------------------------


@pytest.mark.parametrize(("x", "text", "padded"), [
    (0.45, "0.45", "0.4500"),
    (-4.103e-3, "-0.004103", "-0.004103"),  # fixed-point down to 1e-4 …
    (1e-4, "0.0001", "0.0001000"),
    (9.99e-5, "9.99e-05", "9.990e-05"),  # … scientific below
    (12345.6, "12346", "12346"),  # fixed-point up to 1e5 …
    (99999.6, "1.000e+05", "1.000e+05"),  # … scientific from 1e5 (after rounding)
    (0.99996, "1.000", "1.000"),  # rounded, so it keeps its 4 significant digits
    (1.0, "1", "1.000"),
    (-0.0, "0", "0.000"),
    (0.0, "0", "0.000"),
    (123.456, "123.5", "123.5"),
    (-1.2, "-1.2", "-1.200"),
])
def test_one_number_format(x: float, text: str, padded: str) -> None:
    assert fmt(x) == text and fmt(x, pad=True) == padded


@given(st.floats(min_value=-1e300, max_value=1e300))
def test_number_format_keeps_four_significant_digits(x: float) -> None:
    padded = fmt(x, pad=True)
    if x == 0:
        return
    assert float(padded) == pytest.approx(x, rel=5.01e-4)
    digits = re.sub(r"e.*|[-.]", "", padded).lstrip("0")
    fixed = "e" not in padded
    assert fixed == (1e-4 <= abs(float(padded)) < 1e5)
    # 4 significant digits (a fixed-point number ≥ 1e4 keeps its 5 integer digits)
    assert len(digits) == (5 if fixed and abs(float(padded)) >= 1e4 else 4), padded
    assert float(fmt(x)) == float(padded)


# ------------------------------------------------------- bounded work under hostile input (#10)


def cpu_seconds(work: Callable[[], object], repeat: int = 3) -> float:
    """The least CPU time of a few runs (CPU time, not wall time: the machine may be loaded)."""
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def left_product(x: Value, factors: int) -> Value:
    v = x
    for _ in range(factors - 1):
        v = v * x
    return v


def test_explain_counts_factors_and_refuses_a_text_too_large() -> None:
    x = Value(1.0, "x")
    f = left_product(x, 1000).label_as("f")  # the x*x*…*x, 1,000 factors
    # By hand: the k-th product from the top reaches x through its right input after
    # k edges (k = 1…999) and the innermost x·x through both inputs after 999 edges:
    # 1,000 paths holding 1 + 2 + … + 999 + 999 factors.
    factors = sum(range(1, 1000)) + 999
    with pytest.raises(TooManyPathsError) as info:
        explain(f, x)
    err = info.value
    assert (err.paths, err.factors, err.option, err.limit) == (1000, factors, "max_factors",
                                                               20_000)
    assert f"{factors} factors on the 1000 paths from x up to f" in str(err)
    assert f"Pass max_factors={factors} to list them all" in str(err)
    small = left_product(x, 30).label_as("g")  # 30 paths, 29·30/2 + 29 = 464 factors
    e = explain(small, x, max_factors=464)
    assert len(e.paths) == 30 and sum(len(p.factors) for p in e.paths) == 464
    assert e.total == 30.0  # d(x^30)/dx at x = 1
    with pytest.raises(TooManyPathsError, match="Pass max_factors=464 "):
        explain(small, x, max_factors=463)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_explain_limits_must_be_positive_whole_numbers(bad: object) -> None:
    x = Value(1.0, "x")
    for option in ("max_paths", "max_factors"):
        with pytest.raises(ValueError, match=f"{option} must be a whole number"):
            explain(x * x, x, **{option: bad})  # type: ignore[arg-type]


def test_explain_refuses_a_long_chain_in_time_linear_in_the_graph() -> None:
    # A 10⁶-op chain took 210 s and 1.14 GB to explain; 5·10⁴ ops show the same: one path
    # of 5·10⁴ factors. The refusal costs a few graph walks, like backward itself.
    x = Value(0.5, "x")
    v = x
    for _ in range(50_000):
        v = v * 1.0
    backward = cpu_seconds(v.backward)

    def refuse() -> None:
        with pytest.raises(TooManyPathsError):
            explain(v, x)

    refusal = cpu_seconds(refuse, repeat=2)
    with pytest.raises(TooManyPathsError, match="50000 factors on the 1 path from x"):
        explain(v, x)
    assert refusal < 15 * backward, (refusal, backward)


def wide_node(n: int) -> Value:
    ws = [Value(0.5, f"w_{k}") for k in range(n)]
    acts = [Value(2.0, f"a_{k}") for k in range(n)]
    return affine(ws, acts, Value(0.1, "b"))


def test_backward_steps_is_linear_in_fan_in() -> None:
    # One affine node with 500 inputs took 0.5 s, 2,000 took 10 s (backward: ms).
    # Per edge, a step must cost a small constant times what backward costs.
    z = wide_node(4000)
    backward = cpu_seconds(z.backward)
    steps = cpu_seconds(lambda: list(backward_steps(z)))
    assert steps < 60 * backward, (steps, backward)
    (step,) = [s for s in backward_steps(wide_node(3)) if s.node.op == "affine"]
    # ∂z/∂w_k = a_k and ∂z/∂a_k = w_k, by hand
    assert [c.formula for c in step.contributions] == [
        "a_0", "w_0", "a_1", "w_1", "a_2", "w_2", "1"]


def test_a_grad_changed_between_steps_is_refused_not_overwritten() -> None:
    # another backward (another thread's, or this one's) between two steps used to be
    # overwritten by the step-through's own running total: a lost gradient. It is refused,
    # naming the node, and the refused step changes nothing.
    w, b = Value(0.5, "w"), Value(2.0, "b")
    other = (w * 3.0).label_as("other")  # ∂other/∂w = 3
    f = ((w * b).label_as("h") + w).label_as("f")  # ∂f/∂w = b + 1 = 3, ∂f/∂b = w = 0.5
    steps = backward_steps(f)
    next(steps)  # f's step: h and w get 1
    other.backward()  # w.grad: 1 + 3 = 4, not the 1 the step-through left
    with pytest.raises(RuntimeError, match=r"the grad of 'w' is 4\.0, not the 1\.0 this "
                       r"step-through left there"):
        next(steps)
    assert (w.grad, b.grad) == (4.0, 0.0)  # nothing of h's step was applied
    # without interference the steps give backward's numbers exactly
    w.grad = b.grad = 0.0
    for v in topological_order(f):
        v.grad = 0.0
    for _ in backward_steps(f):
        pass
    assert (w.grad, b.grad) == (3.0, 0.5)


def test_trace_is_a_shim_of_the_new_homes_and_nothing_imports_it() -> None:
    # trace.py split into steps.py, explanations.py and notation.py: every name it gave is
    # the very object of its new home, and no module of the package imports the shim.
    import ast
    from pathlib import Path

    import scalargrad
    from scalargrad import errors, explanations, notation, steps, trace

    homes = (steps, explanations, notation, errors)
    for name in trace.__all__:
        owners = [m for m in homes if name in m.__all__]
        assert owners, name
        assert all(getattr(trace, name) is getattr(m, name) for m in owners), name
    assert trace._steps is steps._steps  # the replay tests count
    package = Path(scalargrad.__file__).resolve().parent
    importers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("trace"):
                importers.append(path.name)
            if isinstance(node, ast.Import) and any(a.name.endswith(".trace")
                                                    for a in node.names):
                importers.append(path.name)
    assert importers == []
    assert len(trace.__doc__ or "") < 600 and sum(1 for _ in open(trace.__file__)) < 80
