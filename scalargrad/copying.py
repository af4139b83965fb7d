"""Copying and pickling whole graphs without recursion.

:class:`~scalargrad.engine.Value`'s ``__copy__``, ``__deepcopy__`` and
``__reduce__`` call the functions here. Deep copies and pickles walk the graph
iteratively, so a chain a million nodes deep copies and pickles at the default
recursion limit, and several nodes of one graph copied or pickled together
stay one graph. Nodes are made through ``Value._restore`` (the engine owns the
node layout); this module needs nothing from the engine at import time, so
there is no import circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from .graph import forward_order
from .rules import CONSTANT, RULES, Rule, affine_rule, pow_rule

if TYPE_CHECKING:
    from .engine import Value

__all__ = ["deep_copy", "reduce_value", "shallow_copy"]


def shallow_copy(v: Value) -> Value:
    """A new node with ``v``'s data, grad, label and op over the *same* inputs."""
    return v.__class__._restore(v.data, v.grad, v.label, v.inputs, v.local_grads, v._rule)


def deep_copy(root: Value, memo: dict[int, Any]) -> Value:
    """Copies the graph below ``root`` in one iterative pass (see ``Value.__deepcopy__``).

    Args:
        root: The node to copy.
        memo: :func:`copy.deepcopy`'s memo: nodes already copied are reused and
            every new copy is registered.

    Returns:
        The copy of ``root``.
    """
    found = memo.get(id(root))
    if found is not None:
        return found  # type: ignore[no-any-return]
    # Post-order over inputs (as forward_order), not entering nodes already copied.
    stack: list[tuple[Value, int]] = [(root, 0)]
    seen = {id(root)}
    while stack:
        v, i = stack[-1]
        inputs = v.inputs
        if i < len(inputs):
            stack[-1] = (v, i + 1)
            child = inputs[i]
            key = id(child)
            if key not in seen and key not in memo:
                seen.add(key)
                stack.append((child, 0))
            continue
        stack.pop()
        memo[id(v)] = v.__class__._restore(
            v.data, v.grad, v.label,
            tuple([memo[id(c)] for c in inputs]) if inputs else (),
            v.local_grads, v._rule,
        )
    return memo[id(root)]  # type: ignore[no-any-return]


def reduce_value(v: Value) -> tuple[Any, ...]:
    """``v.__reduce__()``: a leaf as its fields, an op node as leaves plus flat records.

    See ``Value.__reduce__`` for the format.
    """
    cls = v.__class__
    rule = v._rule
    if not v.inputs:
        return _rebuild_leaf, (cls, v.data, v.grad, v.label, rule is CONSTANT)
    order = forward_order(v)
    leaves = [u for u in order if not u.inputs]
    index = {u: i for i, u in enumerate(leaves)}
    records = []
    for u in order:
        inputs = u.inputs
        if not inputs:
            continue
        index[u] = len(index)
        r = u._rule
        assert r is not None
        param = r.exponent if r.name == "pow" else (r.arity if r.name == "affine" else None)
        records.append((
            r.name, param, tuple([index[c] for c in inputs]),
            u.data, u.grad, u.label, u.local_grads,
        ))
    return _rebuild_graph, (cls, tuple(leaves), tuple(records))


def _rebuild_leaf(cls: type[Value], data: float, grad: float, label: str,
                  constant: bool) -> Value:
    """Unpickles a leaf (see ``Value.__reduce__``)."""
    return cls._restore(float(data), float(grad), label, (), (), CONSTANT if constant else None)


_Record: TypeAlias = tuple[str, "float | int | None", tuple[int, ...], float, float, str,
                           tuple[float, ...]]


def _rebuild_graph(cls: type[Value], leaves: tuple[Value, ...],
                   records: tuple[_Record, ...]) -> Value:
    """Unpickles a graph from its leaves and flat op records; returns the last (the root).

    See ``Value.__reduce__``. Rules are looked up by name: ``RULES``,
    ``pow_rule(exponent)``, ``affine_rule(arity // 2)``.
    """
    nodes = list(leaves)
    rule: Rule
    for name, param, idx, data, grad, label, local_grads in records:
        if name == "pow" and param is not None:
            rule = pow_rule(param)
        elif name == "affine" and isinstance(param, int):
            rule = affine_rule(param // 2)
        elif name in RULES:
            rule = RULES[name]
        else:
            raise ValueError(f"unpickling a Value: unknown op {name!r} with parameter {param!r}")
        if len(local_grads) != len(idx) or (rule.arity is not None and rule.arity != len(idx)):
            raise ValueError(
                f"unpickling a Value: a {name!r} node with {len(idx)} inputs and "
                f"{len(local_grads)} local derivatives"
            )
        nodes.append(cls._restore(data, grad, label, tuple([nodes[i] for i in idx]),
                                  tuple(local_grads), rule))
    return nodes[-1]
