"""Tests of scalargrad.testing.strategies: what expressions(), chains() and networks() draw.

Structure, domains, shrinking and argument errors; what the drawn examples
build is tested in test_testing_examples.py.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from scalargrad import Value, topological_order
from scalargrad.testing import (
    OPS,
    ChainExample,
    Expression,
    chains,
    expressions,
    gradcheck,
    networks,
)

# --- the strategies: structure, domains, shrinking ------------------------------------


def _graph_stats(root: Value) -> tuple[bool, bool]:
    """(reuse, diamond) in root's graph: an input edge used twice; two distinct consumers."""
    edges: Counter[int] = Counter()
    consumers: dict[int, set[int]] = {}
    for node in topological_order(root):
        for child in node.inputs:
            edges[id(child)] += 1
            consumers.setdefault(id(child), set()).add(id(node))
    reuse = any(n >= 2 for n in edges.values())
    diamond = any(len(c) >= 2 for c in consumers.values())
    return reuse, diamond


def test_expressions_produce_reuse_diamonds_and_every_op():
    stats: list[tuple[bool, bool]] = []
    ops_seen: Counter[str] = Counter()
    pows_seen: set[float | None] = set()  # ensure the pow exponents vary too

    @settings(max_examples=300)
    @given(expressions(max_nodes=10))
    def record(expr: Expression) -> None:
        graph = expr.build()
        stats.append(_graph_stats(graph.root))
        for r in expr.records:
            ops_seen[r.op] += 1
            if r.op == "pow":
                pows_seen.add(r.exponent)

    record()
    n = len(stats)
    assert n >= 100
    assert sum(r for r, _ in stats) / n > 0.2
    assert sum(d for _, d in stats) / n > 0.1
    # a mixed draw covers nearly every op (div needs a denominator away from 0, so it is
    # the rarest); that each op is drawn at all is checked one op at a time below
    assert len(set(ops_seen)) >= len(OPS) - 1, sorted(set(OPS) - set(ops_seen))
    assert {2.0, 3.0} <= pows_seen  # −1 and 0.5 need an operand away from 0: see below


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_is_drawn_when_asked_for(op: str) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=40)
    @given(expressions(max_nodes=6, ops=[op], min_value=0.5, max_value=2.0))
    def record(expr: Expression) -> None:
        expr.build()  # never a DomainError
        seen.update(r.op for r in expr.records)

    record()
    assert seen[op] > 0


def test_pow_draws_every_exponent_on_a_positive_range():
    seen: set[float | None] = set()

    @settings(max_examples=100)
    @given(expressions(max_nodes=4, ops=["pow"], min_value=0.5, max_value=2.0))
    def record(expr: Expression) -> None:
        seen.update(r.exponent for r in expr.records)
        expr.build()

    record()
    assert seen == {2.0, 3.0, -1.0, 0.5}


@given(expressions(max_nodes=14, variables=3))
def test_expressions_respect_every_domain(expr: Expression):
    graph = expr.build()  # raises DomainError if a domain were broken
    assert all(abs(v.data) <= 1e4 for v in graph.nodes)
    result = gradcheck(expr, expr.leaves())
    assert all(c.status != "domain" for c in result.checks), result.report()


@given(expressions(max_nodes=8, variables=["u", "v"], min_value=-100, max_value=100,
                   ops=["sigmoid", "log", "div", "pow", "exp", "mul"]))
def test_expressions_respect_domains_over_a_wide_range(expr: Expression):
    for point in ([-100.0, 100.0], [100.0, -100.0], [1e-9, 0.0], list(expr.values)):
        expr(*point)  # valid for every variable value in range, not only the drawn one


@given(expressions(max_nodes=4, ops=["log"], min_value=0.5, max_value=3))
def test_log_applies_directly_to_positive_variables(expr: Expression):
    assert [r.op for r in expr.records] == ["log"] * len(expr.records)
    expr.build()


def test_shrinks_a_planted_failure_to_one_node(patch_rule):
    patch_rule("mul", lambda x, y: (x * y, (x, y)))  # wrong rule planted in the engine
    assert (Value(3.0) * Value(5.0)).local_grads == (3.0, 5.0)
    smallest = find(
        expressions(max_nodes=10, ops=["add", "sigmoid", "mul", "tanh"]),
        lambda e: not gradcheck(e, e.leaves()),
        settings=settings(max_examples=500, database=None),
    )
    # e.g. x0·x1 at x0 ≠ x1, or σ(x1)·x0 at zeros (x·x alone cannot show this bug)
    assert len(smallest.records) <= 2
    assert smallest.records[-1].op == "mul"
    assert "·" in repr(smallest) and len(repr(smallest)) < 80


