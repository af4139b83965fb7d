"""Every built-in op has every surface: a red test names the op and the surface it lacks.

The surfaces: a parser function (for callable ops), a ``Value`` method (or
the engine function that makes it), an entry the Hypothesis strategies draw
from, an entry in the one hand-written sympy oracle (``tests/oracles.py``)
that agrees with the op's forward, and a wrapper in ``scalargrad.micrograd``
where micrograd has the op. The lists below are written by hand, so a new
op declared in ``rules.py`` without its surfaces fails here.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sympy
from oracles import SYMPY

import scalargrad
from scalargrad import Value, affine, micrograd, sum_values
from scalargrad.cli import _epilog
from scalargrad.codegen import _forward_terms, _Functions
from scalargrad.forms import ATOM, Printed
from scalargrad.parse import functions, parse
from scalargrad.rules import RULES, Rule, affine_rule, pow_rule
from scalargrad.testing import OPS, NetworkExample

# How a program makes each op's node, by hand: the micrograd-style API.
MAKERS: dict[str, Callable[[list[Value]], Value]] = {
    "add": lambda v: v[0] + v[1],
    "sub": lambda v: v[0] - v[1],
    "mul": lambda v: v[0] * v[1],
    "div": lambda v: v[0] / v[1],
    "neg": lambda v: -v[0],
    "square": lambda v: v[0].square(),
    "sigmoid": lambda v: v[0].sigmoid(),
    "tanh": lambda v: v[0].tanh(),
    "relu": lambda v: v[0].relu(),
    "exp": lambda v: v[0].exp(),
    "log": lambda v: v[0].log(),
    "sum": lambda v: sum_values(v),
    "pow": lambda v: v[0] ** 3,
    "affine": lambda v: affine([v[0], v[2]], [v[1], v[3]], v[4]),
}
# The ops karpathy/micrograd's Value has: how its API writes each, and its value at 0.8 by hand.
MICROGRAD: dict[str, tuple[Callable[[Any], Any], float]] = {
    "add": (lambda v: v + v, 1.6),
    "sub": (lambda v: v - 1.5, -0.7),
    "mul": (lambda v: v * v, 0.64),
    "div": (lambda v: v / 2.0, 0.4),
    "neg": (lambda v: -v, -0.8),
    "pow": (lambda v: v**3, 0.512),
    "relu": (lambda v: v.relu(), 0.8),
    "tanh": (lambda v: v.tanh(), math.tanh(0.8)),
    "exp": (lambda v: v.exp(), math.exp(0.8)),
}
POINT = [0.7, 1.3, -0.4, 0.9, 0.25]


def builtin_rules() -> list[Rule]:
    return [r for r in RULES.values() if r.builtin] + [pow_rule(3), affine_rule(2)]


NAMES = sorted({r.name for r in builtin_rules()})


def test_the_table_is_what_the_lists_here_cover() -> None:
    # a new built-in op must be added to every table of this file
    assert set(NAMES) == set(MAKERS), set(NAMES) ^ set(MAKERS)


@pytest.mark.parametrize("name", NAMES)
def test_a_value_method_makes_the_op(name: str) -> None:
    if name not in MAKERS:
        pytest.fail(f"op {name!r}: no Value method or engine function listed in MAKERS")
    node = MAKERS[name]([Value(x, f"x{i}") for i, x in enumerate(POINT)])
    assert node.op == name


@pytest.mark.parametrize("name", NAMES)
def test_the_parser_calls_every_callable_op(name: str) -> None:
    r = pow_rule(3) if name == "pow" else (affine_rule(2) if name == "affine" else RULES[name])
    assert (name in functions()) == r.callable
    if r.callable:
        root, _ = parse(f"{name}(x)").evaluate({"x": 0.7})
        assert root.op == name
        assert name in _epilog()


@pytest.mark.parametrize("name", NAMES)
def test_the_strategies_draw_every_op(name: str) -> None:
    if name == "affine":  # drawn by networks(): every neuron is one affine node
        ex = NetworkExample((1, 1), (((0.5,),),), ((0.1,),), (0.3,), (1.0,))
        assert any(v.op == "affine" for v in scalargrad.topological_order(ex.build().cost))
        return
    assert name in OPS, f"op {name!r} has no entry in scalargrad.testing.OPS"


@pytest.mark.parametrize("name", NAMES)
def test_the_sympy_oracle_has_every_op_and_agrees_with_its_forward(name: str) -> None:
    assert name in SYMPY, f"op {name!r} has no sympy oracle in tests/oracles.py"
    node = MAKERS[name]([Value(x, f"x{i}") for i, x in enumerate(POINT)])
    xs = [v.data for v in node.inputs if not v.is_constant]
    args: list[Any] = [sympy.Float(v.data, 30) for v in node.inputs]
    if name == "pow":
        args = [sympy.Float(xs[0], 30), 3]
    assert math.isclose(float(SYMPY[name](*args)), node.data, rel_tol=1e-14)


@pytest.mark.parametrize("name", sorted(MICROGRAD))
def test_micrograd_wraps_the_ops_micrograd_has(name: str) -> None:
    assert name in NAMES
    write, expected = MICROGRAD[name]
    out = write(micrograd.Value(0.8))
    assert isinstance(out, micrograd.Value), f"micrograd has {name}; scalargrad.micrograd lacks it"
    assert math.isclose(out.data, expected, rel_tol=1e-15)


@pytest.mark.parametrize("r", builtin_rules(), ids=lambda r: r.name)
def test_propagates_nonfinite_says_what_the_replay_code_does(r: Rule) -> None:
    """Run the replay's forward code on inf and NaN operands: the flag says whether they survive."""
    if r.own_replay:  # replayed by its own forward, which checks its operands
        assert not r.propagates_nonfinite
        return
    n = 3 if r.arity is None else r.arity
    operands = [Printed(f"v{i}", ATOM) for i in range(n)]  # what compiled replay writes
    text = " + ".join(t.text for t in _forward_terms(r, operands, _Functions("", "", {})))
    survived = []
    for bad in (math.inf, -math.inf, math.nan):
        for k in range(n):
            values = {f"v{i}": (bad if i == k else 0.5) for i in range(n)}
            out = eval(text, {"__builtins__": {"max": max}}, values)  # the rule's own template
            survived.append(not math.isfinite(out))
    assert r.propagates_nonfinite == all(survived), (r.name, text, survived)


