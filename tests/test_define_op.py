"""Ops added from outside the package with ``define_op`` work on every surface.

Two ops are defined here as a course would: softplus (one input,
``softplus(x) = log(1 + eˣ)``, derivative ``σ(x)``) and ``hypot(x, y)``
(derivatives ``x/out`` and ``y/out``), plus ``xsp(x) = x·softplus(x)``, whose
derivative uses softplus itself. The oracles are sympy differentiating the
formulas written by hand below and central finite differences written here;
never the engine's own tables.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import expression_to_sympy

import scalargrad
from scalargrad import (
    DomainError,
    Op,
    OpDefinitionError,
    Value,
    backward_steps,
    define_op,
    explain,
    forms,
    grad,
    hessian,
    hvp,
)
from scalargrad.forms import OUT, X, Y, sigmoid
from scalargrad.ops import OpArityError, OpNameError, OpSymbolError, forget_op
from scalargrad.parse import parse
from scalargrad.testing import expressions

PY = sys.executable
x_, y_ = sympy.symbols("x y", real=True)
# The oracles, by hand.
SOFTPLUS = sympy.log(1 + sympy.exp(x_))
HYPOT = sympy.sqrt(x_**2 + y_**2)
XSP = x_ * SOFTPLUS
ORACLES = {
    "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
    "hypot": lambda a, b: sympy.sqrt(a**2 + b**2),
    "xsp": lambda a: a * sympy.log(1 + sympy.exp(a)),
}

OPS_FILE = """\
import math
from scalargrad import define_op
from scalargrad.forms import OUT, X, Y, sigmoid