def test_shrinks_towards_a_short_path_to_log():
    smallest = find(
        expressions(max_nodes=10),
        lambda e: e.records[-1].op == "log",
        settings=settings(max_examples=2000, database=None),
    )
    # log needs an operand ≥ 0.01 for every x in [−2, 2]: a positive node (exp, σ…) first
    assert 2 <= len(smallest.records) <= 3
    assert smallest.values == (0.0, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [dict(min_nodes=0), dict(min_nodes=3, max_nodes=2), dict(ops=["sin"]), dict(ops=[]),
     dict(variables=0), dict(variables=["x", "x"]), dict(min_value=-1e6),
     dict(min_value=1.0, max_value=0.0), dict(ops=["log"], min_value=-1.0)],
)
def test_expressions_reject_bad_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        expressions(**kwargs)


# --- chains and networks ------------------------------------------------------------------


@given(chains(min_depth=2, max_depth=2, x=1.0, y=st.just(0.0), weights=st.floats(-1, 1)))
def test_chains_accept_values_or_strategies(ex: ChainExample):
    assert ex.depth == 2 and ex.x == 1.0 and ex.y == 0.0
    assert all(-1 <= w <= 1 for w in ex.weights)


def test_chains_reject_bad_arguments():
    with pytest.raises(InvalidArgument):
        chains(min_depth=3, max_depth=2)
    with pytest.raises(InvalidArgument):
        chains(min_depth=0)
    with pytest.raises(InvalidArgument, match="not a mix"):
        chains(weights=[st.floats(), 1.0])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="activation"):
        chains(activation="sigmod")


@given(networks(widths=[2, 3, 1], half=True))
def test_networks_fixed_widths(ex):
    assert ex.widths == (2, 3, 1) and ex.half
    assert len(ex.weights[0]) == 3 and len(ex.weights[0][0]) == 2
    gradcheck(ex, ex.leaves()).assert_ok()


def test_networks_reject_bad_arguments():
    with pytest.raises(InvalidArgument, match="not both"):
        networks(widths=[1, 1], max_layers=2)
    with pytest.raises(InvalidArgument):
        networks(widths=[3])
    with pytest.raises(InvalidArgument):
        networks(min_width=4, max_width=2)


def test_a_falsifying_example_is_shrunk_and_printed_readably():
    @settings(max_examples=50, database=None)
    @given(expressions(max_nodes=5))
    def fails(expr: Expression) -> None:
        assert not expr.records  # planted: never true

    with pytest.raises(AssertionError) as info:
        fails()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "expr=Expression(x0=0.0, x1=0.0; n2 = x1 + x0)" in notes


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: chains(weights="x"),
         r"^weights must be a finite number or a strategy of finite numbers; got 'x'$"),
        (lambda: chains(biases=float("nan")), r"^biases must be a finite number .*; got nan$"),
        (lambda: chains(x=True), r"^x must be a finite number .*; got True$"),
        (lambda: chains(y=[0.5]), r"^y must be a finite number .*; got \[0\.5\]$"),
        (lambda: chains(activation=3), r"^activation must be an activation name or a strategy"),
        (lambda: networks(weights="w"), r"^weights must be a finite number .*; got 'w'$"),
        (lambda: networks(x=float("inf")), r"^x must be a finite number .*; got inf$"),
        (lambda: expressions(ops=[]), r"^ops must name at least one op \(from \['add', "),
        (lambda: expressions(ops="add"),
         r"^ops must be a list of op names, not the string 'add' "
         r"\(did you mean ops=\['add'\]\?\)$"),
        (lambda: expressions(ops=3), r"^ops must be a list of op names, got 3$"),
        (lambda: expressions(ops=["add", "sin"]), r"^unknown ops \['sin'\] \(must be among"),
    ],
)
def test_strategy_arguments_get_clear_invalid_argument_errors(make, message):
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_a_strategy_drawing_non_numbers_is_named_when_drawn():
    @given(chains(weights=st.just("heavy")))
    def uses(ex: ChainExample) -> None:
        raise AssertionError("never reached")

    with pytest.raises(InvalidArgument, match="the strategy for weights drew 'heavy'"):
        uses()
