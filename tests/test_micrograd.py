"""``scalargrad.micrograd`` against the real micrograd 0.1.0 (the ``bench`` extra).

The oracle is micrograd itself, run side by side on the same program from the
same seed: random programs (Hypothesis) and micrograd's own moons demo for 20
training steps must give the same forward values bit for bit, the same ``_op``
strings and graph shape, and the same gradients to 1e-12. Where micrograd 0.1.0
has a bug the drop-in documents a difference; those tests show micrograd's
behaviour next to the corrected one, with the right answer derived by hand.
"""

from __future__ import annotations

import copy
import gc
import inspect
import math
import pickle
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from threads import in_threads

import scalargrad
from scalargrad.micrograd import MLP, Layer, Module, Neuron, Value, engine, nn

mg_engine = pytest.importorskip("micrograd.engine")
mg_nn = pytest.importorskip("micrograd.nn")
MV = mg_engine.Value

TOL = 1e-12


def close(x: float, y: float, tol: float = TOL) -> bool:
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


# --- the surface: signatures, repr, _prev, _op -------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (Value.__init__, MV.__init__),
        (Neuron.__init__, mg_nn.Neuron.__init__),
        (Layer.__init__, mg_nn.Layer.__init__),
        (MLP.__init__, mg_nn.MLP.__init__),
        (Module.zero_grad, mg_nn.Module.zero_grad),
        (Module.parameters, mg_nn.Module.parameters),
    ],
    ids=["Value", "Neuron", "Layer", "MLP", "zero_grad", "parameters"],
)
def test_signatures_are_micrograds(
    ours: Callable[..., object], theirs: Callable[..., object]
) -> None:
    def shape(f: Callable[..., object]) -> list[tuple[str, object, object]]:
        return [
            (p.name, p.kind, p.default)
            for p in inspect.signature(f).parameters.values()
            if p.name != "label"  # the lecture's extra keyword, which we accept as well
        ]

    assert shape(ours) == shape(theirs)


def test_import_paths() -> None:
    from scalargrad.micrograd.engine import Value as V
    from scalargrad.micrograd.nn import MLP as M

    assert V is Value is engine.Value and M is MLP is nn.MLP
    assert issubclass(Value, scalargrad.Value)


def test_repr_prev_and_op_read_as_micrograds() -> None:
    def build(V: type) -> list[object]:
        a, b = V(2.5), V(-0.1)
        return [
            a,
            a + b,
            a * b,
            a**2,
            a**-1,
            a**0.5,
            (a * b).relu(),
            a - b,
            a / b,
            -a,
            3 - a,
            1 / a,
        ]

    for ours, theirs in zip(build(Value), build(MV)):
        assert ours._op == theirs._op
        assert sorted(v.data for v in ours._prev) == sorted(v.data for v in theirs._prev)
        assert ours.data == theirs.data  # bit for bit: the same operations in the same order
        # micrograd keeps ints where it made them (grad 0, relu's 0); ours are floats
        assert repr(ours) == re.sub(r"=(-?\d+)([,)])", r"=\1.0\2", repr(theirs))
    assert repr(Value(0.1 + 0.2)) == "Value(data=0.30000000000000004, grad=0.0)"  # full float


def test_a_leaf_may_say_what_made_it() -> None:
    # micrograd accepts Value(x, (), op): a leaf that only records an op name
    assert Value(1.0, (), "+")._op == MV(1.0, (), "+")._op == "+"
    assert Value(1.0)._op == MV(1.0)._op == ""


def test_pow_op_keeps_the_exponent_as_written() -> None:
    x, m = Value(3.0), MV(3.0)
    for c in (2, 2.0, -1, 0.5):
        assert (x**c)._op == (m**c)._op == f"**{c}"


# --- differential: random programs --------------------------------------------------------

OPS = ["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv", "neg", "relu", "pow"]


def _apply(op: str, x: object, y: object, c: float, p: float) -> object:
    if op == "add":
        return x + y  # type: ignore[operator]
    if op == "sub":
        return x - y  # type: ignore[operator]
    if op == "mul":
        return x * y  # type: ignore[operator]
    if op == "div":
        return x / y  # type: ignore[operator]
    if op == "radd":
        return c + x  # type: ignore[operator]
    if op == "rsub":
        return c - x  # type: ignore[operator]
    if op == "rmul":
        return c * x  # type: ignore[operator]
    if op == "rdiv":
        return c / x  # type: ignore[operator]
    if op == "neg":
        return -x  # type: ignore[operator]
    if op == "relu":
        return x.relu()  # type: ignore[attr-defined]
    return x**p  # type: ignore[operator]


