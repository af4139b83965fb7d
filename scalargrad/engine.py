"""The :class:`Value` node, its operators and ``backward``.

A ``Value`` is one number in a computation graph. An operation on Values
creates a new node that records, as plain data, which rule made it (``op``),
its ``inputs`` (a tuple, duplicates kept) and its ``local_grads``: the numbers
``∂node/∂inputs[i]`` computed once, at forward time, by the rule table in
:mod:`scalargrad.rules`. ``backward`` then only multiplies and adds:

    grad(input) += grad(node) · local_grad

which is the chain rule of the notes. When a node feeds several consumers
(``a_k^(L-1)`` feeds every ``z_j^(L)``), their contributions add up in its
``grad``: that is the sum over ``j``.

Nodes hold no closures and point only at their inputs, so a finished graph has
no reference cycles and is freed by reference counting alone. Nothing here
recurses: a chain a million nodes deep goes backward, ``copy.deepcopy`` and
``pickle`` at the default recursion limit. ``backward`` never leaves a silent
NaN or inf: a gradient that overflows raises :class:`DomainError` and the pass
is undone.

The graph walks (:func:`~scalargrad.graph.topological_order`,
:func:`~scalargrad.graph.forward_order`) live in :mod:`scalargrad.graph` and
copying and pickling in :mod:`scalargrad.copying`; both are re-exported here
and from :mod:`scalargrad`.
"""

from __future__ import annotations

import ast
import linecache
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from numbers import Real
from operator import attrgetter
from typing import Any, TypeAlias

from .copying import deep_copy, reduce_value, shallow_copy
from .forms import ATOM, Printed
from .graph import forward_order, topological_order
from .names import display_names
from .rules import CONSTANT, RULES, DomainError, Rule, affine_rule, pow_rule

__all__ = ["Number", "Value", "affine", "forward_order", "sum_values", "topological_order"]

Number: TypeAlias = int | float

_ADD = RULES["add"]
_SUB = RULES["sub"]
_MUL = RULES["mul"]
_DIV = RULES["div"]
_NEG = RULES["neg"]
_SQUARE = RULES["square"]
_SIGMOID = RULES["sigmoid"]
_TANH = RULES["tanh"]
_RELU = RULES["relu"]
_EXP = RULES["exp"]
_LOG = RULES["log"]
_SUM = RULES["sum"]

GRAD_LOCK = threading.RLock()
"""Held by every write of node state shared between graphs: ``backward`` (the grads and the
consumer counts it keeps in node slots), ``zero_grad`` and assigning ``grad``. Two threads that
call ``backward`` on graphs sharing parameters each get a whole pass, one after the other, so
the totals are exact. Hold it around a read-modify-write of your own
(``with GRAD_LOCK: w.grad += …``) to make that exact too."""
_lock, _unlock = GRAD_LOCK.acquire, GRAD_LOCK.release


def _check_number(data: object, what: str) -> float:
    """Converts a plain number to float, or raises a clear error."""
    if isinstance(data, bool) or not isinstance(data, Real):
        raise TypeError(
            f"{what} must be an int or a float, not {type(data).__name__} ({data!r})"
        )
    try:
        x = float(data)
    except OverflowError:  # an int (or Fraction) beyond the float range
        raise ValueError(f"{what} must be finite, got a {type(data).__name__} too large "
                         "for a float") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x!r}")
    return x


# --- the operators + − ·, written from their rules -------------------------------------

_OPERATOR = '''\
def make(rule):
    def {method}(self, other):
        if other.__class__ is not Value:
            if other.__class__ is not float or other - other != 0.0:
                return self._binary(rule, other, False)
            other = _constant(other)  # a finite float, as _binary makes it: one call less
        a = self._data
        b = other._data
        data = {forward}
        if data - data != 0.0:  # NaN or ±inf: never let one through silently
            _not_finite(rule, data, (self, other))
        out = _new(Value)
        out._data = data
        out._grad = 0.0
        out.label = ""
        out._rule = rule
        out._x = self
        out._y = other
        out._gx = {dx}
        out._gy = {dy}
        out._n = 0
        return out
    return {method}
'''

# What a forward form may print as to be written into its operator: float arithmetic
# that cannot raise (+, −, · and unary minus of the two inputs and numbers).
_ARITHMETIC = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.USub,
               ast.UAdd, ast.Name, ast.Load, ast.Constant)


