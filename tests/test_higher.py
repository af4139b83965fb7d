"""grad / hessian / hvp against independent oracles.

Oracles: sympy's own second and third derivatives of the same random
expressions, central finite differences of the engine's first derivative,
∂²C₀/∂w² of the notes' one-neuron chain derived by hand below, closed-form
third derivatives written here, Hessian symmetry and H·v.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import expression_to_sympy

import scalargrad
from scalargrad import DomainError, Value, backward_steps, explain, grad, hessian, hvp
from scalargrad.engine import forward_order, topological_order
from scalargrad.testing import Expression, expressions
from scalargrad.viz import frames, number_text

# relu's second derivative is 0 almost everywhere but sympy writes it with DiracDelta.
SMOOTH = ["add", "sub", "mul", "div", "neg", "square", "sigmoid", "tanh", "exp", "log", "pow",
          "sum"]


def close(a: float, b: float, rel: float = 1e-7, scale: float = 1.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel * scale)


# --------------------------------------------------------------------------- sympy oracle


def to_sympy(expr: Expression) -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """The same expression written in sympy from its records, op by op (by hand, not the rules)."""
    return expression_to_sympy(expr.names, expr.records)


def sympy_value(e: sympy.Expr, xs: list[sympy.Symbol], values: tuple[float, ...]) -> float:
    return float(e.subs(dict(zip(xs, values))).evalf(30))


@settings(max_examples=40)
@given(expressions(max_nodes=6, variables=2, ops=SMOOTH))
def test_hessian_equals_sympy(expr: Expression) -> None:
    e, xs = to_sympy(expr)
    g = expr.build()
    h = hessian(g.root, g.leaves)
    expected = [[sympy_value(sympy.diff(e, xi, xj), xs, expr.values) for xj in xs] for xi in xs]
    scale = 1.0 + max(abs(v) for row in expected for v in row)
    for i in range(2):
        for j in range(2):
            assert close(h[i][j], expected[i][j], 1e-7, scale), (i, j, h, expected)


@settings(max_examples=25)
@given(expressions(max_nodes=5, variables=2, ops=SMOOTH))
def test_third_derivatives_equal_sympy(expr: Expression) -> None:
    e, (x0, x1) = to_sympy(expr)
    g = expr.build()
    a, b = g.leaves
    d1 = grad(g.root, a, create_graph=True)
    d2 = grad(d1, b, create_graph=True)
    d3 = grad(d2, a)
    expected = sympy_value(sympy.diff(e, x0, x1, x0), [x0, x1], expr.values)
    second = sympy_value(sympy.diff(e, x0, x1), [x0, x1], expr.values)
    assert close(d2.data, second, 1e-7, 1.0 + abs(second))
    assert close(d3, expected, 1e-6, 1.0 + abs(expected)), (d3, expected)


# --------------------------------------------------------------------------- finite differences


@settings(max_examples=40)
@given(expressions(max_nodes=6, variables=2, ops=SMOOTH))
def test_hessian_equals_central_differences_of_the_first_derivative(expr: Expression) -> None:
    values = expr.values
    g = expr.build()
    h = hessian(g.root, g.leaves)

    def first(point: list[float]) -> list[float]:
        leaves = [Value(v, n) for v, n in zip(point, expr.names)]
        return grad(expr(*leaves), leaves)

    for j in range(2):
        step = 1e-5 * max(1.0, abs(values[j]))
        up, down = list(values), list(values)
        up[j] += step
        down[j] -= step
        try:
            gu, gd = first(up), first(down)
        except DomainError:
            continue  # a step left an op's domain (e.g. x^0.5 at the edge)
        for i in range(2):
            fd = (gu[i] - gd[i]) / (2 * step)
            scale = 1.0 + abs(h[i][j]) + abs(gu[i]) + abs(gd[i])
            assert close(h[i][j], fd, 1e-4, scale), (i, j, h[i][j], fd)


# --------------------------------------------------------------------------- symmetry, H·v


@settings(max_examples=40)
@given(
    expressions(max_nodes=8, variables=3, ops=SMOOTH),
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=3, max_size=3),
)
def test_hessian_is_symmetric_and_hvp_is_h_times_v(expr: Expression, v: list[float]) -> None:
    g = expr.build()
    h = hessian(g.root, g.leaves)
    scale = 1.0 + max(abs(x) for row in h for x in row)
    for i in range(3):
        for j in range(i):
            assert close(h[i][j], h[j][i], 1e-9, scale)
    hv = hvp(g.root, g.leaves, v)
    for i in range(3):
        expected = math.fsum(h[i][j] * v[j] for j in range(3))
        assert close(hv[i], expected, 1e-9, scale * (1.0 + sum(map(abs, v))))


# --------------------------------------------------------------------------- the notes' chain


def chain(w0: float = 0.8, a0: float = 0.6, b0: float = -0.3, y0: float = 1.0):  # type: ignore[no-untyped-def]
    w, a, b, y = Value(w0, "w^(L)"), Value(a0, "a^(L-1)"), Value(b0, "b^(L)"), Value(y0, "y")
    z = (w * a + b).label_as("z^(L)")
    aL = z.sigmoid().label_as("a^(L)")
    cost = (aL - y).square().label_as("C_0")
    return cost, w, a, b, y


@pytest.mark.parametrize(("w0", "a0", "b0", "y0"),
                         [(0.8, 0.6, -0.3, 1.0), (-1.5, 2.0, 0.4, 0.0), (3.0, -0.7, 1.1, 0.5)])
def test_second_derivative_of_the_one_neuron_chain_by_hand(
    w0: float, a0: float, b0: float, y0: float
) -> None:
    # C_0 = (σ(z) − y)², z = w a + b.
    # ∂C_0/∂w = 2(σ(z) − y)·σ'(z)·a
    # ∂²C_0/∂w² = 2a·[σ'(z)·a·σ'(z) + (σ(z) − y)·σ''(z)·a] = 2a²[σ'(z)² + (σ(z) − y)σ''(z)]
    # with σ' = σ(1 − σ) and σ'' = σ'(1 − 2σ).
    z = w0 * a0 + b0
    s = 1 / (1 + math.exp(-z))
    s1 = s * (1 - s)
    s2 = s1 * (1 - 2 * s)
    hand1 = 2 * (s - y0) * s1 * a0
    hand2 = 2 * a0 * a0 * (s1 * s1 + (s - y0) * s2)
    # ∂²C_0/∂b∂w = 2a[σ'² + (σ − y)σ'']
    hand_bw = 2 * a0 * (s1 * s1 + (s - y0) * s2)
    cost, w, _, b, _ = chain(w0, a0, b0, y0)
    dw = grad(cost, w, create_graph=True)
    assert dw.label == "∂C_0/∂w^(L)"
    assert close(dw.data, hand1, 1e-12, 1.0)
    assert close(grad(dw, w), hand2, 1e-12, 1.0)
    assert close(grad(dw, b), hand_bw, 1e-12, 1.0)
    d2 = grad(dw, w, create_graph=True)
    assert d2.label == "∂²C_0/∂w^(L)²"
    assert grad(dw, b, create_graph=True).label == "∂²C_0/∂b^(L)∂w^(L)"
    h = hessian(cost, [w, b])
    assert close(h[0][0], hand2, 1e-12, 1.0) and close(h[0][1], hand_bw, 1e-12, 1.0)
    # backward on the gradient graph gives the same second derivative in w.grad
    dw.backward()
    assert close(w.grad, hand2, 1e-12, 1.0)


def test_newton_step_on_a_one_weight_problem_lands_on_the_minimum() -> None:
    # C(w) = (w·a − t)², a quadratic: one Newton step w ← w − C'/C'' hits w* = t/a exactly.
    a, t = 1.7, 0.85
    w = Value(3.0, "w")
    cost = (w * a - t).square()
    g, h = grad(cost, w), hessian(cost, [w])[0][0]
    assert close(h, 2 * a * a, 1e-12)
    assert close(w.data - g / h, t / a, 1e-12)


# --------------------------------------------------------------------------- third derivatives


THIRD: list[tuple[str, Callable[[Value], Value], Callable[[float], float], float]] = [
    # f, hand-written f''' (t = tanh x, s = σ(x))
    ("tanh", lambda x: x.tanh(),
     lambda x: -2 * (1 - math.tanh(x) ** 2) * (1 - 3 * math.tanh(x) ** 2), 0.4),
    ("sigmoid", lambda x: x.sigmoid(),
     lambda x: (lambda s: s * (1 - s) * (1 - 6 * s + 6 * s * s))(1 / (1 + math.exp(-x))), -0.7),
    ("exp", lambda x: x.exp(), math.exp, 1.3),
    ("log", lambda x: x.log(), lambda x: 2 / x**3, 0.6),
    ("pow 3.5", lambda x: x**3.5, lambda x: 3.5 * 2.5 * 1.5 * x**0.5, 1.2),
    ("pow -2", lambda x: x**-2, lambda x: -24 * x**-5, 0.9),
    ("square", lambda x: x.square(), lambda x: 0.0, 2.0),
]


@pytest.mark.parametrize(("name", "f", "third", "x0"), THIRD, ids=[t[0] for t in THIRD])
def test_third_derivative_by_hand(
    name: str, f: Callable[[Value], Value], third: Callable[[float], float], x0: float
) -> None:
    x = Value(x0, "x")
    d = f(x)
    for _ in range(2):
        d = grad(d, x, create_graph=True)
    assert close(grad(d, x), third(x0), 1e-10, 1.0)
    assert d.label.startswith("∂²")


def test_fourth_derivative_of_sigmoid_composes() -> None:
    x = Value(0.3, "x")
    d = x.sigmoid()
    for _ in range(4):
        d = grad(d, x, create_graph=True)
    t = sympy.Symbol("t")
    expected = float(sympy.diff(1 / (1 + sympy.exp(-t)), t, 4).subs(t, 0.3))
    assert close(d.data, expected, 1e-10)
    assert d.label == "∂⁴σ(x)/∂x⁴"


# --------------------------------------------------------------------------- float pass


@settings(max_examples=60)
@given(expressions(max_nodes=10, variables=3))
def test_grad_floats_equal_backward_bit_for_bit_and_touch_no_grad(expr: Expression) -> None:
    g = expr.build()
    for i, v in enumerate(topological_order(g.root)):
        v.grad = 0.25 * i  # what earlier passes left
    before = [v.grad for v in topological_order(g.root)]
    got = grad(g.root, g.leaves)
    assert [v.grad for v in topological_order(g.root)] == before
    fresh = expr.build()
    fresh.root.backward()
    assert got == [leaf.grad for leaf in fresh.leaves]


def test_grad_with_respect_to_an_inner_node_holds_it_fixed() -> None:
    x = Value(2.0, "x")
    u = (x * x).label_as("u")
    y = u * x  # ∂y/∂u = x, ∂y/∂x = u + x·2x = 3x² (total)
    assert grad(y, [u, x]) == [2.0, 12.0]


def test_unused_variables_get_zero() -> None:
    x, y = Value(1.0, "x"), Value(2.0, "y")
    f = x * 3
    assert grad(f, [x, y]) == [3.0, 0.0]
    dy = grad(f, y, create_graph=True)
    assert (dy.data, dy.label, dy.is_constant) == (0.0, "∂(x·3)/∂y", True)
    assert hessian(f, [x, y]) == [[0.0, 0.0], [0.0, 0.0]]
    assert grad(x, x) == 1.0


def test_a_chain_10_to_the_5_deep_without_create_graph() -> None:
    x = Value(0.5, "x")
    v = x
    for _ in range(100_000):
        v = v * 0.99999 + 0.0
    assert sys.getrecursionlimit() <= 10_000
    assert close(grad(v, x), 0.99999**100_000, 1e-9)


def test_create_graph_on_a_chain_10_to_the_4_deep_and_its_second_derivative() -> None:
    # f = x·c·c·…·c (n times): ∂f/∂x = c^n and ∂f/∂c = n x c^(n−1), ∂²f/∂c² = n(n−1) x c^(n−2).
    n = 10_000
    x, c = Value(0.5, "x"), Value(0.9999, "c")
    v = x
    for _ in range(n):
        v = v * c
    dc = grad(v, c, create_graph=True)
    assert close(dc.data, n * 0.5 * 0.9999 ** (n - 1), 1e-9)
    assert close(grad(dc, c), n * (n - 1) * 0.5 * 0.9999 ** (n - 2), 1e-9)


# --------------------------------------------------------------------------- the gradient graph


def test_gradient_graph_is_an_ordinary_graph() -> None:
    cost, w, a, b, _y = chain()
    dw = grad(cost, w, create_graph=True)
    labels = {v.label for v in topological_order(dw)}
    assert {"∂C_0/∂C_0", "∂C_0/∂a^(L)", "∂C_0/∂z^(L)", "∂C_0/∂w^(L)", "σ'(z^(L))"} <= labels
    # the derivative graph reuses the forward nodes: σ'(z) = σ(z)·σ(−z) with σ(z) the node a^(L)
    sp = next(v for v in topological_order(dw) if v.label == "σ'(z^(L))")
    assert sp.inputs[0].label == "a^(L)" and sp.op == "mul"
    steps = list(backward_steps(dw))
    assert steps and steps[0].node is dw
    assert close(w.grad, hessian(cost, [w])[0][0], 1e-12, 1.0)
    ex = explain(dw, b)
    assert math.isclose(ex.total, grad(dw, b), rel_tol=1e-12)
    # the steps' pass filled every grad of dw's graph: ∂(∂C_0/∂w)/∂a = ∂²C_0/∂a∂w
    assert close(a.grad, hessian(cost, [w, a])[0][1], 1e-12, 1.0)
    assert cost.grad == 0.0  # the cost node is not part of ∂C_0/∂w's graph


@pytest.mark.needs_dot
def test_gradient_graph_draws_every_node_with_its_label_and_second_derivative() -> None:
    cost, w, _a, _b, _ = chain()
    dw = grad(cost, w, create_graph=True)
    nodes = topological_order(dw)
    dw.backward()
    svg = scalargrad.draw(dw).svg()
    root = ET.fromstring(svg.encode("utf-8"))
    gs = list(root.iter("{http://www.w3.org/2000/svg}g"))
    values = [g for g in gs if g.get("class", "").startswith("node value")]
    ops = [g for g in gs if g.get("class") == "node op"]
    assert len(values) == len(nodes) and len(ops) == sum(1 for v in nodes if v.inputs)
    text = "".join("".join(root.itertext()).split())  # names are typeset: C, 0 as a subscript
    for label in ("∂C_0/∂w^(L)", "∂C_0/∂z^(L)", "∂C_0/∂C_0", "σ'(z^(L))", "w^(L)", "a^(L)"):
        assert label.replace("_", "").replace("^", "") in text, label
    # the leaf w^(L) shows ∂(∂C_0/∂w)/∂w = ∂²C_0/∂w², derived by hand in the test above
    z = 0.8 * 0.6 - 0.3
    s = 1 / (1 + math.exp(-z))
    s1 = s * (1 - s)
    hand2 = 2 * 0.6**2 * (s1 * s1 + (s - 1.0) * s1 * (1 - 2 * s))
    assert number_text(hand2).strip().replace("\xa0", "") in text


def test_gradient_graph_steps_and_frames_like_any_graph() -> None:
    cost, w, *_ = chain()
    dw = grad(cost, w, create_graph=True)
    w.grad = 7.0  # left by an earlier pass
    drawings = scalargrad.draw_steps(dw)
    assert w.grad == 7.0 and dw.grad == 0.0  # drawing the steps changes no grad
    cost1, w1, *_ = chain()
    steps = list(backward_steps(grad(cost1, w1, create_graph=True)))
    assert len(drawings) == len(steps) + 1
    made = frames(dw)
    cost2, w2, *_ = chain()
    fresh = grad(cost2, w2, create_graph=True)
    fresh.backward()
    assert [g for _, _, g in made.grads] == [v.grad for v in forward_order(fresh)]
    assert math.isclose(w2.grad, hessian(cost2, [w2])[0][0], rel_tol=1e-12)


def test_gradient_graph_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cost, w, *_ = chain()
    dw = grad(cost, w, create_graph=True)
    if not shutil.which("dot"):
        pytest.skip("needs dot")
    path = scalargrad.save_steps_html(dw, tmp_path / "dw.html")
    page = path.read_text(encoding="utf-8")
    # the page typesets the name everywhere, its tab title too (issue 19.8)
    assert "∂C<sub>0</sub>/∂w<sup>(L)</sup>" in page and "<svg" in page
    assert "<title>Backpropagation through ∂C₀/∂w⁽ᴸ⁾</title>" in page


def test_create_graph_leaves_the_given_graph_alone() -> None:
    cost, w, _a, b, _y = chain()
    cost.backward()
    before = [(v.grad, v.label, v.data) for v in topological_order(cost)]
    dw = grad(cost, [w, b], create_graph=True)
    assert len(dw) == 2
    assert [(v.grad, v.label, v.data) for v in topological_order(cost)] == before


# --------------------------------------------------------------------------- errors


def test_bad_arguments_name_what_was_wrong() -> None:
    x = Value(1.0, "x")
    with pytest.raises(TypeError, match="root must be a Value"):
        grad(1.0, x)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"wrt\[1\] must be a Value, not float"):
        grad(x * x, [x, 2.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="wrt must be a Value or a sequence"):
        grad(x * x, "x")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="create_graph must be True or False"):
        grad(x * x, x, create_graph=1)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="v has 1 numbers for 2 variables"):
        hvp(x * x, [x, x], [1.0])
    with pytest.raises(ValueError, match=r"v\[0\] must be finite"):
        hvp(x * x, [x], [math.nan])
    with pytest.raises(TypeError, match=r"v\[0\] must be a number"):
        hvp(x * x, [x], ["1"])  # type: ignore[list-item]


def test_overflowing_gradient_raises_domain_error_and_changes_nothing() -> None:
    a, b, c = Value(1e200, "a"), Value(1e200, "b"), Value(1e-200, "c")
    root = (a * c * b).label_as("r")  # r = 1e200, but ∂r/∂c = a·b = 1e400
    c.grad = 5.0
    with pytest.raises(DomainError, match=r"∂r/∂c is inf \(not finite\)"):
        grad(root, c)
    with pytest.raises(DomainError, match=r"building ∂r/∂c \(the term through a·c\).*mul"):
        grad(root, c, create_graph=True)
    assert c.grad == 5.0 and a.grad == 0.0
    assert next(v.label for v in topological_order(root)) == "r"


def test_a_derivative_graph_outside_a_domain_raises() -> None:
    x = Value(0.0, "x")
    f = x**1.5  # f' = 1.5·x^0.5 is 0 at 0, but the node x^0.5 has slope 0.5·x^-0.5 = inf there
    assert grad(f, x) == 0.0
    with pytest.raises(DomainError, match=r"building ∂\(x\^1.5\)/∂x .*failed: pow: the derivative"):
        grad(f, x, create_graph=True)


def test_a_gradient_graph_compiles_to_second_derivatives() -> None:
    cost, w, a, b, y = chain()
    dw = grad(cost, w, create_graph=True)
    f = scalargrad.compile(dw, [w, a, b, y])
    value, second = f(-1.5, 2.0, 0.4, 0.0)
    cost2, w2, a2, b2, y2 = chain(-1.5, 2.0, 0.4, 0.0)
    expected_row = hessian(cost2, [w2, w2, a2, b2, y2])[0]
    assert math.isclose(value, grad(cost2, w2), rel_tol=1e-12)
    for got, want in zip(second, expected_row[1:]):
        assert close(got, want, 1e-12, 1.0)


def test_a_second_derivative_step_never_differentiates_with_respect_to_a_number() -> None:
    """Issue 19.8: the unit local derivatives of the gradient graph are named for what they are."""
    cost, w, *_ = chain()
    dw = grad(cost, w, create_graph=True)
    lines = [line for s in backward_steps(dw) for line in s.lines()]
    assert not any(re.search(r"/∂1(?:\s|,|$)", line) for line in lines), lines
    assert not any(line.startswith("→ 1:") for line in lines)
    # ∂z^(L)/∂(w^(L)·a^(L-1)) = 1 is the number the gradient graph multiplies by
    assert any("→ ∂z^(L)/∂(w^(L)·a^(L-1)):" in line for line in lines), lines


# --- bounds and arguments (issue 20 items 7 and 11) ----------------------------------------


def test_nested_gradient_graphs_are_refused_past_max_nodes_before_building() -> None:
    # each level of d/dx of tanh's gradient graph is about three times the last; with a
    # limit of 2,000 nodes the level whose graph passes the limit is refused, by a walk
    # that stops counting at the limit, and the message says how to raise it
    import tracemalloc

    from scalargrad.higher import GraphTooLargeError

    x = Value(0.3, "x")
    g = x.tanh()
    sizes = []
    while True:
        n = len(topological_order(g))
        try:
            g = grad(g, x, create_graph=True, max_nodes=2000)
        except GraphTooLargeError as err:
            assert n > 2000 and err.limit == 2000
            assert "max_nodes=2,000" in str(err) and "max_nodes=20000" in str(err)
            break
        assert n <= 2000
        sizes.append(n)
    assert len(sizes) >= 3 and sizes[-1] > 2 * sizes[-3]  # it does grow: the limit bites
    # refusing allocates nothing sized by the gradient graph it would have built
    tracemalloc.start()
    with pytest.raises(GraphTooLargeError):
        grad(g, x, create_graph=True, max_nodes=2000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2000 * 300  # bytes: the bounded walk's set, not ~3·n new Values
    # raised, it builds; hessian and hvp take the same bound
    big = grad(g, x, create_graph=True, max_nodes=10**6)
    assert isinstance(big, Value)
    with pytest.raises(GraphTooLargeError, match="hessian"):
        hessian(g, [x], max_nodes=100)
    with pytest.raises(GraphTooLargeError, match="hvp"):
        hvp(g, [x], [1.0], max_nodes=100)
    with pytest.raises(TypeError, match="max_nodes must be a whole number"):
        grad(g, x, create_graph=True, max_nodes=0)


def test_hvp_names_an_int_too_large_for_a_float() -> None:
    x, y = Value(2.0, "x"), Value(3.0, "y")
    with pytest.raises(ValueError, match=r"hvp: v\[0\] must be finite, got an int too large "
                       r"for a float \(about 10\^400\)"):
        hvp(x * x * y, [x, y], [10**400, 1.0])


def test_hvp_takes_numpy_vectors_and_array_array() -> None:
    import array

    np = pytest.importorskip("numpy")
    # f = x²·y: H = [[2y, 2x], [2x, 0]] by hand; at (2, 3), H·(1, 0.5) = (6 + 2, 4) = (8, 4)
    x, y = Value(2.0, "x"), Value(3.0, "y")
    f = x * x * y
    assert hvp(f, [x, y], np.array([1.0, 0.5])) == [8.0, 4.0]
    assert hvp(f, [x, y], np.array([1, 0], dtype=np.int64)) == [6.0, 4.0]
    assert hvp(f, [x, y], array.array("d", [1.0, 0.5])) == [8.0, 4.0]
    with pytest.raises(TypeError, match=r"1-D array\), not ndarray of shape \(2, 1\)"):
        hvp(f, [x, y], np.array([[1.0], [0.5]]))
    with pytest.raises(TypeError, match="not dict"):
        hvp(f, [x, y], {0: 1.0, 1: 0.5})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not set"):
        hvp(f, [x, y], {1.0, 0.5})  # type: ignore[arg-type]
