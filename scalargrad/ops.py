"""Adding an op: :func:`define_op`, and the :class:`Op` objects it returns.

One call declares an operation everywhere::

    from scalargrad import define_op, forms

    softplus = define_op("softplus", lambda x: math.log1p(math.exp(x)),
                         [forms.sigmoid(forms.X)])

``forward`` is a plain float function of the op's inputs; ``derivatives``
holds one symbolic local derivative per input (a :class:`~scalargrad.forms.Form`
over ``X``, ``Y``, ``arg(i)``, ``OUT``, numbers, ``+ − * / **`` and functions,
including ops made here). The op is then a rule of the table like the
built-ins (which are declared by the same :func:`scalargrad.rules.declare`):
the expression parser and the command line call it, steps, explanations
(text and LaTeX), drawings, the step-through page and practice mode show it,
compiled replay computes it, and ``grad(create_graph=True)``, ``hessian`` and
``hvp`` differentiate its derivative forms again. ``Value.op`` of its nodes is
its name.

At forward time the engine calls ``forward`` and evaluates the derivative
forms at the input numbers (and the output, ``OUT``) for the local
derivatives it stores. A ``forward`` that raises ``ValueError``,
``OverflowError`` or ``ZeroDivisionError``, or returns a number that is not
finite, raises :class:`~scalargrad.rules.DomainError` naming the op, its
operands and their labels, as the built-ins do; so does a derivative that is
not finite there.
"""

from __future__ import annotations

import inspect
import keyword
import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from . import forms
from .engine import Value, _check_number, _constant
from .errors import OpArityError, OpDefinitionError, OpNameError, OpSymbolError
from .forms import Form
from .rules import RULES, DomainError, Rule, declare

__all__ = [
    "Op",
    "OpArityError",
    "OpDefinitionError",
    "OpNameError",
    "OpSymbolError",
    "apply_rule",
    "define_op",
    "forget_op",
]

# Names an op may not take: the engine's own non-table rules and the forms' symbols.
_RESERVED = frozenset({"pow", "affine", "constant", "X", "Y", "OUT", "C", "arg", "num", "named",
                       "step", "out", "c"})
_HOW_WRITTEN = ("symbol", "text", "latex", "python", "infix", "postfix", "kept_in_paths")


class Op:
    """An op of the rule table, callable on Values (giving a Value) and on forms (giving a form).

    Attributes:
        rule: Its :class:`~scalargrad.rules.Rule`.

    Example:
        >>> import math
        >>> from scalargrad import Value, define_op, forms
        >>> cube = define_op("cube_doc", lambda x: x ** 3, [3 * forms.X ** 2])
        >>> y = cube(Value(2.0, "x"))
        >>> y.data, y.op, y.local_grads
        (8.0, 'cube_doc', (12.0,))
        >>> cube(forms.X).text()
        'cube_doc({x})'
        >>> forget_op("cube_doc")
    """

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    @property
    def name(self) -> str:
        """The op's name (``Value.op`` of its nodes)."""
        return self.rule.name

    def __call__(self, *args: Any) -> Any:
        """Applies the op: to Values or numbers, a new node; to forms, a form.

        Raises:
            TypeError: The wrong number of arguments, or one that is neither a
                Value, a form nor a real number.
            DomainError: The forward or a derivative is not defined or not
                finite there (naming the op, the operands and their labels).
        """
        n = self.rule.arity
        if n is not None and len(args) != n:
            raise TypeError(f"{self.name} takes {n} input{'s' if n != 1 else ''}, "
                            f"got {len(args)}")
        if any(isinstance(a, Form) for a in args):
            return forms.apply(self.name, args)
        return apply_rule(self.rule, args)

    def __repr__(self) -> str:
        return f"Op({self.name!r}, arity={self.rule.arity})"


def apply_rule(rule: Rule, args: Sequence[Value | float]) -> Value:
    """A new node of ``rule`` over ``args``; plain numbers become constants (as in ``2 * x``)."""
    inputs = tuple(
        a if isinstance(a, Value) else _constant(_check_number(a, f"an input of {rule.name}"))
        for a in args
    )
    if not inputs:
        raise TypeError(f"{rule.name} needs at least one input")
    return inputs[0]._apply(rule, inputs)


