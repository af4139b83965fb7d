"""Symbolic local derivatives: one small form per ``∂out/∂input_i``, four outputs.

A :class:`Form` is a tiny expression tree over the symbols of a rule — its
inputs ``x``, ``y`` (or ``{0}, {1}, …`` past two), its output ``out`` and the
constant exponent ``c`` of ``pow`` — built with ordinary operators::

    X * Y            # d(x·y)/dy
    -X / Y.square()  # d(x/y)/dy = −x/y²
    C * X ** (C - 1) # d(x^c)/dx

Every place that needs a local derivative reads it from this one source:

* :meth:`Form.text` and :meth:`Form.latex`: the display templates that
  :meth:`scalargrad.rules.Rule.render` fills in (``2{x}`` → ``2(a^(L) − y)``);
* :meth:`Form.code`: a Python template for compiled replay;
* :meth:`Form.build`: the local derivative as a graph of
  :class:`~scalargrad.engine.Value` nodes, made with the same rule table, on
  which higher derivatives are taken (the builder lives in
  :mod:`scalargrad.higher`, which installs it here: this module imports
  nothing from the package);
* :meth:`Form.evaluate`: the number, from plain floats (what the tests compare
  with each rule's ``forward``, which stays the fast float path).

Two forms are more than arithmetic. :func:`step` is ``[x > 0]``, relu's
derivative: a constant 1 or 0 in a graph (its own derivative is 0 almost
everywhere). :func:`named` is a derivative the notes write by name, ``σ'(z)``:
it is shown by that name, compiled to the rule's own float derivative (so σ'
keeps ``forward``'s numerics in the tails) and built from its definition
``σ(x)·σ(−x)`` (equal to ``σ(x)(1 − σ(x))`` with no cancellation).

While building, a form node that recomputes the rule's own output (``exp(x)``
inside exp's rule, ``σ(x)`` inside sigmoid's) is the output node itself, so a
derivative graph reuses the forward pass as the notes do: ``d exp(x)/dx`` *is*
the node ``exp(x)``.

Forms are a few nodes deep, so the printers and the builder walk them
recursively; the Value graphs they are applied to are never walked here.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "OUT",
    "C",
    "Form",
    "X",
    "Y",
    "arg",
    "exp",
    "log",
    "named",
    "num",
    "sigmoid",
    "step",
    "tanh",
]

Operand = Union["Form", int, float]

# Precedence of a form's top operator, in display text.
_SUM, _NEG, _PRODUCT, _POWER, _ATOM = 1.0, 1.5, 2.0, 3.0, 9.0
# The registry's view from here, filled by scalargrad.rules.declare (this module imports
# nothing from the package): every op's rule by name, and the ops forms write as
# functions, (text, LaTeX, code) each; LaTeX "e^" is a power.
_OPS: dict[str, Any] = {}
_FUNCTIONS: dict[str, tuple[str, str, str]] = {}
# Form.build's implementation, installed by scalargrad.higher (which builds Values).
_BUILDER: list[Callable[..., Any]] = []


def register(name: str, rule: Any, call: tuple[str, str, str] = ("", "", "")) -> None:
    """Makes an op known to forms (called by :func:`scalargrad.rules.declare`).

    Args:
        name: The op name, the kind of its form nodes.
        rule: Its rule (``rule.forward`` gives :meth:`Form.evaluate` its number).
        call: How a form writes it as a function, ``(text, LaTeX, Python)``;
            empty when forms do not call it.
    """
    _OPS[name] = rule
    if call[0]:
        _FUNCTIONS[name] = call


def unregister(name: str) -> None:
    """Forgets an op registered by :func:`register`."""
    _OPS.pop(name, None)
    _FUNCTIONS.pop(name, None)


def apply(name: str, args: Sequence[Operand]) -> Form:
    """The form of op ``name`` applied to ``args`` (what a defined op gives on forms)."""
    if name not in _FUNCTIONS:
        raise ValueError(f"forms do not know the function {name!r}")
    return Form(name, tuple(_form(a) for a in args))


@dataclass(frozen=True, slots=True, eq=False)
class Form:
    """One node of a symbolic local derivative.

    Attributes:
        kind: ``"num"``, ``"arg"`` (input ``index``), ``"out"``, ``"c"``, an op
            of the rule table (``"add"``, ``"sub"``, ``"mul"``, ``"div"``,
            ``"neg"``, ``"square"``, ``"pow"``, ``"exp"``, ``"log"``,
            ``"sigmoid"``, ``"tanh"``), ``"step"`` or ``"named"``.
        args: The operands (for ``"pow"``: base, then a constant exponent form).
        value: The number of a ``"num"`` form; the input index of an ``"arg"``.
        shown: For ``"named"``: its text and LaTeX templates (``value`` 1: it
            compiles to the rule's own float derivative); for ``"fn"`` (a
            function written by name, ``σ'``): its text and LaTeX names.
        display: For ``"named"``: the form it is shown as (``σ'(x)``,
            ``−x/y²``), which the printer prints with names.
    """

    kind: str
    args: tuple[Form, ...] = ()
    value: float = 0.0
    shown: tuple[str, str] = ("", "")
    display: Form | None = None
    constant: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        constant = self.kind not in ("arg", "out") and all(a.constant for a in self.args)
        object.__setattr__(self, "constant", constant)

    # --- building forms with operators ------------------------------------------

    def __add__(self, other: Operand) -> Form:
        return Form("add", (self, _form(other)))

    def __radd__(self, other: Operand) -> Form:
        return Form("add", (_form(other), self))  # other + self

    def __sub__(self, other: Operand) -> Form:
        return Form("sub", (self, _form(other)))

    def __rsub__(self, other: Operand) -> Form:
        return Form("sub", (_form(other), self))  # other - self

    def __mul__(self, other: Operand) -> Form:
        return Form("mul", (self, _form(other)))

    def __rmul__(self, other: Operand) -> Form:
        return Form("mul", (_form(other), self))  # other * self

    def __truediv__(self, other: Operand) -> Form:
        return Form("div", (self, _form(other)))

    def __rtruediv__(self, other: Operand) -> Form:
        return Form("div", (_form(other), self))  # other / self

    def __neg__(self) -> Form:
        return Form("neg", (self,))

    def __pow__(self, exponent: Operand) -> Form:
        e = _form(exponent)
        if not e.is_constant():
            raise ValueError("a form's exponent must be made of numbers and c")
        return Form("pow", (self, e))

    def square(self) -> Form:
        """``self²``."""
        return Form("square", (self,))

    def is_constant(self) -> bool:
        """True when the form is made of numbers and ``c`` only (no inputs, no output)."""
        return self.constant

    # --- text and LaTeX -----------------------------------------------------------

    def text(self, keys: Sequence[str] = ("{x}", "{y}")) -> str:
        """The plain-text template in the notes' notation (``2{x}``, ``−{x}/{y}²``).

        Args:
            keys: The placeholders of the inputs, in order (``Rule.keys()``).
        """
        return self._show(keys, False)[0]

    def latex(self, keys: Sequence[str] = ("{x}", "{y}")) -> str:
        r"""The LaTeX template (``\frac{1}{{y}}``, ``{c}{x}^{{c-1}}``)."""
        return self._show(keys, True)[0]

    def show(self, names: Sequence[str], out: str, tex: bool, c: float,
             precedence: Callable[[str], float]) -> str:
        """The form printed with names: ``2(a^(L) − y)`` for ``2 * X`` at ``a^(L) − y``.

        The one printer of text and LaTeX: it walks the tree carrying
        ``(text, precedence)`` pairs and brackets an operand only where its
        operator binds less tightly than its place needs. A name's own
        precedence is ``precedence(name)`` (a label is an atom; a display
        name such as ``w·a + b`` is a sum), so no text is scanned again.

        Args:
            names: The input names, in order (only those the form uses are read).
            out: The output's name.
            tex: LaTeX (names already in LaTeX) rather than the notes' text.
            c: ``pow``'s exponent.
            precedence: How tightly a name binds, on this module's scale
                (1 a sum, 2 a product, 3 a power, 9 an atom; below 1 a
                leading minus).
        """
        return self._show(_Bound(names, out, c, precedence), tex)[0]

    def _show(self, keys: Sequence[str], tex: bool) -> tuple[str, float]:
        k, a = self.kind, self.args
        minus = "-" if tex else "−"
        bound = keys if isinstance(keys, _Bound) else None
        if k == "num":
            text = _num(self.value)
            if self.value < 0:
                return (minus + text[1:], _NEG)
            return (text, _ATOM)
        if k == "arg":
            name = keys[int(self.value)]
            return (name, bound.precedence(name) if bound else _ATOM)
        if k == "out":
            return (bound.out, bound.precedence(bound.out)) if bound else ("{out}", _ATOM)
        if k == "c":
            return (_num(bound.c) if bound else "{c}", _ATOM)
        if k == "sub" and a[0].kind == "c" and a[1].kind == "num" and a[1].value == 1:
            return (_num(bound.c - 1) if bound else "{c-1}", _ATOM)
        if k == "named":
            if bound is None:
                return (self.shown[1] if tex else self.shown[0], _ATOM)
            if self.display is not None:
                return self.display._show(keys, tex)
            return (bound.fill(self.shown[1] if tex else self.shown[0]), _ATOM)
        if k == "step":
            return (f"[{a[0]._show(keys, tex)[0]} > 0]", _ATOM)
        if k in _FUNCTIONS or k == "fn":
            inner = ", ".join(f._show(keys, tex)[0] for f in a)
            name = self.shown[1 if tex else 0] if k == "fn" else _FUNCTIONS[k][1 if tex else 0]
            if name == "e^":
                return (f"e^{{{inner}}}", _POWER)
            return (f"{name}({inner})", _ATOM)
        if k in ("add", "sub"):  # a leading minus may open a sum: −b + a
            left = a[0]._bracket(keys, tex, 0.0)
            right = a[1]._bracket(keys, tex, _SUM + (0.5 if k == "sub" else 0.0))
            return (f"{left} {'+' if k == 'add' else minus} {right}", _SUM)
        if k == "neg":
            return (minus + a[0]._bracket(keys, tex, _PRODUCT), _NEG)
        if k == "mul":
            # 2x, c·x^(c−1): a number before a single symbol is written against it,
            # and a product after a number is bracketed, 2(x·x)
            coefficient = a[0].is_constant() and a[0].kind in ("num", "c")
            if coefficient and (tex or a[1].kind in ("arg", "out", "c")):
                return (a[0]._bracket(keys, tex, _PRODUCT) + a[1]._bracket(keys, tex, 2.5),
                        _PRODUCT)
            left, right = a[0]._bracket(keys, tex, _PRODUCT), a[1]._bracket(keys, tex, _PRODUCT)
            return (f"{left} \\cdot {right}" if tex else f"{left}·{right}", _PRODUCT)
        if k == "div":
            if tex:
                num, den = a[0]._show(keys, tex)[0], a[1]._show(keys, tex)[0]
                return (f"\\frac{{{num}}}{{{den}}}", _ATOM)
            return (f"{a[0]._bracket(keys, tex, _PRODUCT)}/{a[1]._bracket(keys, tex, 2.5)}",
                    _PRODUCT)
        if k == "square":
            return (a[0]._bracket(keys, tex, 3.5) + ("^2" if tex else "²"), _POWER)
        if k == "pow":
            base, exponent = a[0]._bracket(keys, tex, 3.5), a[1]._show(keys, tex)[0]
            return (f"{base}^{{{exponent}}}" if tex else f"{base}^{exponent}", _POWER)
        raise ValueError(f"unknown form kind {k!r}")

    def _bracket(self, keys: Sequence[str], tex: bool, need: float) -> str:
        text, prec = self._show(keys, tex)
        return f"({text})" if prec < need else text

    # --- Python code ------------------------------------------------------------

    def code(self, keys: Sequence[str] = ("{x}", "{y}"), rule: str = "") -> str:
        """A Python template of the derivative for compiled replay.

        Placeholders as :mod:`scalargrad.codegen` fills them: inputs, ``{out}``,
        ``{c}``/``{c-1}``, and ``{d}`` for the rule's own float derivative
        (what a :func:`named` form compiles to).

        Args:
            keys: The placeholders of the inputs.
            rule: The rule's op name: a node recomputing the rule's own output
                is written ``{out}``.
        """
        return self._code(keys, rule)[0]

    def _code(self, keys: Sequence[str], rule: str) -> tuple[str, int]:
        # Python precedence: 0 conditional, 1 + −, 2 * /, 3 unary −, 4 **, 5 atom
        k, a = self.kind, self.args
        if k == rule and all(f.kind == "arg" and f.value == i for i, f in enumerate(a)):
            return ("{out}", 5)
        if k == "num":
            return (_num(self.value), 3 if self.value < 0 else 5)
        if k == "arg":
            return (keys[int(self.value)], 5)
        if k == "out":
            return ("{out}", 5)
        if k == "c":
            return ("{c}", 5)
        if k == "sub" and a[0].kind == "c" and a[1].kind == "num" and a[1].value == 1:
            return ("{c-1}", 5)
        if k == "named":
            if self.value:  # the rule's own float derivative
                return ("{d}(" + ", ".join(keys) + ")", 5)
            return a[0]._code(keys, rule)
        if k == "step":
            return (f"(1.0 if {a[0]._cbr(keys, rule, 2)} > 0.0 else 0.0)", 5)
        if k in _FUNCTIONS:
            inner = [f._code(keys, rule)[0] for f in a]
            py = _FUNCTIONS[k][2]
            if "{0}" in py:  # a call pattern: relu is max({0}, 0.0)
                return (py.format(*inner), 5)
            return (f"{py}({', '.join(inner)})", 5)
        if k in ("add", "sub"):
            op = "+" if k == "add" else "-"
            return (f"{a[0]._cbr(keys, rule, 1)} {op} {a[1]._cbr(keys, rule, 2)}", 1)
        if k in ("mul", "div"):
            op = "*" if k == "mul" else "/"
            return (f"{a[0]._cbr(keys, rule, 2)} {op} {a[1]._cbr(keys, rule, 3)}", 2)
        if k == "neg":
            return ("-" + a[0]._cbr(keys, rule, 3), 3)
        if k == "square":
            return (a[0]._cbr(keys, rule, 5) + " ** 2", 4)
        if k == "pow":
            return (f"{a[0]._cbr(keys, rule, 5)} ** {a[1]._cbr(keys, rule, 3)}", 4)
        raise ValueError(f"unknown form kind {k!r}")

    def _cbr(self, keys: Sequence[str], rule: str, need: int) -> str:
        text, prec = self._code(keys, rule)
        return f"({text})" if prec < need else text

    # --- numbers --------------------------------------------------------------------

    def evaluate(self, xs: Sequence[float], out: float = 0.0, c: float = 0.0) -> float:
        """The derivative's value at plain floats (for checking ``forward`` against it).

        Args:
            xs: The input values.
            out: The rule's output at ``xs``.
            c: ``pow``'s exponent.
        """
        k, a = self.kind, self.args
        if k == "num":
            return self.value
        if k == "arg":
            return xs[int(self.value)]
        if k == "out":
            return out
        if k == "c":
            return c
        if k == "named":
            return a[0].evaluate(xs, out, c)
        v = [f.evaluate(xs, out, c) for f in a]
        if k == "step":
            return 1.0 if v[0] > 0.0 else 0.0
        arithmetic = _ARITHMETIC.get(k)
        if arithmetic is not None:
            return arithmetic(*v)  # type: ignore[no-any-return]
        if k == "square":
            return v[0] * v[0]
        if k == "pow":
            return float(v[0] ** v[1])
        if k == "exp":
            return math.exp(v[0])
        if k == "log":
            return math.log(v[0])
        if k == "tanh":
            return math.tanh(v[0])
        if k == "sigmoid":
            x = v[0]
            return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        if k in _OPS:  # an op of the table: its own forward value
            return float(_OPS[k].forward(*v)[0])
        raise ValueError(f"unknown form kind {k!r}")

    # --- the Value graph ------------------------------------------------------------

    def build(self, inputs: Sequence[Any], out: Any, rule: str = "", c: float = 0.0) -> Any:
        """The derivative as Values: a graph over the rule's own input and output nodes.

        Every node is made by the rule table (``x * y``, ``x.sigmoid()``, …), so
        the result can be differentiated, drawn, explained and stepped like
        any graph. A node recomputing the rule's own output is ``out`` itself.
        Numbers become constants; ``x ** 1`` is ``x`` and ``x ** 0`` is 1.
        (Implemented by :func:`scalargrad.higher.build_form`.)

        Args:
            inputs: The node's inputs (Values).
            out: The node itself.
            rule: Its op name (for reusing ``out``).
            c: ``pow``'s exponent.

        Raises:
            DomainError: A node of the derivative is outside its op's domain.
        """
        return _BUILDER[0](self, inputs, out, rule, c)


# The arithmetic kinds, one operator each: the same for floats (evaluate) and Values (build).
_ARITHMETIC: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "neg": operator.neg,
}


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


class _Bound(Sequence[str]):
    """The names :meth:`Form.show` prints a form with (a sequence of the input names)."""

    __slots__ = ("c", "names", "out", "precedence")

    def __init__(self, names: Sequence[str], out: str, c: float,
                 precedence: Callable[[str], float]) -> None:
        self.names, self.out, self.c, self.precedence = names, out, c, precedence

    def __getitem__(self, i: Any) -> Any:
        return self.names[i]

    def __len__(self) -> int:
        return len(self.names)

    def fill(self, template: str) -> str:
        """A named form's own template, for one given without a display form.

        Each placeholder becomes its name, bracketed unless an atom.
        """
        def name(m: re.Match[str]) -> str:
            key = m[1]
            if key.isdigit() and int(key) >= len(self.names):  # a literal group: x^{2}
                return m[0]
            text = (self.out if key == "out" else _num(self.c) if key == "c" else
                    _num(self.c - 1) if key == "c-1" else
                    self.names[{"x": 0, "y": 1}.get(key, 0) if not key.isdigit() else int(key)])
            return text if self.precedence(text) >= _ATOM or key in ("c", "c-1") else f"({text})"

        return re.sub(r"\{(x|y|out|c|c-1|\d+)\}", name, template)


def _form(x: Operand) -> Form:
    if isinstance(x, Form):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise TypeError(f"a form operand must be a Form or a finite number, got {x!r}")
    return Form("num", value=float(x))


def num(x: float) -> Form:
    """A number as a form (a constant derivative such as add's ``1``)."""
    return _form(x)


def arg(i: int) -> Form:
    """The rule's input ``i`` (``X`` is ``arg(0)``, ``Y`` is ``arg(1)``)."""
    return Form("arg", value=float(i))


X = arg(0)
"""The first input."""
Y = arg(1)
"""The second input."""
OUT = Form("out")
"""The rule's output (the node itself)."""
C = Form("c")
"""The constant exponent of ``pow``."""


def exp(f: Form) -> Form:
    """``exp(f)``."""
    return Form("exp", (f,))


def log(f: Form) -> Form:
    """``log(f)``."""
    return Form("log", (f,))


def sigmoid(f: Form) -> Form:
    """``σ(f)``."""
    return Form("sigmoid", (f,))


def tanh(f: Form) -> Form:
    """``tanh(f)``."""
    return Form("tanh", (f,))


def step(f: Form) -> Form:
    """``[f > 0]``: 1 where ``f > 0``, else 0 (relu's derivative; constant in a graph)."""
    return Form("step", (f,))


def fn(text: str, latex: str, *args: Form) -> Form:
    """A function written by name for display only (``σ'`` in ``σ'(x)``): see :func:`named`."""
    return Form("fn", args, shown=(text, latex))


def named(text: str, latex: str, definition: Form, *, own_float: bool = True,
          display: Form | None = None) -> Form:
    """A derivative shown as the notes write it (``σ'({x})``) and built from its ``definition``.

    Graphs and :meth:`Form.evaluate` use the definition. Compiled code calls
    the rule's own float derivative (``{d}``) when ``own_float``, so σ' keeps
    ``forward``'s numerics in the tails; otherwise it is the definition's
    code. (``−x/y²`` is shown so and defined as ``−(x/y)/y``, which reuses
    the quotient node and computes what the engine computes.) The tests check
    every shown text against its definition with sympy. ``display``, the
    same text as a form (``fn("σ'", …, X)``, ``-(X / Y.square())``),
    is what the printer prints with names; without it the names are put into
    the templates, each bracketed unless an atom.
    """
    return Form("named", (definition,), value=1.0 if own_float else 0.0, shown=(text, latex),
                display=display)
