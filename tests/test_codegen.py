"""Compiled replay against hand formulas, finite differences and the engine."""

import importlib
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scalargrad
from scalargrad import DomainError, Value, nn, sum_values
from scalargrad.codegen import compile_graph, label_identifier
from scalargrad.rules import Rule
from scalargrad.testing import OPS, expressions

compile_module = importlib.import_module("scalargrad.codegen")


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- the notes' chain -----------------------------------------------------------------


def test_chain_source_reads_like_the_hand_derivation():
    ch = nn.chain([0.5, -1.2], [0.1, 0.3], 0.7, 1.0)
    f = scalargrad.compile(ch.cost, [*ch.w, *ch.b])
    src = f.source
    for line in (
        "dC0_da2 = 2 * (a2 - y)",
        "dC0_dz2 = dC0_da2 * sigmoid_prime(z2)",
        "dC0_dw2 = dC0_dz2 * a1",
        "dC0_da1 = dC0_dz2 * w2",
        "z1 = w1 * a0 + b1",
        "a2 = sigmoid(z2)",
    ):
        assert f"    {line}\n" in src, line
    assert "Value" not in src
    assert f.names == ("w1", "w2", "b1", "b2")


def test_chain_matches_the_notes_formulas_at_new_inputs():
    ch = nn.chain([0.5, -1.2], [0.1, 0.3], 0.7, 1.0)
    f = compile_graph(ch.cost, [*ch.w, *ch.b])
    w1, w2, b1, b2, x, y = 0.9, 0.4, -0.2, 0.05, 0.7, 1.0
    a1 = sig(w1 * x + b1)
    a2 = sig(w2 * a1 + b2)
    d2 = 2 * (a2 - y) * a2 * (1 - a2)  # ∂C0/∂z^(2) = 2(a^(2) − y)σ'(z^(2))
    d1 = d2 * w2 * a1 * (1 - a1)
    cost, grads = f(w1, w2, b1, b2)
    assert close(cost, (a2 - y) ** 2)
    assert all(close(g, h) for g, h in zip(grads, (d1 * x, d2 * a1, d1, d2)))


# --- random graphs (the shipped strategy) ---------------------------------------------

NO_SUM = [op for op in OPS if op != "sum"]  # n-ary sums are replayed as + (the engine: fsum)
numbers3 = st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3)


def engine_at(expr, values):
    leaves = [Value(v, n) for n, v in zip(expr.names, values)]
    root = expr(*leaves)
    root.backward()
    return root.data, tuple(v.grad for v in leaves)


@given(expressions(variables=3, ops=NO_SUM, max_nodes=10), numbers3)
def test_replay_equals_the_engine_bit_for_bit(expr, new):
    graph = expr.build()
    f = compile_graph(graph.root, graph.leaves)
    assert f(*new) == engine_at(expr, new), f.source
    assert f(*expr.values) == engine_at(expr, expr.values), f.source


@given(expressions(variables=3, max_nodes=10), numbers3)
def test_replay_agrees_with_the_engine_with_sums(expr, new):
    graph = expr.build()
    f = compile_graph(graph.root, graph.leaves)
    value, grads = f(*new)
    want, want_grads = engine_at(expr, new)
    assert close(value, want)
    assert all(close(g, h, 1e-7) for g, h in zip(grads, want_grads)), f.source


@given(expressions(variables=3, max_nodes=10))
def test_replay_gradient_is_the_derivative(expr):
    graph = expr.build()
    f = compile_graph(graph.root, graph.leaves)
    xs = list(expr.values)
    _, grads = f(*xs)
    if "max(" in f.source and any(abs(x) < 1e-4 for x in xs):
        return  # relu's kink: the difference quotient may straddle it
    for i in range(3):
        h = 1e-6
        up = [x + (h if k == i else 0.0) for k, x in enumerate(xs)]
        down = [x - (h if k == i else 0.0) for k, x in enumerate(xs)]
        fd = (f(*up)[0] - f(*down)[0]) / (2 * h)
        assert math.isclose(fd, grads[i], rel_tol=1e-4, abs_tol=1e-5), f.source