def define_op(name: str, forward: Callable[..., float], derivatives: Sequence[Form | float],
              **how_written: Any) -> Op:
    r"""Adds an op to the rule table; after this call it works everywhere.

    Args:
        name: The op's name: an identifier not already an op (``"softplus"``).
            Expressions call it by this name, and ``Value.op`` is this name.
        forward: The op as a plain float function of its inputs, e.g.
            ``lambda x: math.log1p(math.exp(x))``. Its positional parameters
            are the inputs (``X`` is the first, ``Y`` the second, ``arg(i)``).
        derivatives: One local derivative ``∂out/∂input_i`` per input, as a
            :class:`~scalargrad.forms.Form` (or a number): ``sigmoid(X)``
            for softplus, ``X / OUT`` and ``Y / OUT`` for hypot.
        **how_written: How the notes write it (all optional):
            ``text`` the name in plain text (default ``name``; written
            ``text(x, y)``), ``latex`` the LaTeX name (default
            ``\operatorname{name}``), ``python`` the function's name in
            compiled code (default ``name``), ``symbol`` its symbol in
            drawings (default ``text``), ``infix`` an operator symbol for a
            two-input op (``x ⊕ y``), ``postfix`` a symbol written after one
            input (``x!``), ``kept_in_paths`` whether explanations keep its
            node when folding a unit factor (default True).

    Returns:
        The :class:`Op`: ``op(x)`` on Values gives a node, on forms a form
        (so a later op's derivative can use it).

    Raises:
        OpNameError: ``name`` is not an identifier, is a keyword, or is taken.
        OpArityError: Not one derivative per input of ``forward``.
        OpSymbolError: A derivative uses an input the op does not have, or ``C``.
        TypeError: ``forward`` is not callable, a derivative is not a form or
            a number, or ``how_written`` has an unknown key.
    """
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise OpNameError(f"define_op: the name must be an ASCII identifier such as "
                          f"'softplus', got {name!r}")
    if keyword.iskeyword(name) or name in _RESERVED or name.startswith("_"):
        raise OpNameError(f"define_op: {name!r} cannot name an op (a keyword, a name of "
                          "the forms or the engine, or starts with '_')")
    if name in RULES:
        raise OpNameError(f"define_op: {name!r} is already an op (the ops are "
                          f"{', '.join(RULES)}, pow and affine); choose another name, or "
                          "forget_op it first")
    unknown = sorted(set(how_written) - set(_HOW_WRITTEN))
    if unknown:
        raise TypeError(f"define_op {name!r}: unknown keyword {', '.join(unknown)} "
                        f"(how_written takes {', '.join(_HOW_WRITTEN)})")
    if not callable(forward):
        raise TypeError(f"define_op {name!r}: forward must be a function, got {forward!r}")
    arity = _arity(name, forward)
    if isinstance(derivatives, (Form, str)) or not isinstance(derivatives, Sequence):
        raise TypeError(f"define_op {name!r}: derivatives must be a list with one form per "
                        f"input, got {derivatives!r}")
    ds = tuple(d if isinstance(d, Form) else _number_form(name, d) for d in derivatives)
    if len(ds) != arity:
        raise OpArityError(
            f"define_op {name!r}: forward takes {arity} input{'s' if arity != 1 else ''} "
            f"but {len(ds)} derivative{'s were' if len(ds) != 1 else ' was'} given "
            "(one ∂out/∂input per input)")
    for i, d in enumerate(ds):
        _check_symbols(name, arity, i, d)
    text = _identifier_or(how_written.get("text", name), "text", name)
    python = how_written.get("python", name)
    if not isinstance(python, str) or not python.isidentifier():
        raise TypeError(f"define_op {name!r}: python must be an identifier, got {python!r}")
    latex = how_written.get("latex", f"\\operatorname{{{name}}}")
    symbol = how_written.get("symbol", text)
    keys = ("{x}", "{y}")[:arity] if arity <= 2 else tuple(f"{{{i}}}" for i in range(arity))
    infix, postfix = how_written.get("infix"), how_written.get("postfix")
    if infix is not None and arity != 2:
        raise OpArityError(f"define_op {name!r}: infix is for two-input ops, forward takes {arity}")
    if postfix is not None and arity != 1:
        raise OpArityError(f"define_op {name!r}: postfix is for one-input ops, forward takes "
                           f"{arity}")
    if infix is not None:
        symbol_tex = latex if "latex" in how_written else infix
        expr, expr_latex = f"{{x}} {infix} {{y}}", f"{{x}} {symbol_tex} {{y}}"
    elif postfix is not None:
        expr, expr_latex = f"{{x}}{postfix}", f"{{x}}{postfix}"
    else:
        expr = f"{text}({', '.join(keys)})"
        expr_latex = f"{latex}({', '.join(keys)})"
    for value, what in ((latex, "latex"), (symbol, "symbol")):
        if not isinstance(value, str) or not value:
            raise TypeError(f"define_op {name!r}: {what} must be a non-empty str, got {value!r}")
    rule = declare(
        name, symbol, arity, _forward(name, forward, ds),
        Form(name, tuple(forms.arg(i) for i in range(arity))), ds, own_replay=True,
        templates=(expr, expr_latex), callable=True,
        kept_in_paths=bool(how_written.get("kept_in_paths", True)),
        call=(text, latex, python), builtin=False,
    )
    return Op(rule)


