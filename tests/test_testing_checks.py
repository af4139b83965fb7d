"""Tests of scalargrad.testing.checks: gradcheck and assert_grads_equal.

Oracles are derivatives written by hand in this file; rule-table entries are
patched with deliberately wrong derivatives (the ``patch_rule`` fixture in
conftest.py) to show gradcheck catches them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalargrad.engine as engine
from scalargrad import DomainError, Value
from scalargrad.testing import (
    GradcheckResult,
    assert_grads_equal,
    gradcheck,
)


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def sig_prime(z: float) -> float:  # σ'(z) = σ(z)(1 − σ(z)), derived by hand
    return sig(z) * (1.0 - sig(z))


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


# --- sensitivity: what gradcheck and assert_grads_equal must not let through -------------------


@pytest.mark.parametrize(
    ("fn", "x"),
    [
        (lambda v: v.exp(), 0.5),  # rtol decides: 1e-4 relative error ≫ rtol = 1e-5
        (lambda v: v.exp() + 1000.0, 0.0),  # |f| ≈ 1000: the rounding allowance stays ≪ 1e-4
        (lambda v: (v * 3.0).exp() * 2.0, -0.3),
    ],
    ids=["exp", "exp plus 1000", "inside a graph"],
)
def test_gradcheck_flags_a_rule_one_part_in_ten_thousand_wrong(patch_rule, fn, x: float) -> None:
    assert gradcheck(fn, [x]).ok  # the real rule passes at this point
    patch_rule("exp", lambda t: (math.exp(t), (1.0001 * math.exp(t),)))
    assert Value(0.0).exp().local_grads == (1.0001,)
    result = gradcheck(fn, [x])
    assert [c.status for c in result.checks] == ["mismatch"], result.report()


def test_assert_grads_equal_rejects_extra_and_missing_formula_names() -> None:
    w, b = Value(0.5, "w"), Value(0.1, "b")
    (w * 2.0 + b).backward()
    assert_grads_equal([w, b], {"w": 2.0, "b": 1.0})
    with pytest.raises(ValueError, match=r"no engine value for \['c'\]"):
        assert_grads_equal([w, b], {"w": 2.0, "b": 1.0, "c": 0.0})  # an extra formula name
    with pytest.raises(ValueError, match=r"no formula for \['b'\]"):
        assert_grads_equal([w, b], {"w": 2.0})
    with pytest.raises(AssertionError, match="1 of 2 gradients disagree"):
        assert_grads_equal([w, b], {"w": 2.0, "b": 1.0 + 1e-6})  # rtol 1e-7 catches 1e-6


# --- a wrong gradient near a kink, at tiny scales (#20 item 1, for gradcheck) ---------------------


def relu_slope(x: float) -> float:
    """d relu/dx by hand: 1 right of the kink, 0 left of it (and 0 at it, as the engine)."""
    return 1.0 if x > 0 else 0.0


TINY = [1e-6, -1e-6, 3e-7, -5e-7, 1e-300, -1e-300, 2.5e-308]


@pytest.mark.parametrize("x", TINY)
@pytest.mark.parametrize(
    "wrong",
    [lambda t: 1.0 - relu_slope(t), lambda t: 0.5, lambda t: 2.0 * relu_slope(t) + 0.01],
    ids=["sides swapped", "one half", "doubled"],
)
def test_a_wrong_relu_derivative_next_to_the_kink_is_a_mismatch(
    patch_rule, x: float, wrong: Callable[[float], float]
) -> None:
    # the kink at 0 is nearer than 2h = 2e-6, so the default step spans it; the point itself
    # is smooth, so a finer step checks it: the wrong derivative must not pass as "not checked"
    patch_rule("relu", lambda t: (max(t, 0.0), (wrong(t),)))
    assert Value(x).relu().local_grads == (wrong(x),)
    result = gradcheck(lambda v: v.relu(), [x])
    (check,) = result.checks
    assert check.status == "mismatch", result.report()
    assert not result and "FAILED" in result.report()
    assert check.numeric == pytest.approx(relu_slope(x), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("x", TINY)
def test_the_real_relu_next_to_the_kink_is_never_a_mismatch(x: float) -> None:
    result = gradcheck(lambda v: v.relu(), [x])
    assert result.ok and result.checks[0].status in ("ok", "kink"), result.report()


def test_at_the_kink_itself_nothing_is_checked_even_with_a_wrong_rule(patch_rule) -> None:
    # relu at 0 has no derivative: any number from backward() is "not checked", not failed
    patch_rule("relu", lambda t: (max(t, 0.0), (0.25,)))
    result = gradcheck(lambda v: v.relu(), [0.0])
    assert [c.status for c in result.checks] == ["kink"]
    assert "has a kink at x" in result.report()


_tiny_offsets = st.builds(
    lambda sign, mantissa, exponent: sign * mantissa * 10.0**-exponent,
    st.sampled_from([1.0, -1.0]),
    st.floats(1.0, 9.99),
    st.integers(1, 300),
)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=_tiny_offsets, error=st.sampled_from([0.5, -1.0, 1e-2, 3.0]),
       shape=st.sampled_from(["relu", "abs", "shifted"]))
def test_gradcheck_never_passes_a_wrong_kink_derivative_at_any_scale(
    patch_rule, offset: float, error: float, shape: str
) -> None:
    """relu's rule is off by ``error`` everywhere; gradcheck must flag it wherever f is smooth.

    Oracles by hand: relu(x)' = [x > 0]; |x| = relu(x) + relu(−x) has slope
    sign(x); relu(x − 1)' = [x > 1]. The point is ``offset`` from the kink,
    10⁻¹ to 10⁻³⁰⁰ away (for the shifted kink, only as near as floats at 1
    allow).
    """
    # off by error left of the kink and 2·error right of it: no sum of slopes cancels it
    patch_rule("relu", lambda t: (max(t, 0.0), (relu_slope(t) + error * (1 + (t > 0)),)))
    if shape == "relu":
        fn, x, true = (lambda v: v.relu()), offset, relu_slope(offset)
    elif shape == "abs":
        fn, x, true = (lambda v: v.relu() + (-v).relu()), offset, math.copysign(1.0, offset)
    else:
        if abs(offset) < 1e-12:
            offset = math.copysign(1e-12, offset)  # 1 + offset must stay off the kink at 1
        fn, x, true = (lambda v: (v - 1.0).relu()), 1.0 + offset, float(offset > 0)
    result = gradcheck(fn, [x])
    (check,) = result.checks
    assert abs(check.analytic - true) > 1e-3  # the engine is wrong here, by construction
    assert check.status == "mismatch", result.report()
    assert not result.ok
