"""Tests of scalargrad.testing.derivation: check_derivative against the notes' derivations.

Every "right" formula here is derived by hand from the notes (chain rule on
``C_0 = (a^(L) − y)²``, ``a^(L) = σ(z^(L))``, ``z^(L) = w^(L) a^(L−1) + b^(L)``,
``σ' = σ(1 − σ)``) and every "wrong" one is a mistake students make. The
claimed and engine values at a counterexample are recomputed here with
plain ``math`` as an independent oracle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalargrad import Value
from scalargrad.parse import ParseError, parse
from scalargrad.testing import CheckArgumentError, DerivativeCheck, check_derivative
from scalargrad.testing.derivation import ATOL, DEFAULT_RANGE, RTOL, pick_seed

# --- the notes' chain (one layer and two layers) and a two-neuron layer ----------------

ONE = "(sigmoid(w*a + b) - y)**2"  # C_0 with a = a^(L−1), w = w^(L), b = b^(L)
S = "sigmoid(w*a + b)"  # a^(L) = σ(z^(L))
SP = f"{S}*(1 - {S})"  # σ'(z^(L)) = σ(z)(1 − σ(z))

TWO = "(sigmoid(w2*sigmoid(w1*x + b1) + b2) - y)**2"  # L = 2, a^(0) = x
A1 = "sigmoid(w1*x + b1)"
A2 = f"sigmoid(w2*{A1} + b2)"
SP2 = f"{A2}*(1 - {A2})"

# Two output neurons j = 0, 1 fed by one a_k^(L−1) = a: C_0 = Σ_j (a_j^(L) − y_j)²
LAYER = "(sigmoid(w0*a + b0) - y0)**2 + (sigmoid(w1*a + b1) - y1)**2"


def term(j: int) -> str:  # ∂C_0/∂z_j^(L) · w_j: one term of the sum over j
    s = f"sigmoid(w{j}*a + b{j})"
    return f"2*({s} - y{j})*{s}*(1 - {s})*w{j}"


RIGHT = {
    "∂C0/∂w^(L)": (ONE, "w", f"2*({S} - y)*{SP}*a"),
    "∂C0/∂b^(L)": (ONE, "b", f"2*({S} - y)*{SP}"),
    "∂C0/∂a^(L-1)": (ONE, "a", f"2*({S} - y)*{SP}*w"),
    "∂C0/∂y": (ONE, "y", f"-2*({S} - y)"),
    "two layers ∂C0/∂w^(2)": (TWO, "w2", f"2*({A2} - y)*{SP2}*{A1}"),
    "two layers ∂C0/∂w^(1)": (
        TWO, "w1", f"2*({A2} - y)*{SP2}*w2*{A1}*(1 - {A1})*x"),
    "sum over j": (LAYER, "a", f"{term(0)} + {term(1)}"),
}

WRONG = {
    "forgot σ'(z)": (ONE, "w", f"2*({S} - y)*a"),
    "σ(z) for σ'(z)": (ONE, "w", f"2*({S} - y)*{S}*a"),
    "dropped the 2": (ONE, "w", f"({S} - y)*{SP}*a"),
    "sign error in (a − y)": (ONE, "w", f"2*(y - {S})*{SP}*a"),
    "a^(L) instead of a^(L−1)": (TWO, "w2", f"2*({A2} - y)*{SP2}*{A2}"),
    "one term, not the sum over j": (LAYER, "a", term(0)),
}


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def hand_one(w: float, a: float, b: float, y: float) -> dict[str, float]:
    """The notes' derivatives of the one-layer C_0, in plain floats."""
    s = sig(w * a + b)
    dz = 2 * (s - y) * s * (1 - s)
    return {"w": dz * a, "b": dz, "a": dz * w, "y": -2 * (s - y)}


def at(formula: str, point: Mapping[str, float]) -> float:
    """A formula's value at a point (forward evaluation only; no backward pass)."""
    expression = parse(formula)
    return expression.evaluate({n: point[n] for n in expression.variables})[0].data


