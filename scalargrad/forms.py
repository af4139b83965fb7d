"""Symbolic local derivatives: one small form per ``∂out/∂input_i``, four outputs.

A :class:`Form` is a tiny expression tree over the symbols of a rule — its
inputs ``x``, ``y`` (or ``{0}, {1}, …`` past two), its output ``out`` and the
constant exponent ``c`` of ``pow`` — built with ordinary operators::

    X * Y            # d(x·y)/dy
    -X / Y.square()  # d(x/y)/dy = −x/y²
    C * X ** (C - 1) # d(x^c)/dx

Every place that needs a local derivative reads it from this one source:

* one printer (:meth:`Form._print`) walks the tree carrying ``(text,
  precedence, depth)`` on one precedence scale (:data:`SUM` … :data:`ATOM`),
  in three dialects: the notes' text and LaTeX (:meth:`Form.show`, what
  :meth:`scalargrad.rules.Rule.render` prints: ``2{x}`` at ``a^(L) − y`` is
  ``2(a^(L) − y)``, ``x^c`` at ``c = −1`` is ``x^−1``) and Python
  (:meth:`Form.python`, what :mod:`scalargrad.codegen` writes compiled replay
  with, counting the operands it writes); :meth:`Form.text`, :meth:`Form.latex`
  and :meth:`Form.code` are the same printer with placeholders (``{x}``,
  ``{c}``): the rule's text and LaTeX templates, and the Python to read;
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

Forms are a few nodes deep, so the printer and the builder walk them
recursively; the Value graphs they are applied to are never walked here.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

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

# The one precedence scale of the printer, for all three dialects: how tightly an
# expression's top operator binds. An operand is bracketed when its precedence is below
# what its place needs (the right of "−" needs SUM + 0.5, a power's base POWER + 0.5).
SUM = 1.0  # a + b, a − b (Python too)
NEGATION = 1.5  # the notes' leading minus, −x: bracketed in a product, (−x)·y
PRODUCT = 2.0  # a·b, a/b; Python a * b, a / b
UNARY = 2.5  # Python's unary minus, -x: binds tighter than *, looser than **
POWER = 3.0  # x², x^c, e^{x}; Python x ** c
ATOM = 9.0  # a name, a number, a call, a bracket
TEXT, LATEX, PYTHON = "text", "latex", "python"
"""The printer's dialects: the notes' text, LaTeX, and Python for compiled replay."""
_MINUS = "\u2212"  # the notes' minus sign (scalargrad.notation.MINUS)
# The registry's view from here, filled by scalargrad.rules.declare (this module imports
# nothing from the package): every op's rule by name, and the ops forms write as
# functions, (text, LaTeX, code) each; LaTeX "e^" is a power.
_OPS: dict[str, Any] = {}
_FUNCTIONS: dict[str, tuple[str, str, str]] = {}
# Form.build's implementation, installed by scalargrad.higher (which builds Values).
_BUILDER: list[Callable[..., Any]] = []
# The one number format of displayed numbers (scalargrad.notation.format_number),
# installed by scalargrad.rules.
_FORMAT: list[Callable[..., str]] = []


def install_number_format(format_number: Callable[..., str]) -> None:
    """Gives the text and LaTeX dialects the one number format (called by :mod:`scalargrad.rules`).

    ``format_number(x, constant=True, minus=...)`` writes a form's numbers and
    ``pow``'s exponent: ``2``, ``0.5``, ``−1`` (LaTeX ``-1``).
    """
    _FORMAT[:] = [format_number]


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

    # --- the printer: notes text, LaTeX and Python ---------------------------------

    def text(self, keys: Sequence[str] = ("{x}", "{y}")) -> str:
        """The plain-text template in the notes' notation (``2{x}``, ``−{x}/{y}²``).

        Args:
            keys: The placeholders of the inputs, in order (``Rule.keys()``).
        """
        return self._print(_Env.template(TEXT, keys)).text

    def latex(self, keys: Sequence[str] = ("{x}", "{y}")) -> str:
        r"""The LaTeX template (``\frac{1}{{y}}``, ``{c}{x}^{{c-1}}``)."""
        return self._print(_Env.template(LATEX, keys)).text

    def code(self, keys: Sequence[str] = ("{x}", "{y}"), rule: str = "") -> str:
        """A Python template of the derivative (the printer's Python dialect, with placeholders).

        Placeholders: inputs, ``{out}``, ``{c}``/``{c-1}``, and ``{d}`` for
        the rule's own float derivative (what a :func:`named` form compiles
        to). :mod:`scalargrad.codegen` prints the same form with names
        (:meth:`python`) rather than filling this in.

        Args:
            keys: The placeholders of the inputs.
            rule: The rule's op name: a node recomputing the rule's own output
                is written ``{out}``.
        """
        env = _Env.template(PYTHON, keys)
        env.rule = rule
        return self._print(env).text

    def show(self, names: Sequence[str], out: str, tex: bool, c: float,
             precedence: Callable[[str], float], minus: str = "-") -> str:
        """The form printed with names: ``2(a^(L) − y)`` for ``2 * X`` at ``a^(L) − y``.

        The notes-text and LaTeX dialects of the one printer (:meth:`_print`),
        which carries ``(text, precedence)`` pairs and brackets an operand
        only where its operator binds less tightly than its place needs. A
        name's own precedence is ``precedence(name)`` (a label is an atom; a
        display name such as ``w·a + b`` is a sum), so no text is scanned
        again. ``pow``'s exponent is written in the one number format.

        Args:
            names: The input names, in order (only those the form uses are read).
            out: The output's name.
            tex: LaTeX (names already in LaTeX) rather than the notes' text.
            c: ``pow``'s exponent.
            precedence: How tightly a name binds, on the printer's one scale
                (``SUM`` … ``ATOM``; below ``SUM`` a leading minus).
            minus: The sign of a negative exponent in text (``x^−1`` in the
                notes' displays; LaTeX always writes ``-``).
        """
        env = _Env(LATEX if tex else TEXT, len(names),
                   lambda i: Printed(names[i], precedence(names[i])),
                   Printed(out, precedence(out)), c)
        env.fill, env.minus = (lambda t: _fill(t, names, out, precedence)), minus
        return self._print(env).text

    def python(self, args: Sequence[Printed], out: Printed | None, *, rule: str = "",
               c: float = 0.0, own: str = "", calls: Mapping[str, str] | None = None,
               used: dict[int, int] | None = None) -> Printed:
        """The form as Python over printed operands: the dialect compiled replay is written in.

        Numbers are exact literals and constant parts (``c − 1``) are folded
        to one; an operand is bracketed where Python's precedence needs it,
        so products keep the engine's order (``a * (b * c)`` stays bracketed).

        Args:
            args: The inputs' code, with precedence and nesting depth.
            out: The output's code; ``None`` when ``self`` is the forward form
                (else a node recomputing op ``rule``'s own output is ``out``).
            rule: The rule's op name.
            c: ``pow``'s exponent.
            own: The name of the rule's own float derivative (a :func:`named`
                form with its own float is a call of it).
            calls: The Python names of the ops the form calls, by op name.
            used: When given, the printer adds to it how often it writes each
                input (by index; the output under -1): what compiled replay
                counts a node's uses with, so they come from the printing
                itself and never from a second walk of the form.
        """
        env = _Env(PYTHON, len(args), args.__getitem__, out, c)
        env.rule, env.own, env.calls, env.used = rule, own, calls or {}, used
        return self._print(env)

    def _print(self, e: _Env) -> Printed:
        """The one printer: this form as ``(text, precedence, depth)`` in ``e``'s dialect."""
        k, a = self.kind, self.args
        dialect = e.dialect
        py, tex = dialect == PYTHON, dialect == LATEX
        if (py and e.out is not None and k == e.rule
                and all(f.kind == "arg" and f.value == i for i, f in enumerate(a))):
            return e.output()  # the rule's own output: exp's derivative is out
        if k == "num":
            return _number(self.value, dialect)
        if k == "arg":
            return e.take(int(self.value))
        if k == "out":
            return e.output()
        c_minus_1 = k == "sub" and a[0].kind == "c" and a[1].kind == "num" and a[1].value == 1
        if e.c is None and (k == "c" or c_minus_1):  # a template: the exponent's placeholder
            return Printed("{c}" if k == "c" else "{c-1}", ATOM)
        if e.c is not None:
            if py and (k == "c" or (k != "named" and self.is_constant())):
                x = self.evaluate((), 0.0, e.c)
                return Printed(repr(x), UNARY if repr(x).startswith("-") else ATOM)
            if not py and (k == "c" or c_minus_1):  # the one number format, as an atom: x^−1
                x = e.c if k == "c" else e.c - 1
                return Printed(_FORMAT[0](x, constant=True, minus="-" if tex else e.minus), ATOM)
        if k == "named":
            if py:
                if self.value:  # the rule's own float derivative
                    operands = [e.take(i) for i in range(e.n)]
                    return Printed(f"{e.own}({', '.join(p.text for p in operands)})", ATOM,
                                   1 + max((p.depth for p in operands), default=0))
                return a[0]._print(e)
            if e.fill is None:
                return Printed(self.shown[1] if tex else self.shown[0], ATOM)
            if self.display is not None:
                return self.display._print(e)
            return Printed(e.fill(self.shown[1] if tex else self.shown[0]), ATOM)
        parts = [f._print(e) for f in a]
        depth = 1 + max((p.depth for p in parts), default=0)
        if k == "step":
            if py:
                return Printed(f"(1.0 if {wrap(parts[0], SUM)} > 0.0 else 0.0)", ATOM, depth)
            return Printed(f"[{parts[0].text} > 0]", ATOM, depth)
        if k in _FUNCTIONS or k == "fn":
            inner = ", ".join(p.text for p in parts)
            if py:
                pattern = _FUNCTIONS.get(k, ("", "", ""))[2]
                if "{0}" in pattern:  # a call pattern: relu is max({0}, 0.0)
                    return Printed(pattern.format(*[p.text for p in parts]), ATOM, depth)
                name = e.calls.get(k, pattern if e.c is None else "")
                if not name:
                    raise ValueError(f"compile: the derivative of op {e.rule!r} uses {k!r}, "
                                     "which has no compiled form")
                return Printed(f"{name}({inner})", ATOM, depth)
            name = self.shown[1 if tex else 0] if k == "fn" else _FUNCTIONS[k][1 if tex else 0]
            if name == "e^":
                return Printed(f"e^{{{inner}}}", POWER, depth)
            return Printed(f"{name}({inner})", ATOM, depth)
        if py:
            return _python(k, parts, depth, e.rule)
        if k in ("add", "sub"):  # a leading minus may open a sum: −b + a
            left = wrap(parts[0], 0.0)
            right = wrap(parts[1], SUM + (0.5 if k == "sub" else 0.0))
            minus = "-" if tex else _MINUS
            return Printed(f"{left} {'+' if k == 'add' else minus} {right}", SUM, depth)
        if k == "neg":
            return Printed(("-" if tex else _MINUS) + wrap(parts[0], PRODUCT), NEGATION, depth)
        if k == "mul":
            # 2x, c·x^(c−1): a number before a single symbol is written against it,
            # and a product after a number is bracketed, 2(x·x)
            coefficient = a[0].is_constant() and a[0].kind in ("num", "c")
            if coefficient and (tex or a[1].kind in ("arg", "out", "c")):
                return Printed(wrap(parts[0], PRODUCT) + wrap(parts[1], PRODUCT + 0.5),
                               PRODUCT, depth)
            left, right = wrap(parts[0], PRODUCT), wrap(parts[1], PRODUCT)
            return Printed(f"{left} \\cdot {right}" if tex else f"{left}·{right}", PRODUCT, depth)
        if k == "div":
            if tex:
                return Printed(f"\\frac{{{parts[0].text}}}{{{parts[1].text}}}", ATOM, depth)
            return Printed(f"{wrap(parts[0], PRODUCT)}/{wrap(parts[1], PRODUCT + 0.5)}",
                           PRODUCT, depth)
        if k == "square":
            return Printed(wrap(parts[0], POWER + 0.5) + ("^2" if tex else "²"), POWER, depth)
        if k == "pow":
            base, exponent = wrap(parts[0], POWER + 0.5), parts[1].text
            return Printed(f"{base}^{{{exponent}}}" if tex else f"{base}^{exponent}", POWER,
                           depth)
        raise ValueError(f"unknown form kind {k!r}")

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


class Printed(NamedTuple):
    """A printed form: its text, the precedence of its top operator, its nesting depth."""

    text: str
    prec: float
    depth: int = 0


def wrap(p: Printed, need: float) -> str:
    """``p``'s text, bracketed when it binds less tightly than its place ``need``s."""
    return p.text if p.prec >= need else f"({p.text})"


def _number(x: float, dialect: str) -> Printed:
    """A form's number: the one number format's constant, or in Python an exact literal.

    Text and LaTeX: ``−1``, ``0.333333`` (:func:`scalargrad.notation.format_number`).
    Python: ``2``, ``0.1``, the literal that reads back as the same float (not a
    display format).
    """
    if dialect == PYTHON:
        return Printed(str(int(x)) if x == int(x) else repr(x), UNARY if x < 0 else ATOM)
    text = _FORMAT[0](x, constant=True, minus="-" if dialect == LATEX else _MINUS)
    return Printed(text, NEGATION if x < 0 else ATOM)


def _python(k: str, parts: Sequence[Printed], depth: int, rule: str) -> Printed:
    """An arithmetic node in Python, bracketed by Python's precedence (``x - (y - z)``)."""
    if k == "add":
        return Printed(f"{wrap(parts[0], SUM)} + {wrap(parts[1], PRODUCT)}", SUM, depth)
    if k == "sub":  # a subtrahend is bracketed unless a power or an atom: x - (y * z), x - (-y)
        return Printed(f"{wrap(parts[0], SUM)} - {wrap(parts[1], POWER)}", SUM, depth)
    if k in ("mul", "div"):
        op = "*" if k == "mul" else "/"
        return Printed(f"{wrap(parts[0], PRODUCT)} {op} {wrap(parts[1], UNARY)}", PRODUCT,
                       depth)
    if k == "neg":
        return Printed("-" + wrap(parts[0], POWER), UNARY, depth)
    if k == "square":
        return Printed(f"{wrap(parts[0], ATOM)} ** 2", POWER, depth)
    if k == "pow":
        return Printed(f"{wrap(parts[0], ATOM)} ** {wrap(parts[1], UNARY)}", POWER, depth)
    raise ValueError(
        f"compile: the derivative of op {rule!r} uses {k!r}, which has no compiled form")


class _Env:
    """What the printer prints a form with: the dialect, the operands, ``pow``'s exponent.

    ``c`` is ``None`` for a template (placeholders ``{x}``, ``{out}``, ``{c}``,
    ``{d}``); ``fill`` puts names into a :func:`named` form's own template.
    """

    __slots__ = ("arg", "c", "calls", "dialect", "fill", "minus", "n", "out", "own", "rule",
                 "used")

    def __init__(self, dialect: str, n: int, arg: Callable[[int], Printed],
                 out: Printed | None, c: float | None) -> None:
        self.dialect, self.n, self.arg, self.out, self.c = dialect, n, arg, out, c
        self.rule, self.own, self.minus = "", "{d}", "-"
        self.calls: Mapping[str, str] = {}
        self.fill: Callable[[str], str] | None = None
        self.used: dict[int, int] | None = None

    def take(self, i: int) -> Printed:
        """Input ``i``'s printed operand, counted in ``used`` (each time it is written)."""
        if self.used is not None:
            self.used[i] = self.used.get(i, 0) + 1
        return self.arg(i)

    def output(self) -> Printed:
        """The output's printed operand, counted in ``used`` under -1."""
        if self.used is not None:
            self.used[-1] = self.used.get(-1, 0) + 1
        assert self.out is not None
        return self.out

    @classmethod
    def template(cls, dialect: str, keys: Sequence[str]) -> _Env:
        return cls(dialect, len(keys), lambda i: Printed(keys[i], ATOM),
                   Printed("{out}", ATOM), None)


def _fill(template: str, names: Sequence[str], out: str,
          precedence: Callable[[str], float]) -> str:
    """A template written as text (a :func:`named` form without a display form) with names.

    Each placeholder becomes its name, bracketed unless an atom.
    """
    def name(m: re.Match[str]) -> str:
        key = m[1]
        if key.isdigit() and int(key) >= len(names):  # a literal group: x^{2}
            return m[0]
        if key == "out":
            text = out
        else:
            text = names[{"x": 0, "y": 1}[key] if key in ("x", "y") else int(key)]
        return text if precedence(text) >= ATOM else f"({text})"

    return re.sub(r"\{(x|y|out|\d+)\}", name, template)


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