def test_affine_nodes_and_n_ary_sums_by_hand():
    w0, a0, w1, a1, b = (Value(v, n) for v, n in
                         ((0.5, "w0"), (1.5, "a0"), (-2.0, "w1"), (0.25, "a1"), (0.1, "b")))
    z = scalargrad.affine([w0, w1], [a0, a1], b).label_as("z")
    c = scalargrad.sum_values([z.tanh(), z, w0 * w0, 0.5]).label_as("C")
    f = compile_graph(c, [w0, a0, w1, a1, b])
    xs = (0.3, -1.1, 0.7, 2.0, -0.4)
    zv = xs[0] * xs[1] + xs[2] * xs[3] + xs[4]
    value, grads = f(*xs)
    assert close(value, math.tanh(zv) + zv + xs[0] ** 2 + 0.5)
    dz = (1 - math.tanh(zv) ** 2) + 1  # dC/dz = tanh'(z) + 1
    want = (dz * xs[1] + 2 * xs[0], dz * xs[0], dz * xs[3], dz * xs[2], dz)
    assert all(close(g, h) for g, h in zip(grads, want)), f.source
    assert "z = w0 * a0 + w1 * a1 + b" in f.source


def test_a_reused_node_and_a_diamond():
    a = Value(1.5, "a")
    b = a + a
    c = b * b  # ∂c/∂a = 2b · 2 = 8a
    f = compile_graph(c, [a])
    assert f(2.0) == (16.0, (16.0,))
    x = Value(0.3, "x")
    d = x.sigmoid() * x.tanh()  # diamond: two paths from x
    g = compile_graph(d, [x])
    s, t = sig(0.8), math.tanh(0.8)
    value, (dx,) = g(0.8)
    assert close(value, s * t)
    assert close(dx, s * (1 - s) * t + s * (1 - t * t))


def test_inputs_the_root_ignores_get_zero_and_constants_are_baked_in():
    x, y, k = Value(1.0, "x"), Value(2.0, "y"), Value(3.0, "k")
    f = compile_graph(x * k, [x, y])
    assert f(5.0, 7.0) == (15.0, (3.0, 0.0))
    assert "k = 3.0" in f.source


# --- errors -----------------------------------------------------------------------------


def test_domain_errors_as_in_the_engine():
    x = Value(2.0, "x")
    f = compile_graph(x.log(), [x])
    with pytest.raises(DomainError, match="log"):
        f(0.0)
    y = Value(1.0, "y")
    g = compile_graph(1.0 / y, [y])
    with pytest.raises(DomainError, match="division by zero"):
        g(0.0)
    h = compile_graph(y.exp(), [y])
    with pytest.raises(DomainError, match="overflow"):
        h(1000.0)
    m = compile_graph(y * y * y, [y])
    with pytest.raises(DomainError, match="mul: result inf is not a finite float"):
        m(1e200)


def engine_error(build, *values):
    with pytest.raises(DomainError) as err:
        build(*[Value(v, n) for v, n in zip(values, "ab")])
    return str(err.value)


@pytest.mark.parametrize("build", [
    lambda a, b: (a * b).sigmoid(),  # σ(inf) = 1.0 would hide the overflow
    lambda a, b: (-(a * b)).relu(),  # max(-inf, 0.0) = 0.0 would too
    lambda a, b: (-(a * b)).exp(),
    lambda a, b: 1.0 / (a * b + 1.0),
    lambda a, b: ((a * b).tanh() + a).label_as("C"),
    lambda a, b: (a * b - a * b) * 0.0,
])
def test_overflow_raises_the_engines_error_naming_the_op(build):
    a, b = Value(1.0, "a"), Value(1.0, "b")
    f = compile_graph(build(a, b), [a, b])
    assert f(2.0, 3.0)[0] == build(Value(2.0), Value(3.0)).data
    with pytest.raises(DomainError) as err:
        f(1e200, 1e200)
    message = str(err.value)
    assert message.startswith(engine_error(build, 1e200, 1e200)), message
    assert "mul: result inf" in message and "a=1e+200, b=1e+200" in message