def simple(point: Mapping[str, float], ranges: Mapping[str, tuple[float, float]]) -> bool:
    """Every value is within 1e-9 of an integer or of its range's ends."""
    return all(
        abs(v - round(v)) < 1e-9 or min(abs(v - lo), abs(v - hi)) < 1e-9
        for v, (lo, hi) in ((point[n], ranges[n]) for n in point)
    )


@pytest.mark.parametrize("name", list(RIGHT))
def test_the_right_formulas_hold(name: str) -> None:
    f, wrt, claim = RIGHT[name]
    result = check_derivative(f, wrt, claim, seed=1)
    assert result.ok and bool(result) and result.verdict == "holds", result.report()
    assert 190 <= result.points_checked <= 200 and result.skipped == 0  # distinct points
    assert result.counterexample is None and result.explanation == ""
    result.assert_ok()
    assert f"holds at {result.points_checked} points" in result.report()
    assert "seed 1)" in result.report()


@pytest.mark.parametrize("name", list(WRONG))
def test_each_common_wrong_derivation_is_caught_at_a_simple_point(name: str) -> None:
    f, wrt, claim = WRONG[name]
    result = check_derivative(f, wrt, claim, seed=1)
    assert not result and result.verdict == "fails"
    point = result.counterexample
    assert point is not None and set(point) == set(result.ranges)
    assert simple(point, result.ranges), point
    # the reported numbers are the claim and the true derivative at that point
    right = {RIGHT[k][1]: RIGHT[k] for k in RIGHT if RIGHT[k][0] == f}[wrt][2]
    assert result.actual == pytest.approx(at(right, point), rel=1e-9, abs=1e-12)
    assert result.claimed == pytest.approx(at(claim, point), rel=1e-9, abs=1e-12)
    assert result.actual is not None and result.claimed is not None
    assert abs(result.claimed - result.actual) > RTOL * abs(result.actual)
    report = result.report()
    assert "FAILS at" in report and "your formula gives" in report and "the engine gives" in report
    assert "The engine's chain rule at this point" in report
    with pytest.raises(AssertionError, match="FAILS at"):
        result.assert_ok()


def test_forgetting_sigma_prime_reports_hand_checked_numbers_and_the_factor() -> None:
    result = check_derivative(ONE, "w", f"2*({S} - y)*a", seed=3)
    point = result.counterexample
    assert point is not None
    w, a, b, y = (point[n] for n in "wab" + "y")
    s = sig(w * a + b)
    assert result.claimed == pytest.approx(2 * (s - y) * a, rel=1e-12, abs=1e-15)
    assert result.actual == pytest.approx(hand_one(w, a, b, y)["w"], rel=1e-12, abs=1e-15)
    # the explanation shows the three factors, σ' among them, at this point
    assert "σ'(w·a + b)" in result.explanation
    assert result.explanation.splitlines()[0].startswith("∂f/∂w = ")
    # the simplest point: σ'(0) = 1/4 makes the missing factor visible
    assert a != 0 and s != y


def test_one_term_instead_of_the_sum_over_j_names_both_paths() -> None:
    result = check_derivative(LAYER, "a", term(0), seed=2)
    assert result.verdict == "fails" and result.counterexample is not None
    assert "w1" in result.explanation and "w0" in result.explanation  # both j paths listed
    p = result.counterexample
    s1 = sig(p["w1"] * p["a"] + p["b1"])
    missing = 2 * (s1 - p["y1"]) * s1 * (1 - s1) * p["w1"]  # the forgotten j = 1 term
    assert result.actual - result.claimed == pytest.approx(missing, rel=1e-9, abs=1e-12)