step = st.tuples(
    st.sampled_from(OPS),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from([2.0, -1.5, 0.25, 3.0, 7]),
    st.sampled_from([2, 3, -1, 0.5, 2.0]),
)
leaf = st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


def _run(V: type, leaves: list[float], steps: list[tuple]) -> list[object]:
    nodes = [V(x) for x in leaves]
    for op, i, j, c, p in steps:
        x, y = nodes[i % len(nodes)], nodes[j % len(nodes)]
        nodes.append(_apply(op, x, y, c, p))
    return nodes


def _safe(leaves: list[float], steps: list[tuple]) -> bool:
    # Decide on plain floats whether micrograd can run the program without an
    # exception or a complex number (its bugs, tested separately below).
    vals = list(leaves)
    for op, i, j, c, p in steps:
        x, y = vals[i % len(vals)], vals[j % len(vals)]
        if (op == "div" and abs(y) < 1e-2) or (op == "rdiv" and abs(x) < 1e-2):
            return False
        if op == "pow" and (abs(x) < 1e-2 or (x < 0 and p != int(p))):
            return False
        v = float(_apply(op, x, y, c, p) if op != "relu" else max(x, 0.0))  # type: ignore[arg-type]
        if not math.isfinite(v) or abs(v) > 1e6:
            return False
        vals.append(v)
    return True


@given(st.lists(leaf, min_size=1, max_size=4), st.lists(step, min_size=1, max_size=25))
def test_random_programs_match_micrograd(leaves: list[float], steps: list[tuple]) -> None:
    assume(_safe(leaves, steps))
    ours, theirs = _run(Value, leaves, steps), _run(MV, leaves, steps)
    for a, b in zip(ours, theirs):
        assert a.data == b.data  # the same graph, so the same floats
        assert a._op == b._op
        assert sorted(v._op for v in a._prev) == sorted(v._op for v in b._prev)
    ours[-1].backward()
    theirs[-1].backward()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert close(a.grad, b.grad), (k, a.grad, b.grad)


# --- differential: micrograd's moons demo, 20 steps ----------------------------------------


def make_moons(n_samples: int, noise: float, rng: object) -> tuple[object, object]:
    """scikit-learn's ``make_moons(n_samples, noise=noise)`` with numpy's global state.

    The same draws as scikit-learn 1.x: two half circles, shuffled by permuting an
    index array with ``rng.shuffle``, then Gaussian noise of scale ``noise``.
    """
    np = pytest.importorskip("numpy")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    indices = np.arange(n_samples)
    rng.shuffle(indices)  # type: ignore[attr-defined]
    X, y = X[indices], y[indices]
    X = X + rng.normal(scale=noise, size=X.shape)  # type: ignore[attr-defined]
    return X, y


def test_make_moons_is_scikit_learns() -> None:
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is optional")
    X, y = make_moons(100, 0.1, np.random.RandomState(1337))
    X2, y2 = datasets.make_moons(n_samples=100, noise=0.1, random_state=1337)
    assert np.array_equal(y, y2) and np.array_equal(X, X2)


def _demo(
    V: type, M: type, X: object, y: object, steps: int
) -> list[tuple[float, float, list[float]]]:
    """micrograd's demo.ipynb training loop, verbatim but for the classes."""
    random.seed(1337)
    model = M(2, [16, 16, 1])

    def loss() -> tuple[object, float]:
        inputs = [list(map(V, xrow)) for xrow in X]  # type: ignore[attr-defined]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]  # type: ignore[call-overload]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]  # type: ignore[call-overload]
        return total_loss, sum(accuracy) / len(accuracy)

    history = []
    for k in range(steps):
        gc.collect()  # micrograd's closures make cycles: free the last step's graph now
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()  # type: ignore[attr-defined]
        history.append((total_loss.data, acc, [p.grad for p in model.parameters()]))  # type: ignore[attr-defined]
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    history.append((0.0, 0.0, [p.data for p in model.parameters()]))
    return history