def test_forms_import_nothing_from_the_package() -> None:
    """forms is the bottom layer: no import of scalargrad, at the top or inside a function."""
    tree = ast.parse(Path(scalargrad.forms.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("scalargrad"), (
                ast.dump(node))
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("scalargrad") for a in node.names)


@pytest.mark.parametrize("r", builtin_rules(), ids=lambda r: r.name)
def test_a_named_derivative_prints_as_its_shown_templates(r: Rule) -> None:
    """The printer prints a named derivative from its display form; the text the notes show
    (its templates) must be what that form prints."""
    keys = list(r.keys()) if r.arity is not None else []
    for d in r.derivatives:
        if d.kind != "named" or d.display is None:
            continue
        assert d.display.text(keys) == d.shown[0]
        assert d.display.latex(keys) == d.shown[1]


def test_the_printer_brackets_by_precedence_not_by_neighbouring_characters() -> None:
    one = affine_rule(1)
    assert one.render(one.expr, ["a + b", "c", "−d"]) == "(a + b)·c + (−d)"
    assert one.render(one.expr_latex, ["a + b", "c", "d"]) == "(a + b) c + d"
    div = RULES["div"]
    assert div.render(div.formulas[1], ["a + b", "c·d"]) == "−(a + b)/(c·d)²"
    assert div.render(div.latex[1], ["a + b", "c"]) == "-\\frac{a + b}{c^2}"