def _written_out(rule: Rule) -> tuple[str, str, str] | None:
    """``rule``'s forward and two local derivatives as Python over ``a``, ``b``, or None.

    Printed by the forms' printer (the text compiled replay writes) where the
    forward is plain arithmetic of the inputs that cannot raise (``a * b``)
    and each derivative is an input or a number (``b``, ``1.0``), so no
    result needs a check beyond the forward's. Anything else (``div``'s
    domain check, an op of :func:`~scalargrad.define_op`) is ``None``.
    """
    if rule.arity != 2 or rule.own_replay or rule.form is None:
        return None
    ab = [Printed("a", ATOM, 0), Printed("b", ATOM, 0)]
    forward = rule.form.python(ab, None, rule=rule.name).text
    tree = ast.parse(forward, mode="eval")
    if not all(isinstance(n, _ARITHMETIC) for n in ast.walk(tree)) or not all(
            n.id in ("a", "b") for n in ast.walk(tree) if isinstance(n, ast.Name)):
        return None
    grads = []
    for d in rule.derivatives:
        if d.kind == "num":
            grads.append(repr(float(d.value)))
        elif d.kind == "arg":
            grads.append("ab"[int(d.value)])
        else:
            return None
    return forward, grads[0], grads[1]


def _operator(rule: Rule, method: str) -> Callable[[Value, Value | Number], Value]:
    """``Value.<method>`` (``__add__``, ``__sub__``, ``__mul__``) made from ``rule``.

    The hot path of ``x + y``, ``x − y`` and ``x · y``, generated when the
    engine is imported from the rule's one definition: where its forms print
    as plain arithmetic (:func:`_written_out`), that Python is the method's
    body and the node is built with no call of ``rule.forward`` (which
    computes the same floats: a test compares the two bit for bit);
    otherwise the method builds the node with :func:`_node2`, which calls
    ``rule.forward`` as every other op does. A number operand becomes a
    constant leaf; any other operand goes to :meth:`Value._binary` (its
    checks and errors).
    """
    found = _written_out(rule)
    fn: Any
    if found is None:
        def fn(self: Value, other: Value | Number) -> Value:
            if other.__class__ is not Value:
                return self._binary(rule, other, False)
            return _node2(rule, self, other)
    else:
        forward, dx, dy = found
        source = (_OPERATOR.replace("{method}", method).replace("{forward}", forward)
                  .replace("{dx}", dx).replace("{dy}", dy))
        filename = f"<scalargrad: Value.{method}, written from the rule {rule.name!r}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        made: dict[str, Any] = {}
        exec(compile(source, filename, "exec"), globals(), made)  # our own text, from the rule
        fn = made["make"](rule)
    x, y = (rule.render(rule.formula(i), ("self", "other")) for i in (0, 1))
    fn.__doc__ = f"``{rule.render(rule.expr, ('self', 'other'))}``; ∂/∂self = {x}, ∂/∂other = {y}."
    fn.__name__, fn.__qualname__ = method, f"Value.{method}"
    return fn  # type: ignore[no-any-return]