def test_functions_instead_of_strings() -> None:
    def cost(w: Value, a: Value, b: Value, y: Value) -> Value:
        return ((w * a + b).sigmoid() - y).square()

    def claim(w: float, a: float, b: float, y: float) -> float:
        return hand_one(w, a, b, y)["w"]

    assert check_derivative(cost, "w", claim, seed=0).ok
    # a claim may use fewer names than f; here it forgot σ'
    wrong = check_derivative(cost, "w", lambda a, b, w, y: 2 * (sig(w * a + b) - y) * a, seed=0)
    assert wrong.verdict == "fails" and wrong.expression == "cost"
    assert wrong.claim == "the claim function"
    # keyword-only and **kwargs parameters work too
    assert check_derivative(lambda *, x: x * x, "x", lambda **v: 2 * v["x"], seed=0).ok


def test_ranges_fix_and_narrow_variables() -> None:
    result = check_derivative(ONE, "w", f"2*({S} - y)*{SP}*a",
                              ranges={"y": 1, "a": (0.5, 2.0)}, examples=50, seed=0)
    assert result.ok and result.ranges == {
        "w": DEFAULT_RANGE, "a": (0.5, 2.0), "b": DEFAULT_RANGE, "y": (1.0, 1.0)}
    assert "y = 1" in result.report() and "a in [0.5, 2]" in result.report()
    # a failure inside a range that excludes 0 shrinks to an integer or an end of it
    bad = check_derivative("x**3", "x", "3*x", ranges={"x": (1.5, 4.0)}, seed=0)
    assert bad.counterexample is not None and simple(bad.counterexample, bad.ranges)
    assert 1.5 <= bad.counterexample["x"] <= 4.0


# --- domain skips --------------------------------------------------------------------------


def test_points_outside_the_domain_are_skipped_and_counted_never_counterexamples() -> None:
    right = check_derivative("log(x)*y", "x", "y/x", ranges={"x": (-1.0, 3.0)}, seed=0)
    assert right.ok and right.skipped > 0
    assert 190 <= right.points_checked + right.skipped <= 200
    assert f"{right.skipped} skipped" in right.report()
    # a wrong claim is found among the defined points, never at a skipped one
    wrong = check_derivative("log(x)*y", "x", "1/x", ranges={"x": (-1.0, 3.0)}, seed=0)
    assert wrong.verdict == "fails" and wrong.counterexample is not None
    assert wrong.counterexample["x"] > 0 and wrong.counterexample["y"] != 1


def test_a_claim_undefined_where_f_is_defined_is_skipped_too() -> None:
    result = check_derivative("x*x", "x", "2*x*x/x", ranges={"x": (-1.0, 1.0)}, seed=0)
    assert result.ok
    zero = check_derivative("x*x", "x", "2*x*x/x", ranges={"x": 0}, seed=0)
    assert zero.verdict == "inconclusive" and zero.skipped == 1 and zero.points_checked == 0


def test_too_many_skips_is_its_own_verdict() -> None:
    result = check_derivative("log(x)", "x", "1/x", ranges={"x": (-3.0, 0.5)}, seed=0)
    assert result.verdict == "inconclusive" and not result.ok
    assert result.skipped > result.points_checked
    assert "inconclusive" in result.report() and "Give ranges inside the domain" in (
        result.report())
    with pytest.raises(AssertionError, match="inconclusive"):
        result.assert_ok()


def test_a_kink_is_never_the_counterexample() -> None:
    # relu(x) has no derivative at 0, where Hypothesis would shrink first; the
    # counterexample to the claim "1" is a point where relu really has slope 0
    wrong = check_derivative("relu(x)", "x", "1", seed=0)
    assert wrong.verdict == "fails" and wrong.counterexample is not None
    x = wrong.counterexample["x"]
    assert x < 0 and abs(x - round(x)) < 1e-9 and (wrong.claimed, wrong.actual) == (1.0, 0.0)
    wrong_at_0 = check_derivative("relu(x)*y", "x", "y", ranges={"x": 0}, seed=0)
    assert wrong_at_0.verdict == "inconclusive"  # y ≠ 0: a kink at every drawn point
    assert wrong_at_0.skipped > wrong_at_0.points_checked
    # the kink of relu(w·a + b) in w is at w·a + b = 0: a counterexample stays off it
    forgot = check_derivative("relu(w*a + b)", "w", "w*0 + a", seed=0)
    assert forgot.counterexample is not None
    p = forgot.counterexample
    assert p["w"] * p["a"] + p["b"] < 0
    # a right claim holds on both sides of the kink
    assert check_derivative("relu(x)**2", "x", "2*relu(x)", seed=0)


