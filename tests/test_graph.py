"""Tests of :mod:`scalargrad.graph`: backward's order, reading order and consumer counts.

The oracle for each walk is its defining property checked edge by edge
(every edge goes from consumer to input in the right direction, every node
once), plus counts written out by hand for small graphs.
"""

from __future__ import annotations

import math
import struct
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scalargrad
from scalargrad import Value, forward_order, sum_values, topological_order
from scalargrad.graph import Tape, consumer_counts, count_up_to, reverse
from scalargrad.testing import Expression, expressions


def _below(root: Value) -> set[int]:
    """Every node below root, by id, found by a plain set-based search."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for c in stack.pop().inputs:
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    return seen


@given(expressions(max_nodes=12, variables=3))
def test_both_orders_hold_every_node_once_and_respect_every_edge(expr: Expression) -> None:
    root = expr.build().root
    below = _below(root)
    back, fwd = topological_order(root), forward_order(root)
    for order in (back, fwd):
        assert len(order) == len(below) and {id(v) for v in order} == below
    assert back[0] is root and fwd[-1] is root
    pos_back = {id(v): i for i, v in enumerate(back)}
    pos_fwd = {id(v): i for i, v in enumerate(fwd)}
    for v in back:
        for c in v.inputs:
            assert pos_back[id(v)] < pos_back[id(c)]  # consumers before inputs
            assert pos_fwd[id(c)] < pos_fwd[id(v)]  # inputs before consumers


def test_consumer_counts_count_edges_with_duplicates() -> None:
    a = Value(2.0, "a")
    b = a * a  # two edges into a
    c = b + a  # a third edge into a, one into b
    d = c * b  # a second edge into b
    counts = consumer_counts(d)
    assert counts[d] == 0 and counts[c] == 1 and counts[b] == 2 and counts[a] == 3
    assert len(counts) == 4


def test_orders_are_deterministic_and_follow_input_order() -> None:
    def build() -> Value:
        x, y = Value(1.0, "x"), Value(2.0, "y")
        return (x * y + y).label_as("r")

    first, second = build(), build()
    for walk in (topological_order, forward_order):
        assert [v.label or v.op for v in walk(first)] == [v.label or v.op for v in walk(second)]
    assert [v.label or v.op for v in forward_order(first)] == ["x", "y", "mul", "r"]
    assert [v.label or v.op for v in topological_order(first)] == ["r", "mul", "x", "y"]


@pytest.mark.slow
def test_walks_of_a_deep_chain_need_no_recursion() -> None:
    x, c = Value(0.5, "x"), Value(1.0, "c")
    v = x
    for _ in range(200_000):
        v = v * c
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        assert len(topological_order(v)) == 200_002  # the chain, x and c
        assert len(forward_order(v)) == 200_002
        counts = consumer_counts(v)
        assert counts[x] == 1 and counts[c] == 200_000
    finally:
        sys.setrecursionlimit(limit)


def test_public_names_still_reach_the_walks() -> None:
    from scalargrad import engine, graph

    assert scalargrad.topological_order is graph.topological_order
    assert scalargrad.forward_order is graph.forward_order
    assert engine.topological_order is graph.topological_order
    assert engine.forward_order is graph.forward_order


def test_reading_order_is_the_notes_layer_by_layer() -> None:
    from scalargrad.nn import MLP, chain, squared_error

    net = chain([0.5, -1.2, 0.8], [0.1, 0.2, -0.3], 0.7, 1.0)
    assert [v.label or v.op for v in forward_order(net.cost)] == [
        "w^(1)", "a^(0)", "b^(1)", "z^(1)", "a^(1)",
        "w^(2)", "b^(2)", "z^(2)", "a^(2)",
        "w^(3)", "b^(3)", "z^(3)", "a^(3)", "y", "sub", "C_0",
    ]
    mlp = MLP(2, [3, 1], seed=1)
    cost = squared_error(mlp([0.5, -1.0]), [1.0])
    layer1 = [f"{k}_{j}{i}^(1)" if k == "w" else f"b_{j}^(1)"
              for j in range(3) for k, i in [("w", 0), ("w", 1), ("b", "")]]
    assert [v.label or v.op for v in forward_order(cost)] == [
        "a_0^(0)", "a_1^(0)",  # the inputs, shared by every neuron of layer 1
        *layer1, "z_0^(1)", "z_1^(1)", "z_2^(1)", "a_0^(1)", "a_1^(1)", "a_2^(1)",
        "w_00^(2)", "w_01^(2)", "w_02^(2)", "b_0^(2)", "z_0^(2)", "a_0^(2)",
        "y", "sub", "C_0",
    ]


def test_a_leaf_is_read_just_before_its_first_use() -> None:
    a, b, c, d = (Value(float(i), n) for i, n in enumerate("abcd", 1))
    r = ((a + b) * (c + d)).label_as("r")
    assert [v.label or v.op for v in forward_order(r)] == ["a", "b", "c", "d", "add", "add", "r"]
    e = (a * b + c).label_as("e")  # c is needed only by the sum: it comes after a·b
    assert [v.label or v.op for v in forward_order(e)] == ["a", "b", "mul", "c", "e"]


# --- the Tape and the reverse walk ------------------------------------------------------


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _walk_grads(root: Value) -> dict[int, float]:
    """Every node's ∂root/∂node from the reverse walk, by id."""
    tape = Tape.of(root)
    return {id(tape.nodes[k]): g for k, g, _ in reverse(tape)}