define_op("softplus", lambda x: math.log(1.0 + math.exp(x)), [sigmoid(X)])
define_op("hypot", lambda x, y: math.hypot(x, y), [X / OUT, Y / OUT])
"""


def _softplus(x: float) -> float:
    return math.log(1.0 + math.exp(x))


@pytest.fixture(scope="module")
def ops() -> Iterator[dict[str, Op]]:
    made = {
        "softplus": define_op("softplus", _softplus, [sigmoid(X)]),
        "hypot": define_op("hypot", lambda x, y: math.hypot(x, y), [X / OUT, Y / OUT]),
    }
    made["xsp"] = define_op("xsp", lambda x: x * _softplus(x),
                            [made["softplus"](X) + X * sigmoid(X)])
    yield made
    for name in made:
        forget_op(name)


def at(e: sympy.Expr, **values: float) -> float:
    return float(e.subs({sympy.Symbol(k, real=True): v for k, v in values.items()}).evalf(30))


def central(f: object, xs: list[float], i: int, h: float = 1e-6) -> float:
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)  # type: ignore[operator]


POINTS = [(0.3, -1.2), (-2.0, 0.5), (1.7, 2.4), (-0.4, -3.1)]


# --------------------------------------------------------------------------- values, grads


@pytest.mark.parametrize(("a", "b"), POINTS)
def test_values_and_first_derivatives_match_sympy_and_differences(
        ops: dict[str, Op], a: float, b: float) -> None:
    x, y = Value(a, "x"), Value(b, "y")
    sp, hy, xsp = ops["softplus"](x), ops["hypot"](x, y), ops["xsp"](x)
    assert sp.op == "softplus" and hy.op == "hypot" and xsp.op == "xsp"
    assert math.isclose(sp.data, at(SOFTPLUS, x=a), rel_tol=1e-13)
    assert math.isclose(hy.data, at(HYPOT, x=a, y=b), rel_tol=1e-13)
    assert math.isclose(sp.local_grads[0], at(sympy.diff(SOFTPLUS, x_), x=a), rel_tol=1e-13)
    assert math.isclose(hy.local_grads[1], at(sympy.diff(HYPOT, y_), x=a, y=b), rel_tol=1e-13)
    assert math.isclose(xsp.local_grads[0], at(sympy.diff(XSP, x_), x=a), rel_tol=1e-12)
    f = sp * hy + xsp
    f.backward()
    whole = SOFTPLUS * HYPOT + XSP
    assert math.isclose(x.grad, at(sympy.diff(whole, x_), x=a, y=b), rel_tol=1e-12)
    assert math.isclose(y.grad, at(sympy.diff(whole, y_), x=a, y=b), rel_tol=1e-12)

    def numbers(p: float, q: float) -> float:
        return _softplus(p) * math.hypot(p, q) + p * _softplus(p)

    assert math.isclose(x.grad, central(numbers, [a, b], 0), rel_tol=1e-6)
    assert math.isclose(y.grad, central(numbers, [a, b], 1), rel_tol=1e-6)


@pytest.mark.parametrize(("a", "b"), POINTS)
def test_second_derivatives_from_the_derivative_forms(ops: dict[str, Op], a: float,
                                                      b: float) -> None:
    x, y = Value(a, "x"), Value(b, "y")
    f = ops["softplus"](x) * ops["hypot"](x, y) + ops["xsp"](y)
    whole = SOFTPLUS * HYPOT + XSP.subs(x_, y_)
    h = hessian(f, [x, y])
    for i, u in enumerate((x_, y_)):
        for j, v in enumerate((x_, y_)):
            expected = at(sympy.diff(whole, u, v), x=a, y=b)
            assert math.isclose(h[i][j], expected, rel_tol=1e-9, abs_tol=1e-12), (i, j)
    dx, dy = grad(f, [x, y], create_graph=True)
    assert math.isclose(dx.data, at(sympy.diff(whole, x_), x=a, y=b), rel_tol=1e-12)
    d2 = grad(dy, [x, y])  # the derivative graph differentiated again
    assert math.isclose(d2[1], at(sympy.diff(whole, y_, 2), x=a, y=b), rel_tol=1e-9)
    # its nodes are the ops' own: softplus inside xsp's derivative, σ inside softplus'
    ops_used = {v.op for v in scalargrad.topological_order(dy)}
    assert {"softplus", "sigmoid", "hypot"} <= ops_used
    v = (0.7, -1.3)
    hv = hvp(f, [x, y], list(v))
    for i, u in enumerate((x_, y_)):
        expected = sum(at(sympy.diff(whole, u, w), x=a, y=b) * c for w, c in zip((x_, y_), v))
        assert math.isclose(hv[i], expected, rel_tol=1e-9, abs_tol=1e-12)
    # a third derivative by central differences of the engine's second
    third = central(lambda p: _second_xsp(ops, p), [a], 0, 1e-4)
    assert math.isclose(third, at(sympy.diff(XSP, x_, 3), x=a), rel_tol=1e-5, abs_tol=1e-8)


def _second_xsp(ops: dict[str, Op], p: float) -> float:
    x = Value(p, "x")
    return hessian(ops["xsp"](x), [x])[0][0]


# --------------------------------------------------------------------------- refusals


def test_bad_definitions_are_refused_by_name(ops: dict[str, Op]) -> None:
    with pytest.raises(OpNameError, match="already an op"):
        define_op("sigmoid", _softplus, [sigmoid(X)])
    with pytest.raises(OpNameError, match="already an op"):
        define_op("softplus", _softplus, [sigmoid(X)])
    with pytest.raises(OpNameError, match="identifier"):
        define_op("soft plus", _softplus, [sigmoid(X)])
    with pytest.raises(OpNameError, match="cannot name an op"):
        define_op("lambda", _softplus, [sigmoid(X)])
    with pytest.raises(OpNameError, match="cannot name an op"):
        define_op("pow", _softplus, [sigmoid(X)])
    with pytest.raises(OpArityError, match="takes 1 input but 2 derivatives were given"):
        define_op("sp2", _softplus, [sigmoid(X), X])
    with pytest.raises(OpArityError, match="takes 2 inputs but 1 derivative was given"):
        define_op("hy2", lambda p, q: math.hypot(p, q), [X / OUT])
    with pytest.raises(OpArityError, match="fixed number"):
        define_op("many", lambda *xs: sum(xs), [1])
    with pytest.raises(OpSymbolError, match="uses Y, input 1, but the op has 1 input"):
        define_op("sp3", _softplus, [sigmoid(Y)])
    with pytest.raises(OpSymbolError, match="uses C"):
        define_op("sp4", _softplus, [forms.C * X])
    with pytest.raises(TypeError, match="unknown keyword"):
        define_op("sp5", _softplus, [sigmoid(X)], colour="red")
    # every refusal is an OpDefinitionError (a ValueError), and nothing was registered
    assert issubclass(OpSymbolError, OpDefinitionError) and issubclass(OpNameError, ValueError)
    assert not {"sp2", "hy2", "many", "sp3", "sp4", "sp5"} & set(scalargrad.RULES)


def test_a_failing_forward_is_the_builtins_domain_error(ops: dict[str, Op]) -> None:
    big = Value(1000.0, "z^(L)")
    with pytest.raises(DomainError) as err:
        ops["softplus"](big)
    message = str(err.value)
    assert message.startswith("softplus: ") and "1000.0" in message and "'z^(L)'" in message
    with pytest.raises(DomainError, match=r"hypot: the derivative ∂out/∂input 0 = x/out"):
        ops["hypot"](Value(0.0, "a"), Value(0.0, "b"))  # 0/0: x/out is undefined at the origin
    nan_op = define_op("nan_op", lambda x: math.nan, [1])
    try:
        with pytest.raises(DomainError, match="nan_op: result nan"):
            nan_op(Value(1.0, "x"))
    finally:
        forget_op("nan_op")


def test_the_op_applies_to_forms_and_prints_in_the_notes_notation(ops: dict[str, Op]) -> None:
    form = ops["hypot"](X, ops["softplus"](Y))
    assert form.text() == "hypot({x}, softplus({y}))"
    assert form.latex() == "\\operatorname{hypot}({x}, \\operatorname{softplus}({y}))"
    assert math.isclose(form.evaluate((0.3, -1.2)), math.hypot(0.3, _softplus(-1.2)),
                        rel_tol=1e-15)
    rule = scalargrad.RULES["softplus"]
    assert rule.formulas == ("σ({x})",) and rule.expr == "softplus({x})"
    assert scalargrad.RULES["hypot"].formulas == ("{x}/{out}", "{y}/{out}")


# --------------------------------------------------------------------------- teaching surfaces


def test_steps_and_explanations_name_the_op(ops: dict[str, Op]) -> None:
    w, a = Value(0.5, "w"), Value(2.0, "a")
    f = ops["hypot"](ops["softplus"](w * a), a).label_as("f")
    steps = [str(s) for s in backward_steps(f)]
    text = "\n".join(steps)
    assert "softplus(w·a)" in text and "σ(w·a)" in text and "softplus(w·a)/f" in text
    e = explain(f, w)
    said = str(e)
    assert "∂f/∂softplus(w·a) · ∂softplus(w·a)/∂(w·a) · ∂(w·a)/∂w" in said
    assert "softplus(w·a)/f · σ(w·a) · a" in said
    sp = _softplus(1.0)
    expected = sp / math.hypot(sp, 2.0) * (1 / (1 + math.exp(-1.0))) * 2.0
    assert math.isclose(grad(f, w), expected, rel_tol=1e-12)
    assert said.rstrip().endswith(f"= {expected:.4g}")
    latex = e._repr_latex_()
    assert "\\sigma(" in latex and "softplus" in latex


@pytest.mark.needs_dot
def test_drawing_rendered_by_dot_shows_the_op(ops: dict[str, Op]) -> None:
    x, y = Value(0.3, "x"), Value(-1.2, "y")
    f = ops["hypot"](ops["softplus"](x), y).label_as("f")
    f.backward()
    svg = scalargrad.draw(f).svg()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg
    assert ">softplus<" in svg and ">hypot<" in svg


def test_compiled_replay_equals_the_dynamic_graph_bit_for_bit(ops: dict[str, Op]) -> None:
    def build(a: float, b: float) -> tuple[Value, Value, Value]:
        x, y = Value(a, "x"), Value(b, "y")
        f = ops["softplus"](x * y) * ops["hypot"](x, y) + ops["xsp"](y) - ops["xsp"](x).exp()
        return f, x, y

    f, x, y = build(*POINTS[0])
    compiled = scalargrad.compile(f, [x, y])
    assert "softplus(" in compiled.source and "hypot(" in compiled.source
    for a, b in POINTS:
        g, p, q = build(a, b)
        g.backward()
        out, grads = compiled(a, b)
        assert (out, grads) == (g.data, (p.grad, q.grad))  # bit for bit
    with pytest.raises(DomainError) as dynamic:  # e^800 overflows inside the ops
        build(800.0, 1.5)
    with pytest.raises(DomainError) as replay:
        compiled(800.0, 1.5)
    assert str(dynamic.value).startswith("softplus: softplus(1200.0) is undefined")
    # the replay names the first failing node in forward order (here xsp(x), built later)
    assert re.match(r"(xsp|softplus): \1\(\d+\.0\) is undefined \(OverflowError.*\] "
                    r"\[in the compiled replay of \w+ at inputs x=800\.0, y=1\.5\]$",
                    str(replay.value)), str(replay.value)


# deferred: the ops exist once the module's fixture has defined them
@settings(max_examples=60)
@given(st.deferred(lambda: expressions(max_nodes=6, variables=2, min_value=0.5, max_value=2.0,
                                       ops=["add", "mul", "softplus", "hypot", "xsp"])))
def test_hypothesis_draws_the_op_and_sympy_agrees(ops: dict[str, Op],
                                                   expr: scalargrad.testing.Expression) -> None:
    graph = expr.build()
    graph.root.backward()
    e, xs = expression_to_sympy(expr.names, expr.records, ORACLES)
    point = dict(zip(xs, expr.values))
    for leaf, s in zip(graph.leaves, xs):
        expected = float(sympy.diff(e, s).subs(point).evalf(30))
        assert math.isclose(leaf.grad, expected, rel_tol=1e-9, abs_tol=1e-12)
    _SEEN.update(r.op for r in expr.records)


_SEEN: set[str] = set()


def test_hypothesis_drew_every_defined_op(ops: dict[str, Op]) -> None:
    if not _SEEN:  # run on its own: draw afresh
        test_hypothesis_draws_the_op_and_sympy_agrees(ops)  # type: ignore[call-arg]
    assert {"softplus", "hypot", "xsp"} <= _SEEN


def test_the_parser_calls_the_op_with_its_arity(ops: dict[str, Op]) -> None:
    root, _ = parse("softplus(w) * hypot(w, 2) + xsp(3)").evaluate({"w": 0.5})
    expected = _softplus(0.5) * math.hypot(0.5, 2.0) + 3 * _softplus(3.0)
    assert math.isclose(root.data, expected, rel_tol=1e-15)
    with pytest.raises(scalargrad.parse.ParseError, match="hypot takes exactly 2 arguments"):
        parse("hypot(w)")
    with pytest.raises(scalargrad.parse.ParseError, match="softplus takes exactly one argument"):
        parse("softplus(w, 1)")


# --------------------------------------------------------------------------- the command line


def cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(scalargrad.__file__).parent.parent), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([PY, "-m", "scalargrad", *args], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, input=stdin, env=env,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


@pytest.fixture
def ops_file(tmp_path: Path) -> Path:
    path = tmp_path / "course_ops.py"
    path.write_text(OPS_FILE)
    return path


def grads_printed(out: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^∂f/∂(\w+) = (\S+)$", out, re.M)}


def test_cli_grad_with_ops(tmp_path: Path, ops_file: Path) -> None:
    expr = "softplus(w*a) * hypot(w, b)"
    r = cli(tmp_path, "grad", "--ops", "course_ops.py", expr, "w=0.5", "a=2", "b=-1.5",
            "--steps", "--explain", "w", "--hessian")
    assert r.returncode == 0, r.stderr
    w, a, b = sympy.symbols("w a b", real=True)
    f = sympy.log(1 + sympy.exp(w * a)) * sympy.sqrt(w**2 + b**2)
    point = {w: 0.5, a: 2.0, b: -1.5}
    got = grads_printed(r.stdout)
    for name, s in (("w", w), ("a", a), ("b", b)):
        assert math.isclose(got[name], float(sympy.diff(f, s).subs(point)), rel_tol=1e-9)
    assert "σ(w·a)" in r.stdout and "softplus(w·a)" in r.stdout  # steps and explanation
    assert "chain rule for ∂f/∂w" in r.stdout
    second = re.search(r"∂²f/∂w² = (\S+)", r.stdout)
    assert second is not None
    assert math.isclose(float(second[1]), float(sympy.diff(f, w, 2).subs(point)), rel_tol=1e-6)
    # as a module name too, and the help lists the functions
    h = cli(tmp_path, "grad", "--ops", "course_ops", "--help")
    assert h.returncode == 0 and "exp log square softplus hypot." in " ".join(h.stdout.split())


@pytest.mark.needs_dot
def test_cli_draw_html_and_practice_with_ops(tmp_path: Path, ops_file: Path) -> None:
    r = cli(tmp_path, "grad", "--ops", str(ops_file), "softplus(w) * hypot(w, b)", "w=0.5",
            "b=2", "--draw", "g.svg", "--html", "page.html", "--practice")
    assert r.returncode == 0, r.stderr
    assert ">softplus<" in (tmp_path / "g.svg").read_text()
    page = (tmp_path / "page.html").read_text()
    assert "softplus" in page and "hypot" in page


def test_cli_step_and_check_with_ops(tmp_path: Path, ops_file: Path) -> None:
    s = cli(tmp_path, "step", "--ops", "course_ops.py", "softplus(w)", "w=0.5")
    assert s.returncode == 0, s.stderr
    assert "σ(w)" in s.stdout
    ok = cli(tmp_path, "check", "--ops", "course_ops.py", "softplus(w) * hypot(w, b)",
             "w=-2..2", "b=1..2", "--wrt", "w",
             "sigmoid(w)*hypot(w, b) + softplus(w)*w/hypot(w, b)",
             "--examples", "30", "--seed", "1")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = cli(tmp_path, "check", "--ops", "course_ops.py", "softplus(w)", "w=-2..2",
                "--wrt", "w", "softplus(w)", "--examples", "30", "--seed", "1")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr


def test_cli_ops_errors(tmp_path: Path, ops_file: Path) -> None:
    missing = cli(tmp_path, "grad", "--ops", "nowhere.py", "softplus(w)", "w=1")
    assert missing.returncode == 2
    assert "--ops nowhere.py: no such file" in missing.stderr
    (tmp_path / "broken.py").write_text("raise RuntimeError('the file is broken')\n")
    broken = cli(tmp_path, "grad", "--ops", "broken.py", "softplus(w)", "w=1")
    assert broken.returncode == 2
    assert "--ops broken.py: loading it raised RuntimeError: the file is broken" in broken.stderr
    (tmp_path / "twice.py").write_text(textwrap.dedent("""\
        from scalargrad import define_op
        define_op("sigmoid", lambda x: x, [1])
    """))
    taken = cli(tmp_path, "grad", "--ops", "twice.py", "sigmoid(w)", "w=1")
    assert taken.returncode == 2 and "OpNameError" in taken.stderr
    none = cli(tmp_path, "grad", "--ops", "no_such_module_here", "w", "w=1")
    assert none.returncode == 2 and "no such module" in none.stderr
    without = cli(tmp_path, "grad", "softplus(w)", "w=1")
    assert without.returncode == 2 and "unknown function 'softplus'" in without.stderr
    domain = cli(tmp_path, "grad", "--ops", "course_ops.py", "softplus(w)", "w=1000")
    assert domain.returncode == 1
    assert "softplus: softplus(1000.0) is undefined" in domain.stderr and "'w'" in domain.stderr


def test_infix_and_postfix_ops_read_as_the_notes_write_them() -> None:
    oplus = define_op("oplus", lambda x, y: x + 2 * y, [1, 2], infix="⊕", latex=r"\oplus")
    cube = define_op("cube", lambda x: x**3, [3 * X**2], postfix="³")
    try:
        a, b = Value(1.5, "a"), Value(2.0, "b")
        f = cube(oplus(a, b) * a)
        text = str(explain(f, a))
        assert text.startswith("∂((a ⊕ b)·a)³/∂a = ")  # the postfix binds tighter than ·
        assert "+ 3·((a ⊕ b)·a)^2 · (a ⊕ b)\n" in text  # an infix factor is bracketed like a sum
        assert math.isclose(grad(f, a), 3 * (5.5 * 1.5) ** 2 * (5.5 + 1.5), rel_tol=1e-14)
        assert scalargrad.RULES["oplus"].expr_latex == "{x} \\oplus {y}"
        assert "(a ⊕ b) \\cdot a" in explain(f, a)._repr_latex_()
    finally:
        forget_op("oplus")
        forget_op("cube")


def test_a_graph_with_the_op_copies_and_pickles(ops: dict[str, Op]) -> None:
    import copy
    import pickle

    x, y = Value(0.3, "x"), Value(-1.2, "y")
    f = (ops["hypot"](ops["softplus"](x), y) * x).label_as("f")
    for g in (copy.deepcopy(f), pickle.loads(pickle.dumps(f))):
        assert g.data == f.data and g.label == "f"
        assert [v.op for v in scalargrad.topological_order(g)] == [
            v.op for v in scalargrad.topological_order(f)]
        g.backward()
        assert (g.inputs[1].grad) == grad(f, x)  # the copy's x is its own leaf
