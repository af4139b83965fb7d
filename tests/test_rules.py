"""Tests of :mod:`scalargrad.rules`: the table's names, lookups, formula text and raw forwards.

Expected texts and numbers are written out by hand here; the engine-level checks
of every op's value and derivative are in ``test_engine.py``.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scalargrad
from scalargrad.rules import CONSTANT, RULES, DomainError, Rule, pow_rule, rule

ALL_OPS = {
    "add", "sub", "mul", "div", "neg", "square", "sigmoid", "tanh", "relu", "exp", "log", "sum",
}
ARITY = {
    "add": 2, "sub": 2, "mul": 2, "div": 2, "neg": 1, "square": 1, "sigmoid": 1, "tanh": 1,
    "relu": 1, "exp": 1, "log": 1, "sum": None,
}
PLACEHOLDERS = ("{x}", "{y}", "{out}", "{c}", "{c-1}", "{all}")


def every_rule() -> list[Rule]:
    return [*RULES.values(), pow_rule(2), pow_rule(0.5), pow_rule(-1)]


# --------------------------------------------------------------------------- the table


def test_rule_names() -> None:
    assert set(RULES) == ALL_OPS
    for name, r in RULES.items():
        assert r.name == name
        assert isinstance(r, Rule)
        assert r.symbol  # something to draw
        assert r.exponent is None
    assert scalargrad.RULES is RULES


@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_arity(name: str) -> None:
    assert RULES[name].arity == ARITY[name]


@pytest.mark.parametrize("r", every_rule(), ids=lambda r: f"{r.name}{r.exponent or ''}")
def test_one_formula_per_input(r: Rule) -> None:
    expected = 1 if r.arity is None else r.arity  # sum: one template shared by all inputs
    assert len(r.formulas) == expected
    assert len(r.latex) == expected
    n = 5 if r.arity is None else r.arity
    for i in range(n):
        assert r.formula(i) == r.formulas[0 if r.arity is None else i]
        assert r.formula(i, latex=True) == r.latex[0 if r.arity is None else i]
    assert r.expr and r.expr_latex


@pytest.mark.parametrize("r", every_rule(), ids=lambda r: f"{r.name}{r.exponent or ''}")
def test_templates_render_without_leftover_placeholders(r: Rule) -> None:
    names = ["p", "q", "s"] if r.arity is None else ["p", "q"][: r.arity]
    for template in (r.expr, r.expr_latex, *r.formulas, *r.latex):
        text = r.render(template, names, "o")
        assert not any(key in text for key in PLACEHOLDERS), (template, text)


def test_rule_lookup() -> None:
    assert rule("mul") is RULES["mul"]
    assert rule("sigmoid") is RULES["sigmoid"]


def test_unknown_rule_lists_the_valid_names() -> None:
    with pytest.raises(KeyError) as info:
        rule("sigmod")
    msg = str(info.value)
    assert "'sigmod'" in msg
    for name in [*ALL_OPS, "pow"]:
        assert f"'{name}'" in msg


def test_rules_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES["add"].name = "plus"  # type: ignore[misc]


def test_constant_marker() -> None:
    assert CONSTANT not in RULES.values()
    assert CONSTANT.name == "" and CONSTANT.arity == 0
    assert CONSTANT.formulas == ()
    with pytest.raises(TypeError, match="constant"):
        CONSTANT.forward()


def test_domain_error_is_a_value_error() -> None:
    assert issubclass(DomainError, ValueError)
    assert scalargrad.DomainError is DomainError


# --------------------------------------------------------------------------- formula text

EXPR = {
    "add": "x + y", "sub": "x − y", "mul": "x·y", "div": "x/y", "neg": "−x", "square": "x²",
    "sigmoid": "σ(x)", "tanh": "tanh(x)", "relu": "relu(x)", "exp": "exp(x)", "log": "log(x)",
}
# ∂out/∂input_i written by hand, with inputs named x, y and the output named out.
FORMULAS = {
    "add": ("1", "1"), "sub": ("1", "−1"), "mul": ("y", "x"), "div": ("1/y", "−x/y²"),
    "neg": ("−1",), "square": ("2x",), "sigmoid": ("σ'(x)",), "tanh": ("1 − out²",),
    "relu": ("[x > 0]",), "exp": ("exp(x)",), "log": ("1/x",),
}


@pytest.mark.parametrize("name", sorted(EXPR))
def test_expression_text(name: str) -> None:
    r = RULES[name]
    assert r.render(r.expr, ["x", "y"][: r.arity]) == EXPR[name]


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_derivative_text(name: str) -> None:
    r = RULES[name]
    rendered = tuple(r.render(f, ["x", "y"][: r.arity], "out") for f in r.formulas)
    assert rendered == FORMULAS[name]


def test_sum_text() -> None:
    r = RULES["sum"]
    names = ["w_00^(1)·a_0^(0)", "w_01^(1)·a_1^(0)", "b_0^(1)"]
    assert r.render(r.expr, names) == "w_00^(1)·a_0^(0) + w_01^(1)·a_1^(0) + b_0^(1)"
    assert r.render(r.formula(2), names) == "1"


def test_render_parenthesises_compound_names() -> None:
    square, mul, sub = RULES["square"], RULES["mul"], RULES["sub"]
    # The notes' ∂C_0/∂a^(L) = 2(a^(L) − y).
    assert square.render(square.formulas[0], ["a^(L) − y"]) == "2(a^(L) − y)"
    assert square.render(square.expr, ["a^(L) − y"]) == "(a^(L) − y)²"
    assert square.render(square.expr, ["x·x"]) == "(x·x)²"
    assert mul.render(mul.expr, ["x + y", "z"]) == "(x + y)·z"
    assert sub.render(sub.expr, ["x", "y − z"]) == "x − (y − z)"
    assert RULES["div"].render(RULES["div"].expr, ["x", "a/b"]) == "x/(a/b)"
    assert RULES["neg"].render(RULES["neg"].expr, ["−x"]) == "−(−x)"


def test_render_leaves_atoms_alone() -> None:
    mul = RULES["mul"]
    # Labels in the notes' notation are atoms: parentheses belong to the superscript.
    assert mul.render(mul.expr, ["w^(L)", "a^(L-1)"]) == "w^(L)·a^(L-1)"
    assert mul.render(mul.expr, ["w_jk^(l)", "σ(z)"]) == "w_jk^(l)·σ(z)"
    assert RULES["square"].render(RULES["square"].expr, ["σ(z)"]) == "σ(z)²"


def test_render_needs_no_second_pair_of_parentheses() -> None:
    sig = RULES["sigmoid"]
    assert sig.render(sig.expr, ["a + b"]) == "σ(a + b)"
    assert sig.render(sig.formulas[0], ["z^(L)"]) == "σ'(z^(L))"


def test_render_fills_the_output_name() -> None:
    tanh = RULES["tanh"]
    assert tanh.render(tanh.formulas[0], ["z"], "a^(1)") == "1 − a^(1)²"
    assert tanh.render(tanh.latex[0], ["z"], "t") == "1 - t^2"


# --------------------------------------------------------------------------- pow rules


def test_pow_rule_is_cached_per_exponent() -> None:
    assert pow_rule(2) is pow_rule(2.0)
    assert pow_rule(3) is not pow_rule(2)
    assert pow_rule(0.5) is pow_rule(0.5)
    r = pow_rule(3)
    assert (r.name, r.arity, r.exponent) == ("pow", 1, 3.0)
    assert "pow" not in RULES  # pow rules live beside the table, one per exponent


@pytest.mark.parametrize(
    ("c", "expr", "formula", "latex"),
    [
        (3, "x^3", "3·x^2", "3x^{2}"),
        (0.5, "x^0.5", "0.5·x^-0.5", "0.5x^{-0.5}"),
        (-1, "x^-1", "-1·x^-2", "-1x^{-2}"),
        (2.5, "x^2.5", "2.5·x^1.5", "2.5x^{1.5}"),
    ],
)
def test_pow_text(c: float, expr: str, formula: str, latex: str) -> None:
    r = pow_rule(c)
    assert r.render(r.expr, ["x"]) == expr
    assert r.render(r.formulas[0], ["x"]) == formula
    assert r.render(r.latex[0], ["x"]) == latex
    assert str(c) in r.symbol or f"{c:g}" in r.symbol


def test_pow_text_with_a_compound_base() -> None:
    r = pow_rule(3)
    assert r.render(r.expr, ["a·b"]) == "(a·b)^3"
    assert r.render(r.formulas[0], ["a − y"]) == "3·(a − y)^2"


def test_square_power_derivative_reads_like_square() -> None:
    r = pow_rule(2)
    assert r.render(r.formulas[0], ["x"]) == "2x"  # as square's 2x: no dot, no ^1
    assert r.render(r.formulas[0], ["a − y"]) == "2(a − y)"
    assert r.render(r.formulas[0], ["σ(z)"]) == "2σ(z)"
    assert r.render(r.latex[0], ["a - y"]) == "2(a - y)"


# --------------------------------------------------------------------------- raw forwards


@pytest.mark.parametrize(
    ("name", "xs", "out", "grads"),
    [
        ("add", (2.0, 3.0), 5.0, (1.0, 1.0)),
        ("sub", (2.0, 3.0), -1.0, (1.0, -1.0)),
        ("mul", (2.0, 3.0), 6.0, (3.0, 2.0)),
        ("div", (3.0, 2.0), 1.5, (0.5, -0.75)),  # −x/y² = −3/4
        ("neg", (2.0,), -2.0, (-1.0,)),
        ("square", (-3.0,), 9.0, (-6.0,)),
        ("sigmoid", (0.0,), 0.5, (0.25,)),
        ("tanh", (0.0,), 0.0, (1.0,)),
        ("relu", (-2.0,), 0.0, (0.0,)),
        ("relu", (0.0,), 0.0, (0.0,)),
        ("relu", (2.0,), 2.0, (1.0,)),
        ("exp", (0.0,), 1.0, (1.0,)),
        ("log", (1.0,), 0.0, (1.0,)),
        ("sum", (1.0, 2.0, 3.5), 6.5, (1.0, 1.0, 1.0)),
    ],
)
def test_known_values(
    name: str, xs: tuple[float, ...], out: float, grads: tuple[float, ...]
) -> None:
    assert RULES[name].forward(*xs) == (out, grads)


def test_pow_forward_known_values() -> None:
    assert pow_rule(2).forward(-3.0) == (9.0, (-6.0,))
    assert pow_rule(3).forward(-2.0) == (-8.0, (12.0,))
    assert pow_rule(-1).forward(4.0) == (0.25, (-1 / 16,))
    assert pow_rule(0.5).forward(4.0) == (2.0, (0.25,))
    assert pow_rule(0).forward(0.0) == (1.0, (0.0,))


@given(x=st.floats(min_value=-50, max_value=50))
def test_sigmoid_derivative_is_sigma_times_one_minus_sigma(x: float) -> None:
    s, (ds,) = RULES["sigmoid"].forward(x)
    sigma = 1.0 / (1.0 + math.exp(-x))  # the notes' φ(z) = 1/(1 + e^−z)
    # The naive 1 − σ has an absolute error of ~1e-16, hence abs_tol.
    assert math.isclose(s, sigma, rel_tol=1e-14, abs_tol=1e-300)
    assert math.isclose(ds, sigma * (1.0 - sigma), rel_tol=1e-6, abs_tol=1e-15)


@pytest.mark.parametrize(
    ("name", "xs", "words"),
    [
        ("log", (0.0,), ["log", "0.0"]),
        ("log", (-2.0,), ["log", "-2.0"]),
        ("div", (1.0, 0.0), ["div", "1.0", "0.0", "zero"]),
        ("exp", (710.0,), ["exp", "710.0", "overflow"]),
    ],
)
def test_forward_domain_errors_name_op_and_operands(
    name: str, xs: tuple[float, ...], words: list[str]
) -> None:
    with pytest.raises(DomainError) as info:
        RULES[name].forward(*xs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    ("c", "x", "words"),
    [
        (-1, 0.0, ["pow", "0", "-1", "negative"]),
        (0.5, -2.0, ["pow", "-2.0", "0.5", "not real"]),
        (1 / 3, -8.0, ["pow", "-8.0"]),
        (400, 10.0, ["pow", "overflow"]),
    ],
)
def test_pow_domain_errors(c: float, x: float, words: list[str]) -> None:
    with pytest.raises(DomainError) as info:
        pow_rule(c).forward(x)
    for word in words:
        assert word in str(info.value)


def test_render_brackets_only_what_precedence_needs() -> None:
    add, mul, sub, sq = RULES["add"], RULES["mul"], RULES["sub"], RULES["square"]
    # products bind tighter than sums: no brackets around w·a in w·a + b
    assert add.render(add.expr, ["w·a", "b"]) == "w·a + b"
    assert sub.render(sub.expr, ["σ(w·a + b)", "y"]) == "σ(w·a + b) − y"
    assert sub.render(sub.expr, ["a", "b·c"]) == "a − b·c"
    assert mul.render(mul.expr, ["a·b", "c"]) == "a·b·c"
    # a sum inside a product, a power or after a minus keeps its brackets
    assert mul.render(mul.expr, ["a", "b + c"]) == "a·(b + c)"
    assert sq.render(sq.formulas[0], ["σ(w·a + b) − y"]) == "2(σ(w·a + b) − y)"
    assert RULES["div"].render(RULES["div"].expr, ["a·b", "c·d"]) == "a·b/(c·d)"
    assert RULES["neg"].render(RULES["neg"].expr, ["a + b"]) == "−(a + b)"


def test_affine_rule_text_is_the_notes_weighted_input() -> None:
    from scalargrad.rules import affine_rule

    r = affine_rule(2)
    assert r is affine_rule(2) and r.name == "affine" and r.arity == 5
    names = ["w_00^(2)", "a_0^(1)", "w_01^(2)", "a_1^(1)", "b_0^(2)"]
    assert r.render(r.expr, names) == "w_00^(2)·a_0^(1) + w_01^(2)·a_1^(1) + b_0^(2)"
    # ∂z/∂w_jk = a_k, ∂z/∂a_k = w_jk, ∂z/∂b_j = 1
    rendered = [r.render(r.formula(i), names) for i in range(5)]
    assert rendered == ["a_0^(1)", "w_00^(2)", "a_1^(1)", "w_01^(2)", "1"]
    assert r.forward(2.0, 3.0, -1.0, 4.0, 0.5) == (2.5, (3.0, 2.0, 4.0, -1.0, 1.0))
    with pytest.raises(KeyError, match="affine"):
        rule("affin")


def test_pow_cache_is_bounded() -> None:
    from scalargrad import Value
    from scalargrad import rules as rules_module

    x = Value(1.5)
    outs = [x ** (1.0 + k / 997.0) for k in range(1000)]  # 1000 distinct exponents
    assert len(rules_module._POW_CACHE) <= rules_module._POW_CACHE_SIZE
    # uncached rules still work: value and derivative c·x^(c−1)
    c = 1.0 + 999 / 997.0
    assert math.isclose(outs[-1].data, 1.5**c)
    assert math.isclose(outs[-1].local_grads[0], c * 1.5 ** (c - 1.0))


def test_render_brackets_negations_after_plus_and_products_after_a_number() -> None:
    add, sq = RULES["add"], RULES["square"]
    assert add.render(add.expr, ["a", "−b"]) == "a + (−b)"
    assert add.render(add.expr, ["−b", "a"]) == "−b + a"
    assert add.render(add.expr, ["a", "b + c"]) == "a + b + c"
    assert sq.render(sq.formulas[0], ["x·x"]) == "2(x·x)"
    assert sq.render(sq.formulas[0], ["σ(z)"]) == "2σ(z)"


# ------------------------------------------------- hostile labels and bounded caches (#10)

LABEL_WITH_PLACEHOLDERS = st.lists(
    st.sampled_from([*PLACEHOLDERS, "{0}", "{1}", "{2}", "{", "}", "a", "_", "^", "\\"]),
    min_size=1, max_size=6,
).map("".join)


@pytest.mark.parametrize("name", ["mul", "add", "div", "sub"])
def test_render_inserts_labels_with_placeholders_literally(name: str) -> None:
    r = RULES[name]
    symbol = {"mul": "·", "add": " + ", "div": "/", "sub": " − "}[name]
    # Written out by hand: the two labels exactly as given, joined by the op's symbol.
    assert r.render(r.expr, ["{y}", "b"]) == "{y}" + symbol + "b"
    assert r.render(r.expr, ["{out}", "{x}"], out="{c}") == "{out}" + symbol + "{x}"


def test_render_of_pow_and_unary_rules_keeps_braces_in_labels() -> None:
    p = pow_rule(3)
    assert p.render(p.expr, ["{c}"]) == "{c}^3"
    assert p.render(p.formulas[0], ["{c-1}"]) == "3·{c-1}^2"
    t = RULES["tanh"]
    assert t.render(t.formulas[0], ["{out}"], out="{x}") == "1 − {x}²"
    s = RULES["sum"]
    assert s.render(s.expr, ["{all}", "{out}"]) == "{all} + {out}"
    d = RULES["div"]  # the LaTeX template's literal {1} stays, the labels are not read
    assert d.render(d.formula(0, latex=True), ["{1}", "{y}"]) == "\\frac{1}{{y}}"


def test_affine_render_keeps_labels_with_index_placeholders() -> None:
    from scalargrad.rules import affine_rule

    r = affine_rule(1)
    # the case: affine([w_{1}], [x_{0}], b) read "w_x_{0}·x_{0} + b"
    assert r.render(r.expr, ["w_{1}", "x_{0}", "b"]) == "w_{1}·x_{0} + b"
    assert r.render(r.formula(0), ["{1}", "{0}", "{2}"]) == "{0}"


@given(st.lists(LABEL_WITH_PLACEHOLDERS, min_size=2, max_size=2))
def test_render_never_rescans_a_label(labels: list[str]) -> None:
    r = RULES["mul"]
    # each label appears once, exactly as given (bracketed when it reads like an expression)
    a, b = ({label, f"({label})"} for label in labels)
    assert r.render(r.expr, labels) in {f"{x}·{y}" for x in a for y in b}
    assert r.render(r.formula(0), labels) == labels[1]


def test_affine_cache_is_bounded() -> None:
    from scalargrad import rules as rules_module
    from scalargrad.rules import affine_rule

    size = rules_module._AFFINE_CACHE_SIZE
    for n in range(1, 3 * size):
        assert affine_rule(n).arity == 2 * n + 1
        assert len(rules_module._AFFINE_CACHE) <= size
    assert len(rules_module._AFFINE_CACHE) == size
    # the most recently used widths stay cached, the oldest were dropped
    assert affine_rule(3 * size - 1) is affine_rule(3 * size - 1)
    assert 1 not in rules_module._AFFINE_CACHE


def test_pow_cache_keeps_recent_exponents() -> None:
    from scalargrad import rules as rules_module

    for k in range(2 * rules_module._POW_CACHE_SIZE):
        pow_rule(10.0 + k)
    assert len(rules_module._POW_CACHE) == rules_module._POW_CACHE_SIZE
    last = 10.0 + 2 * rules_module._POW_CACHE_SIZE - 1
    assert last in rules_module._POW_CACHE and 10.0 not in rules_module._POW_CACHE
    assert pow_rule(last) is pow_rule(last)


def test_pows_exponent_is_printed_by_the_printer_in_the_one_number_format() -> None:
    # d(x^(1/3))/dx = (1/3)·x^(−2/3), written by hand: 6 significant digits, the notes' minus
    r = pow_rule(1 / 3)
    assert r.render(r.formulas[0], ["a + b"], minus="−") == "0.333333·(a + b)^−0.666667"
    assert r.render(r.formulas[0], ["a + b"]) == "0.333333·(a + b)^-0.666667"
    assert r.render(r.latex[0], ["a + b"], minus="−") == "0.333333(a + b)^{-0.666667}"
    # a negative exponent of an expression: bracketed base, the minus once
    assert pow_rule(-2).render(pow_rule(-2).expr, ["u·v"], minus="−") == "(u·v)^−2"


def test_x_to_the_2_and_square_print_their_derivative_alike() -> None:
    # d(u²)/du = 2u at u = a² (a power binds tighter than the coefficient): 2a², both ways
    p, s = pow_rule(2), RULES["square"]
    assert p.render(p.formulas[0], ["a²"]) == s.render(s.formulas[0], ["a²"]) == "2a²"
    assert p.render(p.formulas[0], ["a + b"]) == s.render(s.formulas[0], ["a + b"]) == "2(a + b)"
