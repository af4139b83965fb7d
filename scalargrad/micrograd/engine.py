"""``micrograd.engine.Value`` on scalargrad: same signature, same graph, exact backward.

``Value(data, _children=(), _op='')`` builds exactly the graph micrograd 0.1.0
builds — ``a - b`` is ``a + (b * -1)``, ``a / b`` is ``a * b**-1``, a plain
number becomes a leaf — so forward values are bit for bit micrograd's, and
``_prev`` and ``_op`` (``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``) read the same.
Underneath each node is a :class:`scalargrad.Value`: it stores its local
derivatives (``∂(a+b)/∂a = 1``, ``∂(a·b)/∂a = b``, ``∂(a^c)/∂a = c·a^(c−1)``,
``∂relu(a)/∂a = [a > 0]``), so :func:`scalargrad.draw`, :func:`scalargrad.explain`,
:func:`scalargrad.backward_steps` and :func:`scalargrad.save_steps_html` work on
it, and :meth:`backward` is scalargrad's.

Where micrograd 0.1.0 is wrong, this module is not (see the package docstring):
``backward()`` has no recursion limit, a second ``backward()`` without
``zero_grad()`` exactly doubles every grad instead of over-counting, and
``backward()``, ``zero_grad()`` and each node's ``_backward()`` step hold
:data:`scalargrad.engine.GRAD_LOCK`, so threads sharing parameters get exact
totals.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any, cast

from .. import engine as _engine

__all__ = ["Value"]

_Base = _engine.Value
Number = int | float

# scalargrad rule name → micrograd's op string (pow is '**' + the exponent as written).
_OP_TEXT = {"add": "+", "mul": "*", "relu": "ReLU"}
# micrograd's op text where the rule alone cannot tell it: the exponent exactly as the caller
# wrote it (2 → '**2', 2.0 → '**2.0'), and an _op given to a leaf (Value(1.0, (), '+')).
_OP_GIVEN: weakref.WeakKeyDictionary[_engine.Value, str] = weakref.WeakKeyDictionary()


def _adopt(out: _engine.Value) -> Value:
    """Makes a node the engine just built (and the constants it made) drop-in Values."""
    for child in out.inputs:
        if child.__class__ is _Base and child.is_constant:  # made from a plain number
            child.__class__ = Value
    out.__class__ = Value
    return cast(Value, out)


def _binary(
    method: Callable[[_engine.Value, Any], _engine.Value], x: Value, other: object, op: str
) -> Value:
    """``x op other`` by scalargrad's ``method``; a plain number becomes a constant leaf."""
    if isinstance(other, _Base):  # the hot path: no constant to adopt
        out = method(x, other)
        out.__class__ = Value
        return cast(Value, out)
    if isinstance(other, bool) or not isinstance(other, Real):
        raise TypeError(
            f"micrograd Value {op}: the other operand must be a Value or a number, "
            f"not {type(other).__name__}"
        )
    return _adopt(method(x, other))