@pytest.mark.slow
def test_the_moons_demo_trains_exactly_as_micrograd() -> None:
    np = pytest.importorskip("numpy")
    np.random.seed(1337)
    X, y = make_moons(100, 0.1, np.random.mtrand._rand)
    y = y * 2 - 1
    gc.disable()  # collected once per step instead (see _demo): about 3x faster for micrograd
    try:
        ours = _demo(Value, MLP, X, y, 20)
        theirs = _demo(MV, mg_nn.MLP, X, y, 20)
    finally:
        gc.enable()
    for k, ((l1, a1, g1), (l2, a2, g2)) in enumerate(zip(ours[:-1], theirs[:-1])):
        assert close(l1, l2) and a1 == a2, (k, l1, l2, a1, a2)
        assert len(g1) == len(g2) == 337
        worst = max(abs(p - q) / max(1.0, abs(q)) for p, q in zip(g1, g2))
        assert worst <= TOL, (k, worst)
    assert all(close(p, q) for p, q in zip(ours[-1][2], theirs[-1][2]))  # final weights
    assert ours[-2][0] < ours[0][0] and ours[-2][1] > 0.8  # it learns: loss falls, 80%+ right


# --- the same network from the same seed ---------------------------------------------------


def test_random_seed_reproduces_micrograds_network() -> None:
    random.seed(7)
    theirs = mg_nn.MLP(3, [4, 4, 1])
    random.seed(7)
    ours = MLP(3, [4, 4, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert repr(ours) == repr(theirs)
    assert repr(Neuron(2, nonlin=False)) == repr(mg_nn.Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    assert repr(Layer(2, 2, nonlin=False)) == repr(mg_nn.Layer(2, 2, nonlin=False))
    assert Module().parameters() == []
    assert [layer.neurons[0].nonlin for layer in ours.layers] == [True, True, False]


def test_mlp_labels_its_parameters_in_the_notes_notation() -> None:
    net = MLP(2, [3, 1])
    assert net.layers[0].neurons[2].w[1].label == "w_21^(1)"
    assert net.layers[1].neurons[0].b.label == "b_0^(2)"
    out = net([0.5, -1.0])
    assert isinstance(out, Value)


def test_zero_grad_and_layer_outputs() -> None:
    layer = Layer(2, 3)
    outs = layer([1.0, 2.0])
    assert isinstance(outs, list) and len(outs) == 3
    sum(outs).backward()
    layer.zero_grad()
    assert all(p.grad == 0 for p in layer.parameters())


# --- where micrograd is wrong ------------------------------------------------------------------


def test_second_backward_doubles_exactly_where_micrograd_over_counts() -> None:
    # r = (x·2)·3: ∂r/∂x = 6 by hand. Two backward passes without zero_grad should add
    # it twice (12). micrograd re-sends the inner node's accumulated grad: 6 + 12 = 18.
    def twice(V: type) -> float:
        x = V(1.5)
        r = (x * 2) * 3
        r.backward()
        r.backward()
        return float(x.grad)

    assert twice(Value) == 12.0
    assert twice(MV) == 18.0  # micrograd 0.1.0's bug, documented in scalargrad.micrograd


def test_no_recursion_limit() -> None:
    def chain(V: type, n: int) -> tuple[object, object]:
        x = V(0.5)
        y = x
        for _ in range(n):
            y = y * 1.0001
        return x, y

    n = sys.getrecursionlimit() + 1000
    x, y = chain(Value, n)
    y.backward()  # type: ignore[attr-defined]
    assert close(x.grad, 1.0001**n, 1e-9)  # type: ignore[attr-defined]
    _, y2 = chain(MV, n)
    with pytest.raises(RecursionError):
        y2.backward()  # type: ignore[attr-defined]


def test_invalid_arithmetic_is_a_clear_error() -> None:
    with pytest.raises(scalargrad.DomainError, match="negative base"):
        Value(-8.0) ** 0.5
    assert isinstance((MV(-8.0) ** 0.5).data, complex)  # micrograd's silent complex number
    with pytest.raises(scalargrad.DomainError, match="zero to a negative power"):
        Value(0.0) ** -1
    with pytest.raises(TypeError, match="only int/float powers"):
        Value(2.0) ** Value(2.0)  # type: ignore[operator]
    with pytest.raises(ValueError, match="finite"):
        Value(float("nan"))


@pytest.mark.parametrize("zero", [0, 0.0, -0.0, 5e-324], ids=["0", "0.0", "-0.0", "5e-324"])
def test_dividing_by_a_zero_number_is_the_same_error_as_by_a_zero_value(zero: float) -> None:
    with pytest.raises(scalargrad.DomainError) as by_value:
        Value(1.0) / Value(zero)
    with pytest.raises(scalargrad.DomainError) as by_number:
        Value(1.0) / zero
    assert str(by_number.value) == str(by_value.value)
    assert "pow" in str(by_number.value) and repr(float(zero)) in str(by_number.value)
    with pytest.raises((ZeroDivisionError, OverflowError)):  # micrograd: Python's own error
        MV(1.0) / zero


def test_dividing_by_a_numpy_zero_is_the_same_error_too() -> None:
    np = pytest.importorskip("numpy")
    for zero in (np.float64(0.0), np.int64(0)):
        with pytest.raises(scalargrad.DomainError, match="zero to a negative power"):
            Value(1.0) / zero
    with pytest.raises(TypeError, match="micrograd Value /: the other operand must be"):
        Value(1.0) / "2"  # type: ignore[operator]


@given(st.floats(-1e6, 1e6).filter(lambda d: abs(d) > 1e-300),
       st.floats(-1e6, 1e6))
def test_dividing_by_a_number_builds_micrograds_graph(d: float, x: float) -> None:
    ours, theirs = Value(x) / d, MV(x) / d
    assert ours.data == theirs.data  # bit for bit: the constant is 1/d, as micrograd's
    assert sorted(c.data for c in ours._prev) == sorted(c.data for c in theirs._prev)
    assert ours._op == theirs._op == "*"


@pytest.mark.parametrize("given_inputs", [[0.5], [0.5, -1.0, 2.0]])
def test_a_network_called_with_the_wrong_number_of_inputs_is_refused(
    given_inputs: list[float],
) -> None:
    random.seed(3)
    ours = MLP(2, [3, 1])
    random.seed(3)
    theirs = mg_nn.MLP(2, [3, 1])
    # micrograd's zip answers anyway: it ignores extra inputs, or the weights of missing ones
    assert isinstance(theirs(given_inputs), MV)
    n = len(given_inputs)
    with pytest.raises(ValueError, match=rf"^MLP\(2, …\) expects 2 inputs, got {n} "):
        ours(given_inputs)
    with pytest.raises(ValueError, match=rf"^a Layer of 3 neurons expects 2 inputs, got {n} "):
        ours.layers[0](given_inputs)
    with pytest.raises(ValueError, match=rf"^ReLUNeuron\(2\) expects 2 inputs, got {n} "):
        ours.layers[0].neurons[0](given_inputs)
    # the right number still gives micrograd's numbers, from a tuple or a generator too
    for xs in ([0.5, -1.0], (0.5, -1.0), (x for x in [0.5, -1.0])):
        assert ours(xs).data == theirs([0.5, -1.0]).data  # type: ignore[union-attr]
    with pytest.raises(TypeError, match=r"^MLP\(2, …\) expects a list of 2 numbers or Values"):
        ours(0.5)  # type: ignore[arg-type]


# --- Value(data, _children, _op) and _backward, as the lecture uses them ------------------------


def test_node_from_children_carries_its_local_derivatives() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = Value(a.data * b.data, (a, b), "*")
    t = Value(math.tanh(c.data), (c,), "tanh")
    assert c._op == "*" and t._op == "tanh" and c._prev == {a, b}
    t.backward()
    # ∂tanh(ab)/∂a = (1 − tanh²(ab))·b, by hand
    assert close(a.grad, (1 - math.tanh(-6.0) ** 2) * -3.0)
    assert Value(9.0, (Value(3.0),), "**2")._op == "**2"


def test_node_from_children_refuses_what_it_cannot_differentiate() -> None:
    a = Value(2.0)
    with pytest.raises(ValueError, match=r"'foo'.*must be one of"):
        Value(1.0, (a,), "foo")
    with pytest.raises(
        ValueError, match=r"data is not \+ of the children's data \(that gives 4.0\)"
    ):
        Value(5.0, (a, a), "+")
    with pytest.raises(TypeError, match="each child must be a Value, not float"):
        Value(3.0, (a, 1.0), "+")  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="_backward cannot be replaced"):
        a._backward = lambda: None  # type: ignore[method-assign,assignment]
    with pytest.raises(TypeError, match="must be a Value or a number, not str"):
        a + "x"  # type: ignore[operator]


def test_manual_backward_as_in_the_lecture() -> None:
    def manual(V: type) -> list[float]:
        a, b = V(2.0), V(-3.0)
        e = a * b
        d = e + 10.0
        L = d * -2.0
        L.grad = 1.0
        for node in (L, d, e):
            node._backward()
        return [a.grad, b.grad, e.grad, d.grad]

    # by hand: ∂L/∂d = −2, ∂L/∂e = −2, ∂L/∂a = −2·b = 6, ∂L/∂b = −2·a = −4
    assert manual(Value) == manual(MV) == [6.0, -4.0, -2.0, -2.0]


# --- scalargrad's tools work on the drop-in's graphs ----------------------------------------------


def _small() -> tuple[Value, MLP]:
    random.seed(3)
    net = MLP(2, [2, 1])
    out = net([Value(0.5), Value(-1.0)])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.backward()
    return loss, net


def test_explain_and_backward_steps_work_on_drop_in_graphs() -> None:
    loss, net = _small()
    w = net.layers[1].neurons[0].w[0]
    ex = scalargrad.explain(loss, w)
    assert close(ex.total, w.grad)
    steps = list(scalargrad.backward_steps(loss))
    assert steps and all(isinstance(s, scalargrad.Step) for s in steps)


@pytest.mark.needs_dot
def test_draw_and_page_work_on_drop_in_graphs(tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("needs the Graphviz dot program")
    loss, _ = _small()
    svg = scalargrad.draw(loss).pipe(format="svg")
    assert b"<svg" in svg and svg.count(b'class="edge"') >= 12  # every input of every op drawn
    page = scalargrad.save_steps_html(loss, tmp_path / "steps.html")
    assert Path(page).stat().st_size > 1000


def test_copy_and_pickle_keep_the_drop_in_class() -> None:
    loss, _ = _small()
    for clone in (copy.deepcopy(loss), pickle.loads(pickle.dumps(loss))):
        assert type(clone) is Value and clone.data == loss.data
        assert all(type(v) is Value for v in scalargrad.topological_order(clone))
        assert clone._op == "**2"


# --- threads: micrograd's hand-written backward loop on shared parameters (#20 item 2) -----------


def test_manual_backward_steps_in_two_threads_give_exact_totals() -> None:
    """Each thread runs ``_backward`` of its own cost ``w·x_k + b`` 3,000 times.

    By hand: every step of thread k adds x_k to ``w.grad`` and 1 to ``b.grad``,
    so ``w.grad = 3000·(3 + 5) = 24,000`` and ``b.grad = 2·3000 = 6,000``,
    exactly (integers, exact in floats). An unlocked ``+=`` loses updates.
    """
    w, b = Value(0.5), Value(-1.0)
    costs = [w * 3.0 + b, w * 5.0 + b]
    runs = 3000

    def work(k: int) -> None:
        cost = costs[k]
        (wx,) = [c for c in cost._prev if c is not b]
        cost.grad = 1.0
        for _ in range(runs):
            cost._backward()  # wx.grad += 1, b.grad += 1
            wx.grad = 1.0  # this thread's own node: its grad is this step's upstream alone
            wx._backward()  # w.grad += x_k

    in_threads(work)
    assert (w.grad, b.grad) == (24_000.0, 6_000.0)


def test_manual_backward_through_a_shared_node_in_two_threads_is_exact() -> None:
    """Both costs go through one shared node ``h = w·b``; steps on ``h`` come from both threads.

    Thread k runs ``(h·c_k)._backward()`` 20,000 times (``h.grad += c_k``): by hand
    ``h.grad = 20000·(2 + 7) = 180,000``, then ``h._backward()`` once gives
    ``w.grad = 180,000·b = −180,000`` and ``b.grad = 180,000·w = 90,000``.
    """
    w, b = Value(0.5), Value(-1.0)
    h = w * b
    costs = [h * 2.0, h * 7.0]

    def work(k: int) -> None:
        cost = costs[k]
        cost.grad = 1.0
        for _ in range(20_000):
            cost._backward()

    in_threads(work)
    assert h.grad == 180_000.0
    h._backward()
    assert (w.grad, b.grad) == (-180_000.0, 90_000.0)


def test_backward_in_threads_on_shared_parameters_is_exact() -> None:
    """The drop-in's ``backward()`` (scalargrad's, under GRAD_LOCK): 2 threads × 1,500 passes.

    Cost k is ``(w·x_k + b)·2``: ∂/∂w = 2·x_k, ∂/∂b = 2, so by hand
    ``w.grad = 1500·2·(1 + 4) = 15,000`` and ``b.grad = 2·1500·2 = 6,000``.
    """
    w, b = Value(0.25), Value(0.5)
    costs = [(w * 1.0 + b) * 2, (w * 4.0 + b) * 2]

    def work(k: int) -> None:
        for _ in range(1500):
            costs[k].backward()

    in_threads(work)
    assert (w.grad, b.grad) == (15_000.0, 6_000.0)