def test_a_wrong_claim_on_a_large_smooth_function_is_not_mistaken_for_a_kink() -> None:
    result = check_derivative("x**3 + 1000000", "x", "3*x**2*1.000001", seed=0)
    assert result.verdict == "fails" and result.skipped == 0


# --- tolerance -----------------------------------------------------------------------------


def test_tolerance_is_tight_enough_to_catch_a_one_in_a_million_error() -> None:
    # a claim 1e-6 relatively wrong fails (a 100× looser rtol would let it through)
    assert not check_derivative("x**3", "x", "3*x**2*1.000001", seed=0)
    # ... and 1e-8 relatively off passes: within RTOL
    assert check_derivative("x**3", "x", "3*x**2*1.00000001", seed=0)
    assert RTOL == 1e-7 and ATOL == 1e-10


def test_tolerance_forgives_rounding_and_exact_zeros() -> None:
    # the claim is computed in another order with cancellation; the true value is often 0
    assert check_derivative("x*x - 2*x*y + y*y", "x", "2*x - 2*y", seed=0)
    assert check_derivative("exp(x)*exp(-x)", "x", "0", seed=0)
    # an absolute error of 1e-6 on a derivative that is exactly 0 is caught
    assert not check_derivative("exp(x)*exp(-x)", "x", "0.000001", seed=0)


# --- determinism and the seed ------------------------------------------------------------


def test_same_seed_same_result_and_ci_uses_seed_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    first = check_derivative(ONE, "w", f"2*({S} - y)*a", seed=7)
    again = check_derivative(ONE, "w", f"2*({S} - y)*a", seed=7)
    assert first == again and first.seed == 7
    monkeypatch.setenv("CI", "true")
    assert pick_seed() == 0 and check_derivative("x*x", "x", "2*x").seed == 0
    monkeypatch.delenv("CI")
    seeds = {pick_seed() for _ in range(5)}
    assert len(seeds) > 1  # random without CI, and reported so a run can be repeated