def test_a_non_finite_value_names_the_nodes_label():
    a = Value(1.0, "a")
    z = (a * a).label_as("z^(1)")
    f = compile_graph(z.sigmoid(), [a])
    with pytest.raises(DomainError, match=r"mul: result inf .* at node 'z\^\(1\)'"):
        f(1e200)


def test_a_gradient_that_overflows_raises():
    # Every value is finite (the largest is 1e200), but ∂r/∂u = 1e200·1e200·1e100 = inf.
    x = Value(1.0, "x")
    u = (x * 1e-300).label_as("u")
    r = u * 1e200 * 1e200 * 1e100
    f = compile_graph(r, [x])
    assert close(r.data, 1e200, 1e-12)  # the engine built it: every value is finite
    with pytest.raises(DomainError, match=r"backward: the gradient ∂t\d+/∂'u' is inf"):
        f(1.0)


def test_inputs_are_checked_like_value_data():
    x = Value(1.0, "x")
    f = compile_graph((x * 2.0).label_as("z"), [x])
    with pytest.raises(TypeError, match=r"input 0 \(x\) must be an int or a float, not str"):
        f("a")
    with pytest.raises(TypeError, match="not bool"):
        f(True)
    with pytest.raises(ValueError, match=r"input 0 \(x\) must be finite, got nan"):
        f(float("nan"))
    with pytest.raises(ValueError, match="must be finite, got inf"):
        f(math.inf)
    value, (grad,) = f(3)  # an int is converted, as Value(3) would be
    assert (value, grad) == (6.0, 2.0) and type(value) is float and type(grad) is float
    with pytest.raises(ValueError, match="expected 1 input numbers"):
        f()


# --- numerics: the rules' own derivatives -------------------------------------------------


@pytest.mark.parametrize("x", [-700.0, -40.0, -20.0, 0.25, 20.0, 40.0, 700.0])
def test_sigmoid_and_tanh_slopes_in_the_tails_equal_the_engines(x):
    v = Value(0.0, "v")
    for op in ("sigmoid", "tanh"):
        f = compile_graph(getattr(v, op)(), [v])
        node = getattr(Value(x, "v"), op)()
        value, (slope,) = f(x)
        assert (value, slope) == (node.data, node.local_grads[0])
        e = math.exp(-abs(x))  # by hand: σ'(x) = e^-|x|/(1 + e^-|x|)², tanh'(x) = 4e²/(1 + e²)²
        want = e / (1 + e) ** 2 if op == "sigmoid" else 4 * e * e / (1 + e * e) ** 2
        assert math.isclose(slope, want, rel_tol=1e-12, abs_tol=1e-300), (op, slope, want)
        if abs(x) == 40.0 and op == "sigmoid":
            assert slope > 4e-18  # the textbook σ(1 − σ) rounds this to 0


# --- deep and wide graphs ------------------------------------------------------------------


def max_nesting(source):
    deepest = depth = 0
    for ch in source:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.slow
def test_a_chain_10_to_the_5_deep_compiles_flat():
    chain_compiles_flat(100_000)  # about 4 s on 2 shared cores (compile() itself ~2 s)


def test_a_chain_10_to_the_4_deep_compiles_flat():
    chain_compiles_flat(10_000, linear=True)


def chain(n, x, c):
    v = x
    for _ in range(n):
        v = v * c
    return v


def compile_seconds(n):
    x, c = Value(0.5, "x"), Value(0.999999, "c")
    v = chain(n, x, c)
    start = time.process_time()
    compile_graph(v, [x, c])
    return time.process_time() - start


