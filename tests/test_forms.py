"""Each rule's symbolic local derivative against sympy, and its four outputs against each other.

The oracle is sympy differentiating each op's forward expression, written by
hand below (not read from the rule table). Then the form's number
(``evaluate``), its compiled Python (``code``) and its Value graph
(``build``) must all equal that derivative, as must the float ``forward``
stores on nodes; and the text of a named form must mean its definition.
"""

from __future__ import annotations

import ast
import math
from collections import Counter

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracles import SYMPY, forward_in

from scalargrad import Value
from scalargrad.forms import ATOM, OUT, C, Form, Printed, X, Y, arg, exp, named, num, sigmoid, step
from scalargrad.rules import RULES, Rule, affine_rule, pow_rule

x_, y_ = sympy.symbols("x y", real=True)
# The forward expressions, by hand (the shared oracle, tests/oracles.py).
FORWARD = forward_in(x_, y_)
POINTS = [(0.7, -1.3), (-2.5, 0.4), (3.0, 2.0), (12.0, -0.9)]


def rules() -> list[tuple[str, Rule]]:
    out = [(n, RULES[n]) for n in FORWARD]
    out += [(f"pow {c}", pow_rule(c)) for c in (2, 3, 0.5, -1, 2.5, 1, 0)]
    return out


def sympy_forward(name: str, r: Rule) -> sympy.Expr:
    return SYMPY["pow"](x_, r.exponent) if name.startswith("pow") else FORWARD[name]


def compiled(template: str, r: Rule, xs: tuple[float, ...], out: float) -> float:
    """Runs a code template the way codegen fills it (names for inputs, {d} the rule's own)."""
    c = r.exponent or 0.0
    text = (template.replace("{x}", "x").replace("{y}", "y").replace("{out}", "out")
            .replace("{c-1}", repr(c - 1)).replace("{c}", repr(c)).replace("{d}", "d"))
    env = {"x": xs[0], "y": xs[-1], "out": out, "d": lambda *a: r.forward(*a)[1][0],
           "exp": math.exp, "log": math.log}
    return float(eval(text, env))  # the test's own tiny templates, not user input


@pytest.mark.parametrize(("name", "r"), rules(), ids=[n for n, _ in rules()])
@pytest.mark.parametrize("point", POINTS)
def test_every_output_of_a_form_is_the_derivative(name: str, r: Rule,
                                                  point: tuple[float, float]) -> None:
    n = r.arity or 0
    xs = point[:n]
    if name in ("log",) or (name.startswith("pow") and r.exponent not in (2, 3, 1, 0)):
        xs = tuple(abs(v) for v in xs)
    out, stored = r.forward(*xs)
    f = sympy_forward(name, r)
    symbols = [x_, y_][:n]
    for i in range(n):
        expected = float(sympy.diff(f, symbols[i]).subs(dict(zip(symbols, xs))).evalf(30))
        form = r.derivative(i)
        scale = 1.0 + abs(expected)
        assert math.isclose(stored[i], expected, rel_tol=1e-12, abs_tol=1e-15 * scale)
        assert math.isclose(form.evaluate(xs, out, r.exponent or 0.0), expected,
                            rel_tol=1e-9, abs_tol=1e-15 * scale), form.text()
        code = form.code(r.keys(), r.name)  # the Python the printer writes, with placeholders
        assert math.isclose(compiled(code, r, xs, out), expected,
                            rel_tol=1e-9, abs_tol=1e-15 * scale), code
        leaves = [Value(v, f"x{k}") for k, v in enumerate(xs)]
        node = leaves[0]._apply(r, tuple(leaves))
        built = form.build(leaves, node, r.name, r.exponent or 0.0)
        assert math.isclose(built.data, expected, rel_tol=1e-9, abs_tol=1e-15 * scale)


def test_templates_are_generated_from_the_forms() -> None:
    for r in [*RULES.values(), pow_rule(3), affine_rule(2)]:
        keys = r.keys() if r.arity is not None else ()
        for i, d in enumerate(r.derivatives):
            assert r.formulas[i] == d.text(keys)
            assert r.latex[i] == d.latex(keys)