@given(expressions(max_nodes=14, variables=3), st.integers(min_value=1, max_value=4))
def test_backward_equals_the_reverse_walk_bit_for_bit(expr: Expression, fan: int) -> None:
    built = expr.build()
    inner = built.root
    # Fan-out on top of the drawn DAG (which already shares subexpressions): the drawn
    # root feeds `fan` consumers, and one of them uses it twice.
    parts = [inner * inner] + [inner * float(k + 2) for k in range(fan)]
    root = sum_values(parts) if len(parts) > 1 else parts[0]
    walked = _walk_grads(root)
    root.backward()
    nodes = topological_order(root)
    assert len(walked) == len(nodes)
    for v in nodes:
        assert _bits(v.grad) == _bits(walked[id(v)]), (v.label or v.op, v.grad, walked[id(v)])


def test_the_walk_sends_in_input_order_and_marks_the_last_edge_into_each_node() -> None:
    a = Value(2.0, "a")
    b = a * a  # two edges into a
    c = (b + a).label_as("c")  # a third edge into a; one into b
    tape = Tape.of(c)
    assert tape.nodes == topological_order(c) and tape.root is c
    at = tape.position
    assert tape.inputs[at[b]] == (at[a], at[a])
    assert tape.consumers == [1 if v is b else 3 if v is a else 0 for v in tape.nodes]
    visits = list(reverse(tape))
    assert [tape.nodes[k] for k, _, _ in visits] == [c, b, a]
    (_, gc, sent_c), (_, gb, sent_b), (_, ga, sent_a) = visits
    # ∂c/∂b = 1, ∂c/∂a = 1 (direct) + 2a (through b) = 5: written out by hand.
    assert (gc, gb, ga) == (1.0, 1.0, 5.0) and sent_a == []
    assert [(s[0], tape.nodes[s[1]], s[2], s[3], s[4], s[5]) for s in sent_c] == [
        (0, b, 1.0, 0.0, 1.0, True), (1, a, 1.0, 0.0, 1.0, False)]
    assert [(s[0], s[2], s[3], s[4], s[5]) for s in sent_b] == [
        (0, 2.0, 1.0, 3.0, False), (1, 2.0, 3.0, 5.0, True)]


def test_a_zero_upstream_sends_nothing() -> None:
    # A tape of plain records: "m" has a zero upstream (∂r/∂m = z = 0) and an infinite
    # local derivative into "x"; sending 0 · inf would make ∂r/∂x NaN.
    tape = Tape(["r", "m", "z", "x"], [(1, 2), (3,), (), ()],
                [(0.0, 4.0), (math.inf,), (), ()])
    assert tape.consumers == [0, 1, 1, 1] and tape.position["x"] == 3
    visits = {tape.nodes[k]: (g, sent) for k, g, sent in reverse(tape)}
    assert visits["m"][0] == 0.0 and visits["z"][0] == 4.0
    ((_, _, amount, before, after, final),) = visits["m"][1]
    assert math.isnan(amount) and before == after == 0.0 and final
    assert visits["x"] == (0.0, [])


def test_count_up_to_counts_nodes_and_arrows_and_stops_past_the_bound() -> None:
    # f = x*x + x: nodes f, x*x, x (3); arrows: f's two inputs and x*x's two (4), by hand.
    x = Value(2.0, "x")
    f = x * x + x
    assert count_up_to(f, math.inf) == (3, 4, True)
    assert count_up_to(x, math.inf) == (1, 0, True)
    # A chain of 1,000 adds: counting stops just past the bound, and says it is incomplete.
    y = Value(1.0, "y")
    for _ in range(1000):
        y = y + 1.0
    nodes, arrows, complete = count_up_to(y, 10)
    assert not complete and 10 < nodes <= 13
    nodes, arrows, complete = count_up_to(y, math.inf, max_arrows=5)
    assert not complete and 5 < arrows <= 7
    assert count_up_to(y, math.inf)[::2] == (2001, True)  # 1,000 adds, their constants, y
