"""Tests of scalargrad.testing.examples: the drawn expressions, chains and networks build right.

Each example's own graph (``example(*example.leaves())``) is compared with
what ``build()`` makes through scalargrad.nn, and gradchecked.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad.testing import (
    ChainExample,
    Expression,
    NetworkExample,
    Record,
    chains,
    gradcheck,
    networks,
)


def test_expression_call_build_and_repr():
    expr = Expression(("x0", "x1"), (0.5, 2.0), (
        Record("mul", (0, 0)), Record("add", (2, 1)), Record("pow", (3,), -1.0),
    ))
    assert repr(expr) == (
        "Expression(x0=0.5, x1=2.0; n2 = x0·x0; n3 = n2 + x1; n4 = n3^-1)"
    )
    graph = expr.build()
    assert [v.label for v in graph.nodes] == ["x0", "x1", "n2", "n3", "n4"]
    assert graph.root.data == pytest.approx(1 / (0.25 + 2.0))
    graph.root.backward()
    # ∂/∂x0 (x0² + x1)^-1 = −2x0/(x0² + x1)², ∂/∂x1 = −1/(x0² + x1)²
    assert graph.leaves[0].grad == pytest.approx(-1.0 / 2.25**2)
    assert graph.leaves[1].grad == pytest.approx(-1.0 / 2.25**2)
    assert expr(1.0, 0.0).data == 1.0
    with pytest.raises(TypeError, match="2 variables"):
        expr(1.0)


@given(chains(min_depth=1, max_depth=4))
def test_chain_build_uses_nn_chain_and_matches_the_hand_built_graph(ex: ChainExample):
    assert 1 <= ex.depth <= 4
    built = ex.build()
    assert [w.label for w in built.w] == [f"w^({i})" for i in range(1, ex.depth + 1)]
    own = ex(*ex.leaves())
    assert own.label == built.cost.label == "C_0"
    assert own.data == built.cost.data
    result = gradcheck(ex, ex.leaves())
    result.assert_ok()


def test_chain_repr_is_readable():
    ex = ChainExample((0.5,), (0.1,), 0.7, 1.0)
    assert repr(ex) == (
        "ChainExample(weights=(0.5,), biases=(0.1,), x=0.7, y=1.0, activation='sigmoid')"
    )


@given(networks(max_layers=2, max_width=3, activation=st.sampled_from(["sigmoid", "tanh"])))
def test_network_build_matches_the_hand_built_graph(ex):
    graph = ex.build()
    leaves = ex.leaves()
    own = ex(*leaves)
    assert own.data == pytest.approx(graph.cost.data, rel=1e-12, abs=1e-15)
    own.backward()
    graph.cost.backward()
    params = graph.net.parameters()
    by_label = {v.label: v.grad for v in leaves}
    for p in params:
        assert by_label[p.label] == pytest.approx(p.grad, rel=1e-9, abs=1e-15)
    assert len(leaves) == len(params) + len(ex.x) + len(ex.y)



def _cost_by_hand(ex: NetworkExample) -> float:
    """C_0 = Σ_j (a_j^(L) − y_j)², halved when ex.half: the forward pass in plain floats."""
    a = list(ex.x)
    for wl, bl in zip(ex.weights, ex.biases):
        a = [1 / (1 + math.exp(-(sum(w * ak for w, ak in zip(row, a)) + b)))
             for row, b in zip(wl, bl)]
    cost = sum((aj - yj) ** 2 for aj, yj in zip(a, ex.y))
    return cost / 2 if ex.half else cost


@pytest.mark.parametrize("half", [False, True])
def test_the_network_reference_honours_half_against_build_and_by_hand(half: bool) -> None:
    @settings(max_examples=30)
    @given(networks(max_layers=2, max_width=3, half=half))
    def check(ex: NetworkExample) -> None:
        assert ex.half is half
        own = ex(*ex.leaves())  # the reference graph gradcheck uses
        built = ex.build().cost  # nn.MLP + nn.squared_error
        assert own.data == pytest.approx(_cost_by_hand(ex), rel=1e-12, abs=1e-15)
        assert built.data == pytest.approx(own.data, rel=1e-12, abs=1e-15)

    check()
    full = NetworkExample((1, 1), (((0.5,),),), ((0.1,),), (0.7,), (1.0,))
    halved = dataclasses.replace(full, half=True)
    assert halved(*halved.leaves()).data == pytest.approx(full(*full.leaves()).data / 2)
