"""Property tests of the engine, drawn with scalargrad.testing's own strategies.

Oracles: central finite differences (gradcheck) and the notes' backpropagation
recursion written out in plain floats in this file. Never the rule table.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from scalargrad import topological_order
from scalargrad.testing import (
    ChainExample,
    Expression,
    NetworkExample,
    assert_grads_equal,
    chains,
    expressions,
    gradcheck,
    networks,
)
from scalargrad.trace import backward_steps, explain


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


# --- random expressions --------------------------------------------------------------


@given(expressions(max_nodes=10))
def test_backward_equals_central_differences(expr: Expression):
    gradcheck(expr, expr.leaves()).assert_ok()


@given(expressions(min_nodes=5, max_nodes=16, variables=3,
                   ops=["mul", "div", "sum", "log", "exp", "pow", "tanh", "sub"]))
def test_backward_equals_central_differences_on_larger_smooth_graphs(expr: Expression):
    result = gradcheck(expr, expr.leaves())
    result.assert_ok(strict=True)  # no relu: every input is checked


@given(expressions(max_nodes=10))
def test_second_backward_exactly_doubles_every_grad(expr: Expression):
    root = expr.build().root
    order = topological_order(root)
    root.backward()
    first = [v.grad for v in order]
    root.backward()
    assert [v.grad for v in order] == [2 * g for g in first]
    root.zero_grad()
    assert all(v.grad == 0.0 for v in order)
    root.backward()
    assert [v.grad for v in order] == first


@given(expressions(max_nodes=10))
def test_backward_steps_end_where_backward_does(expr: Expression):
    a, b = expr.build(), expr.build()
    a.root.backward()
    steps = list(backward_steps(b.root))
    order_a, order_b = topological_order(a.root), topological_order(b.root)
    assert [v.grad for v in order_b] == [v.grad for v in order_a]
    assert len(steps) == sum(1 for v in order_b if v.inputs)


@given(expressions(max_nodes=7))
def test_sum_over_paths_equals_backward(expr: Expression):
    graph = expr.build()
    graph.root.backward()
    in_graph = {id(v) for v in topological_order(graph.root)}
    for leaf in graph.leaves:
        if id(leaf) not in in_graph:
            assert leaf.grad == 0.0
            continue
        assert explain(graph.root, leaf).total == pytest.approx(leaf.grad, rel=1e-9, abs=1e-12)


# --- the notes' chain ------------------------------------------------------------------


def chain_grads_by_hand(ex: ChainExample) -> tuple[list[float], list[float], float]:
    """The notes' recursion: ∂C0/∂a^(L) = 2(a^(L) − y); ∂C0/∂z^(l) = ∂C0/∂a^(l)·σ'(z^(l));
    ∂C0/∂w^(l) = ∂C0/∂z^(l)·a^(l−1); ∂C0/∂b^(l) = ∂C0/∂z^(l); ∂C0/∂a^(l−1) = ∂C0/∂z^(l)·w^(l)."""
    a, zs = [ex.x], []
    for w, b in zip(ex.weights, ex.biases):
        zs.append(w * a[-1] + b)
        a.append(sig(zs[-1]))
    da = 2 * (a[-1] - ex.y)
    dw, db = [0.0] * ex.depth, [0.0] * ex.depth
    for lay in reversed(range(ex.depth)):
        dz = da * sig(zs[lay]) * (1 - sig(zs[lay]))
        dw[lay], db[lay] = dz * a[lay], dz
        da = dz * ex.weights[lay]
    return dw, db, da


@given(chains(min_depth=1, max_depth=6))
def test_chain_matches_the_notes_recursion(ex: ChainExample):
    c = ex.build()
    c.cost.backward()
    dw, db, dx = chain_grads_by_hand(ex)
    assert_grads_equal(c.w, dw, rtol=1e-9, atol=1e-14)
    assert_grads_equal(c.b, db, rtol=1e-9, atol=1e-14)
    assert_grads_equal([c.a[0]], [dx], rtol=1e-9, atol=1e-14)


@given(chains(min_depth=1, max_depth=6))
def test_notes_formula_in_five_lines(ex):  # the example in the README and scalargrad.testing
    c = ex.build(); c.cost.backward()  # noqa: E702
    a, z = c.a[-1].data, c.z[-1].data                    # a^(L), z^(L)
    assert_grads_equal(c.w[-1:], [2 * (a - ex.y) * sig(z) * (1 - sig(z)) * c.a[-2].data])


@given(chains(min_depth=1, max_depth=6))
def test_chain_backward_equals_central_differences(ex: ChainExample):
    gradcheck(ex, ex.leaves()).assert_ok()


# --- many neurons per layer --------------------------------------------------------------


def network_grads_by_hand(ex: NetworkExample) -> tuple[list[float], list[float]]:
    """Matrix backprop: δ^L = ∇_a C ∘ σ'(z^L), δ^l = (W^(l+1))ᵀ δ^(l+1) ∘ σ'(z^l),
    ∂C/∂w_jk^(l) = δ_j^l a_k^(l−1), ∂C/∂b_j^(l) = δ_j^l; returns (weights flat, x)."""
    acts, zs = [list(ex.x)], []
    for wl, bl in zip(ex.weights, ex.biases):
        z = [sum(w * a for w, a in zip(row, acts[-1])) + b for row, b in zip(wl, bl)]
        zs.append(z)
        acts.append([sig(v) for v in z])
    scale = 1.0 if ex.half else 2.0
    grad_a = [scale * (a - y) for a, y in zip(acts[-1], ex.y)]
    dws: list[list[float]] = []
    for lay in reversed(range(len(ex.weights))):
        delta = [g * sig(z) * (1 - sig(z)) for g, z in zip(grad_a, zs[lay])]
        dws.insert(0, [d * a for d in delta for a in acts[lay]])
        grad_a = [sum(ex.weights[lay][j][k] * delta[j] for j in range(len(delta)))
                  for k in range(len(acts[lay]))]
    return [g for layer in dws for g in layer], grad_a


@given(networks(max_layers=3, max_width=3))
def test_network_matches_matrix_backprop(ex: NetworkExample):
    graph = ex.build()
    graph.cost.backward()
    weights = [w for layer in graph.net.layers for n in layer.neurons for w in n.w]
    dw, dx = network_grads_by_hand(ex)
    assert_grads_equal(weights, dw, rtol=1e-9, atol=1e-14)
    assert_grads_equal(graph.inputs, dx, rtol=1e-9, atol=1e-14)  # the sum over j


@given(networks(max_layers=3, max_width=3, half=True))
def test_network_backward_equals_central_differences(ex: NetworkExample):
    gradcheck(ex, ex.leaves()).assert_ok()