def chain_compiles_flat(n, linear=False):
    x, c = Value(0.5, "x"), Value(0.999999, "c")
    f = compile_graph(chain(n, x, c), [x, c])
    value, grads = f(0.25, 0.9999995)
    x2, c2 = Value(0.25, "x"), Value(0.9999995, "c")
    w = chain(n, x2, c2)
    w.backward()
    assert (value, grads) == (w.data, (x2.grad, c2.grad))
    assert close(value, 0.25 * 0.9999995 ** n, 1e-9)  # by hand
    assert max_nesting(f.source) <= 25
    if not linear:
        return
    # linear: 4× the nodes cost about 4× the time (quadratic would be 16×); the ratio
    # of CPU times in one test holds on a loaded machine, unlike a limit in seconds
    small = min(compile_seconds(n // 4) for _ in range(3))
    large = min(compile_seconds(n) for _ in range(2))
    assert large < 9 * small, (large, small)


@pytest.mark.slow
def test_sum_of_10_to_the_5_products():
    n = 100_000
    ws = [Value(i * 1e-5) for i in range(n)]
    xs = [Value(1.0 - i * 1e-6) for i in range(n)]
    s = sum(w * x for w, x in zip(ws, xs))  # a left fold of 10⁵ + nodes
    f = compile_graph(s, ws + xs)
    value, grads = f(*[v.data for v in ws + xs])
    s.backward()
    assert value == s.data and grads == tuple(v.grad for v in ws + xs)
    assert grads[:2] == (1.0, 1.0 - 1e-6) and grads[n + 1] == 1e-5  # ∂/∂w_i = x_i, ∂/∂x_i = w_i


def test_sum_of_10_to_the_4_products_with_the_weights_as_inputs():
    n = 10_000
    ws = [Value(i * 1e-4) for i in range(n)]
    s = sum(w * (1.0 - i * 1e-5) for i, w in enumerate(ws))
    f = compile_graph(s, ws)
    value, grads = f(*[v.data for v in ws])
    s.backward()
    assert value == s.data and grads == tuple(v.grad for v in ws)


def test_python_refusing_the_code_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(compile_module, "_DEPTH", 10**9)  # unbounded inline nesting
    monkeypatch.setattr(compile_module, "_LENGTH", 10**9)
    x = Value(0.5, "x")
    v = x
    for _ in range(300):
        v = 0.999 * v  # 0.999 * (0.999 * (…)): 300 nested brackets
    with pytest.raises(ValueError, match=r"could not compile the replay of .* \(601 nodes"):
        compile_graph(v, [x])


def test_refuses_ops_without_templates():
    def forward(x):
        return 2 * x, (2.0,)

    mystery = Rule("mystery", "?", 1, forward, "m({x})", ("2",), ("2",), "m({x})")
    x = Value(1.0, "x")
    node = x._apply(mystery, (x,)).label_as("q")
    with pytest.raises(ValueError, match="cannot replay op 'mystery' of node q"):
        compile_graph(node, [x])


def test_bad_inputs():
    x = Value(1.0, "x")
    z = (x * 2.0).label_as("z")
    with pytest.raises(ValueError, match="not a leaf"):
        compile_graph(z * 3.0, [z])
    with pytest.raises(ValueError, match="twice"):
        compile_graph(z, [x, x])
    with pytest.raises(TypeError, match="root must be a Value"):
        compile_graph(1.0, [x])  # type: ignore[arg-type]
    f = compile_graph(z, [x])
    with pytest.raises(ValueError, match="expected 1 input numbers"):
        f(1.0, 2.0)


def test_labels_become_unique_identifiers():
    assert label_identifier("C_0") == "C0"
    assert label_identifier("a^(2)") == "a2"
    assert label_identifier("w_12^(2)") == "w12_2"
    assert label_identifier("w_1,12^(2)") == "w1_12_2"
    assert label_identifier("σ") == ""
    a, b, c = Value(1.0, "a^(1)"), Value(2.0, "a_1"), Value(3.0, "class")
    f = compile_graph(a * b + c, [a, b, c])
    assert f.names == ("a1", "a1_2", "class_")
    assert f(1.0, 2.0, 3.0) == (5.0, (2.0, 1.0, 1.0))
    assert compile_graph(a * b + c, [a, b, c]).source == f.source  # deterministic


# --- the MLP training step --------------------------------------------------------------


def test_mlp_step_matches_dynamic():
    net = nn.MLP(2, [4, 3, 1], activation="tanh", seed=5)
    xs = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]
    ys = [0.3, -0.2, 0.9]
    params = net.parameters()

    def loss():
        return nn.mean_cost([nn.squared_error(net(x), y, example=k)
                             for k, (x, y) in enumerate(zip(xs, ys))])

    f = compile_graph(loss(), params)
    for _ in range(3):  # a few SGD steps: the replay follows the dynamic graph
        c = loss()
        net.zero_grad()
        c.backward()
        value, grads = f(*[p.data for p in params])
        assert close(value, c.data)
        assert all(close(g, p.grad) for g, p in zip(grads, params))
        nn.sgd_step(params, 0.1)


def test_the_compile_function_does_not_shadow_a_submodule() -> None:
    # The code generator lives in scalargrad.codegen; scalargrad.compile is only the function,
    # so importing it as a module fails clearly instead of handing back the function.
    assert scalargrad.compile is compile_module.compile_graph
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("scalargrad.compile")


def test_code_generation_caches_are_bounded():
    # 20,000 compiles of x ** random() once pinned 20,000 Rules in a cache, and every
    # affine width added a parsed template for good. Code is now written from the
    # rules' forms, with no template cache: no module-level container of codegen grows.
    from scalargrad import codegen

    def sizes() -> dict[str, int]:
        return {name: len(v) for name, v in vars(codegen).items()
                if isinstance(v, (dict, list, set)) or hasattr(v, "maxsize")}

    before = sizes()
    x = Value(1.5, "x")
    for k in range(200):
        f = compile_graph(x ** (1.0 + k / 1000.0), [x])
        c = 1.0 + k / 1000.0
        assert close(f(2.0)[1][0], c * 2.0 ** (c - 1.0))  # d(x^c)/dx = c·x^(c−1), by hand
    for n in range(1, 100):  # affine widths
        ws = [Value(0.5) for _ in range(n)]
        acts = [Value(2.0) for _ in range(n)]
        z = scalargrad.affine(ws, acts, Value(1.0))
        assert compile_graph(z, ws)(*[0.5] * n)[0] == 1.0 + n  # Σ 0.5·2 + 1
    assert sizes() == before


def test_compiling_a_wide_node_is_linear_in_its_fan_in():
    # each of an n-input node's n gradients read the whole argument table and counted every
    # placeholder in every template: a 4,000-input affine node took 7 s to compile
    def seconds(n):
        ws = [Value(0.5) for _ in range(n)]
        z = scalargrad.affine(ws, [Value(2.0) for _ in range(n)], Value(1.0))
        start = time.process_time()
        f = compile_graph(z, ws)
        took = time.process_time() - start
        value, grads = f(*[0.25] * n)
        assert value == 1.0 + 0.5 * n and grads == (2.0,) * n  # Σ 0.25·2 + 1; ∂z/∂w_k = a_k
        return took

    small = min(seconds(500) for _ in range(3))
    large = min(seconds(2000) for _ in range(2))
    assert large < 9 * small, (large, small)  # 4× the inputs: about 4× (quadratic: 16×)


# --- one compile per graph structure: the batch's numbers are arguments ----------------


def _neuron_batch(n: int) -> tuple[Value, list[Value], list[Value], list[Value]]:
    """C = (1/n) Σ_k (σ(w_0 x_k0 + w_1 x_k1 + b) − y_k)² with x and y as leaves."""
    w0, w1, b = Value(0.3, "w_0"), Value(-0.2, "w_1"), Value(0.1, "b")
    xs = [Value(0.0, f"x_{k}0") for k in range(n)] + [Value(0.0, f"x_{k}1") for k in range(n)]
    ys = [Value(0.0, f"y_{k}") for k in range(n)]
    costs = [((w0 * xs[k] + w1 * xs[n + k] + b).sigmoid() - ys[k]).square() for k in range(n)]
    cost = sum_values(costs) * (1.0 / n)
    return cost, [w0, w1, b], xs, ys


def _by_hand(p: list[float], x: list[float], y: list[float]) -> tuple[float, list[float]]:
    """The same cost and ∂C/∂(w_0, w_1, b) written out: ∂C/∂w_i = (2/n) Σ (σ − y) σ(1 − σ) x_ki."""
    n = len(y)
    c, g = 0.0, [0.0, 0.0, 0.0]
    for k in range(n):
        s = 1 / (1 + math.exp(-(p[0] * x[k] + p[1] * x[n + k] + p[2])))
        c += (s - y[k]) ** 2 / n
        d = 2 * (s - y[k]) * s * (1 - s) / n
        g[0] += d * x[k]
        g[1] += d * x[n + k]
        g[2] += d
    return c, g


def test_one_compile_serves_every_batch_and_every_parameter_value() -> None:
    import random

    cost, params, xs, ys = _neuron_batch(4)
    f = compile_graph(cost, params, data=[*xs, *ys])
    assert f.data == (*xs, *ys) and len(f.data_names) == 12
    for name in f.data_names:  # every batch number is an argument, none is baked in
        assert name in f.source.splitlines()[1]
    r = random.Random(5)
    for _ in range(5):
        p = [r.uniform(-2, 2) for _ in range(3)]
        x = [r.uniform(-3, 3) for _ in range(8)]
        y = [r.uniform(0, 1) for _ in range(4)]
        loss, grads = f(*p, *x, *y)
        want_loss, want_grads = _by_hand(p, x, y)
        assert math.isclose(loss, want_loss, rel_tol=1e-12)
        assert all(math.isclose(g, h, rel_tol=1e-9, abs_tol=1e-15)
                   for g, h in zip(grads, want_grads))
        assert len(grads) == 3  # gradients of the inputs only


def test_data_arguments_are_checked_and_named() -> None:
    cost, params, xs, ys = _neuron_batch(2)
    f = compile_graph(cost, params, data=[*xs, *ys])
    with pytest.raises(ValueError, match=r"expected 9 numbers \(3 inputs, then 6 data\)"):
        f(0.1, 0.2, 0.3)
    with pytest.raises(TypeError, match=r"input 4 \(x10\)"):
        f(0.1, 0.2, 0.3, 1.0, "a", 1.0, 1.0, 0.5, 0.5)
    with pytest.raises(ValueError, match=r"data 0 .* is given twice"):
        compile_graph(cost, params, data=[params[0]])
    with pytest.raises(ValueError, match=r"data 0 .* is not a leaf"):
        compile_graph(cost, params, data=[cost])
    assert "data=[" in repr(f)


def test_a_domain_error_with_data_arguments_names_the_node() -> None:
    x, y = Value(1.0, "x"), Value(2.0, "y")
    w = Value(0.5, "w")
    f = compile_graph((w * x).log().label_as("C"), [w], data=[x])
    assert f(0.5, 2.0)[1] == (1 / 0.5,)
    with pytest.raises(DomainError, match="log"):
        f(0.5, -2.0)
    del y


def _one_example() -> tuple[Value, list[Value], list[Value]]:
    """C_k = (σ(w_0 x_0 + w_1 x_1 + b) − y)² with x_0, x_1, y as leaves (one example)."""
    w0, w1, b = Value(0.3, "w_0"), Value(-0.2, "w_1"), Value(0.1, "b")
    x0, x1, y = Value(0.0, "x_0"), Value(0.0, "x_1"), Value(0.0, "y")
    cost = ((w0 * x0 + w1 * x1 + b).sigmoid() - y).square().label_as("C_k")
    return cost, [w0, w1, b], [x0, x1, y]


def test_mean_over_rows_is_the_batch_cost_for_any_batch_size() -> None:
    import random

    cost, params, data = _one_example()
    f = compile_graph(cost, params, data=data)
    assert "def replay_rows(_in, _rows):" in f.source
    r = random.Random(11)
    for n in (1, 3, 17):  # one compile, batches of every size
        p = [r.uniform(-2, 2) for _ in range(3)]
        rows = [(r.uniform(-3, 3), r.uniform(-3, 3), r.uniform(0, 1)) for _ in range(n)]
        x = [row[0] for row in rows] + [row[1] for row in rows]
        y = [row[2] for row in rows]
        loss, grads = f.mean(p, rows)
        want_loss, want_grads = _by_hand(p, x, y)
        assert math.isclose(loss, want_loss, rel_tol=1e-12)
        assert all(math.isclose(g, h, rel_tol=1e-9, abs_tol=1e-15)
                   for g, h in zip(grads, want_grads))
        # the same numbers as calling the replay row by row
        one = [f(*p, *row) for row in rows]
        assert math.isclose(loss, math.fsum(o[0] for o in one) / n, rel_tol=1e-12)


def test_mean_names_the_bad_row_and_refuses_an_empty_batch() -> None:
    cost, params, data = _one_example()
    f = compile_graph(cost, params, data=data)
    p = [0.1, 0.2, 0.3]
    with pytest.raises(ValueError, match="no rows"):
        f.mean(p, [])
    with pytest.raises(TypeError, match=r"input 4 \(x1\).*\(row 1 of the batch\)"):
        f.mean(p, [(1.0, 2.0, 0.5), (1.0, "a", 0.5)])
    with pytest.raises(ValueError, match=r"expected 6 numbers.*\(row 0 of the batch\)"):
        f.mean(p, [(1.0, 2.0)])
    with pytest.raises(ValueError, match=r"input 3 \(x0\) must be finite.*row 2"):
        f.mean(p, [(1.0, 2.0, 0.5), (1.0, 2.0, 0.5), (math.inf, 2.0, 0.5)])
    with pytest.raises(ValueError, match="expected 3 input numbers"):
        f.mean([0.1], [(1.0, 2.0, 0.5)])
    # ints are numbers too, and the result does not depend on the path taken
    assert f.mean([0, 1, 0], [(1, 2, 0)]) == f.mean([0.0, 1.0, 0.0], [(1.0, 2.0, 0.0)])


def test_mean_diagnoses_a_domain_error_in_a_row() -> None:
    w, x = Value(0.5, "w"), Value(1.0, "x")
    f = compile_graph((w * x).log().label_as("C"), [w], data=[x])
    assert f.mean([0.5], [(2.0,), (4.0,)]) == (
        math.fsum([math.log(1.0), math.log(2.0)]) * 0.5, (2.0,))
    with pytest.raises(DomainError, match=r"log.*\(row 1 of the batch\)"):
        f.mean([0.5], [(2.0,), (-4.0,)])


def test_mean_refuses_numbers_dicts_and_sets_as_rows_naming_the_row() -> None:
    cost, params, data = _one_example()
    f = compile_graph(cost, params, data=data)
    p = [0.1, 0.2, 0.3]
    # one number per example instead of a row: "'float' object is not iterable" named nothing
    with pytest.raises(TypeError, match=r"C_k\.mean: rows\[0\] must be a sequence of 3 data "
                       r"numbers .*not float \(0\.5\); for one datum per example write each "
                       r"row as \(0\.5,\)"):
        f.mean(p, [0.5, 1.0])
    # a dict's or a set's order is not data's order: refused, not silently reordered
    with pytest.raises(TypeError, match=r"rows\[1\] must be a sequence .*not dict"):
        f.mean(p, [(1.0, 2.0, 0.5), {"x_0": 1.0, "x_1": 2.0, "y": 0.5}])
    with pytest.raises(TypeError, match=r"rows\[0\] must be a sequence .*not set"):
        f.mean(p, [{1.0, 2.0, 0.5}])
    with pytest.raises(TypeError, match=r"rows must be an iterable of rows .*not float"):
        f.mean(p, 0.5)  # type: ignore[arg-type]


def test_a_defined_ops_derivative_may_call_an_op_written_by_a_call_pattern() -> None:
    # f(u) = u·relu(u), f'(u) = 2·relu(u), by hand; relu is written max(u, 0.0) in Python
    from scalargrad import define_op, forms
    from scalargrad.ops import forget_op

    op = define_op("urelu", lambda u: u * max(u, 0.0), [2 * forms.apply("relu", [forms.X])])
    try:
        x = Value(1.5, "x")
        y = op(x * 2.0)  # u = 2x: y = 4x² for x > 0, dy/dx = 2·2·relu(2x) = 8x
        f = compile_graph(y, [x])
        assert f(1.5) == (9.0, (12.0,))
        assert f(0.25) == (0.25, (2.0,))
        out, (g,) = f(-0.5)
        assert out == 0.0 and g == 0.0
        y.backward()
        assert f(1.5) == (y.data, (x.grad,))
    finally:
        forget_op("urelu")