def test_examples_bounds_the_number_of_points() -> None:
    assert check_derivative("x*x", "x", "2*x", examples=17, seed=0).points_checked == 17
    assert check_derivative("x*y", "x", "y", ranges={"x": 1, "y": 2}).points_checked == 1


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("x*x", "y", "2*x"), {}, CheckArgumentError, r"wrt='y' is not a variable .*it uses x"),
        (("x*x", "x", "2*q"), {}, CheckArgumentError, r"the claim uses q, which the expression"),
        (("x*x", "x", "2*x"), {"ranges": {"q": 1}}, CheckArgumentError, r"ranges names 'q'"),
        (("x*x", "x", "2*x"), {"ranges": {"x": (2, 1)}}, CheckArgumentError, r"empty: lo = 2"),
        (("x*x", "x", "2*x"), {"ranges": {"x": (0, math.inf)}}, CheckArgumentError, "finite"),
        (("x*x", "x", "2*x"), {"ranges": {"x": "0..1"}}, CheckArgumentError, r"\(lo, hi\)"),
        (("x*x", "x", "2*x"), {"ranges": [1]}, CheckArgumentError, "must map names"),
        (("x*x", "x", "2*x"), {"examples": 0}, CheckArgumentError, "examples must be"),
        (("x*x", "x", "2*x"), {"seed": "s"}, CheckArgumentError, "seed must be an int"),
        (("x*x", "x", 3), {}, CheckArgumentError, "claim must be an expression string"),
        (("x*", "x", "2*x"), {}, ParseError, "invalid syntax"),
        (("x*x", "x", "import os"), {}, ParseError, "invalid syntax"),
        ((lambda x: 1.0, "x", "2*x"), {}, CheckArgumentError, "f must return a Value"),
        ((lambda x: x * x, "x", lambda x: "two"), {}, CheckArgumentError,
         "claim must return a number"),
        ((lambda x: x.nope(), "x", "2*x"), {}, CheckArgumentError, "raised AttributeError"),
    ],
)
def test_bad_input_gets_a_clear_error(args: tuple[object, ...], kwargs: dict[str, object],
                                      error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        check_derivative(*args, **kwargs)  # type: ignore[arg-type]


def test_result_fields() -> None:
    r = check_derivative("x*x", "x", "x", ranges={"x": (1.0, 2.0)}, seed=0)
    assert isinstance(r, DerivativeCheck)
    assert r.counterexample == {"x": 1.0} and (r.claimed, r.actual) == (1.0, 2.0)
    assert r.expression == "x*x" and r.wrt == "x" and r.claim == "x" and r.examples == 200
    assert r.explanation.startswith("∂f/∂x = ")  # x·x: two paths, one per edge


# --- kinks near tiny numbers: never "holds" for a claim false where it was checked ---------


@pytest.mark.parametrize("lo, hi", [(-1e-6, 1e-6), (-1e-300, 1e-300), (-1e-12, 2e-12)])
def test_a_tiny_range_around_a_kink_is_no_excuse_for_a_wrong_claim(lo: float, hi: float) -> None:
    # relu(x) at x = -1e-7 has slope 0 (x < 0 all the way to x/2): "1" is false there, so
    # the verdict must not be "holds" (it was, for every point within 1e-4 of the kink)
    for seed in (0, 3):
        result = check_derivative("relu(x)", "x", "1", ranges={"x": (lo, hi)}, seed=seed)
        assert result.verdict == "fails", result.report()
        assert result.counterexample is not None and result.counterexample["x"] < 0
        assert (result.claimed, result.actual) == (1.0, 0.0)
    # the right claim, relu' = [x > 0], holds there (x = 0, the kink itself, is skipped)
    right = check_derivative("relu(x)", "x", lambda x: 1.0 if x > 0 else 0.0,
                             ranges={"x": (lo, hi)}, seed=3)
    assert right.ok, right.report()


def test_a_kink_that_rounding_hides_is_inconclusive_never_holds() -> None:
    # 3 + relu(x − 0.5): the rounding of f ≈ 3 hides steps below ~1e-13, so a point 1e-15
    # from the kink cannot be told from the kink; a claim false there is not "held"
    result = check_derivative("3 + relu(x - 0.5)", "x", lambda x: 1.0,
                              ranges={"x": (0.5 - 1e-15, 0.5 + 1e-15)}, seed=0)
    assert result.verdict in ("fails", "inconclusive") and not result.ok
    if result.verdict == "inconclusive":
        assert result.unresolved > 0 and "cannot be told from a point next to one" in (
            result.report())
    # without the constant the same points are resolved: the kink is exactly at 0.5
    exact = check_derivative("relu(x - 0.5)", "x", lambda x: 1.0,
                             ranges={"x": (0.5 - 1e-15, 0.5 + 1e-15)}, seed=0)
    assert exact.verdict == "fails" and exact.counterexample is not None
    assert exact.counterexample["x"] < 0.5


def _branch_abs(c: float) -> object:
    def f(x: Value) -> Value:  # |x − c| by a Python branch: a kink the engine has no rule for
        u = x - c
        return u if u.data >= 0 else -u
    return f


@given(
    kind=st.sampled_from(["relu", "abs"]),
    c=st.sampled_from([0.0, 0.5, -2.0, 1e-7, -1e-300]) | st.floats(-3, 3),
    a=st.sampled_from([1.0, -2.5, 1e-3]),
    b=st.sampled_from([0.0, 1.0, -0.75]),
    d=st.sampled_from([0.0, 3.0, -0.5, 1e6]),
    left=st.sampled_from([1e-300, 1e-15, 1e-12, 1e-6, 1.0]),
    right=st.sampled_from([1e-300, 1e-15, 1e-12, 1e-6, 1.0]),
    wrong=st.sampled_from(["right slope", "left slope", "off by 1e-3 left"]),
    seed=st.integers(0, 3),
)
@settings(max_examples=100, suppress_health_check=[HealthCheck.nested_given])
def test_check_never_holds_for_a_claim_false_at_a_point_it_drew(
    kind: str, c: float, a: float, b: float, d: float, left: float, right: float, wrong: str,
    seed: int,
) -> None:
    # f = d + a·k(x − c) + b·x with k = relu or |·|; its derivative, by hand:
    #   relu: b + a·[x > c],  abs: b + a·sign(x − c),  none at x = c.
    # x − c is exact in sign (x = c exactly when x − c = 0), so this is the true derivative.
    def true(x: float) -> float:
        if kind == "relu":
            return b + (a if x > c else 0.0)
        return b + (a if x > c else -a)

    slope_right, slope_left = b + a, b + (0.0 if kind == "relu" else -a)
    seen: list[float] = []

    def claimed(x: float) -> float:
        if wrong == "right slope":
            return slope_right
        if wrong == "left slope":
            return slope_left
        return true(x) * (1.001 if x < c else 1.0)

    def claim(x: float) -> float:
        seen.append(x)
        return claimed(x)

    if kind == "relu":
        f: object = f"{d!r} + {a!r}*relu(x - {c!r}) + {b!r}*x"
    else:
        inner = _branch_abs(c)

        def f(x: Value) -> Value:
            return d + a * inner(x) + b * x  # type: ignore[operator, no-any-return]

    lo, hi = c - left, c + right
    result = check_derivative(f, "x", claim, ranges={"x": (lo, hi)}, examples=40, seed=seed)
    if result.verdict != "holds":
        return
    for x in seen:  # every point the checker evaluated the claim at, skipped ones included
        if x == c:
            continue  # the kink: no derivative to disagree with
        cl, tr = claimed(x), true(x)
        allowed = RTOL * max(abs(cl), abs(tr)) + ATOL * max(1.0, abs(cl), abs(tr), abs(x))
        assert abs(cl - tr) <= allowed, (x, cl, tr, result.report())


def test_the_report_says_how_many_points_were_checked_and_why_not_all() -> None:
    # seed 3 draws one point twice: 199 distinct of 200, and the report says so
    result = check_derivative("x*x", "x", "2*x", seed=3)
    assert result.ok and result.drawn == 200
    distinct = result.points_checked + result.skipped
    text = result.report()
    if distinct < 200:
        k = 200 - distinct
        assert f"{distinct} distinct of the 200 asked for" in text
        assert f"{k} draw{'s' * (k != 1)} repeated a point already drawn" in text
    # a range with only a few floats in it: Hypothesis stops early, and the report says why
    few = check_derivative("x*y", "x", "y", ranges={"x": (1.0, 1.0000000000000004), "y": 2})
    assert few.ok and few.points_checked + few.skipped <= 3
    assert "having drawn every point it makes from these ranges" in few.report()
    fixed = check_derivative("x*y", "x", "y", ranges={"x": 1, "y": 2})
    assert "every variable is fixed: there is one point to check" in fixed.report()


def test_the_kink_test_reaches_the_spacing_of_floats() -> None:
    """``kink_at`` on plain float functions, against where the kinks are by construction."""
    from scalargrad.testing.derivation import kink_at

    relu = lambda t: max(t, 0.0)  # noqa: E731
    assert kink_at(abs, 0.0)[0] == "kink"  # the slopes −1 and 1 differ at every step
    assert kink_at(relu, 0.0)[0] == "kink"
    for x in (1e-6, -1e-6, 1e-300, -1e-300):  # the kink is |x| away: found smooth at x
        verdict, step = kink_at(relu, x)
        assert verdict == "smooth" and 0 < step < abs(x)
    # 3 + relu(t) rounds away everything below ~1e-16: a kink within that cannot be seen
    assert kink_at(lambda t: 3.0 + relu(t), 1e-20)[0] == "unresolved"
    assert kink_at(lambda t: (t - 0.5) ** 2, 0.5)[0] == "smooth"