def forget_op(name: str) -> None:
    """Removes an op made by :func:`define_op` (to define it again, or after a test).

    Raises:
        KeyError: ``name`` is not an op made by :func:`define_op` (built-ins stay).
    """
    rule = RULES.get(name)
    if rule is None or rule.builtin:
        raise KeyError(f"forget_op: {name!r} is not an op made by define_op")
    del RULES[name]
    forms.unregister(name)


def _identifier_or(value: Any, what: str, name: str) -> str:
    if not isinstance(value, str) or not value or any(ch in value for ch in "{}() ,"):
        raise TypeError(f"define_op {name!r}: {what} must be a name without spaces, brackets "
                        f"or commas, got {value!r}")
    return value


def _number_form(name: str, d: Any) -> Form:
    if isinstance(d, bool) or not isinstance(d, Real) or not math.isfinite(float(d)):
        raise TypeError(f"define_op {name!r}: a derivative must be a form (from "
                        f"scalargrad.forms) or a finite number, got {d!r}")
    return forms.num(float(d))


def _arity(name: str, forward: Callable[..., float]) -> int:
    try:
        params = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: count the derivatives
        raise OpArityError(f"define_op {name!r}: cannot read the inputs of {forward!r}; wrap "
                           "it in a lambda with one parameter per input") from None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or not positional:
        raise OpArityError(f"define_op {name!r}: forward must take a fixed number (≥ 1) of "
                           "inputs, one parameter each")
    return len(positional)


def _check_symbols(name: str, arity: int, i: int, d: Form) -> None:
    stack = [d]
    while stack:
        f = stack.pop()
        if f.kind == "arg" and not 0 <= int(f.value) < arity:
            which = {0: "X", 1: "Y"}.get(int(f.value), f"arg({int(f.value)})")
            raise OpSymbolError(
                f"define_op {name!r}: derivative {i} uses {which}, input {int(f.value)}, but "
                f"the op has {arity} input{'s' if arity != 1 else ''}")
        if f.kind == "c":
            raise OpSymbolError(f"define_op {name!r}: derivative {i} uses C, pow's exponent, "
                                "which the op does not have")
        stack.extend(f.args)


def _forward(name: str, forward: Callable[..., float],
             derivatives: tuple[Form, ...]) -> Callable[..., tuple[float, tuple[float, ...]]]:
    """The rule's forward: the user's float function, then its derivative forms evaluated."""
    n = len(derivatives)
    names = ("x", "y")[:n] if n <= 2 else tuple(f"x{i}" for i in range(n))
    shown = [d.text(names).replace("{out}", "out") for d in derivatives]

    def rule_forward(*xs: float) -> tuple[float, tuple[float, ...]]:
        try:
            out = forward(*xs)
        except (ValueError, OverflowError, ZeroDivisionError) as err:
            raise DomainError(f"{name}: {name}({_args(xs)}) is undefined "
                              f"({type(err).__name__}: {err})") from None
        if isinstance(out, bool) or not isinstance(out, Real):
            raise TypeError(f"{name}: forward returned {out!r}, not a number")
        out = float(out)
        if out - out != 0.0:
            raise DomainError(f"{name}: result {out!r} of {name}({_args(xs)}) is not a "
                              "finite float")
        grads = []
        for i, d in enumerate(derivatives):
            try:
                g = d.evaluate(xs, out)
            except (ValueError, OverflowError, ZeroDivisionError) as err:
                g = math.nan
                why = f" ({type(err).__name__}: {err})"
            else:
                why = ""
            if g - g != 0.0:
                raise DomainError(f"{name}: the derivative ∂out/∂input {i} = {shown[i]} at "
                                  f"{name}({_args(xs)}) is not finite{why}")
            grads.append(g)
        return out, tuple(grads)

    rule_forward.__name__ = name
    return rule_forward


def _args(xs: Sequence[float]) -> str:
    return ", ".join(repr(x) for x in xs)