class Value(_engine.Value):
    """A scalar and its gradient, as ``micrograd.engine.Value`` (0.1.0).

    Args:
        data: The number (stored as a float; micrograd keeps ints as ints).
        _children: The nodes ``data`` was computed from. With ``_op`` one of
            micrograd's (``'+'``, ``'*'``, ``'**c'``, ``'ReLU'``) or ``'tanh'``,
            ``'exp'`` (the lecture's), the node is rebuilt by that operation so
            that it carries its local derivatives; ``data`` must agree with it.
        _op: The operation's name, as micrograd writes it.
        label: An optional name (as in the lecture's version), shown by
            :func:`scalargrad.draw` and in explanations.

    Raises:
        ValueError: ``data`` is NaN or infinite; ``_op`` is unknown while
            ``_children`` is given (a custom ``_backward`` cannot be attached:
            build the operation from the supported ones); ``data`` disagrees
            with ``_op`` applied to ``_children``.
        TypeError: ``data`` is not a number.

    Example:
        >>> a, b = Value(2.0), Value(-3.0)
        >>> c = a * b + 1
        >>> c._op, sorted(v.data for v in c._prev)
        ('+', [-6.0, 1.0])
        >>> c.backward()
        >>> a
        Value(data=2.0, grad=-3.0)
    """

    __slots__ = ()

    def __new__(  # noqa: D102 (documented on the class)
        cls,
        data: Number,
        _children: Iterable[_engine.Value] = (),
        _op: str = "",
        label: str = "",
    ) -> Value:
        children = tuple(_children)
        if children:
            return _from_children(data, children, _op)
        return _engine.Value.__new__(cls)

    def __init__(
        self,
        data: Number,
        _children: Iterable[_engine.Value] = (),
        _op: str = "",
        label: str = "",
    ) -> None:
        if getattr(self, "inputs", ()):
            if label:
                self.label = label
            return  # made by __new__ from _children
        super().__init__(data, label)
        if _op:
            _OP_GIVEN[self] = _op  # a leaf that only says what made it, as micrograd allows

    # --- micrograd's view of the node ----------------------------------------------

    @property
    def _prev(self) -> set[_engine.Value]:
        """The nodes this one was computed from, as a set (micrograd's ``_prev``)."""
        return set(self.inputs)

    @property
    def _op(self) -> str:
        """The operation as micrograd names it: ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``, ``''``."""
        name = self.op
        if name == "pow" or not self.inputs:
            text = _OP_GIVEN.get(self)
            if text is None and not self.inputs:
                return ""
            if text is None:
                c = self.rule.exponent if self.rule is not None else None
                text = "**" + (str(int(c)) if c is not None and c.is_integer() else str(c))
            return text
        return _OP_TEXT.get(name, name)

    @property
    def _backward(self) -> Callable[[], None]:
        """This node's step of backprop: adds ``grad · ∂self/∂input`` to each input's grad.

        The step holds :data:`scalargrad.engine.GRAD_LOCK` (which ``backward``,
        ``zero_grad`` and every ``grad`` assignment hold too), so hand-written
        backward loops in several threads over shared parameters or a shared
        subgraph lose no update: each step reads ``grad`` and adds to its
        inputs as one, and the totals are exact.
        """

        def step() -> None:
            with _engine.GRAD_LOCK:  # read-modify-write of grads other threads may touch
                g = self.grad
                for child, local in zip(self.inputs, self.local_grads):
                    child.grad += g * local

        return step

    @_backward.setter
    def _backward(self, fn: Any) -> None:
        raise AttributeError(
            "scalargrad.micrograd: a node's _backward cannot be replaced: each node stores "
            "its local derivatives (from its op) instead of a closure; write the new "
            "operation with the supported ones (+, *, **, relu, tanh, exp, …) or as "
            "Value(data, (x,), 'tanh') with a supported op"
        )

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles the graph as scalargrad does; it unpickles as drop-in Values again."""
        rebuild, args = super().__reduce__()[:2]
        return _unpickle, (rebuild, args)

    # --- operations, written as micrograd writes them ------------------------------

    def __add__(self, other: Value | Number) -> Value:  # type: ignore[override]
        """``self + other``; ∂/∂self = 1, ∂/∂other = 1."""
        return _binary(_Base.__add__, self, other, "+")

    def __mul__(self, other: Value | Number) -> Value:  # type: ignore[override]
        """``self · other``; ∂/∂self = other, ∂/∂other = self."""
        return _binary(_Base.__mul__, self, other, "*")

    def __pow__(self, other: Number) -> Value:
        """``self ** other`` for a number ``other``; ∂/∂self = other·self^(other−1)."""
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            raise TypeError(
                "micrograd Value **: only int/float powers are supported, "
                f"not {type(other).__name__}"
            )
        out = _adopt(_Base.__pow__(self, other))
        _OP_GIVEN[out] = f"**{other}"
        return out

    def relu(self) -> Value:
        """``max(0, self)``; ∂/∂self = 1 if self > 0 else 0."""
        return _adopt(_Base.relu(self))

    def tanh(self) -> Value:
        """The hyperbolic tangent (the lecture's op); ∂/∂self = 1 − tanh²."""
        return _adopt(_Base.tanh(self))

    def exp(self) -> Value:
        """``e^self`` (the lecture's op); ∂/∂self = e^self."""
        return _adopt(_Base.exp(self))

    def sigmoid(self) -> Value:
        """σ(self); ∂/∂self = σ(1 − σ). Not in micrograd."""
        return _adopt(_Base.sigmoid(self))

    def log(self) -> Value:
        """Natural log; ∂/∂self = 1/self. Not in micrograd."""
        return _adopt(_Base.log(self))

    def square(self) -> Value:
        """``self²``; ∂/∂self = 2·self. Not in micrograd."""
        return _adopt(_Base.square(self))

    def __neg__(self) -> Value:  # -self, as micrograd: self * -1
        return self * -1

    def __radd__(self, other: Number) -> Value:
        return self + other  # other + self, as micrograd: self + other

    def __sub__(self, other: Value | Number) -> Value:  # type: ignore[override]
        return self + (-other)  # self - other

    def __rsub__(self, other: Number) -> Value:
        return other + (-self)  # other - self

    def __rmul__(self, other: Number) -> Value:
        return self * other  # other * self

    def __truediv__(self, other: Value | Number) -> Value:  # type: ignore[override]
        """``self / other``, as micrograd: ``self * other**-1``; ∂/∂self = 1/other.

        A plain number is inverted in Python, as micrograd does (the graph
        gets the constant ``1/other``), except that a zero (or a number whose
        inverse overflows) raises the same :class:`scalargrad.DomainError` as
        dividing by ``Value(0.0)`` instead of Python's ZeroDivisionError.
        """
        if isinstance(other, _Base):
            return self * (other**-1)  # self / other
        if isinstance(other, bool) or not isinstance(other, Real):
            raise TypeError(
                f"micrograd Value /: the other operand must be a Value or a number, "
                f"not {type(other).__name__}"
            )
        try:
            inverse = float(other) ** -1
        except (ZeroDivisionError, OverflowError):  # 0, a subnormal, an int beyond floats
            return self * (Value(other) ** -1)  # raises scalargrad's error, naming the operand
        return self * inverse

    def __rtruediv__(self, other: Number) -> Value:
        return other * self**-1  # other / self


def _unpickle(rebuild: Callable[..., _engine.Value], args: tuple[Any, ...]) -> Value:
    root = rebuild(*args)
    for v in _engine.topological_order(root):
        if v.__class__ is _Base:
            v.__class__ = Value
    return cast(Value, root)


# Applied as scalargrad's own operations, so a child may also be a plain scalargrad Value.
_UNARY: dict[str, Callable[[_engine.Value], _engine.Value]] = {
    "ReLU": _Base.relu,
    "tanh": _Base.tanh,
    "exp": _Base.exp,
}
_BINARY: dict[str, Callable[[_engine.Value, _engine.Value], _engine.Value]] = {
    "+": _Base.__add__,
    "*": _Base.__mul__,
}


def _from_children(data: Number, children: tuple[_engine.Value, ...], op: str) -> Value:
    """``Value(data, _children, _op)``: the node ``op(*children)``, checked against ``data``."""
    for c in children:
        if not isinstance(c, _Base):
            raise TypeError(
                f"micrograd Value(data, _children, {op!r}): each child must be a Value, "
                f"not {type(c).__name__}"
            )
    xs = children
    if op in _BINARY and len(xs) == 2:
        out = _adopt(_BINARY[op](xs[0], xs[1]))
    elif op in _UNARY and len(xs) == 1:
        out = _adopt(_UNARY[op](xs[0]))
    elif op.startswith("**") and len(xs) == 1:
        try:
            exponent = float(op[2:])
        except ValueError:
            raise ValueError(f"micrograd Value: cannot read the exponent of {op!r}") from None
        out = _adopt(_Base.__pow__(xs[0], exponent))
        _OP_GIVEN[out] = op
    else:
        raise ValueError(
            f"micrograd Value(data, _children, {op!r}) with {len(xs)} children: scalargrad "
            "stores each node's local derivatives, taken from its op, so the op must be one of "
            "'+' or '*' (two children) or '**c', 'ReLU', 'tanh', 'exp' (one child); a custom "
            "_backward closure cannot be attached — build the operation from these instead"
        )
    want = float(data)
    if not math.isclose(out.data, want, rel_tol=1e-9, abs_tol=1e-12):
        raise ValueError(
            f"micrograd Value({data!r}, _children, {op!r}): data is not {op} of the "
            f"children's data (that gives {out.data!r}); scalargrad derives every node's "
            "local derivatives from its op, so the two must agree"
        )
    out.data = want
    return out
