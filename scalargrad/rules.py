"""The one table of operations: forward value, local derivatives, formula text.

Every op that a :class:`~scalargrad.engine.Value` can record is a :class:`Rule`
in :data:`RULES`. A rule's ``forward`` receives the input numbers and returns
the output number together with the tuple of local derivatives
``∂out/∂input_i``, evaluated at those numbers. The engine stores both on the
node; backward, the step-through, the explanations, the drawings and the
compiler all read them from there. Nothing else in the package re-derives a
derivative.

Every op, built-in or made by :func:`scalargrad.define_op`, is declared once by
:func:`declare`: its forward as a float function and as a form over its inputs
(``X * Y``, ``sigmoid(X)``), its local derivatives as forms, and flags that the
parser, the explanations and the compiler read (``callable``, ``unit``,
``kept_in_paths``, ``propagates_nonfinite``) instead of lists of op names.

Each local derivative is written once as a symbolic form
(``derivatives``, see :mod:`scalargrad.forms`): ``2 * X`` for square,
``σ'(x)`` defined as ``σ(x)·σ(−x)`` for sigmoid. Its text in the notes'
notation (``formulas``) and its LaTeX (``latex``) are generated from that
form, as the forward's text (``expr``) and LaTeX (``expr_latex``) are from
its, and :mod:`scalargrad.higher` builds it as Values to differentiate again;
the float ``forward`` stays the fast path that backward uses, and the tests
check it against the forms and sympy. All of them come from the one printer
of :mod:`scalargrad.forms` (three dialects, one precedence scale).
Placeholders are ``{x}`` and ``{y}`` for the first and second input,
``{out}`` for the output and ``{c}`` for the constant exponent of ``pow``;
:meth:`Rule.render` prints the form behind a template with names (and
``pow``'s exponent in the one number format). Compiled replay
(:mod:`scalargrad.codegen`) keeps no template: it prints the forms as Python
with names, or, for a rule with ``own_replay``, calls its ``forward``.

Domain errors raise :class:`DomainError`, naming the op and the operands; the
engine adds the node labels.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from . import forms
from ._cache import LRU
from .errors import DomainError
from .forms import OUT, PRODUCT, SUM, Form, X, Y
from .notation import format_number, is_atom  # noqa: F401  (the rule table brackets by is_atom)
from .notation import name_precedence as _precedence

forms.install_number_format(format_number)  # the forms print numbers in the one format

__all__ = [
    "CONSTANT", "RULES", "DomainError", "Rule", "affine_rule", "pow_rule", "rule", "written_as",
]

Forward = Callable[..., tuple[float, tuple[float, ...]]]

_ONE = (1.0,)
_ONES2 = (1.0, 1.0)
_SUB_GRADS = (1.0, -1.0)
_NEG_GRAD = (-1.0,)
# exp(x) overflows a float above this (math.log(sys.float_info.max)).
_EXP_MAX = 709.782712893384


@dataclass(frozen=True, slots=True)
class Rule:
    """One differentiable operation.

    Attributes:
        name: The op name stored on nodes (``Value.op``), e.g. ``"mul"``.
        symbol: Short symbol for drawings, e.g. ``"×"`` or ``"σ"``.
        arity: Number of inputs, or ``None`` for any number (``sum``).
        forward: ``forward(*xs) -> (out, local_grads)``.
        expr: Plain-text template of the forward expression.
        formulas: Plain-text template of ``∂out/∂input_i``, one per input
            (one shared template when ``arity`` is ``None``).
        latex: LaTeX templates of the same derivatives.
        expr_latex: LaTeX template of the forward expression.
        exponent: The constant exponent of a ``pow`` rule, else ``None``.
            (Templates of rules with more than two inputs name them ``{0}``,
            ``{1}``, …: see :func:`affine_rule`.)
        own_replay: Compiled replay (:mod:`scalargrad.codegen`) computes
            the value by calling this rule's own ``forward`` (its domain
            errors and numerics: σ, div, exp, log, pow, an op of
            :func:`scalargrad.define_op`) rather than writing ``form`` out.
        derivatives: The symbolic local derivatives
            (:class:`~scalargrad.forms.Form`), one per input (one shared when
            ``arity`` is ``None``): the one source from which ``formulas``
            and ``latex`` are generated, compiled replay writes its Python and
            :mod:`scalargrad.higher` builds a derivative as Values. A rule
            without them cannot be replayed.
        callable: Expressions call it by name (``sigmoid(x)``): the parser's
            functions and the CLI's list of them are the callable rules.
        unit: Its local derivatives are identically 1 (``+``, ``Σ``):
            explanations fold such factors away.
        kept_in_paths: A function's node (``σ(z)``) that explanations keep
            when they fold a unit factor next to it.
        propagates_nonfinite: The replay's code of the forward turns a
            non-finite operand into a non-finite result, so compiled replay
            need not check the operands (``max(x, 0.0)`` of relu does not).
        call: How forms write it as a function, ``(text, LaTeX, Python)``
            (sigmoid's: σ, its LaTeX command and ``sigmoid``); empty when
            forms do not call it.
        builtin: Declared by the package (not by :func:`scalargrad.define_op`).
        form: The forward expression as a form over the inputs (``X * Y``,
            ``sigmoid(X)``): ``expr`` and ``expr_latex`` are generated from
            it, and compiled replay writes it as Python (unless
            ``own_replay``). ``None`` for ``sum`` and ``affine``.
        prints: Each text and LaTeX template of the rule → the form it was
            generated from and whether it is LaTeX (what :meth:`render` prints).
    """

    name: str
    symbol: str
    arity: int | None
    forward: Forward = field(repr=False)
    expr: str
    formulas: tuple[str, ...]
    latex: tuple[str, ...]
    expr_latex: str
    exponent: float | None = None
    own_replay: bool = False
    derivatives: tuple[Form, ...] = ()
    callable: bool = False
    unit: bool = False
    kept_in_paths: bool = False
    propagates_nonfinite: bool = False
    call: tuple[str, str, str] = ("", "", "")
    builtin: bool = True
    form: Form | None = None
    prints: Mapping[str, tuple[Form, bool]] = field(
        default_factory=dict, repr=False, compare=False)

    def keys(self) -> tuple[str, ...]:
        """The placeholders of the inputs: ``{x}``, ``{y}``, or ``{0}, {1}, …`` past two."""
        return _keys(self.arity)

    def derivative(self, i: int) -> Form:
        """Returns the symbolic form of ``∂out/∂input_i``."""
        return self.derivatives[0] if self.arity is None else self.derivatives[i]

    def formula(self, i: int, latex: bool = False) -> str:
        """Returns the template of ``∂out/∂input_i`` (text or LaTeX)."""
        table = self.latex if latex else self.formulas
        return table[0] if self.arity is None else table[i]

    def render(self, template: str, inputs: Sequence[str], out: str = "out", *,
               minus: str = "-") -> str:
        """Prints one of this rule's templates with input names and the output name.

        The template names the form it was generated from (the forward
        expression, a local derivative, in text or LaTeX), and that form is
        printed by the one printer (:meth:`scalargrad.forms.Form.show`), which
        brackets a name only where it binds less tightly than its place
        needs: ``2{x}`` at ``x = "a^(L) − y"`` reads ``2(a^(L) − y)``, and
        ``σ({x})`` at ``a + b`` reads ``σ(a + b)``. Names are never scanned for
        placeholders, so labels that contain ``{x}`` appear as given. A
        template written as text (an infix op of ``define_op``) is filled as given, each name
        bracketed unless it is an atom.

        Args:
            template: One of this rule's templates.
            inputs: Display names of the inputs, in order (only those the
                template uses are read).
            out: Display name of the output.
            minus: The sign of ``pow``'s negative exponent in text: the notes'
                displays pass :data:`scalargrad.notation.MINUS` (``x^−1``);
                LaTeX always writes ``-``.

        Returns:
            The filled-in text.
        """
        if self.arity is None and template == "{all}":
            return " + ".join(inputs)
        found = self.prints.get(template)
        if found is None:
            if self.name == "affine" and template in (self.expr, self.expr_latex):
                return _affine_text(inputs, template == self.expr)
            return _fill(template, inputs, out)
        form, tex = found
        return form.show(inputs, out, tex, self.exponent or 0.0, _precedence, minus)


def _affine_text(inputs: Sequence[str], text: bool) -> str:
    """``w_0·a_0 + … + b`` (LaTeX ``w_0 a_0 + … + b``), each factor bracketed unless a product."""
    def factor(name: str) -> str:
        return f"({name})" if _precedence(name) < PRODUCT else name

    def addend(name: str) -> str:
        return f"({name})" if _precedence(name) < SUM else name

    join = "·" if text else " "
    products = [f"{factor(w)}{join}{factor(a)}" for w, a in zip(inputs[0:-1:2], inputs[1:-1:2])]
    return " + ".join([*products, addend(inputs[-1])])


def _fill(template: str, inputs: Sequence[str], out: str) -> str:
    """A template written as text, not from a form: each name put in, bracketed unless an atom.

    (An infix or postfix op of :func:`scalargrad.define_op`, ``{x} ⊕ {y}``.)
    """
    return forms.named(template, template, forms.num(0)).show(inputs, out, False, 0.0,
                                                              _precedence)


def _exponent(c: float) -> str:
    """A ``pow`` exponent in a symbol or a message: the one number format's constant (``-1``)."""
    return format_number(c, constant=True, minus="-")


def _domain(op: str, message: str) -> DomainError:
    return DomainError(f"{op}: {message}")


# --- forward functions: (inputs) -> (output, local derivatives) -------------


def _add(x: float, y: float) -> tuple[float, tuple[float, ...]]:
    # d(x + y)/dx = 1, d(x + y)/dy = 1
    return x + y, _ONES2


def _sub(x: float, y: float) -> tuple[float, tuple[float, ...]]:
    # d(x - y)/dx = 1, d(x - y)/dy = -1
    return x - y, _SUB_GRADS


def _mul(x: float, y: float) -> tuple[float, tuple[float, ...]]:
    # d(xy)/dx = y, d(xy)/dy = x
    return x * y, (y, x)


def _div(x: float, y: float) -> tuple[float, tuple[float, ...]]:
    # d(x/y)/dx = 1/y, d(x/y)/dy = -x/y²
    if y == 0.0:
        raise _domain("div", f"division by zero ({x!r} / {y!r})")
    out = x / y  # x / y, not x·(1/y): the same correctly rounded float as Python's /
    if out - out != 0.0:
        raise _domain("div", f"overflow: {x!r} / {y!r} is larger than the largest float")
    inv = 1.0 / y
    dy = -out / y
    if dy - dy != 0.0 or inv - inv != 0.0:  # a finite quotient can still have an inf slope
        raise _domain("div", f"the derivative of {x!r} / {y!r} overflows (1/y or −x/y² is inf)")
    return out, (inv, dy)


def _neg(x: float) -> tuple[float, tuple[float, ...]]:
    # d(-x)/dx = -1
    return -x, _NEG_GRAD


def _square(x: float) -> tuple[float, tuple[float, ...]]:
    # d(x²)/dx = 2x
    return x * x, (2.0 * x,)


def _sigmoid(x: float) -> tuple[float, tuple[float, ...]]:
    # dσ(x)/dx = σ(x)(1 - σ(x)); the branch keeps exp's argument ≤ 0, and 1 - σ is
    # computed as e·σ or 1/(1 + e) rather than by subtraction, which would round
    # σ'(x) to 0 for x > 37 (true value e^-x) and lose digits from x ≈ 10.
    if x >= 0.0:
        e = math.exp(-x)
        s = 1.0 / (1.0 + e)
        return s, (s * (e * s),)
    e = math.exp(x)
    s = e / (1.0 + e)
    return s, (s / (1.0 + e),)


def _tanh(x: float) -> tuple[float, tuple[float, ...]]:
    # d tanh(x)/dx = 1 - tanh(x)²; math.tanh saturates without overflow. Away from 0,
    # 1 - t² cancels (it is 0 for |x| > 19), so use the equal 4e/(1 + e)², e = e^(-2|x|).
    t = math.tanh(x)
    if -0.5 < x < 0.5:
        return t, (1.0 - t * t,)
    e = math.exp(-2.0 * abs(x))
    return t, (4.0 * e / ((1.0 + e) * (1.0 + e)),)


def _relu(x: float) -> tuple[float, tuple[float, ...]]:
    # d relu(x)/dx = 1 if x > 0 else 0 (0 at the kink x = 0, as in PyTorch)
    return (x, _ONE) if x > 0.0 else (0.0, (0.0,))


def _exp(x: float) -> tuple[float, tuple[float, ...]]:
    # d exp(x)/dx = exp(x)
    if x > _EXP_MAX:
        raise _domain("exp", f"overflow: exp({x!r}) is larger than the largest float")
    e = math.exp(x)
    return e, (e,)


def _log(x: float) -> tuple[float, tuple[float, ...]]:
    # d log(x)/dx = 1/x
    if x <= 0.0:
        raise _domain("log", f"log of {x!r} is undefined (log needs x > 0)")
    inv = 1.0 / x
    if inv - inv != 0.0:  # a subnormal x: log(x) is finite but 1/x is inf
        raise _domain("log", f"the derivative 1/x of log at {x!r} overflows")
    return math.log(x), (inv,)


def _sum(*xs: float) -> tuple[float, tuple[float, ...]]:
    # d(x_0 + ... + x_n)/dx_i = 1
    try:
        out = math.fsum(xs)
    except OverflowError:  # a partial sum overflowed; the exact sum may still be finite
        try:
            out = float(sum(map(Fraction, xs), Fraction(0)))
        except OverflowError:
            raise _domain("sum", "overflow: the sum is larger than the largest float") from None
    return out, (1.0,) * len(xs)


def _make_pow(c: float) -> Forward:
    def forward(x: float) -> tuple[float, tuple[float, ...]]:
        # d(x^c)/dx = c·x^(c-1)
        if x == 0.0 and c < 0.0:
            raise _domain("pow", f"0 ** {c!r} is undefined (zero to a negative power)")
        if x < 0.0 and c != int(c):
            raise _domain("pow", f"{x!r} ** {c!r} is not real (negative base, non-integer power)")
        try:
            out = x**c
        except OverflowError:
            raise _domain(
                "pow", f"overflow: {x!r} ** {c!r} is larger than the largest float"
            ) from None
        if c == 0.0:
            return out, (0.0,)
        try:
            grad = c * x ** (c - 1.0)
        except (OverflowError, ZeroDivisionError):  # e.g. x ** 0.5 at x = 0: slope 1/(2√x)
            grad = math.inf
        if grad - grad != 0.0:
            slope = f"{_exponent(c)}·x^{_exponent(c - 1.0)}"
            raise _domain("pow", f"the derivative {slope} of x ** {c!r} at x = {x!r} is not finite")
        return out, (grad,)

    return forward


def declare(
    name: str, symbol: str, arity: int | None, forward: Forward, form: Form | None,
    derivatives: tuple[Form, ...], *, own_replay: bool = False,
    templates: tuple[str, str] | None = None,
    callable: bool = False, unit: bool = False, kept_in_paths: bool = False,
    propagates_nonfinite: bool = False, call: tuple[str, str, str] = ("", "", ""),
    builtin: bool = True,
) -> Rule:
    """Declares an op: makes its :class:`Rule`, registers it in :data:`RULES` and in the forms.

    The one way an op enters the table, for the built-ins below and for
    :func:`scalargrad.define_op`. The op is written once as forms: its
    forward expression over its inputs (``X * Y``, ``sigmoid(X)``) and one
    local derivative per input. Their text, LaTeX and Python are generated
    from those forms; the flags (``callable``, ``unit``, ``kept_in_paths``,
    ``propagates_nonfinite``) are what the parser, the explanations and the
    compiler read instead of lists of op names of their own.

    Args:
        name: The op name (``Value.op``).
        symbol: Its symbol in drawings.
        arity: The number of inputs (``None``: any number).
        forward: ``forward(*xs) -> (out, local_grads)``, the fast float path.
        form: The forward expression as a form over the inputs (``None`` for
            ``sum``, whose inputs are not counted).
        derivatives: One form per input (one shared when ``arity`` is ``None``).
        own_replay: See :class:`Rule`: compiled replay calls ``forward``
            (its domain checks and numerics) rather than writing ``form``
            out in Python.
        templates: ``(text, LaTeX)`` of the forward expression, when they
            are not ``form``'s (``sum``'s ``{all}``, an infix op). There is
            no Python one: compiled replay prints ``form`` or, with
            ``own_replay``, calls ``forward``.
        callable: See :class:`Rule`.
        unit: See :class:`Rule`.
        kept_in_paths: See :class:`Rule`.
        propagates_nonfinite: See :class:`Rule`.
        call: See :class:`Rule`.
        builtin: See :class:`Rule`.

    Returns:
        The registered rule.
    """
    keys = _keys(arity)
    forms.register(name, None, call)  # its own forms (exp's derivative is exp(x)) print
    if templates is not None:
        expr, expr_latex = templates
    else:
        assert form is not None
        expr, expr_latex = form.text(keys), form.latex(keys)
    shown = [*derivatives]
    if form is not None and (templates is None or form.text(keys) == expr):
        shown.insert(0, form)
    r = Rule(
        name, symbol, arity, forward, expr,
        tuple(d.text(keys) for d in derivatives), tuple(d.latex(keys) for d in derivatives),
        expr_latex, own_replay=own_replay, derivatives=derivatives, callable=callable, unit=unit,
        kept_in_paths=kept_in_paths, propagates_nonfinite=propagates_nonfinite, call=call,
        builtin=builtin, form=form, prints=_prints(keys, shown),
    )
    RULES[name] = r
    forms.register(name, r, call)
    return r


def _prints(keys: Sequence[str], shown: Sequence[Form]) -> dict[str, tuple[Form, bool]]:
    """Each form's text and LaTeX template → the form and whether it is LaTeX."""
    out: dict[str, tuple[Form, bool]] = {}
    for f in shown:
        out.setdefault(f.text(keys), (f, False))
        out.setdefault(f.latex(keys), (f, True))
    return out


def _keys(arity: int | None) -> tuple[str, ...]:
    n = arity or 0
    return ("{x}", "{y}")[:n] if n <= 2 else tuple(f"{{{i}}}" for i in range(n))


_ONE_FORM = forms.num(1)
# σ'(x) = σ(x)(1 − σ(x)) = σ(x)σ(−x): the second has no cancellation for large x.
_SIGMOID_PRIME = forms.named("σ'({x})", "\\sigma'({x})", forms.sigmoid(X) * forms.sigmoid(-X),
                             display=forms.fn("σ'", "\\sigma'", X))
_TANH_PRIME_DEF = 1 - OUT.square()
_TANH_PRIME = forms.named(_TANH_PRIME_DEF.text(), _TANH_PRIME_DEF.latex(), _TANH_PRIME_DEF,
                          display=_TANH_PRIME_DEF)

# −x/y² as the notes write it, computed as −(x/y)/y like _div (reusing the quotient node).
_DIV_DY = forms.named(
    "−{x}/{y}²", "-\\frac{{x}}{{y}^2}", -(X / Y) / Y, own_float=False, display=-(X / Y.square())
)

RULES: dict[str, Rule] = {}
"""Every op by name: the built-ins declared below, then those of :func:`scalargrad.define_op`."""

# Each built-in op, declared once: its symbol, arity, forward, forward text, local
# derivatives as forms (∂out/∂x then ∂out/∂y), forward LaTeX, forward Python and flags.
declare("add", "+", 2, _add, X + Y, (_ONE_FORM, _ONE_FORM), unit=True,
        propagates_nonfinite=True)
declare("sub", "−", 2, _sub, X - Y, (_ONE_FORM, forms.num(-1)), unit=True,
        propagates_nonfinite=True)
declare("mul", "×", 2, _mul, X * Y, (Y, X), propagates_nonfinite=True)
declare("div", "÷", 2, _div, X / Y, (1 / Y, _DIV_DY), own_replay=True)
declare("neg", "−", 1, _neg, -X, (forms.num(-1),), propagates_nonfinite=True)
declare("sigmoid", "σ", 1, _sigmoid, forms.sigmoid(X), (_SIGMOID_PRIME,), own_replay=True,
        call=("σ", "\\sigma", "sigmoid"), callable=True, kept_in_paths=True)
declare("tanh", "tanh", 1, _tanh, forms.tanh(X), (_TANH_PRIME,), own_replay=True,
        call=("tanh", "\\tanh", "tanh"), callable=True, kept_in_paths=True)
declare("relu", "relu", 1, _relu, forms.Form("relu", (X,)), (forms.step(X),),
        call=("relu", "\\mathrm{relu}", "max({0}, 0.0)"), callable=True, kept_in_paths=True)
declare("exp", "exp", 1, _exp, forms.exp(X), (forms.exp(X),), own_replay=True,
        call=("exp", "e^", "exp"), callable=True, kept_in_paths=True)
declare("log", "log", 1, _log, forms.log(X), (1 / X,), own_replay=True,
        call=("log", "\\log", "log"), callable=True, kept_in_paths=True)
declare("square", "²", 1, _square, X.square(), (2 * X,), propagates_nonfinite=True,
        callable=True, kept_in_paths=True)
declare("sum", "Σ", None, _sum, None, (_ONE_FORM,), templates=("{all}", "{all}"),
        unit=True, propagates_nonfinite=True)


def _no_forward(*xs: float) -> tuple[float, tuple[float, ...]]:
    raise TypeError("a constant has no forward rule")


CONSTANT = Rule("", "", 0, _no_forward, "", (), (), "")
"""Marks a leaf that the engine made from a plain number (the 2 in ``2 * x``).

Its name is "", like every leaf's ``op``; it is not in :data:`RULES`.
"""

_POW_FORM = X ** forms.C  # the forward of every pow rule (its text is x^c)
_POW_CACHE_SIZE = 256
_POW_CACHE: LRU[float, Rule] = LRU(_POW_CACHE_SIZE)


def pow_rule(c: float) -> Rule:
    """Returns the rule for ``x ** c`` with a constant exponent ``c``.

    ``d(x^c)/dx = c·x^(c−1)``. Rules are cached per exponent (the 256 most
    recently used), so nodes raised to the same power share one rule object.

    Args:
        c: The constant exponent (a finite number).

    Returns:
        A :class:`Rule` named ``"pow"`` whose ``exponent`` is ``c``.
    """
    c = float(c)
    found = _POW_CACHE.get(c)
    if found is None:
        # c = 2 reads 2(a − y), like square's derivative; else c·x^(c−1)
        d = forms.num(0) if c == 0 else (forms.C * X if c == 2 else forms.C * X ** (forms.C - 1))
        found = Rule(
            "pow", "^" + _exponent(c), 1, _make_pow(c), "{x}^{c}", (d.text(),), (d.latex(),),
            "{x}^{{c}}", exponent=c, own_replay=True, derivatives=(d,), kept_in_paths=True,
            form=_POW_FORM,
            prints=_prints(("{x}",), (_POW_FORM, d)),
        )
        _POW_CACHE.put(c, found)  # bounded: x ** random() must not leak
    return found


def _affine(*xs: float) -> tuple[float, tuple[float, ...]]:
    # z = Σ_k w_k·a_k + b over xs = (w_0, a_0, …, w_n-1, a_n-1, b):
    # dz/dw_k = a_k, dz/da_k = w_k, dz/db = 1
    ws, acts = xs[0:-1:2], xs[1:-1:2]
    try:
        out = math.fsum([*map(operator.mul, ws, acts), xs[-1]])
    except (OverflowError, ValueError):  # a product or a partial sum is not finite
        raise _domain("affine", "overflow: Σ w·a + b is larger than the largest float") from None
    grads = [1.0] * len(xs)
    grads[0:-1:2] = acts
    grads[1:-1:2] = ws
    return out, tuple(grads)


_AFFINE_CACHE_SIZE = 64
_AFFINE_CACHE: LRU[int, Rule] = LRU(_AFFINE_CACHE_SIZE)


def affine_rule(n: int) -> Rule:
    """Returns the rule for a neuron's weighted input ``z = Σ_k w_k·a_k + b`` over ``n`` pairs.

    The notes' ``z^(L) = w^(L) a^(L-1) + b^(L)`` as one node, with inputs
    ``(w_0, a_0, …, w_(n-1), a_(n-1), b)`` and local derivatives
    ``∂z/∂w_k = a_k``, ``∂z/∂a_k = w_k``, ``∂z/∂b = 1``: exactly the factors
    ``∂z^(L)/∂w^(L) = a^(L-1)``, ``∂z^(L)/∂a^(L-1) = w^(L)`` and
    ``∂z^(L)/∂b^(L) = 1`` of the notes. Rules are cached per ``n`` (the 64
    most recently used widths).

    Args:
        n: The number of weight–input pairs (at least 1).

    Returns:
        A :class:`Rule` named ``"affine"`` with ``2n + 1`` inputs.
    """
    found = _AFFINE_CACHE.get(n)
    if found is None:
        pairs = [(f"{{{2 * k}}}", f"{{{2 * k + 1}}}") for k in range(n)]
        bias = f"{{{2 * n}}}"
        # ∂z/∂w_k = a_k, ∂z/∂a_k = w_k, ∂z/∂b = 1
        ds = (*(forms.arg(i + 1 - 2 * (i % 2)) for i in range(2 * n)), forms.num(1))
        keys = _keys(2 * n + 1)
        partners = tuple(d.text(keys) for d in ds)
        found = Rule(
            "affine", "Σw·a+b", 2 * n + 1, _affine,
            " + ".join([*(f"{w}·{a}" for w, a in pairs), bias]), partners, partners,
            " + ".join([*(f"{w} {a}" for w, a in pairs), bias]),
            derivatives=ds, propagates_nonfinite=True, prints=_prints(keys, ds),
        )
        _AFFINE_CACHE.put(n, found)
    return found


def rule(name: str) -> Rule:
    """Looks up a rule by op name.

    Args:
        name: An op name such as ``"mul"`` or ``"sigmoid"``.

    Returns:
        The rule.

    Raises:
        KeyError: The name is not an op; the message lists the valid names.
    """
    try:
        return RULES[name]
    except KeyError:
        valid = [*sorted(RULES), "affine", "pow"]
        raise KeyError(f"unknown op {name!r} (must be one of {valid})") from None


def written_as(r: Rule) -> Rule:
    """The rule whose notation shows ``r``: ``x**2`` is written as ``x.square()`` is, ``x²``.

    The one place that decides it, for the names in text and the symbols in
    drawings.
    """
    return RULES["square"] if r.exponent == 2 else r
