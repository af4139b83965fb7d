"""Tests of scalargrad.testing.strategies: what expressions(), chains() and networks() draw.

Structure, domains, shrinking and argument errors; what the drawn examples
build is tested in test_testing_examples.py.
"""

from __future__ import annotations

import math
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
    NetworkExample,
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


# --- what the strategies draw reaches its ranges (each test kills a mutant that drew less) ---

ACTS = {  # each activation and its derivative, in plain floats (the hand oracle)
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    "tanh": math.tanh,
    "relu": lambda z: max(z, 0.0),
    "linear": lambda z: z,
}


def test_chains_reach_every_depth_and_draw_varied_values() -> None:
    depths: Counter[int] = Counter()
    values: dict[str, set[float]] = {"w": set(), "b": set(), "x": set(), "y": set()}

    @settings(max_examples=200)
    @given(chains(min_depth=2, max_depth=6))
    def record(ex: ChainExample) -> None:
        depths[ex.depth] += 1
        values["w"].update(ex.weights)
        values["b"].update(ex.biases)
        values["x"].add(ex.x)
        values["y"].add(ex.y)
        assert all(-2 <= v <= 2 for v in (*ex.weights, *ex.biases, ex.x)) and 0 <= ex.y <= 1

    record()
    assert set(depths) == {2, 3, 4, 5, 6}  # not always the least (or the most) depth
    for name, seen in values.items():
        assert len(seen) >= 20, (name, sorted(seen)[:5])  # not one constant (0.5 …)
    assert max(values["w"]) - min(values["w"]) > 2  # spread over the range, not near one value
    assert max(values["y"]) - min(values["y"]) > 0.5


def test_networks_reach_every_layer_count_and_width_and_vary_their_values() -> None:
    layers: Counter[int] = Counter()
    widths: dict[str, set[int]] = {"input": set(), "hidden": set(), "output": set()}
    values: dict[str, set[float]] = {"w": set(), "b": set(), "x": set(), "y": set()}

    @settings(max_examples=200)
    @given(networks(min_layers=1, max_layers=3, min_width=1, max_width=3))
    def record(ex: NetworkExample) -> None:
        layers[len(ex.widths) - 1] += 1
        widths["input"].add(ex.widths[0])
        widths["output"].add(ex.widths[-1])
        widths["hidden"].update(ex.widths[1:-1])
        values["w"].update(w for wl in ex.weights for row in wl for w in row)
        values["b"].update(b for bl in ex.biases for b in bl)
        values["x"].update(ex.x)
        values["y"].update(ex.y)
        # the shapes agree with the widths: w^(l) is n_l × n_(l−1)
        for lay, wl in enumerate(ex.weights, 1):
            assert len(wl) == ex.widths[lay] and all(len(r) == ex.widths[lay - 1] for r in wl)
        assert [len(bl) for bl in ex.biases] == list(ex.widths[1:])
        assert len(ex.x) == ex.widths[0] and len(ex.y) == ex.widths[-1]

    record()
    assert set(layers) == {1, 2, 3}  # not always one layer
    for where, seen in widths.items():
        assert seen == {1, 2, 3}, (where, seen)
    for name, seen in values.items():
        assert len(seen) >= 20, (name, sorted(seen)[:5])
    assert all(0 <= y <= 1 for y in values["y"]) and max(values["y"]) - min(values["y"]) > 0.5


def test_every_activation_appears_and_is_the_one_built() -> None:
    chain_acts: Counter[str] = Counter()
    net_acts: Counter[str] = Counter()
    names = sorted(ACTS)

    @settings(max_examples=60)
    @given(chains(max_depth=2, activation=st.sampled_from(names)))
    def chain(ex: ChainExample) -> None:
        chain_acts[ex.activation] += 1
        f = ACTS[ex.activation]
        a = ex.x
        for w, b in zip(ex.weights, ex.biases):  # the forward pass by hand
            a = f(w * a + b)
        assert ex.build().cost.data == pytest.approx((a - ex.y) ** 2, rel=1e-12, abs=1e-15)

    @settings(max_examples=60)
    @given(networks(widths=[2, 2], activation=st.sampled_from(names)))
    def network(ex: NetworkExample) -> None:
        net_acts[ex.activation] += 1
        f = ACTS[ex.activation]
        a = [f(sum(w * x for w, x in zip(row, ex.x)) + b)
             for row, b in zip(ex.weights[0], ex.biases[0])]
        cost = sum((aj - yj) ** 2 for aj, yj in zip(a, ex.y))
        assert ex.build().cost.data == pytest.approx(cost, rel=1e-12, abs=1e-15)

    chain()
    network()
    assert set(chain_acts) == set(names) and set(net_acts) == set(names)
    # the default is the notes' sigmoid
    assert find(chains(), lambda ex: True).activation == "sigmoid"
    assert find(networks(), lambda ex: True).activation == "sigmoid"


@given(expressions(min_nodes=4, max_nodes=12, variables=3))
def test_every_drawn_node_feeds_the_root(expr: Expression) -> None:
    n = len(expr.names)
    feeds = {n + len(expr.records) - 1}  # the root
    for i in range(n + len(expr.records) - 1, n - 1, -1):
        if i in feeds:
            feeds.update(expr.records[i - n].args)
    dead = [i for i in range(n, n + len(expr.records)) if i not in feeds]
    assert not dead, (expr, dead)
    for i, rec in enumerate(expr.records, n):
        assert all(a < i for a in rec.args)  # operands are earlier nodes


def test_pruning_drops_dead_nodes_and_keeps_the_root() -> None:
    # Many draws of up to 12 nodes that share operands freely must produce some with
    # fewer records than min_nodes would allow without pruning: the dead ones went.
    sizes: Counter[int] = Counter()

    @settings(max_examples=150)
    @given(expressions(min_nodes=6, max_nodes=6, variables=2))
    def record(expr: Expression) -> None:
        sizes[len(expr.records)] += 1

    record()
    assert max(sizes) == 6 and min(sizes) < 6, sizes