def test_named_texts_mean_their_definitions() -> None:
    # σ'(x) shown by name: the definition σ(x)·σ(−x) is the derivative of σ.
    s = 1 / (1 + sympy.exp(-x_))
    sig_def = s * s.subs(x_, -x_)
    assert sympy.simplify(sympy.diff(s, x_) - sig_def) == 0
    # tanh: shown "1 − out²", out = tanh(x)
    assert sympy.simplify(sympy.diff(sympy.tanh(x_), x_) - (1 - sympy.tanh(x_) ** 2)) == 0
    # div: shown "−x/y²", defined −(x/y)/y
    assert sympy.simplify(-(x_ / y_) / y_ - (-x_ / y_**2)) == 0
    assert RULES["div"].derivative(1).text() == "−{x}/{y}²"
    assert RULES["sigmoid"].derivative(0).text() == "σ'({x})"


def test_form_printing() -> None:
    assert (2 * X).text() == "2{x}"
    assert (2 * X).code() == "2 * {x}"
    assert (X * Y).text() == "{x}·{y}"
    assert (X * Y).latex() == "{x} \\cdot {y}"
    assert ((X + Y) * Y).text() == "({x} + {y})·{y}"
    assert (X - (Y - X)).text() == "{x} − ({y} − {x})"
    assert (X - (Y - X)).code() == "{x} - ({y} - {x})"
    assert (1 / (X * Y)).text() == "1/({x}·{y})"
    assert (1 / (X * Y)).code() == "1 / ({x} * {y})"
    assert (1 / (X * Y)).latex() == "\\frac{1}{{x} \\cdot {y}}"
    assert (-(X + Y)).text() == "−({x} + {y})"
    assert ((X + Y).square()).text() == "({x} + {y})²"
    assert (X ** 3).text() == "{x}^3"
    assert (X ** 3).latex() == "{x}^{3}"
    assert (X ** -2).code() == "{x} ** -2"
    assert ((-X) ** 2).code() == "(-{x}) ** 2"
    assert step(X).code() == "(1.0 if {x} > 0.0 else 0.0)"
    assert (OUT * sigmoid(-X)).text() == "{out}·σ(−{x})"
    assert arg(2).text(("{0}", "{1}", "{2}")) == "{2}"
    assert num(-1).text() == "−1" and num(-1).latex() == "-1" and num(-1).code() == "-1"


def test_named_compiles_to_the_rules_own_derivative_or_its_definition() -> None:
    own = named("f'({x})", "f'({x})", X * X)
    assert own.code(("{x}",)) == "{d}({x})"
    assert own.text() == "f'({x})"
    plain = named("g", "g", X * Y, own_float=False)
    assert plain.code() == "{x} * {y}"


def test_build_reuses_the_output_node_and_simplifies_powers() -> None:
    x = Value(0.3, "x")
    e = x.exp()
    assert RULES["exp"].derivative(0).build([x], e, "exp") is e  # d exp(x)/dx is exp(x)
    s = x.sigmoid()
    d = RULES["sigmoid"].derivative(0).build([x], s, "sigmoid")
    assert d.op == "mul" and d.inputs[0] is s
    p2 = x**2
    d2 = pow_rule(2).derivative(0).build([x], p2, "pow", 2.0)
    assert d2.op == "mul" and d2.inputs[1] is x  # 2·x, no x^1 node
    p1 = x**1
    assert pow_rule(1).derivative(0).build([x], p1, "pow", 1.0).inputs[1].data == 1.0  # 1·x^0 = 1·1
    relu = x.relu()
    one = RULES["relu"].derivative(0).build([x], relu, "relu")
    assert one.is_constant and one.data == 1.0


def test_bad_forms_are_refused() -> None:
    with pytest.raises(ValueError, match="exponent must be made of numbers and c"):
        X ** Y
    with pytest.raises(TypeError, match="a form operand must be a Form or a finite number"):
        X + math.inf
    with pytest.raises(TypeError, match="a form operand"):
        X * "2"  # type: ignore[operator]
    assert isinstance(X + 1, Form)


# --- the Python dialect: Python's own parser is the oracle of its brackets ------------

def _forms_strategy() -> st.SearchStrategy[Form]:
    leaves = st.one_of(st.just(X), st.just(Y),
                       st.integers(-3, 3).map(num), st.sampled_from([0.5, -2.5]).map(num))

    def grow(inner: st.SearchStrategy[Form]) -> st.SearchStrategy[Form]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda p: p[0] + p[1]),
            st.tuples(inner, inner).map(lambda p: p[0] - p[1]),
            st.tuples(inner, inner).map(lambda p: p[0] * p[1]),
            st.tuples(inner, inner).map(lambda p: p[0] / p[1]),
            inner.map(lambda f: -f),
            inner.map(lambda f: f.square()),
            st.tuples(inner, st.sampled_from([3, -2, 0.5])).map(lambda p: p[0] ** p[1]),
        )

    return st.recursive(leaves, grow, max_leaves=8)


