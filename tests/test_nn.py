"""Tests of :mod:`scalargrad.nn`: the engine on the notes' network.

Gradients the engine computes through ``nn`` are checked against
:mod:`scalargrad.formulas` *and* against formulas written in this file (an
explicit product of every factor of the chain rule, the δ recursion with index
loops, central finite differences of plain-float forward functions). The rest
checks the notation of every label, the structure of the graph, seeding, bad
input and a small training run.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalargrad import Value, formulas, topological_order
from scalargrad.nn import MLP, Layer, Neuron, chain, mean_cost, sgd_step, squared_error

# --- oracles written here -----------------------------------------------------


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


ACT: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "sigmoid": (_sig, lambda z: _sig(z) * (1.0 - _sig(z))),
    "tanh": (math.tanh, lambda z: 1.0 / math.cosh(z) ** 2),
    "relu": (lambda z: z if z > 0 else 0.0, lambda z: 1.0 if z > 0 else 0.0),
    "linear": (lambda z: z, lambda z: 1.0),
}
SMOOTH = ("sigmoid", "tanh", "linear")
Matrix = list[list[float]]


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def central_diff(f: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2.0 * h)


def hand_chain(ws: Sequence[float], bs: Sequence[float], x: float, y: float,
               act: str) -> tuple[list[float], list[float], list[float], list[float]]:
    """The first note's chain rule, one explicit product per quantity.

    ∂C0/∂a^(l) = 2(a^(L) − y) · Π_{m=L}^{l+1} σ'(z^(m)) w^(m)
    ∂C0/∂z^(l) = ∂C0/∂a^(l) · σ'(z^(l))
    ∂C0/∂w^(l) = ∂C0/∂z^(l) · a^(l−1),   ∂C0/∂b^(l) = ∂C0/∂z^(l) · 1

    Returns (dw, db, dz, da): dw/db/dz indexed l − 1 for l = 1..L, da indexed l = 0..L.
    """
    f, fp = ACT[act]
    zs, a = [], [x]
    for w, b in zip(ws, bs):
        zs.append(w * a[-1] + b)
        a.append(f(zs[-1]))
    L = len(ws)
    da = [math.prod([2.0 * (a[L] - y)] + [fp(zs[m - 1]) * ws[m - 1] for m in range(L, i, -1)])
          for i in range(L + 1)]
    dz = [da[i] * fp(zs[i - 1]) for i in range(1, L + 1)]
    dw = [dz[i - 1] * a[i - 1] for i in range(1, L + 1)]
    db = [dz[i - 1] * 1.0 for i in range(1, L + 1)]
    return dw, db, dz, da


def net_forward(Ws: Sequence[Matrix], bs: Sequence[list[float]], x: Sequence[float],
                act: str) -> tuple[list[list[float]], list[list[float]]]:
    f = ACT[act][0]
    zs: list[list[float]] = []
    acts = [list(x)]
    for W, b in zip(Ws, bs):
        zs.append([sum(W[j][k] * acts[-1][k] for k in range(len(W[j]))) + b[j]
                   for j in range(len(W))])
        acts.append([f(v) for v in zs[-1]])
    return zs, acts


def net_cost(Ws: Sequence[Matrix], bs: Sequence[list[float]], x: Sequence[float],
             y: Sequence[float], act: str, half: bool) -> float:
    out = net_forward(Ws, bs, x, act)[1][-1]
    s = sum((a - t) ** 2 for a, t in zip(out, y))
    return 0.5 * s if half else s


def hand_backprop(Ws: Sequence[Matrix], bs: Sequence[list[float]], x: Sequence[float],
                  y: Sequence[float], act: str, half: bool
                  ) -> tuple[list[list[float]], list[list[float]]]:
    """δ^l and ∂C/∂a^l by the second note's recursion, with index loops.

    Returns (deltas, grad_a): deltas[l-1] = δ^l for l = 1..L, grad_a[l] = ∂C/∂a^l for
    l = 0..L (grad_a[0] = ∇_x C = (W^1)ᵀ δ^1).
    """
    fp = ACT[act][1]
    zs, a = net_forward(Ws, bs, x, act)
    L = len(Ws)
    grad_a: list[list[float]] = [[] for _ in range(L + 1)]
    deltas: list[list[float]] = [[] for _ in range(L)]
    grad_a[L] = [(1.0 if half else 2.0) * (a[L][j] - y[j]) for j in range(len(y))]
    for i in range(L, 0, -1):
        deltas[i - 1] = [fp(zs[i - 1][j]) * grad_a[i][j] for j in range(len(zs[i - 1]))]
        W = Ws[i - 1]
        grad_a[i - 1] = [sum(W[j][k] * deltas[i - 1][j] for j in range(len(W)))
                         for k in range(len(W[0]))]
    return deltas, grad_a


def run_layers(net: MLP, xs: Sequence[Value | float]) -> list[list[Value]]:
    """[a^(0), a^(1), …, a^(L)] as lists of Values, layer by layer."""
    acts: list[list[Value]] = []
    cur: Sequence[Value | float] = xs
    for layer in net.layers:
        out = layer(cur)
        if not acts:  # a^(0): the input leaves the first layer read
            z0 = out[0] if out[0].op == "affine" else out[0].inputs[0]
            acts.append(list(z0.inputs[1:-1:2]))  # (w_0, a_0, w_1, a_1, …, b)
        acts.append(out)
        cur = out
    return acts


def z_of(a: Value) -> Value:
    """z_j^(l) below a_j^(l) (a itself for the linear activation)."""
    return a if a.op == "affine" else a.inputs[0]


# --- strategies ---------------------------------------------------------------

moderate = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
acts = st.sampled_from(sorted(ACT))


@st.composite
def chains(draw: st.DrawFn) -> tuple:
    L = draw(st.integers(1, 6))
    ws = draw(st.lists(moderate, min_size=L, max_size=L))
    bs = draw(st.lists(moderate, min_size=L, max_size=L))
    return ws, bs, draw(moderate), draw(moderate), draw(acts)


@st.composite
def networks(draw: st.DrawFn, min_layers: int = 1, max_layers: int = 3,
             max_width: int = 4) -> tuple:
    widths = draw(st.lists(st.integers(1, max_width), min_size=min_layers + 1,
                           max_size=max_layers + 1))
    Ws = [[draw(st.lists(moderate, min_size=widths[i], max_size=widths[i]))
           for _ in range(widths[i + 1])] for i in range(len(widths) - 1)]
    bs = [draw(st.lists(moderate, min_size=n, max_size=n)) for n in widths[1:]]
    x = draw(st.lists(moderate, min_size=widths[0], max_size=widths[0]))
    y = draw(st.lists(moderate, min_size=widths[-1], max_size=widths[-1]))
    return Ws, bs, x, y


# --- the one-neuron chain: engine vs formulas vs hand products ---------------------


@given(chains())
def test_chain_every_layer_matches_formulas_and_hand_products(case: tuple) -> None:
    ws, bs, x, y, act = case
    c = chain(ws, bs, x, y, activation=act)
    c.cost.backward()
    ref = formulas.chain_gradients(ws, bs, x, y, activation=act)
    dw, db, dz, da = hand_chain(ws, bs, x, y, act)
    L = len(ws)
    assert len(c.w) == len(c.b) == len(c.z) == L and len(c.a) == L + 1
    assert close(c.cost.data, ref.cost) and close(c.cost.data, (ref.a[-1] - y) ** 2)
    for i in range(L):  # layer l = i + 1
        assert close(c.z[i].data, ref.z[i]) and close(c.a[i + 1].data, ref.a[i + 1])
        assert close(c.w[i].grad, ref.dw[i]) and close(c.w[i].grad, dw[i]), ("w", i + 1)
        assert close(c.b[i].grad, ref.db[i]) and close(c.b[i].grad, db[i]), ("b", i + 1)
        assert close(c.z[i].grad, dz[i]), ("z", i + 1)
    for i in range(L + 1):
        assert close(c.a[i].grad, ref.da[i]) and close(c.a[i].grad, da[i]), ("a", i)
    # ∂C0/∂y = −2(a^(L) − y)
    assert close(c.y.grad, -2.0 * (ref.a[-1] - y))


def test_chain_known_values() -> None:
    # Same hand computation as in test_formulas: every z is 0, σ = 1/2, σ' = 1/4,
    # ∂C0/∂a2 = −2, ∂C0/∂w = (−0.25, −0.25), ∂C0/∂b = (−0.5, −0.5), ∂C0/∂a = (−1, −2, −2).
    c = chain([2.0, 4.0], [-1.0, -2.0], 0.5, 1.5)
    c.cost.backward()
    assert c.cost.data == 1.0
    assert [v.grad for v in c.w] == [-0.25, -0.25]
    assert [v.grad for v in c.b] == [-0.5, -0.5]
    assert [v.grad for v in c.a] == [-1.0, -2.0, -2.0]
    assert [v.grad for v in c.z] == [-0.5, -0.5]


def test_chain_relu_kink_is_zero_in_engine_and_formulas() -> None:
    # relu'(0) = 0 (as PyTorch), in the engine and in formulas alike:
    #   x = 1, w1 = 1, b1 = −1 → z1 = 0, a1 = 0;  w2 = 2, b2 = 0.5 → z2 = a2 = 0.5;  y = 0
    #   ∂C0/∂a2 = 1, ∂C0/∂w2 = 1·a1 = 0, ∂C0/∂b2 = 1, ∂C0/∂a1 = 2, ∂C0/∂z1 = 2·relu'(0) = 0
    c = chain([1.0, 2.0], [-1.0, 0.5], 1.0, 0.0, activation="relu")
    c.cost.backward()
    ref = formulas.chain_gradients([1.0, 2.0], [-1.0, 0.5], 1.0, 0.0, activation="relu")
    assert [v.grad for v in c.w] == ref.dw == [0.0, 0.0]
    assert [v.grad for v in c.b] == ref.db == [0.0, 1.0]
    assert [v.grad for v in c.a] == ref.da == [0.0, 2.0, 1.0]


def test_chain_labels_are_the_single_neuron_notation() -> None:
    c = chain([0.1, 0.2, 0.3], [0.0, 0.1, 0.2], 1.0, 0.5)
    assert [v.label for v in c.w] == ["w^(1)", "w^(2)", "w^(3)"]
    assert [v.label for v in c.b] == ["b^(1)", "b^(2)", "b^(3)"]
    assert [v.label for v in c.z] == ["z^(1)", "z^(2)", "z^(3)"]
    assert [v.label for v in c.a] == ["a^(0)", "a^(1)", "a^(2)", "a^(3)"]
    assert c.y.label == "y" and c.cost.label == "C_0"
    assert c.cost.op == "square"  # C_0 = (a^(L) − y)²
    assert c.cost.inputs[0].op == "sub" and c.cost.inputs[0].inputs == (c.a[-1], c.y)
    for i in range(3):
        assert c.a[i + 1].op == "sigmoid" and c.a[i + 1].inputs == (c.z[i],)
        # z^(l) = w^(l)·a^(l−1) + b^(l) is one node; ∂z/∂w = a, ∂z/∂a = w, ∂z/∂b = 1
        assert c.z[i].op == "affine"
        assert c.z[i].inputs == (c.w[i], c.a[i], c.b[i])
        assert c.z[i].local_grads == (c.a[i].data, c.w[i].data, 1.0)


def test_chain_bad_input() -> None:
    with pytest.raises(ValueError, match="2 weights and 1 biases"):
        chain([1.0, 2.0], [0.0], 1.0, 0.0)
    with pytest.raises(ValueError, match="at least one"):
        chain([], [], 1.0, 0.0)
    with pytest.raises(ValueError, match="sigmod"):
        chain([1.0], [0.0], 1.0, 0.0, activation="sigmod")


# --- the sum over j ------------------------------------------------------------


@given(networks(), acts)
def test_sum_over_j_is_gradient_accumulation(net_case: tuple, act: str) -> None:
    Ws, bs, x, y = net_case
    net = MLP.from_weights(Ws, bs, activation=act)
    layers = run_layers(net, x)
    prev, last = layers[-2], layers[-1]  # a^(L−1) and a^(L)
    cost = squared_error(last, y)
    cost.backward()
    W = Ws[-1]
    zs = [z_of(a) for a in last]
    z_last, a_last = [z.data for z in zs], [a.data for a in last]
    ref = formulas.sum_over_j(W, z_last, a_last, y, activation=act)
    terms = formulas.sum_over_j_terms(W, z_last, a_last, y, activation=act)
    fp = ACT[act][1]
    for k, a_k in enumerate(prev):
        hand_terms = [2.0 * (a_last[j] - y[j]) * fp(z_last[j]) * W[j][k] for j in range(len(W))]
        assert close(a_k.grad, ref[k]), k
        assert close(a_k.grad, math.fsum(hand_terms)), k
        assert close(a_k.grad, math.fsum(terms[k])), k
        # a_k^(L−1) feeds every z_j^(L) (the same node, n_L times), and the contribution
        # each consumer sends it is the j-th term of the sum.
        for j, z in enumerate(zs):
            assert z.op == "affine" and z.inputs[2 * k + 1] is a_k
            assert z.local_grads[2 * k + 1] == W[j][k]  # ∂z_j/∂a_k = w_jk
            assert close(z.grad * z.local_grads[2 * k + 1], hand_terms[j]), (k, j)


# --- the matrix form ------------------------------------------------------------


@given(networks(), acts, st.booleans())
def test_matrix_form_both_costs(net_case: tuple, act: str, half: bool) -> None:
    Ws, bs, x, y = net_case
    net = MLP.from_weights(Ws, bs, activation=act)
    xs = [Value(v, f"a_{k}^(0)") for k, v in enumerate(x)]
    layers = run_layers(net, xs)
    assert layers[0] == xs
    cost = squared_error(layers[-1], y, half=half)
    cost.backward()
    ref = formulas.backprop(Ws, bs, x, y, half=half, activation=act)
    deltas, grad_a = hand_backprop(Ws, bs, x, y, act, half)
    assert close(cost.data, ref.cost) and close(cost.data, net_cost(Ws, bs, x, y, act, half))
    for i, layer in enumerate(net.layers):  # layer l = i + 1
        for j, neuron in enumerate(layer.neurons):
            z = z_of(layers[i + 1][j])
            # δ_j^l = ∂C/∂z_j^l
            assert close(z.grad, ref.deltas[i][j]) and close(z.grad, deltas[i][j]), (i + 1, j)
            # ∇_b^l C = δ^l
            assert close(neuron.b.grad, ref.grad_b[i][j]) and close(neuron.b.grad, deltas[i][j])
            for k, w in enumerate(neuron.w):
                # ∇_W^l C = δ^l (a^(l−1))ᵀ: g_jk = δ_j a_k
                g = deltas[i][j] * layers[i][k].data
                assert close(w.grad, ref.grad_W[i][j][k]) and close(w.grad, g), (i + 1, j, k)
    for i, acts_l in enumerate(layers):
        for k, a in enumerate(acts_l):
            assert close(a.grad, grad_a[i][k]), ("a", i, k)
    # ∇_x C = (W^1)ᵀ δ^1, on the input Values
    assert all(close(v.grad, g) for v, g in zip(xs, ref.grad_x))
    # and one parameter per layer against a finite difference of the plain-float cost
    if act not in SMOOTH:
        return
    for i, W in enumerate(Ws):
        def cost_w(t: float, i: int = i) -> float:
            Wp = [[list(r) for r in M] for M in Ws]
            Wp[i][0][0] = t
            return net_cost(Wp, bs, x, y, act, half)
        fd = central_diff(cost_w, W[0][0])
        assert close(net.layers[i].neurons[0].w[0].grad, fd, 1e-5, 1e-7), (i + 1, fd)


def test_half_cost_gradient_is_a_minus_y() -> None:
    a = [Value(0.8, "a_0^(1)"), Value(-0.3, "a_1^(1)")]
    cost = squared_error(a, [1.0, 0.5], half=True)
    cost.backward()
    assert cost.label == "C_0"
    assert cost.data == pytest.approx(0.5 * (0.2**2 + 0.8**2), rel=1e-15)
    assert [v.grad for v in a] == pytest.approx([0.8 - 1.0, -0.3 - 0.5], rel=1e-15)
    b = [Value(0.8), Value(-0.3)]
    full = squared_error(b, [1.0, 0.5])
    full.backward()
    assert full.data == pytest.approx(0.2**2 + 0.8**2, rel=1e-15)
    assert [v.grad for v in b] == pytest.approx([2 * (0.8 - 1.0), 2 * (-0.3 - 0.5)], rel=1e-15)


def test_published_example_through_the_engine() -> None:
    # Matt Mazur, "A Step by Step Backpropagation Example": E_total = 0.298371109,
    # ∂E/∂w5 = 0.082167041, ∂E/∂w1 = 0.000438568 (E = Σ ½(target − out)²).
    net = MLP.from_weights([[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
                           [[0.35, 0.35], [0.60, 0.60]])
    cost = squared_error(net([0.05, 0.10]), [0.01, 0.99], half=True)
    cost.backward()
    assert cost.data == pytest.approx(0.298371109, abs=1e-9)
    assert net.layers[1].neurons[0].w[0].grad == pytest.approx(0.082167041, abs=1e-9)
    assert net.layers[0].neurons[0].w[0].grad == pytest.approx(0.000438568, abs=1e-9)


# --- the mean over examples -------------------------------------------------------


@given(networks(max_layers=2, max_width=3), st.integers(1, 4), acts, st.booleans(), st.data())
def test_mean_cost_is_the_mean_of_per_example_gradients(
    net_case: tuple, n: int, act: str, half: bool, data: st.DataObject
) -> None:
    Ws, bs, x0, y0 = net_case
    xs = [x0] + [data.draw(st.lists(moderate, min_size=len(x0), max_size=len(x0)))
                 for _ in range(n - 1)]
    ys = [y0] + [data.draw(st.lists(moderate, min_size=len(y0), max_size=len(y0)))
                 for _ in range(n - 1)]
    net = MLP.from_weights(Ws, bs, activation=act)
    params = net.parameters()
    # per example, each with its own backward
    per_example = []
    for x, y in zip(xs, ys):
        net.zero_grad()
        squared_error(net(x), y, half=half).backward()
        per_example.append([p.grad for p in params])
    # all examples at once
    net.zero_grad()
    costs = [squared_error(net(x), y, half=half, example=k) for k, (x, y) in enumerate(zip(xs, ys))]
    assert [c.label for c in costs] == [f"C_{k}" for k in range(n)]
    C = mean_cost(costs)
    assert C.label == "C"
    C.backward()
    ref_cost, ref_W, ref_b = formulas.mean_grads(
        [formulas.backprop(Ws, bs, x, y, half=half, activation=act) for x, y in zip(xs, ys)])
    assert close(C.data, ref_cost)
    assert close(C.data, sum(net_cost(Ws, bs, x, y, act, half) for x, y in zip(xs, ys)) / n)
    # ∂C/∂p = (1/n) Σ_k ∂C_k/∂p
    for i, p in enumerate(params):
        assert close(p.grad, sum(g[i] for g in per_example) / n), p.label
    for i, layer in enumerate(net.layers):
        for j, neuron in enumerate(layer.neurons):
            assert close(neuron.b.grad, ref_b[i][j])
            for k, w in enumerate(neuron.w):
                assert close(w.grad, ref_W[i][j][k]), w.label


def test_mean_cost_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        mean_cost([])


# --- labels and graph structure ----------------------------------------------------


def test_labels_follow_the_notation() -> None:
    net = MLP(2, [3, 1], seed=0)
    assert [p.label for p in net.parameters()] == [
        "w_00^(1)", "w_01^(1)", "b_0^(1)",
        "w_10^(1)", "w_11^(1)", "b_1^(1)",
        "w_20^(1)", "w_21^(1)", "b_2^(1)",
        "w_00^(2)", "w_01^(2)", "w_02^(2)", "b_0^(2)",
    ]
    out = net([0.5, -1.0])
    assert isinstance(out, Value)
    assert out.label == "a_0^(2)" and out.op == "sigmoid"
    z = out.inputs[0]
    assert z.label == "z_0^(2)" and z.op == "affine"
    hidden = list(z.inputs[1:-1:2])
    assert [a.label for a in hidden] == ["a_0^(1)", "a_1^(1)", "a_2^(1)"]
    assert [z_of(a).label for a in hidden] == ["z_0^(1)", "z_1^(1)", "z_2^(1)"]
    inputs = list(z_of(hidden[0]).inputs[1:-1:2])
    assert [a.label for a in inputs] == ["a_0^(0)", "a_1^(0)"]
    assert [a.data for a in inputs] == [0.5, -1.0]
    assert all(not a.inputs for a in inputs)
    # the same input node feeds every neuron of layer 1
    for h in hidden:
        assert all(x is a for x, a in zip(z_of(h).inputs[1:-1:2], inputs, strict=True))
    cost = squared_error(out, 1.0)
    assert cost.label == "C_0"
    ys = [v for v in topological_order(cost) if v.label == "y"]
    assert len(ys) == 1 and ys[0].data == 1.0
    two = MLP(2, [2], seed=0)([0.1, 0.2])
    assert isinstance(two, list)
    c3 = squared_error(two, [1.0, 0.0], example=3)
    assert c3.label == "C_3"
    assert sorted(v.label for v in topological_order(c3) if v.label.startswith("y")) == [
        "y_0", "y_1"]
    assert mean_cost([cost, c3]).label == "C"


def test_indices_of_ten_or_more_take_a_comma() -> None:
    net = MLP(12, [13, 2], seed=0)
    first, second = net.layers
    assert first.neurons[3].w[4].label == "w_34^(1)"
    assert first.neurons[0].w[11].label == "w_0,11^(1)"
    assert first.neurons[12].w[9].label == "w_12,9^(1)"
    assert first.neurons[10].w[11].label == "w_10,11^(1)"
    assert first.neurons[12].b.label == "b_12^(1)"
    assert second.neurons[1].w[12].label == "w_1,12^(2)"
    assert second.neurons[1].w[9].label == "w_19^(2)"
    out = net([0.0] * 12)
    assert isinstance(out, list) and [a.label for a in out] == ["a_0^(2)", "a_1^(2)"]
    hidden = list(z_of(out[0]).inputs[1:-1:2])
    assert hidden[12].label == "a_12^(1)" and z_of(hidden[11]).label == "z_11^(1)"
    inputs = list(z_of(hidden[0]).inputs[1:-1:2])
    assert inputs[11].label == "a_11^(0)"


LABEL = re.compile(
    r"(w_(\d\d|\d+,\d+)|[bza]_\d+)\^\(\d+\)|y_\d+|y|C_\d+|C"
)
SINGLE = re.compile(r"[wbza]\^\(\d+\)|y|C_\d+|C")


@pytest.mark.parametrize("widths", [[2, 3, 1], [3, 2, 2], [1, 2, 1], [11, 1]])
def test_every_label_in_a_network_graph(widths: list[int]) -> None:
    net = MLP(widths[0], widths[1:], seed=1)
    out = net([0.5] * widths[0])
    outs = out if isinstance(out, list) else [out]
    cost = squared_error(outs, [0.0] * len(outs))
    labels = [v.label for v in topological_order(cost) if v.label]
    assert labels and all(LABEL.fullmatch(s) for s in labels), labels
    # every parameter, z, a appears exactly once
    assert len(labels) == len(set(labels))
    n_params = sum((widths[i] + 1) * widths[i + 1] for i in range(len(widths) - 1))
    n_za = 2 * sum(widths[1:])
    n_y = len(outs) if len(outs) > 1 else 1
    assert len(labels) == n_params + n_za + widths[0] + n_y + 1  # + inputs, y's, C_0


def test_all_width_one_uses_single_neuron_notation() -> None:
    net = MLP(1, [1, 1, 1], seed=0)
    assert [p.label for p in net.parameters()] == [
        "w^(1)", "b^(1)", "w^(2)", "b^(2)", "w^(3)", "b^(3)"]
    out = net([0.3])
    assert isinstance(out, Value) and out.label == "a^(3)" and out.inputs[0].label == "z^(3)"
    labels = [v.label for v in topological_order(squared_error(out, 0.0)) if v.label]
    assert sorted(labels) == sorted([
        "C_0", "y", "a^(0)",
        *(f"{k}^({i})" for i in (1, 2, 3) for k in "wbza")])
    assert all(SINGLE.fullmatch(s) for s in labels)
    # one wide layer anywhere → indexed notation everywhere
    net = MLP(1, [2, 1], seed=0)
    assert net.layers[0].neurons[1].w[0].label == "w_10^(1)"
    assert net.layers[1].neurons[0].b.label == "b_0^(2)"


@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), acts)
def test_z_is_one_affine_node_over_weights_inputs_and_bias(widths: list[int], act: str) -> None:
    net = MLP(widths[0], widths[1:], act, seed=3)
    layers = run_layers(net, [0.25] * widths[0])
    for i, layer in enumerate(net.layers):
        for j, neuron in enumerate(layer.neurons):
            a = layers[i + 1][j]
            z = z_of(a)
            assert z.op == "affine" and z.label == (
                f"z^({i + 1})" if all(n == 1 for n in widths) else f"z_{j}^({i + 1})")
            assert len(z.inputs) == 2 * widths[i] + 1
            assert z.inputs[-1] is neuron.b and z.local_grads[-1] == 1.0  # ∂z/∂b = 1
            for k, (w, x) in enumerate(zip(neuron.w, layers[i], strict=True)):
                assert z.inputs[2 * k] is w and z.inputs[2 * k + 1] is x
                # ∂z_j/∂w_jk = a_k and ∂z_j/∂a_k = w_jk, as in the notes
                assert z.local_grads[2 * k] == x.data and z.local_grads[2 * k + 1] == w.data
            assert close(z.data, sum(w.data * x.data for w, x in zip(neuron.w, layers[i]))
                         + neuron.b.data)
            if act == "linear":
                assert a is z
            else:
                assert a.op == act and a.inputs == (z,)


def test_linear_activation_adds_no_node() -> None:
    n_lin = Neuron(3, "linear", seed=0)
    n_sig = Neuron(3, "sigmoid", seed=0)
    a_lin, a_sig = n_lin([1.0, 2.0, 3.0]), n_sig([1.0, 2.0, 3.0])
    assert a_lin.op == "affine" and a_lin.label == "z_0^(1)"
    # 3 w, 3 inputs, b, z  (+ σ for the sigmoid)
    assert len(topological_order(a_lin)) == 8
    assert len(topological_order(a_sig)) == 9
    assert a_lin.data == pytest.approx(sum(w.data * x for w, x in zip(n_lin.w, [1, 2, 3])))
    net = MLP(2, [3, 2], "linear", seed=0)
    out = net([1.0, -1.0])
    assert isinstance(out, list)
    assert {v.op for o in out for v in topological_order(o)} == {"", "affine"}


# --- parameters, seeding, calling ---------------------------------------------------


def test_parameters_order_and_identity() -> None:
    net = MLP(3, [4, 2], seed=0)
    expected = [p for layer in net.layers for n in layer.neurons for p in [*n.w, n.b]]
    params = net.parameters()
    assert len(params) == 4 * 4 + 2 * 5
    assert all(p is q for p, q in zip(params, expected))
    assert len({id(p) for p in params}) == len(params)
    assert net.layers[0].parameters() == params[:16]
    assert net.layers[1].neurons[1].parameters() == params[-5:]
    neuron = net.layers[1].neurons[0]
    assert neuron.parameters()[-1] is neuron.b and neuron.parameters()[:-1] == neuron.w


def _data(net: MLP | Layer | Neuron) -> list[float]:
    return [p.data for p in net.parameters()]


def test_seeded_initialisation() -> None:
    assert _data(MLP(3, [4, 2], seed=7)) == _data(MLP(3, [4, 2], seed=7))
    assert _data(MLP(3, [4, 2], seed=7)) != _data(MLP(3, [4, 2], seed=8))
    assert _data(MLP(3, [4, 2], rng=random.Random(7))) == _data(MLP(3, [4, 2], seed=7))
    shared = random.Random(1)
    assert _data(MLP(3, [4, 2], rng=shared)) != _data(MLP(3, [4, 2], rng=shared))
    assert _data(Layer(3, 2, seed=5)) == _data(Layer(3, 2, seed=5))
    assert _data(Neuron(3, seed=5)) == _data(Neuron(3, seed=5))
    assert _data(Neuron(3, seed=5)) != _data(Neuron(3, seed=6))
    # weights in ±√(3/nin), biases 0; not all the same
    net = MLP(3, [4, 2], seed=7)
    for i, layer in enumerate(net.layers):
        bound = math.sqrt(3.0 / net.widths[i])
        for n in layer.neurons:
            assert all(-bound <= w.data <= bound for w in n.w) and n.b.data == 0.0
    assert len({w.data for n in net.layers[0].neurons for w in n.w}) == 12


@pytest.mark.parametrize("make", [
    lambda: MLP(2, [1], seed=1, rng=random.Random(1)),
    lambda: Layer(2, 1, seed=1, rng=random.Random(1)),
    lambda: Neuron(2, seed=1, rng=random.Random(1)),
])
def test_seed_and_rng_together_is_an_error(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"seed.*rng"):
        make()


def test_callable_on_floats_or_values() -> None:
    net = MLP(2, [3, 1], seed=2)
    a = net([0.5, -1])  # an int is a number too
    b = net([Value(0.5, "x_0"), -1.0])
    c = net([Value(0.5), Value(-1.0)])
    assert isinstance(a, Value) and isinstance(b, Value) and isinstance(c, Value)
    assert a.data == b.data == c.data
    x = Value(0.5, "x_0")
    out = net([x, 2.0])
    assert isinstance(out, Value)
    out.backward()
    assert x.label == "x_0" and x.grad != 0.0  # a Value input is used as it is
    several = MLP(2, [3, 2], seed=2)([0.5, -1.0])
    assert isinstance(several, list) and len(several) == 2
    assert all(isinstance(v, Value) for v in several)
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), list)
    assert isinstance(Neuron(2, seed=0)([1.0, 2.0]), Value)


def test_zero_grad() -> None:
    net = MLP(2, [2, 1], seed=0)
    out = net([1.0, 2.0])
    assert isinstance(out, Value)
    squared_error(out, 0.0).backward()
    assert any(p.grad != 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())


# --- bad input -----------------------------------------------------------------


def test_wrong_number_of_inputs() -> None:
    net = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        net([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expects 2 inputs, got 1"):
        net([1.0])
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        Neuron(3, seed=0)([1.0, 2.0])
    with pytest.raises(ValueError, match="expects 3 inputs, got 4"):
        Layer(3, 2, seed=0)([1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize(("make", "match"), [
    (lambda: MLP(0, [1]), "nin"),
    (lambda: MLP(-1, [1]), "nin"),
    (lambda: MLP(2.0, [1]), "nin"),
    (lambda: MLP(True, [1]), "nin"),
    (lambda: MLP(2, []), "at least one layer"),
    (lambda: MLP(2, [3, 0]), "width.*0"),
    (lambda: MLP(2, [-2]), "width.*-2"),
    (lambda: MLP(2, [1.5]), "width.*1.5"),
    (lambda: MLP(2, ["3"]), "width"),
    (lambda: MLP(2, 3), "3"),
    (lambda: Neuron(0), "nin"),
    (lambda: Layer(2, 0), "nout"),
    (lambda: Layer(0, 2), "nin"),
])
def test_bad_widths(make: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [
    lambda: MLP(2, [1], "sigmod"),
    lambda: Neuron(2, "ReLU"),
    lambda: Layer(2, 2, "softmax"),
    lambda: MLP.from_weights([[[1.0]]], [[0.0]], "sigmod"),
])
def test_unknown_activation(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"unknown activation .*linear.*relu.*sigmoid.*tanh"):
        make()


@pytest.mark.parametrize("lr", [0, 0.0, -0.1, math.nan, math.inf, "0.1", None, True])
def test_bad_learning_rate(lr: object) -> None:
    net = MLP(2, [1], seed=0)
    before = _data(net)
    with pytest.raises(ValueError, match="learning rate"):
        sgd_step(net.parameters(), lr)  # type: ignore[arg-type]
    assert _data(net) == before


@pytest.mark.parametrize(("weights", "biases", "match"), [
    ([], [], "one weight matrix and one bias vector per layer"),
    ([[[1.0]], [[1.0]]], [[0.0]], "one weight matrix and one bias vector per layer"),
    ([[[1.0, 2.0], [3.0, 4.0]]], [[0.0]], "layer 1"),
    ([[[1.0, 2.0], [3.0]]], [[0.0, 0.0]], "layer 1, neuron 1: 1 weights but .* 2 inputs"),
    ([[[1.0, 2.0]], [[1.0, 2.0]]], [[0.0], [0.0]], "layer 2, neuron 0: 2 weights but .* 1 input"),
    ([[[1.0]], []], [[0.0], []], "layer 2 is empty"),
    ([[[]]], [[0.0]], "layer 1 is empty"),
    ([[[1.0]]], [[]], "layer 1: 1 weight rows but 0 biases"),
    ([[[1.0, 2.0]], [[1.0], [3.0, 4.0]]], [[0.0], [0.0, 0.0]],
     "layer 2, neuron 1: 2 weights but .* 1 input"),
    ([[[1.0], [math.nan]]], [[0.0, 0.0]], r"w_10\^\(1\).*finite"),
    ([[[1.0]], [[2.0]]], [[0.0], [math.inf]], r"b\^\(2\).*finite"),
])
def test_from_weights_shape_mismatch(weights: list, biases: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MLP.from_weights(weights, biases)


def test_from_weights_places_every_number() -> None:
    Ws = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0]]]
    bs = [[0.5, -0.5], [0.25]]
    net = MLP.from_weights(Ws, bs, "linear")
    assert net.widths == [3, 2, 1]
    for i, layer in enumerate(net.layers):
        for j, n in enumerate(layer.neurons):
            assert [w.data for w in n.w] == Ws[i][j] and n.b.data == bs[i][j]
    out = net([1.0, 0.0, -1.0])
    # z^1 = (1 − 3 + .5, 4 − 6 − .5) = (−1.5, −2.5); z^2 = 7(−1.5) + 8(−2.5) + .25 = −30.25
    assert isinstance(out, Value) and out.data == -30.25


def test_squared_error_count_mismatch() -> None:
    with pytest.raises(ValueError, match="2 outputs but 1 targets"):
        squared_error([Value(1.0), Value(2.0)], [1.0])


# --- SGD and training -------------------------------------------------------------


def test_sgd_step_is_p_minus_lr_grad() -> None:
    net = MLP(2, [2, 1], seed=4)
    out = net([0.3, -0.7])
    assert isinstance(out, Value)
    squared_error(out, 1.0).backward()
    before = [(p.data, p.grad) for p in net.parameters()]
    sgd_step(net.parameters(), 0.1)
    assert [p.data for p in net.parameters()] == [d - 0.1 * g for d, g in before]
    assert [p.grad for p in net.parameters()] == [g for _, g in before]  # grads untouched
    # any iterable of parameters works, a generator included
    now = [p.data for p in net.parameters()]
    sgd_step((p for p in net.parameters()), 0.5)
    assert [p.data for p in net.parameters()] == [d - 0.5 * g for d, (_, g) in zip(now, before)]


def test_sgd_step_that_would_overflow_names_the_parameter() -> None:
    w0, w1, w2 = Value(1.0, "w_00^(1)"), Value(1e308, "w_01^(1)"), Value(2.0, "b_0^(1)")
    w0.grad, w1.grad, w2.grad = 1.0, -1e308, 1.0
    with pytest.raises(ValueError, match=r"w_01\^\(1\).*inf"):
        sgd_step([w0, w1, w2], 1.0)
    # nothing was half-updated
    assert (w0.data, w1.data, w2.data) == (1.0, 1e308, 2.0)


XOR = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 0.0)]


def train_xor(seed: int, activation: str, widths: list[int], lr: float,
              steps: int) -> tuple[MLP, list[float]]:
    net = MLP(2, widths, activation, seed=seed)
    history = []
    for _ in range(steps):
        C = mean_cost([squared_error(net(list(x)), y, example=k)
                       for k, (x, y) in enumerate(XOR)])
        net.zero_grad()
        C.backward()
        sgd_step(net.parameters(), lr)
        history.append(C.data)
    return net, history


@pytest.mark.parametrize(("seed", "activation", "widths", "lr"), [
    (0, "tanh", [4, 1], 0.2),
    (1, "sigmoid", [3, 1], 3.0),
])
def test_training_on_xor_lowers_the_loss(seed: int, activation: str, widths: list[int],
                                         lr: float) -> None:
    net, history = train_xor(seed, activation, widths, lr, 300)
    assert history[-1] < 0.1 * history[0] and history[-1] < 0.05, (history[0], history[-1])
    for x, y in XOR:
        out = net(list(x))
        assert isinstance(out, Value)
        assert (out.data > 0.5) == (y > 0.5), (x, out.data)
    # deterministic for a seed
    assert train_xor(seed, activation, widths, lr, 300)[1] == history
    assert train_xor(seed + 1, activation, widths, lr, 3)[1] != history[:3]


def test_output_activation_applies_to_the_last_layer_only() -> None:
    net = MLP(2, [3, 3, 1], "relu", seed=0, output="linear")
    assert [n.activation for layer in net.layers for n in layer.neurons] == ["relu"] * 6 + [
        "linear"
    ]
    out = net([0.5, -0.25])
    assert isinstance(out, Value) and out.op == "affine" and out.label == "z_0^(3)"
    hidden = out.inputs[1:-1:2]
    assert all(h.op == "relu" for h in hidden)
    same = MLP.from_weights([[[1.0]], [[2.0]]], [[0.0], [0.5]], "tanh", output="linear")
    y = same([0.3])
    assert isinstance(y, Value)
    assert y.data == pytest.approx(2.0 * math.tanh(0.3) + 0.5)
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        MLP(2, [1], output="softmax")


def test_bad_inputs_and_targets_name_the_node() -> None:
    net = MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"a_0\^\(0\): .*not str"):
        net(["a", 1.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"a_1\^\(0\): .*finite"):
        net([1.0, float("nan")])
    with pytest.raises(TypeError, match="layer 1 expects a list of 2 numbers or Values, not str"):
        net("ab")  # type: ignore[arg-type]
    out = net([1.0, 2.0])
    with pytest.raises(TypeError, match=r"targets must be .* them \(y_j\), not str \('1'\)"):
        squared_error(out, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"squared_error: y: .*not str"):
        squared_error(out, ["x"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="at least one output"):
        squared_error([], [])
    with pytest.raises(TypeError, match="output 0 must be a Value"):
        squared_error([1.0], [1.0])  # type: ignore[list-item]
    cost = squared_error(out, 1.0)
    assert {v.label for v in topological_order(cost)} >= {"y", "C_0", "a_0^(0)"}


def test_neuron_and_layer_zero_grad() -> None:
    layer = Layer(2, 2, seed=0)
    neuron = Neuron(2, seed=1)
    outs = [*layer([1.0, -1.0]), neuron([0.5, 0.5])]
    squared_error(outs, [0.0, 1.0, 0.5]).backward()
    assert any(p.grad for p in layer.parameters()) and any(p.grad for p in neuron.parameters())
    layer.zero_grad()
    neuron.zero_grad()
    assert all(p.grad == 0.0 for p in [*layer.parameters(), *neuron.parameters()])


# ------------------------------------------------------ numbers.Real / Integral (#10 item 9)


def test_numpy_scalars_are_accepted_everywhere_a_number_is() -> None:
    np = pytest.importorskip("numpy")
    net = MLP(np.int64(2), [np.int32(3), 1], seed=np.int64(7))
    same = MLP(2, [3, 1], seed=7)
    assert net.widths == [2, 3, 1] and all(type(w) is int for w in net.widths)
    assert [p.data for p in net.parameters()] == [p.data for p in same.parameters()]
    out = net([np.float32(0.5), np.float64(-1.0)])
    cost = squared_error(out, np.float32(1.0))
    assert isinstance(out, Value)
    cost.backward()
    grads = [p.grad for p in net.parameters()]
    before = [p.data for p in net.parameters()]
    sgd_step(net.parameters(), np.float32(0.5))
    # p ← p − lr·∂C/∂p, by hand, with lr = 0.5 exactly representable in float32
    assert [p.data for p in net.parameters()] == [b - 0.5 * g for b, g in zip(before, grads)]
    assert type(Neuron(np.int8(3)).nin) is int and len(Layer(np.uint16(2), 4).neurons) == 4


@pytest.mark.parametrize("bad", [True, 2.0, "2", None])
def test_widths_must_be_whole_numbers_not_bools(bad: object) -> None:
    with pytest.raises(ValueError, match=r"nin must be a positive whole number .*got "):
        MLP(bad, [1])  # type: ignore[arg-type]


def test_squared_error_names_the_argument_that_is_not_a_list() -> None:
    out = MLP(1, [1], seed=0)([0.5])
    assert isinstance(out, Value)
    with pytest.raises(TypeError, match=r"squared_error: targets must be .* not NoneType"):
        squared_error(out, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"squared_error: outputs must be .* not NoneType"):
        squared_error(None, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
        sgd_step([out], True)  # type: ignore[arg-type]


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_layer_builds_the_nodes_z_then_f_of_z_would(act: str) -> None:
    # A layer builds z and a = f(z) in one call on its hot path; the nodes must be the ones
    # the public ops give, bit for bit: op, label, data, inputs and local derivatives, and
    # the derivative by hand (σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = 1 if z > 0 else 0).
    layer = Layer(3, 4, act, seed=7, layer=2)
    xs = [Value(0.9, "p"), Value(-1.3, "q"), Value(0.4, "r")]
    got = layer(xs)
    for j, (a, n) in enumerate(zip(got, layer.neurons)):
        z = sum((w * x for w, x in zip(n.w, xs)), n.b)
        expected = getattr(Value(z.data), act)()
        assert a.op == act and a.label == f"a_{j}^(2)"
        (zz,) = a.inputs
        assert zz.op == "affine" and zz.label == f"z_{j}^(2)"
        assert zz.inputs == (n.w[0], xs[0], n.w[1], xs[1], n.w[2], xs[2], n.b)
        assert zz.local_grads == (0.9, n.w[0].data, -1.3, n.w[1].data, 0.4, n.w[2].data, 1.0)
        assert math.isclose(zz.data, z.data, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(a.data, expected.data, rel_tol=1e-12, abs_tol=1e-15)
        s = a.data
        by_hand = {"sigmoid": s * (1 - s), "tanh": 1 - s * s,
                   "relu": 1.0 if zz.data > 0 else 0.0}[act]
        assert math.isclose(a.local_grads[0], by_hand, rel_tol=1e-12, abs_tol=1e-15)