class Value:
    """A scalar in a computation graph, with its gradient.

    Args:
        data: The number (an int or a float; stored as a float).
        label: A name in the notes' notation, e.g. ``"w^(L)"``, used by
            ``repr``, steps, explanations and drawings.

    Attributes:
        data: The forward value. Assigning a non-number (or NaN, ±inf)
            raises at once, naming the node.
        grad: ``∂root/∂self`` accumulated by :meth:`backward` (0.0 at start).
            Assigning a non-number (or NaN, ±inf) raises at once, naming the
            node, so a later ``backward`` never meets one.
        label: The node's name ("" when unnamed).
        inputs: The nodes this one was computed from, in order, duplicates
            kept (``a * a`` has ``(a, a)``). Empty for leaves.
        local_grads: ``∂self/∂inputs[i]`` at the forward values, one float per
            input.

    Raises:
        TypeError: ``data`` is not an int or a float (e.g. a str, None, a
            complex number or a bool).
        ValueError: ``data`` is NaN or infinite.

    Example:
        >>> w, a, b = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b")
        >>> z = w * a + b
        >>> z.backward()
        >>> w.grad, a.grad, b.grad
        (1.5, 0.5, 1.0)
    """

    # Layout (one GC-tracked object per leaf, unary and binary node): a node's
    # inputs and local derivatives live in its own slots, not in tuples.
    #   leaf:     _x is None, _y is None
    #   unary:    _x = input, _gx = ∂self/∂input, _y is None
    #   binary:   _x, _y = inputs, _gx, _gy = local derivatives
    #   n-ary:    _x = inputs (a tuple), _gx = local derivatives (a tuple), _y is _NARY
    # _n is scratch space for backward (the consumers not yet processed); it
    # is 0 outside backward. ``inputs`` and ``local_grads`` rebuild the tuples.
    __slots__ = ("_data", "_grad", "label", "_rule", "_x", "_y", "_gx", "_gy", "_n",
                 "__weakref__")

    _data: float
    _grad: float
    label: str
    _rule: Rule | None
    _x: Any
    _y: Any
    _gx: Any
    _gy: float
    _n: int

    def __init__(self, data: Number, label: str = "") -> None:
        if data.__class__ is not float:
            data = _check_number(data, "Value data")
        elif data - data != 0.0:  # NaN or ±inf
            raise ValueError(f"Value data must be finite, got {data!r}")
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, not {type(label).__name__}")
        self._data = data
        self._grad = 0.0
        self.label = label
        self._rule = None
        self._x = None
        self._y = None
        self._n = 0

    # --- the numbers ----------------------------------------------------------

    @property
    def data(self) -> float:
        """The forward value (a finite float)."""
        return self._data

    @data.setter
    def data(self, value: Number) -> None:
        if value.__class__ is not float or value - value != 0.0:
            value = _check_number(value, f"the data of {_which(self)}")
        self._data = value

    @property
    def grad(self) -> float:
        """``∂root/∂self`` accumulated by :meth:`backward` (a finite float)."""
        return self._grad

    @grad.setter
    def grad(self, value: Number) -> None:
        if value.__class__ is not float or value - value != 0.0:
            value = _check_number(value, f"the grad of {_which(self)}")
        _lock()  # never in the middle of another thread's backward pass
        try:  # (acquire/release: half the cost of ``with`` on this hot path)
            self._grad = value
        finally:
            _unlock()

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The nodes this one was computed from, in order, duplicates kept (``()`` for a leaf)."""
        y = self._y
        if y is None:
            x = self._x
            return () if x is None else (x,)
        if y is _NARY:
            return self._x  # type: ignore[no-any-return]
        return (self._x, y)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """``∂self/∂inputs[i]`` at the forward values, one float per input."""
        y = self._y
        if y is None:
            return () if self._x is None else (self._gx,)
        if y is _NARY:
            return self._gx  # type: ignore[no-any-return]
        return (self._gx, self._gy)

    # --- what made this node ------------------------------------------------

    @property
    def op(self) -> str:
        """The name of the rule that made this node ("" for a leaf)."""
        r = self._rule
        return "" if r is None else r.name  # CONSTANT's name is "" too

    @property
    def rule(self) -> Rule | None:
        """The :class:`~scalargrad.rules.Rule` that made this node (None for a leaf)."""
        r = self._rule
        return None if r is CONSTANT else r

    @property
    def is_constant(self) -> bool:
        """True for a leaf the engine made from a plain number (the 2 in ``2 * x``)."""
        return self._rule is CONSTANT

    def __repr__(self) -> str:
        name = f"{self.label!r}, " if self.label else ""
        op = f", op={self.op!r}" if self._x is not None else ""
        return f"Value({name}data={self._data:.6g}, grad={self._grad:.6g}{op})"

    # --- building nodes -----------------------------------------------------

    def _apply(self, rule: Rule, inputs: tuple[Value, ...]) -> Value:
        """Records ``rule`` applied to ``inputs`` as a new node."""
        n = len(inputs)
        if n == 2:
            return _node2(rule, inputs[0], inputs[1])
        if n == 1:
            return _node1(rule, inputs[0])
        return _noden(rule, inputs)

    def _binary(self, rule: Rule, other: object, reflected: bool) -> Value:
        if other.__class__ is not Value:
            if other.__class__ is float and other - other == 0.0:  # type: ignore[operator,unused-ignore]
                other = _constant(other)
            elif isinstance(other, Value):
                pass
            elif isinstance(other, bool) or not isinstance(other, Real):
                return NotImplemented  # type: ignore[no-any-return]
            else:
                other = _constant(_check_number(other, f"the number in {rule.name}"))
        assert isinstance(other, Value)
        return _node2(rule, other, self) if reflected else _node2(rule, self, other)

    __add__ = _operator(_ADD, "__add__")

    def __radd__(self, other: Number) -> Value:
        return self._binary(_ADD, other, True)  # other + self

    __sub__ = _operator(_SUB, "__sub__")

    def __rsub__(self, other: Number) -> Value:
        return self._binary(_SUB, other, True)  # other - self

    __mul__ = _operator(_MUL, "__mul__")

    def __rmul__(self, other: Number) -> Value:
        return self._binary(_MUL, other, True)  # other * self

    def __truediv__(self, other: Value | Number) -> Value:
        """``self / other``; ∂/∂self = 1/other, ∂/∂other = −self/other²."""
        if other.__class__ is Value:
            return _node2(_DIV, self, other)
        return self._binary(_DIV, other, False)

    def __rtruediv__(self, other: Number) -> Value:
        return self._binary(_DIV, other, True)  # other / self

    def __pow__(self, exponent: Number) -> Value:
        """``self ** c`` for a constant number ``c``; ∂/∂self = c·self^(c−1)."""
        if isinstance(exponent, Value):
            raise TypeError(
                "pow: the exponent must be a plain number, not a Value "
                "(write exp(c * log(x)) to differentiate with respect to the exponent)"
            )
        if isinstance(exponent, bool) or not isinstance(exponent, Real):
            return NotImplemented
        c = _check_number(exponent, "pow exponent")
        return _node1(pow_rule(c), self)

    def __neg__(self) -> Value:
        """``−self``; ∂/∂self = −1."""
        return _node1(_NEG, self)

    def __pos__(self) -> Value:
        return self

    def square(self) -> Value:
        """``self²`` (the notes' cost ``(a − y)²``); ∂/∂self = 2·self."""
        return _node1(_SQUARE, self)

    def sigmoid(self) -> Value:
        """``σ(self) = 1/(1 + e^−self)``; ∂/∂self = σ(self)(1 − σ(self)).

        Stable for every finite input: ``Value(-1000).sigmoid()`` is 0.0.
        """
        return _node1(_SIGMOID, self)

    def tanh(self) -> Value:
        """The hyperbolic tangent t; ∂t/∂self = 1 − t². Stable for every finite input."""
        return _node1(_TANH, self)

    def relu(self) -> Value:
        """``max(0, self)``; ∂/∂self = 1 if self > 0 else 0 (0 at the kink, as PyTorch)."""
        return _node1(_RELU, self)

    def exp(self) -> Value:
        """``e^self``; ∂/∂self = e^self. Raises DomainError on overflow (self > 709.78)."""
        return _node1(_EXP, self)

    def log(self) -> Value:
        """Natural log; ∂/∂self = 1/self. Raises DomainError for self ≤ 0."""
        return _node1(_LOG, self)

    def label_as(self, label: str) -> Value:
        """Sets the label and returns self, for chaining: ``(w * a + b).label_as("z")``."""
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, not {type(label).__name__}")
        self.label = label
        return self

    # --- gradients ----------------------------------------------------------

    def backward(self) -> None:
        """Adds ``∂self/∂v`` to ``v.grad`` for every node ``v`` in the graph.

        The root is seeded with 1.0 and nodes are processed in reverse
        topological order (exactly :func:`~scalargrad.graph.topological_order`),
        each sending ``grad · local_grad`` to its inputs. Only this pass's
        gradients are propagated: what an earlier pass left on a node is kept
        and added to, never re-sent, so a second call without
        :meth:`zero_grad` exactly doubles every grad (as in PyTorch).

        Never a silent NaN: if a gradient overflows (``∂root/∂v`` is ±inf, or
        NaN from ``inf · 0`` or ``inf − inf``), backward stops, puts every
        ``grad`` back exactly as it was before this call (what earlier passes
        accumulated is intact) and raises.

        Thread-safe: the pass holds :data:`GRAD_LOCK`, so ``backward`` calls
        from several threads on graphs that share nodes (parameters, a
        subgraph) run one after the other and every total is exact.

        Raises:
            DomainError: A gradient is not finite. The message names the
                first node whose gradient is not finite (its display name
                and label) and the consumer, upstream gradient and local
                derivative it came through.
        """
        with GRAD_LOCK:  # the pass writes grads and counts in shared nodes' slots
            self._backward_pass()

    def _backward_pass(self) -> None:
        """:meth:`backward`'s pass (the caller holds :data:`GRAD_LOCK`)."""
        # Kahn's algorithm (as in topological_order) fused with the propagation:
        # a node is processed once every consumer has sent its share. The count
        # of consumers not yet processed lives in each node's _n slot (cheaper
        # than a dict); pass 2 brings every count back to 0.
        # Pass 1 walks ``nodes`` while appending to it (a breadth-first sweep: the
        # counts do not depend on the order), so the list of every node, kept for
        # setting aside grads and for undoing, is also the work list.
        nodes = [self]
        saved: list[tuple[Value, float]] | None = None
        emit = nodes.append
        try:
            # Pass 1: count consumers.
            for v in nodes:
                y = v._y
                if y is None:
                    x = v._x
                    if x is None:
                        continue
                    k = x._n
                    if k:
                        x._n = k + 1
                    else:
                        x._n = 1
                        emit(x)
                elif y is _NARY:
                    for x in v._x:
                        k = x._n
                        if k:
                            x._n = k + 1
                        else:
                            x._n = 1
                            emit(x)
                else:
                    x = v._x
                    k = x._n
                    if k:
                        x._n = k + 1
                    else:
                        x._n = 1
                        emit(x)
                    k = y._n
                    if k:
                        y._n = k + 1
                    else:
                        y._n = 1
                        emit(y)
            # What earlier passes left is set aside and added back at the end.
            saved = [(v, v._grad) for v in nodes if v._grad]
            for v, _ in saved:
                v._grad = 0.0
            # Pass 2: release a node once all its consumers have sent their share.
            self._grad = 1.0
            ready = [self]
            pop, push = ready.pop, ready.append
            while ready:
                v = pop()
                g = v._grad
                if g - g != 0.0:  # ±inf or NaN: final now, as every consumer has sent
                    raise _backward_failed(self, v, saved)
                y = v._y
                if y is None:
                    x = v._x
                    if x is None:
                        continue
                    if g:
                        x._grad += g * v._gx
                    k = x._n - 1
                    x._n = k
                    if not k:
                        push(x)
                elif y is _NARY:
                    inputs = v._x
                    if g:
                        for x, local in zip(inputs, v._gx):
                            x._grad += g * local
                    for x in reversed(inputs):  # release in topological_order's order
                        k = x._n - 1
                        x._n = k
                        if not k:
                            push(x)
                else:
                    x = v._x
                    if g:
                        x._grad += g * v._gx
                        y._grad += g * v._gy
                    k = y._n - 1
                    y._n = k
                    if not k:
                        push(y)
                    k = x._n - 1
                    x._n = k
                    if not k:
                        push(x)
        except BaseException:
            for v in nodes:  # leave no count behind, even on KeyboardInterrupt
                v._n = 0
                if saved is not None:
                    v._grad = 0.0
            for v, before in saved or ():  # and no half-applied pass
                v._grad = before
            raise
        if saved:
            totals = [v._grad + before for v, before in saved]
            for total in totals:
                if total - total != 0.0:  # this pass's grad is finite, the sum overflowed
                    over = {id(u): b for t, (u, b) in zip(totals, saved) if t - t != 0.0}
                    v = next(u for u in _discovery_order(self) if id(u) in over)
                    raise _backward_failed(self, v, saved, over[id(v)])
            for total, (v, _) in zip(totals, saved):
                v._grad = total

    def zero_grad(self) -> None:
        """Sets ``grad`` to 0.0 on every node of this node's graph (holding :data:`GRAD_LOCK`)."""
        order = topological_order(self)
        with GRAD_LOCK:
            for v in order:
                v._grad = 0.0

    # --- copying and pickling (iterative: any depth; see scalargrad.copying) -----

    def __copy__(self) -> Value:
        """A shallow copy: a new node with the same data, grad, label and op over the *same* inputs.

        The copy is a second consumer of the original inputs (nothing below
        it is copied), so ``copy.copy(z).backward()`` sends gradients into the
        original graph. Use :func:`copy.deepcopy` for an independent graph.
        """
        return shallow_copy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """Copies the whole graph below this node in one pass, without recursion.

        Every copied node is registered in ``memo``, and nodes already there
        are reused, so deep-copying a structure that holds several nodes of
        one graph (``[cost, w]``, a whole ``nn.MLP``) keeps them connected:
        the copy of ``w`` is the leaf inside the copy of ``cost``. Data, grad,
        label, inputs (duplicates kept), local derivatives and op are copied;
        rules are immutable and shared.
        """
        return deep_copy(self, memo)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles the graph below this node as flat records, without recursion.

        A leaf pickles as its fields (a constant stays a constant). A node
        with inputs pickles as the leaves of its graph, which are pickled as
        Values so that pickle's memo shares them (in ``pickle.dumps([cost,
        w])`` the unpickled ``w`` is the leaf inside the unpickled cost), plus
        one record per op node in forward order: ``(op, exponent or arity,
        input indices, data, grad, label, local_grads)``. Rules are looked up
        again by name on loading. Op nodes other than the pickled one are
        rebuilt as part of its graph: an op node pickled on its own next to a
        root above it comes back as a separate copy of its subgraph.
        """
        return reduce_value(self)

    @classmethod
    def _restore(
        cls,
        data: float,
        grad: float,
        label: str,
        inputs: tuple[Value, ...],
        local_grads: tuple[float, ...],
        rule: Rule | None,
    ) -> Value:
        """Makes a node from its fields as given, unchecked (for copying and unpickling)."""
        out = _new(cls)
        out._data = data
        out._grad = grad
        out.label = label
        out._rule = rule
        _set_inputs(out, inputs, local_grads)
        out._n = 0
        return out


_new = Value.__new__
_NARY: Any = object()  # marks an n-ary node (see Value's layout)


def _node2(rule: Rule, x: Value, y: Value) -> Value:
    """``_apply`` for two inputs without building an argument list (the hot path)."""
    try:
        data, grads = rule.forward(x._data, y._data)
    except DomainError as err:
        raise DomainError(f"{err} [{_describe((x, y))}]") from None
    if data - data != 0.0:  # NaN or ±inf: never let one through silently
        _not_finite(rule, data, (x, y))
    out = _new(Value)
    out._data = data
    out._grad = 0.0
    out.label = ""
    out._rule = rule
    out._x = x
    out._y = y
    out._gx, out._gy = grads
    out._n = 0
    return out


def _node1(rule: Rule, x: Value) -> Value:
    """``_apply`` for one input."""
    try:
        data, grads = rule.forward(x._data)
    except DomainError as err:
        raise DomainError(f"{err} [{_describe((x,))}]") from None
    if data - data != 0.0:
        _not_finite(rule, data, (x,))
    out = _new(Value)
    out._data = data
    out._grad = 0.0
    out.label = ""
    out._rule = rule
    out._x = x
    out._y = None
    (out._gx,) = grads
    out._n = 0
    return out


def _noden(rule: Rule, inputs: tuple[Value, ...]) -> Value:
    """``_apply`` for any number of inputs."""
    try:
        data, grads = rule.forward(*[v._data for v in inputs])
    except DomainError as err:
        raise DomainError(f"{err} [{_describe(inputs)}]") from None
    if data - data != 0.0:
        _not_finite(rule, data, inputs)
    out = _new(Value)
    out._data = data
    out._grad = 0.0
    out.label = ""
    out._rule = rule
    _set_inputs(out, inputs, grads)
    out._n = 0
    return out


def _set_inputs(out: Value, inputs: tuple[Value, ...], grads: tuple[float, ...]) -> None:
    """Stores inputs and local derivatives in ``out``'s slots (see Value's layout)."""
    n = len(inputs)
    if n > 2:
        out._x = inputs
        out._y = _NARY
        out._gx = grads
    elif n == 2:
        out._x, out._y = inputs
        out._gx, out._gy = grads
    elif n == 1:
        out._x = inputs[0]
        out._y = None
        (out._gx,) = grads
    else:
        out._x = None
        out._y = None


def _not_finite(rule: Rule, data: float, inputs: tuple[Value, ...]) -> None:
    raise DomainError(f"{rule.name}: result {data!r} is not a finite float [{_describe(inputs)}]")


def _which(v: Value) -> str:
    """Names a node in an error message: its label, or what kind of node it is."""
    if v.label:
        return f"Value {v.label!r}"
    if v._x is None:
        return "a constant Value" if v._rule is CONSTANT else "an unlabelled leaf Value"
    return f"an unlabelled {v.op} node"


def _discovery_order(root: Value) -> list[Value]:
    """Every node under ``root`` in depth-first discovery order (inputs pushed in order).

    The error paths of backward name the first offending node or consumer in
    this order, so their messages do not depend on how pass 1 sweeps the graph.
    """
    nodes = [root]
    seen = {id(root)}
    stack = [root]
    while stack:
        v = stack.pop()
        y = v._y
        kids: Iterable[Value] = (
            (() if v._x is None else (v._x,)) if y is None else (v._x if y is _NARY else (v._x, y))
        )
        for x in kids:
            if id(x) not in seen:
                seen.add(id(x))
                stack.append(x)
                nodes.append(x)
    return nodes


def _backward_failed(
    root: Value,
    v: Value,
    saved: list[tuple[Value, float]],
    before: float | None = None,
) -> DomainError:
    """Explains a gradient that is not finite, then undoes the pass (the error path of backward).

    ``v.grad`` holds this pass's ``∂root/∂v`` (earlier grads are set aside in
    ``saved``), final because every consumer has sent its share. It is not
    finite (or, when ``before`` is given, adding the ``before`` that earlier
    passes left overflows). The consumers that sent it are found by scanning
    the whole graph, which is fine on an error path.

    Returns:
        The error to raise; every grad is back to its value before the pass.
    """
    names = display_names(root)
    nodes = _discovery_order(root)  # the consumers are scanned in this order

    def name(u: Value) -> str:
        text = names[id(u)]
        return f"({text})" if not u.label and any(ch in _OPERATOR_CHARS for ch in text) else text

    def describe(u: Value) -> str:
        kind = "constant" if u.is_constant else ("leaf" if u._x is None else f"{u.op} node")
        label = f"labelled {u.label!r}" if u.label else "unlabelled"
        return f"{names[id(u)]!r} ({kind}, {label}, data {u._data!r})"

    g = v._grad
    d_root = f"∂{name(root)}/∂{name(v)}"
    head = f"backward: {d_root} is not finite, for node {describe(v)} below root {describe(root)}"
    if before is not None:
        why = (
            f"this pass gives {g!r}, and adding the {before!r} that earlier backward() "
            f"calls left in its grad overflows to {g + before!r}"
        )
    else:
        sent = [
            (u, i, u._grad, local, u._grad * local)
            for u in nodes
            if u._grad
            for i, (c, local) in enumerate(zip(u.inputs, u.local_grads))
            if c is v
        ]
        bad = [s for s in sent if s[4] - s[4] != 0.0]
        if bad:
            u, i, gu, local, amount = bad[0]
            why = (
                f"it is {g!r}, sent through {describe(u)} (as its input {i}), whose "
                f"upstream gradient ∂{name(root)}/∂{name(u)} = {gu!r} times the local "
                f"derivative ∂{name(u)}/∂{name(v)} = {local!r} overflowed to {amount!r}"
            )
            if len(sent) > 1:
                why += f" ({len(sent)} contributions in all)"
        else:
            amounts = ", ".join(repr(s[4]) for s in sent[:5]) + (", …" if len(sent) > 5 else "")
            why = (
                f"it is {g!r}: its {len(sent)} contributions from consumers are finite "
                f"({amounts}) but their sum overflowed"
            )
    for u in nodes:  # undo the pass
        u._grad = 0.0
    for u, b in saved:
        u._grad = b
    return DomainError(
        f"{head}: {why}. No grad was changed (each is as it was before this backward() "
        f"call); rescale the cost or the inputs so the gradients stay within the float range"
    )


_OPERATOR_CHARS = frozenset(" ·/+−-²×÷*^")


def _constant(x: float) -> Value:
    """A leaf for a plain number used in an operator (already checked finite)."""
    out = _new(Value)
    out._data = x
    out._grad = 0.0
    out.label = ""
    out._rule = CONSTANT
    out._x = None
    out._y = None
    out._n = 0
    return out


def _describe(inputs: Iterable[Value]) -> str:
    """The operands of a refused op, for its error message (``input 0: 'w' = 0.5; …``)."""
    return _describe_operands((v.label, v._rule is CONSTANT, v._data) for v in inputs)


def _describe_operands(operands: Iterable[tuple[str, bool, float]]) -> str:
    """``input 0: 'w' = 0.5; input 1: constant = 2.0`` from (label, is constant, value) triples.

    The one wording of an op's operands in a ``DomainError``: the engine's and
    compiled replay's (:mod:`scalargrad.compiled`, which has no Values).
    """
    parts = []
    for i, (label, constant, x) in enumerate(operands):
        name = repr(label) if label else ("constant" if constant else "unlabelled")
        parts.append(f"input {i}: {name} = {x!r}")
    return "; ".join(parts)


_get_data = attrgetter("_data")


def affine(
    weights: Sequence[Value | Number],
    inputs: Sequence[Value | Number],
    bias: Value | Number,
    label: str = "",
) -> Value:
    """A neuron's weighted input ``z = Σ_k w_k·a_k + b`` as one node.

    The notes' ``z^(L) = w^(L) a^(L-1) + b^(L)``: the node's inputs are
    ``(w_0, a_0, …, w_(n-1), a_(n-1), b)`` and its local derivatives
    ``∂z/∂w_k = a_k``, ``∂z/∂a_k = w_k``, ``∂z/∂b = 1`` — the factors the notes
    write down, with no intermediate product nodes in between.

    Args:
        weights: ``w_0 … w_(n-1)`` (Values or plain numbers).
        inputs: ``a_0 … a_(n-1)``, as many as weights.
        bias: ``b``.
        label: The new node's label, e.g. ``"z^(L)"``.

    Returns:
        The node ``z``.

    Raises:
        ValueError: No weights, or not as many inputs as weights.

    Example:
        >>> w, a, b = Value(0.5, "w"), Value(0.7, "a"), Value(0.1, "b")
        >>> z = affine([w], [a], b, "z")
        >>> z.op, z.local_grads
        ('affine', (0.7, 0.5, 1.0))
    """
    n = len(weights)
    if not n or len(inputs) != n:
        raise ValueError(
            f"affine needs as many inputs as weights (at least one), got {n} weights "
            f"and {len(inputs)} inputs"
        )
    if not isinstance(label, str):
        raise TypeError(f"affine: label must be a str, not {type(label).__name__}")
    return _affine_node(affine_rule(n), weights, inputs, bias, label)


def _affine_node(
    rule: Rule,
    weights: Sequence[Value | Number],
    inputs: Sequence[Value | Number],
    bias: Value | Number,
    label: str,
    act: Rule | None = None,
    act_label: str = "",
) -> Value:
    """:func:`affine` with its rule given and its shapes already checked (``nn``'s hot path).

    With ``act`` (a one-input rule such as relu's), returns ``a = act(z)``
    labelled ``act_label`` over the new ``z``: the node ``z.relu()`` would
    give, with one call less per neuron.
    """
    # (w_0, a_0, …, w_(n-1), a_(n-1), b) by slice assignment: no per-item Python work.
    items: list[Any] = [bias] * (2 * len(weights) + 1)
    items[0:-1:2] = weights
    items[1:-1:2] = inputs
    try:  # the fast path: every item is a Value (a number has no _data)
        data = list(map(_get_data, items))
        if not ((bias.__class__ is Value or isinstance(bias, Value))
                and (items[0].__class__ is Value or isinstance(items[0], Value))
                and (items[1].__class__ is Value or isinstance(items[1], Value))):
            raise AttributeError
    except AttributeError:
        items = [
            v if isinstance(v, Value) else _constant(_check_number(v, "a number in affine"))
            for v in items
        ]
        data = list(map(_get_data, items))
    inputs_ = tuple(items)
    try:
        value, grads = rule.forward(*data)
    except DomainError as err:
        raise DomainError(f"{err} [{_describe(inputs_)}]") from None
    if value - value != 0.0:
        _not_finite(rule, value, inputs_)
    out = _new(Value)
    out._data = value
    out._grad = 0.0
    out.label = label
    out._rule = rule
    out._x = inputs_
    out._y = _NARY
    out._gx = grads
    out._n = 0
    if act is None:
        return out
    # a = act(z), exactly as _node1(act, out) builds it
    try:
        a_data, a_grads = act.forward(value)
    except DomainError as err:
        raise DomainError(f"{err} [{_describe((out,))}]") from None
    if a_data - a_data != 0.0:
        _not_finite(act, a_data, (out,))
    a = _new(Value)
    a._data = a_data
    a._grad = 0.0
    a.label = act_label
    a._rule = act
    a._x = out
    a._y = None
    (a._gx,) = a_grads
    a._n = 0
    return a


def sum_values(values: Iterable[Value | Number], label: str = "") -> Value:
    """Adds many values in one ``sum`` node: ∂(Σ x_i)/∂x_i = 1 for each i.

    One n-ary node instead of a chain of ``+`` nodes: ``z_j = Σ_k w_jk a_k + b_j``
    is a single node, as in the notes.

    Args:
        values: Values or plain numbers (at least one).
        label: The new node's label.

    Returns:
        The sum node.
    """
    given = tuple(values)
    items: tuple[Value, ...] = given  # type: ignore[assignment]  # checked just below
    for v in given:
        if v.__class__ is not Value:
            items = tuple(
                v if isinstance(v, Value) else _constant(_check_number(v, "a number in sum_values"))
                for v in given
            )
            break
    if not items:
        raise ValueError("sum_values needs at least one value")
    out = _noden(_SUM, items)
    out.label = label
    return out