def _canonical(f: Form) -> tuple[object, ...]:
    """The form's tree as Python must read its code back."""
    if f.kind == "num":
        return ("num", f.value)
    if f.kind == "arg":
        return ("arg", int(f.value))
    if f.kind == "square":
        return ("pow", _canonical(f.args[0]), ("num", 2.0))
    return (f.kind, *map(_canonical, f.args))


_AST_OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


def _tree(node: ast.expr) -> tuple[object, ...]:
    """What Python parses the printed code as (a negated literal is a number)."""
    if isinstance(node, ast.Constant):
        return ("num", float(node.value))
    if isinstance(node, ast.Name):
        return ("arg", ["x", "y"].index(node.id))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if isinstance(node.operand, ast.Constant):
            return ("num", -float(node.operand.value))
        return ("neg", _tree(node.operand))
    assert isinstance(node, ast.BinOp), ast.dump(node)
    return (_AST_OPS[type(node.op)], _tree(node.left), _tree(node.right))


@settings(max_examples=300, deadline=None)
@given(_forms_strategy())
def test_the_python_dialect_brackets_as_python_parses(form: Form) -> None:
    assume(not _has_constant_operation(form))  # folding is checked below, by hand
    printed = form.python([Printed("x", ATOM), Printed("y", ATOM)], None)
    assert _tree(ast.parse(printed.text, mode="eval").body) == _canonical(form), printed.text
    # the templates (Form.code) are the same printer, placeholders for names
    template = form.code().replace("{x}", "x").replace("{y}", "y")
    assert template == printed.text


@settings(max_examples=200, deadline=None)
@given(_forms_strategy(), st.booleans())
def test_the_python_dialect_reports_how_often_it_writes_each_operand(form: Form,
                                                                    with_out: bool) -> None:
    # what compiled replay counts a node's uses with: checked against the names Python reads
    assume(not _has_constant_operation(form))  # 0 / 0 cannot be folded; folding: by hand below
    if with_out:
        form = form * OUT + sigmoid(X - OUT)
    used: dict[int, int] = {}
    printed = form.python([Printed("x", ATOM), Printed("y", ATOM)], Printed("out", ATOM),
                          calls={"sigmoid": "sig"}, used=used)
    read = Counter(n.id for n in ast.walk(ast.parse(printed.text, mode="eval"))
                   if isinstance(n, ast.Name))
    assert {k: used.get(k, 0) for k in (0, 1, -1)} == {0: read["x"], 1: read["y"],
                                                       -1: read["out"]}, printed.text


def test_the_python_dialect_counts_the_own_output_its_own_float_and_folded_parts() -> None:
    def uses(form: Form, rule: str = "", c: float = 0.0) -> dict[int, int]:
        used: dict[int, int] = {}
        form.python([Printed("x", ATOM), Printed("y", ATOM)], Printed("out", ATOM), rule=rule,
                    c=c, own="d", calls={"exp": "exp"}, used=used)
        return used

    assert uses(exp(X), rule="exp") == {-1: 1}  # exp's derivative is the node itself: out
    assert uses(exp(X), rule="log") == {0: 1}  # elsewhere a call of exp at x
    assert uses(named("f'", "f'", X * X * Y)) == {0: 1, 1: 1}  # d(x, y): each input once
    assert uses(named("f'", "f'", X * X * Y, own_float=False)) == {0: 2, 1: 1}
    assert uses((C - 1) * X ** (C - 1), c=3.0) == {0: 1}  # 2.0 * x ** 2.0: c folded away


def _has_constant_operation(f: Form) -> bool:
    """A constant part that is not one number (``2 * 3``)."""
    if f.is_constant():
        return f.kind != "num"
    return any(_has_constant_operation(a) for a in f.args)


def test_the_python_dialect_folds_the_exponent_to_an_exact_literal() -> None:
    d = pow_rule(1 / 3).derivative(0)  # c·x^(c−1)
    printed = d.python([Printed("x", ATOM)], Printed("out", ATOM), rule="pow", c=1 / 3)
    assert printed.text == f"{1 / 3!r} * x ** {1 / 3 - 1!r}"
    assert printed.text == "0.3333333333333333 * x ** -0.6666666666666667"
