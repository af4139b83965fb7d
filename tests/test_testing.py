"""Tests of scalargrad.testing: gradcheck, assert_grads_equal and the Hypothesis strategies.

Oracles are derivatives written by hand in this file; rule-table entries are
patched with deliberately wrong derivatives to show gradcheck catches them.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import scalargrad.engine as engine
from scalargrad import DomainError, Value, topological_order
from scalargrad.rules import RULES
from scalargrad.testing import (
    OPS,
    ChainExample,
    Expression,
    GradcheckResult,
    Record,
    assert_grads_equal,
    chains,
    expressions,
    gradcheck,
    networks,
)

Forward = Callable[..., tuple[float, tuple[float, ...]]]


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def sig_prime(z: float) -> float:  # σ'(z) = σ(z)(1 − σ(z)), derived by hand
    return sig(z) * (1.0 - sig(z))


@pytest.fixture
def patch_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Forward], None]]:
    """Replaces a rule's forward in RULES and in the engine's cached rule constants."""

    def patch(name: str, forward: Forward) -> None:
        old = RULES[name]
        new = dataclasses.replace(old, forward=forward)
        monkeypatch.setitem(RULES, name, new)
        for attr, val in list(vars(engine).items()):  # the engine may cache rules or forwards
            if val is old:
                monkeypatch.setattr(engine, attr, new)
            elif val is old.forward:
                monkeypatch.setattr(engine, attr, forward)

    yield patch


# --- gradcheck passes the real rules -------------------------------------------

SMOOTH_CASES: list[tuple[str, Callable[..., Value], list[float]]] = [
    ("add", lambda x, y: x + y, [0.3, -1.2]),
    ("sub", lambda x, y: x - y, [0.3, -1.2]),
    ("mul", lambda x, y: x * y, [0.3, -1.2]),
    ("div", lambda x, y: x / y, [0.3, -1.2]),
    ("neg", lambda x: -x, [0.7]),
    ("square", lambda x: x.square(), [-0.7]),
    ("sigmoid", lambda x: x.sigmoid(), [0.4]),
    ("tanh", lambda x: x.tanh(), [-0.4]),
    ("relu", lambda x: x.relu(), [0.25]),
    ("exp", lambda x: x.exp(), [1.3]),
    ("log", lambda x: x.log(), [0.6]),
    ("pow", lambda x: x**3, [-1.1]),
    ("pow 0.5", lambda x: x**0.5, [2.0]),
    ("sum", lambda x, y: engine.sum_values([x, y, x]), [0.5, 2.0]),
    ("constant left", lambda x: 1 - 2 * x, [0.5]),
    ("reuse", lambda a: (a + a) * (a + a), [0.8]),
    ("notes chain", lambda w, a, b, y: ((w * a + b).sigmoid() - y).square(), [0.5, 0.7, 0.1, 1.0]),
]


@pytest.mark.parametrize("name,fn,point", SMOOTH_CASES, ids=[c[0] for c in SMOOTH_CASES])
def test_gradcheck_passes_every_real_rule(name: str, fn: Callable[..., Value], point: list[float]):
    result = gradcheck(fn, point)
    assert result and result.ok
    assert not result.inconclusive
    result.assert_ok(strict=True)
    assert "passed" in result.report()


def test_gradcheck_numeric_matches_hand_derivative():
    # f = x³ + x·y, ∂f/∂x = 3x² + y, ∂f/∂y = x
    result = gradcheck(lambda x, y: x**3 + x * y, [2.0, -0.5])
    assert result.checks[0].numeric == pytest.approx(3 * 4 - 0.5, rel=1e-8)
    assert result.checks[1].numeric == pytest.approx(2.0, rel=1e-8)
    assert result.checks[0].analytic == 11.5
    assert result.output == 8.0 - 1.0


# --- gradcheck catches wrong rules ---------------------------------------------


def test_gradcheck_catches_a_wrong_sigmoid_rule(patch_rule):
    def wrong_sigmoid(x: float) -> tuple[float, tuple[float, ...]]:
        s = sig(x)
        return s, (s,)  # wrong: σ instead of σ(1 − σ)

    patch_rule("sigmoid", wrong_sigmoid)
    assert Value(0.3).sigmoid().local_grads == (sig(0.3),)  # the patch took effect
    w, a, b, y = Value(0.5, "w^(L)"), Value(0.7, "a^(L-1)"), Value(0.1, "b^(L)"), Value(1.0, "y")
    result = gradcheck(lambda w, a, b, y: ((w * a + b).sigmoid() - y).square(), [w, a, b, y])
    assert not result
    bad = {c.name for c in result.mismatches}
    assert bad == {"w^(L)", "a^(L-1)", "b^(L)"}  # y does not pass through σ
    report = result.report()
    assert "FAILED: 3 of 4 inputs disagree" in report
    # the report names the input and shows both numbers
    z = 0.5 * 0.7 + 0.1
    right = 2 * (sig(z) - 1.0) * sig_prime(z) * 0.7  # the notes' ∂C0/∂w^(L)
    wrong = 2 * (sig(z) - 1.0) * sig(z) * 0.7
    line = next(ln for ln in report.splitlines() if "w^(L) =" in ln)
    assert "FAIL" in line
    assert f"{wrong:.10g}" in line
    assert f"{right:.6g}"[:7] in line
    with pytest.raises(AssertionError, match=r"w\^\(L\)"):
        result.assert_ok()
    assert w.grad == 0.0  # the caller's Values are untouched


def test_gradcheck_catches_a_wrong_mul_rule_and_names_the_input_by_position(patch_rule):
    patch_rule("mul", lambda x, y: (x * y, (x, y)))  # wrong: ∂(xy)/∂x reported as x
    assert (Value(3.0) * Value(5.0)).local_grads == (3.0, 5.0)  # the patch took effect
    result = gradcheck(lambda x, y: x * y, [3.0, 5.0])
    assert [c.name for c in result.mismatches] == ["inputs[0]", "inputs[1]"]
    assert result.checks[0].analytic == 3.0
    assert result.checks[0].numeric == pytest.approx(5.0)
    # a·a is blind to this particular error: both slots get the same number
    assert gradcheck(lambda x: x * x, [3.0])


def test_gradcheck_catches_a_wrong_rule_at_a_highly_curved_point(patch_rule):
    patch_rule("exp", lambda x: (math.exp(x), (1.01 * math.exp(x),)))  # 1% off
    assert Value(0.0).exp().local_grads == (1.01,)
    result = gradcheck(lambda x: x.exp(), [6.0])
    assert [c.status for c in result.checks] == ["mismatch"]


def test_gradcheck_catches_a_wrong_relu_rule_away_from_the_kink(patch_rule):
    patch_rule("relu", lambda x: (max(x, 0.0), (0.5,)))
    assert Value(2.0).relu().local_grads == (0.5,)
    assert not gradcheck(lambda x: x.relu(), [1.0])
    assert not gradcheck(lambda x: x.relu(), [-1.0])


# --- kinks and domain edges ------------------------------------------------------


@pytest.mark.parametrize("x", [0.0, 3e-7, -5e-7, 9e-7])
def test_relu_at_or_near_its_kink_is_reported_not_failed(x: float):
    result = gradcheck(lambda v: v.relu(), [x])
    assert result.ok  # not a false failure
    (check,) = result.checks
    assert check.status == "kink"
    assert result.inconclusive == (check,)
    assert "too close to a non-differentiable point" in result.report()
    assert "inconclusive" in result.report()
    result.assert_ok()
    with pytest.raises(AssertionError, match="non-differentiable"):
        result.assert_ok(strict=True)


def test_abs_kink_and_a_kink_hidden_inside_a_graph():
    absolute = gradcheck(lambda x: x.relu() + (-x).relu(), [3e-7])  # |x| near 0
    assert [c.status for c in absolute.checks] == ["kink"]
    # at 0 itself backward() gives 0, a valid subgradient that central differences agree with
    assert [c.status for c in gradcheck(lambda x: x.relu() + (-x).relu(), [0.0]).checks] == ["ok"]
    # relu(x·y) at y = 0: smooth in x (constant 0) but kinked in y
    result = gradcheck(lambda x, y: (x * y).relu() + x.exp(), {"x": 1.0, "y": 0.0})
    assert [c.status for c in result.checks] == ["ok", "kink"]
    assert result.checks[1].name == "y"


def test_relu_a_little_away_from_its_kink_is_checked():
    for x in (1e-3, -1e-3, 2.5e-6):
        result = gradcheck(lambda v: v.relu(), [x])
        assert [c.status for c in result.checks] == ["ok"]


def test_domain_edge_during_perturbation_is_reported():
    result = gradcheck(lambda x: x.log(), [1e-6])
    (check,) = result.checks
    assert check.status == "domain"
    assert "undefined" in check.note and "log" in check.note
    assert result.ok and result.inconclusive


def test_domain_error_at_the_point_itself_raises():
    with pytest.raises(DomainError, match="gradcheck: fn is undefined"):
        gradcheck(lambda x: x.log(), [-1.0])


# --- gradcheck inputs and errors --------------------------------------------------


def test_gradcheck_input_forms_and_names():
    a = Value(2.0, "a")
    result = gradcheck(lambda p, q, r: p * q + r, [a, 3, Value(1.0, "a")])
    assert [c.name for c in result.checks] == ["a (inputs[0])", "inputs[1]", "a (inputs[2])"]
    assert a.grad == 0.0
    by_name = gradcheck(lambda w, b: w * 2 + b, {"w^(1)": 0.5, "b^(1)": Value(9.0, "ignored")})
    assert [c.name for c in by_name.checks] == ["w^(1)", "b^(1)"]
    assert [c.value for c in by_name.checks] == [0.5, 9.0]
    assert isinstance(by_name, GradcheckResult)


@pytest.mark.parametrize(
    "inputs,error",
    [("ab", TypeError), ([], ValueError), ([None], TypeError), ([True], TypeError),
     ([math.nan], ValueError), (5, TypeError)],
)
def test_gradcheck_rejects_bad_inputs(inputs, error):
    with pytest.raises(error, match="gradcheck"):
        gradcheck(lambda *v: v[0], inputs)


def test_gradcheck_rejects_bad_fn_and_settings():
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda x: 1.0, [1.0])  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda x: x, [1.0], eps=0)
    with pytest.raises(ValueError, match="rtol"):
        gradcheck(lambda x: x, [1.0], rtol=-1)


# --- assert_grads_equal -------------------------------------------------------------


def _notes_chain() -> tuple[list[Value], Value]:
    w, a, b, y = Value(0.5, "w^(L)"), Value(0.7, "a^(L-1)"), Value(0.1, "b^(L)"), Value(1.0, "y")
    cost = ((w * a + b).sigmoid() - y).square()
    cost.backward()
    return [w, a, b], cost


def test_assert_grads_equal_accepts_the_notes_formula():
    (w, a, b), _ = _notes_chain()
    z = 0.5 * 0.7 + 0.1
    common = 2 * (sig(z) - 1.0) * sig_prime(z)  # 2(a^(L) − y)σ'(z^(L))
    assert_grads_equal([w, a, b], [common * 0.7, common * 0.5, common])
    assert_grads_equal([w, b], {"b^(L)": common, "w^(L)": common * 0.7})  # matched by label
    assert_grads_equal({"dw": w.grad}, {"dw": common * 0.7})
    assert_grads_equal([1.0, 2.0], [1.0, 2.0 + 1e-12])


def test_assert_grads_equal_names_each_label_with_both_numbers():
    (w, a, b), _ = _notes_chain()
    z = 0.5 * 0.7 + 0.1
    common = 2 * (sig(z) - 1.0) * sig_prime(z)
    with pytest.raises(AssertionError) as info:
        assert_grads_equal([w, a, b], [common * 0.7, common * 0.5, common * 1.1])  # b wrong
    msg = str(info.value)
    assert "1 of 3 gradients disagree" in msg
    row = next(ln for ln in msg.splitlines() if ln.strip().startswith("b^(L)"))
    assert row.endswith("✗")
    assert f"{b.grad:.15g}" in row and f"{common * 1.1:.15g}" in row
    assert not next(ln for ln in msg.splitlines() if "w^(L)" in ln).endswith("✗")


def test_assert_grads_equal_nan_and_shape_errors():
    with pytest.raises(AssertionError):
        assert_grads_equal([1.0], [math.nan])
    with pytest.raises(ValueError, match="2 engine values but 1"):
        assert_grads_equal([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="no formula for"):
        assert_grads_equal([Value(1.0, "w")], {"b": 0.0})
    with pytest.raises(TypeError, match="plain floats"):
        assert_grads_equal([1.0], [Value(1.0)])  # type: ignore[list-item]


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


def test_testing_imports_without_hypothesis():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import scalargrad.testing as t\n"
        "assert t.gradcheck(lambda x: x * x, [3.0])\n"
        "try:\n    t.expressions()\nexcept ImportError:\n    print('lazy')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lazy"
    assert "hypothesis" not in sys.modules["scalargrad"].__dict__


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
