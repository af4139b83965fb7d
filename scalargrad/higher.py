"""Gradients as numbers or as graphs: ``grad``, ``hessian`` and ``hvp``.

``grad(root, wrt)`` runs the backward pass of ``root`` without touching any
``.grad`` and returns ``∂root/∂w`` for each ``w`` as a float.

``grad(root, wrt, create_graph=True)`` runs the *same* pass on Values instead
of floats. Every step of backward, ``grad(input) += grad(node) · local``,
becomes nodes of a new graph: the local derivative is built from the rule's
symbolic form (:mod:`scalargrad.forms`) over the node's own inputs and output
(``σ'(z) = σ(z)·σ(−z)`` reuses the node ``σ(z)``), the product is a ``mul``
node and a node with several consumers gets one ``sum`` node — the sum over
``j``. Each gradient node is labelled in the notes' notation
(``∂C_0/∂a^(L)``, seeded by ``∂C_0/∂C_0 = 1``), and the result is an
ordinary graph: ``backward``, ``grad``, ``explain``, ``draw`` and
``backward_steps`` work on it, and differentiating it again gives second
derivatives (``∂²C_0/∂w^(L)²``), third, and so on.

:func:`hessian` and :func:`hvp` are reverse-over-reverse: the gradient graph
is built once, then each row (or the one product ``Σ_i v_i ∂C/∂w_i``) is
differentiated with a float pass.

Nothing recurses over the graph (Kahn's algorithm, as in backward), so
``grad`` works on graphs of any depth; a non-finite derivative raises
:class:`~scalargrad.rules.DomainError` naming the node, as backward does.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping, Sequence, Set
from numbers import Real
from typing import Literal, overload

from . import forms
from .engine import Value, _constant, sum_values
from .errors import GraphTooLargeError
from .forms import Form
from .graph import Tape, count_up_to, reverse
from .names import display_names
from .notation import derivative_text, fmt
from .rules import RULES, DomainError

__all__ = ["DEFAULT_MAX_GRAPH_NODES", "GraphTooLargeError", "grad", "hessian", "hvp",
           "second_derivative_text"]

DEFAULT_MAX_GRAPH_NODES = 1_000_000
"""The most nodes a graph may have for ``grad(create_graph=True)``, :func:`hessian` and
:func:`hvp` to build its gradient graph (``max_nodes=``). The gradient graph has about three
times as many nodes as the graph it differentiates, so gradients of gradients grow threefold
per level (``tanh``: 1.3 M nodes at the 14th); the limit refuses before building."""

DEFAULT_MAX_NODES = DEFAULT_MAX_GRAPH_NODES
"""Deprecated: the old name of :data:`DEFAULT_MAX_GRAPH_NODES` (not in ``__all__``:
:data:`scalargrad.viz.DEFAULT_MAX_NODES` is the drawing's limit)."""


# A gradient node's meaning, so that differentiating it again reads ∂²C_0/∂w∂b:
# node -> (the differentiated name, the variables, innermost last).
_MEANING: weakref.WeakKeyDictionary[Value, tuple[str, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@overload
def grad(root: Value, wrt: Value, *, create_graph: Literal[False] = ...,
         max_nodes: int = ...) -> float: ...
@overload
def grad(
    root: Value, wrt: Sequence[Value], *, create_graph: Literal[False] = ...,
    max_nodes: int = ...,
) -> list[float]: ...
@overload
def grad(root: Value, wrt: Value, *, create_graph: Literal[True],
         max_nodes: int = ...) -> Value: ...
@overload
def grad(root: Value, wrt: Sequence[Value], *, create_graph: Literal[True],
         max_nodes: int = ...) -> list[Value]: ...
@overload
def grad(
    root: Value, wrt: Value | Sequence[Value], *, create_graph: bool,
    max_nodes: int = ...,
) -> float | Value | list[float] | list[Value]: ...


def grad(
    root: Value, wrt: Value | Sequence[Value], *, create_graph: bool = False,
    max_nodes: int = DEFAULT_MAX_GRAPH_NODES,
) -> float | Value | list[float] | list[Value]:
    """``∂root/∂w`` for each ``w`` in ``wrt``, as floats or as a graph.

    ``root`` is seeded with 1 and nodes are processed in backward's order;
    for each node ``v`` and input ``u``: ``∂root/∂u += ∂root/∂v · ∂v/∂u``.
    A ``w`` that ``root`` does not depend on gets 0. A ``w`` inside the graph
    (not a leaf) gets ``∂root/∂w`` holding ``w`` fixed as a variable, as
    PyTorch's ``autograd.grad`` does.

    Args:
        root: The node to differentiate (usually the cost ``C_0``).
        wrt: One Value, or a sequence of Values.
        create_graph: False: return floats, computed like ``backward`` but
            leaving every ``.grad`` untouched. True: return Values whose graph
            is the backward pass, labelled ``∂C_0/∂w``, differentiable again.
        max_nodes: With ``create_graph``: refuse a ``root`` whose graph has
            more nodes than this (:data:`DEFAULT_MAX_GRAPH_NODES`), before building
            anything; the gradient graph would have about three times as many.

    Returns:
        A float or a Value for one ``w``; a list for a sequence, in its order.

    Raises:
        TypeError: ``root`` is not a Value, ``wrt`` is not a Value or a
            sequence of Values, or ``create_graph`` is not a bool.
        DomainError: A derivative is not finite (where ``backward`` would
            raise, or a node of the derivative graph is outside its op's
            domain); no ``.grad`` and no label of the given graph was changed.
        GraphTooLargeError: With ``create_graph``, ``root``'s graph has more
            than ``max_nodes`` nodes (the message says how to raise it).

    Example:
        >>> from scalargrad import Value, grad
        >>> x = Value(3.0, "x")
        >>> y = (x * x * x).label_as("y")
        >>> grad(y, x)
        27.0
        >>> dy = grad(y, x, create_graph=True)
        >>> dy.label, dy.data, grad(dy, x)
        ('∂y/∂x', 27.0, 18.0)
    """
    single = isinstance(wrt, Value)
    targets = _check(root, wrt, create_graph)
    if create_graph:
        _bounded(root, max_nodes, "grad(create_graph=True)")
        values = _graph_pass(root, targets)
        return values[0] if single else values
    numbers = _float_pass(root, targets)
    return numbers[0] if single else numbers


def hessian(root: Value, wrt: Value | Sequence[Value], *,
            max_nodes: int = DEFAULT_MAX_GRAPH_NODES) -> list[list[float]]:
    """The matrix of second derivatives ``H[i][j] = ∂²root/∂w_i∂w_j``.

    Reverse over reverse: the gradient graph is built once
    (``grad(..., create_graph=True)``) and each of its entries is
    differentiated with a float pass, so ``H[i]`` is the gradient of
    ``∂root/∂w_i``. The matrix is symmetric up to rounding.

    Args:
        root: The node to differentiate.
        wrt: The variables ``w_0 … w_(n-1)`` (one Value gives a 1×1 matrix).
        max_nodes: As :func:`grad`'s: the most nodes ``root``'s graph may have.

    Returns:
        ``n`` rows of ``n`` floats.

    Raises:
        TypeError: As :func:`grad`.
        DomainError: A first or second derivative is not finite.
        GraphTooLargeError: ``root``'s graph has more than ``max_nodes`` nodes.

    Example:
        >>> from scalargrad import Value, hessian
        >>> x, y = Value(2.0, "x"), Value(3.0, "y")
        >>> hessian(x * x * y, [x, y])
        [[6.0, 4.0], [4.0, 0.0]]
    """
    targets = _check(root, wrt, True)
    _bounded(root, max_nodes, "hessian")
    return [_float_pass(g, targets) for g in _graph_pass(root, targets)]


def hvp(root: Value, wrt: Value | Sequence[Value], v: Sequence[float], *,
        max_nodes: int = DEFAULT_MAX_GRAPH_NODES) -> list[float]:
    """The Hessian-vector product ``H·v`` without forming ``H``.

    Reverse over reverse: build the gradient graph ``g = ∇root`` once, form
    the scalar ``g·v = Σ_i v_i ∂root/∂w_i`` as one more node, and
    differentiate it: ``∂(g·v)/∂w_j = Σ_i v_i ∂²root/∂w_j∂w_i = (H v)_j``.
    One gradient graph and one float pass, whatever ``n``.

    Args:
        root: The node to differentiate.
        wrt: The variables ``w_0 … w_(n-1)``.
        v: ``n`` finite numbers: a list, a tuple, a 1-D numpy array, an
            ``array.array`` or any other sized iterable (not a str, a dict or
            a set, whose order is not the variables').
        max_nodes: As :func:`grad`'s: the most nodes ``root``'s graph may have.

    Returns:
        ``H·v`` as ``n`` floats.

    Raises:
        TypeError: As :func:`grad`, or ``v`` is not a sequence of numbers.
        ValueError: ``v`` does not have one number per variable, or one is
            not finite (NaN, ±inf, or an int too large for a float).
        DomainError: A derivative is not finite.
        GraphTooLargeError: ``root``'s graph has more than ``max_nodes`` nodes.

    Example:
        >>> from scalargrad import Value, hvp
        >>> x, y = Value(2.0, "x"), Value(3.0, "y")
        >>> hvp(x * x * y, [x, y], [1.0, 0.0])
        [6.0, 4.0]
    """
    targets = _check(root, wrt, True)
    numbers = _vector(v, len(targets))
    if not targets:
        return []
    _bounded(root, max_nodes, "hvp")
    gs = _graph_pass(root, targets)
    gv = sum_values([g * x for g, x in zip(gs, numbers)], label="v·∇" + _top_name(root))
    return _float_pass(gv, targets)


def _vector(v: object, n: int) -> list[float]:
    """``hvp``'s ``v`` as n finite floats, or a TypeError/ValueError naming ``v[i]``."""
    if (isinstance(v, (str, bytes, Mapping, Set)) or not isinstance(v, Iterable)
            or not hasattr(v, "__len__") or getattr(v, "ndim", 1) != 1):
        shape = f" of shape {v.shape}" if hasattr(v, "shape") else ""
        raise TypeError(f"hvp: v must be a sequence of numbers (a list, a tuple, a 1-D array), "
                        f"not {type(v).__name__}{shape}")
    items = list(v)
    if len(items) != n:
        raise ValueError(f"hvp: v has {len(items)} numbers for {n} variables (one per variable)")
    out = []
    for i, x in enumerate(items):
        if isinstance(x, bool) or not isinstance(x, Real):
            raise TypeError(f"hvp: v[{i}] must be a number, not {type(x).__name__} ({x!r})")
        try:
            f = float(x)
        except OverflowError:  # 10**400: an int beyond the float range
            power = int(math.log10(abs(x))) if isinstance(x, int) else 308
            raise ValueError(f"hvp: v[{i}] must be finite, got an int too large for a float "
                             f"(about 10^{power})") from None
        if not math.isfinite(f):
            raise ValueError(f"hvp: v[{i}] must be finite, got {x!r}")
        out.append(f)
    return out


def _bounded(root: Value, limit: int, what: str) -> None:
    """Refuses a graph with more than ``limit`` nodes, counting no further than the limit."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise TypeError(f"{what}: max_nodes must be a whole number ≥ 1, not {limit!r}")
    if count_up_to(root, limit)[0] > limit:
        raise GraphTooLargeError(
            f"{what}: the graph to differentiate has more than max_nodes={limit:,} "
            f"nodes, and its gradient graph would have about three times as many "
            f"(each level of gradients of gradients triples it). Pass a larger "
            f"max_nodes= (e.g. max_nodes={10 * limit}) to build it anyway.", limit)


# --- the two passes ---------------------------------------------------------------


def _check(root: object, wrt: object, create_graph: object) -> list[Value]:
    if not isinstance(root, Value):
        raise TypeError(f"grad: root must be a Value, not {type(root).__name__} ({root!r})")
    if not isinstance(create_graph, bool):
        raise TypeError(f"grad: create_graph must be True or False, not {create_graph!r}")
    if isinstance(wrt, Value):
        return [wrt]
    if isinstance(wrt, (str, bytes)) or not isinstance(wrt, Sequence):
        raise TypeError(
            f"grad: wrt must be a Value or a sequence of Values, not {type(wrt).__name__}"
        )
    for i, w in enumerate(wrt):
        if not isinstance(w, Value):
            raise TypeError(f"grad: wrt[{i}] must be a Value, not {type(w).__name__} ({w!r})")
    return list(wrt)


def _needed(tape: Tape[Value], targets: list[Value]) -> list[bool]:
    """For each position of ``tape``, whether the node depends on a target.

    Only those nodes can carry a nonzero ``∂root/∂target``; the Values pass
    sends gradients into them alone.
    """
    wanted = set(targets)
    nodes, inputs = tape.nodes, tape.inputs
    needed = [False] * len(nodes)
    for k in range(len(needed) - 1, -1, -1):  # inputs before consumers
        if nodes[k] in wanted:
            needed[k] = True
        else:
            for c in inputs[k]:
                if needed[c]:
                    needed[k] = True
                    break
    return needed


def _float_pass(root: Value, targets: list[Value]) -> list[float]:
    # The reverse walk with floats: backward's order and sums, bit for bit, into a list.
    tape = Tape.of(root)
    grads = [0.0] * len(tape.nodes)
    for k, g, _ in reverse(tape, record=False):
        if g - g != 0.0:  # final: every consumer has sent its share
            raise _not_finite(root, tape.nodes[k], g)
        grads[k] = g
    position = tape.position
    return [grads[position[t]] if t in position else 0.0 for t in targets]


def _graph_pass(root: Value, targets: list[Value]) -> list[Value]:
    tape = Tape.of(root)
    needed = _needed(tape, targets)
    names = display_names(root)
    top = names[id(root)]  # the label, else the display name (as _top_name)
    meaning = _MEANING.get(root)
    if meaning is not None and _d_text(*meaning) != root.label:
        meaning = None  # relabelled since: read it as a name

    def d_label(v: Value) -> tuple[str, tuple[str, tuple[str, ...]] | None]:
        if meaning is not None and not v.inputs and v.label:
            m = (meaning[0], (v.label, *meaning[1]))
            return _d_text(*m), m
        if meaning is None and v.label and not v.inputs:
            m = (top, (v.label,))
            return _d_text(*m), m
        return derivative_text(top, names[id(v)]), None

    def finish(v: Value, node: Value) -> Value:
        label, m = d_label(v)
        node.label = label
        if m is not None:
            _MEANING[node] = m
        return node

    if not needed[0]:
        return [finish(t, _constant(0.0)) for t in targets]
    nodes = tape.nodes

    # The same walk with Values as the numbers: each edge sends g · ∂v/∂u (a mul node),
    # a node's parts are kept in a list and summed by one sum node (the sum over j).
    def send(g: Value, k: int, i: int) -> Value:
        v = nodes[k]
        try:
            return g * _local(v, i, names)
        except DomainError as err:
            raise _failed(top, names[id(v.inputs[i])], names[id(v)], err) from None

    def add(parts: list[Value] | None, amount: Value) -> list[Value]:
        if parts is None:
            return [amount]
        parts.append(amount)
        return parts

    def total(k: int, parts: list[Value]) -> Value:
        v = nodes[k]
        if len(parts) == 1:
            return finish(v, parts[0])
        try:
            return finish(v, sum_values(parts))
        except DomainError as err:
            raise _failed(top, names[id(v)], "", err) from None

    done: dict[Value, Value] = {}
    for k, g, _ in reverse(tape, finish(root, _constant(1.0)), needed=needed, send=send,
                           add=add, total=total, start=None, record=False):
        done[nodes[k]] = g
    return [done[t] if t in done else finish(t, _constant(0.0)) for t in targets]


def _local(v: Value, i: int, names: dict[int, str]) -> Value:
    """``∂v/∂v.inputs[i]`` as Values, built from the rule's symbolic form."""
    rule = v.rule
    assert rule is not None
    if not rule.derivatives:
        raise TypeError(
            f"grad(create_graph=True): the op {rule.name!r} has no symbolic derivative "
            "(Rule.derivatives is empty), so its derivative cannot be built from Values"
        )
    form = rule.derivative(i)
    node = build_form(form, v.inputs, v, rule.name, rule.exponent or 0.0)
    if form.kind == "named" and not node.label and node is not v and all(
        node is not c for c in v.inputs
    ):
        node.label = rule.render(
            form.shown[0], [names[id(c)] for c in v.inputs], names[id(v)]
        )
    elif node.is_constant and not node.label:
        # a local derivative that is a number (∂(u + v)/∂u = 1) is named for what it is, so
        # that stepping through the derivative graph never differentiates "with respect to 1"
        node.label = derivative_text(names[id(v)], names[id(v.inputs[i])])
    return node


def build_form(form: Form, inputs: Sequence[Value], out: Value, rule: str = "",
               c: float = 0.0) -> Value:
    """A symbolic local derivative as Values: a graph over a node's own inputs and output.

    Every node is made by the rule table (``x * y``, ``x.sigmoid()``, an op of
    :func:`scalargrad.define_op`, …), so the result can be differentiated,
    drawn, explained and stepped like any graph. A form node recomputing the
    rule's own output is ``out`` itself. Numbers become constants; ``x ** 1``
    is ``x`` and ``x ** 0`` is 1. (:meth:`Form.build` calls this.)

    Args:
        form: The derivative's form.
        inputs: The node's inputs.
        out: The node itself.
        rule: Its op name (for reusing ``out``).
        c: ``pow``'s exponent.

    Raises:
        DomainError: A node of the derivative is outside its op's domain.
    """
    k, a = form.kind, form.args
    if k == "arg":
        return inputs[int(form.value)]
    if form.constant and k != "named":
        return _constant(form.evaluate((), 0.0, c))
    if k == "out":
        return out
    if k == "named":
        return build_form(a[0], inputs, out, rule, c)
    if k == "step":
        inner = build_form(a[0], inputs, out, rule, c)
        return _constant(1.0 if inner.data > 0.0 else 0.0)
    if k == "pow":
        e = a[1].evaluate((), 0.0, c)
        base = build_form(a[0], inputs, out, rule, c)
        return base if e == 1.0 else (_constant(1.0) if e == 0.0 else base ** e)
    v = tuple(build_form(f, inputs, out, rule, c) for f in a)
    if k == rule and len(v) == len(inputs) and all(p is q for p, q in zip(v, inputs)):
        return out
    arithmetic = forms._ARITHMETIC.get(k)
    if arithmetic is not None:
        return arithmetic(*v)  # type: ignore[no-any-return]
    if k in RULES:  # square, exp, σ, …, and ops made by define_op
        return v[0]._apply(RULES[k], v)
    raise ValueError(f"unknown form kind {k!r}")


forms._BUILDER.append(build_form)


# --- names ---------------------------------------------------------------------------


def _top_name(root: Value) -> str:
    if root.label:
        return root.label
    return display_names(root)[id(root)]


def _d_text(top: str, variables: tuple[str, ...]) -> str:
    """``∂C_0/∂w``, ``∂²C_0/∂w²``, ``∂³C_0/∂w∂b²``: variables outermost first."""
    n = len(variables)
    order = "" if n == 1 else str(n).translate(_SUPERSCRIPTS)
    groups: list[list[str | int]] = []
    for name in variables:
        if groups and groups[-1][0] == name:
            groups[-1][1] = int(groups[-1][1]) + 1
        else:
            groups.append([name, 1])
    bottom = "".join(
        f"∂{_bracket(str(name))}" + ("" if k == 1 else str(k).translate(_SUPERSCRIPTS))
        for name, k in groups
    )
    return f"∂{order}{_bracket(top)}/{bottom}"


def second_derivative_text(top: str, variables: Sequence[str]) -> str:
    """``∂ⁿtop/∂v_1…∂v_n`` as gradient labels read: ``∂²C_0/∂w²``, ``∂²f/∂w∂b``.

    Args:
        top: The differentiated name.
        variables: The variables, outermost first (repeats become powers).
    """
    return _d_text(top, tuple(variables))


def _bracket(name: str) -> str:
    return derivative_text(name, "x")[1:-3]


def _failed(top: str, bottom: str, via: str, err: DomainError) -> DomainError:
    step = f" (the term through {via})" if via else ""
    return DomainError(
        f"grad(create_graph=True): building {derivative_text(top, bottom)}{step} failed: "
        f"{err}. No grad or label of the given graph was changed"
    )


def _not_finite(root: Value, v: Value, g: float) -> DomainError:
    names = display_names(root)
    return DomainError(
        f"grad: {derivative_text(names[id(root)], names[id(v)])} is {fmt(g)} (not finite), "
        f"for node {names[id(v)]!r} (data {v.data!r}); no grad was changed. Rescale the "
        "cost or the inputs so the gradients stay within the float range"
    )
