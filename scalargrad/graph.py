"""Walks over a computation graph: backward's order and reading order.

Both walks are iterative (a chain a million nodes deep needs no recursion)
and deterministic: they depend only on the order of each node's ``inputs``.
They read nodes only through ``inputs``, so this module needs nothing from
:mod:`scalargrad.engine` at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Value

__all__ = ["consumer_counts", "forward_order", "topological_order"]


def topological_order(root: Value) -> list[Value]:
    """Returns every node below ``root`` once, root first, consumers before inputs.

    This is the order backward processes nodes in. It is Kahn's algorithm: a
    node is released only when every consumer has been released, i.e. when
    all of them have sent their share of its gradient. It uses no recursion
    and is deterministic (it depends only on the order of ``inputs``).

    Args:
        root: The node to start from (usually the cost).

    Returns:
        The nodes, ``order[0] is root``.
    """
    # Pass 1: count, for every node, how many edges come into it from consumers.
    pending = consumer_counts(root)
    # Pass 2: release a node once all its consumers have been released.
    order: list[Value] = []
    ready = [root]
    pop, push, emit = ready.pop, ready.append, order.append
    while ready:
        v = pop()
        emit(v)
        for child in reversed(v.inputs):
            left = pending[child] - 1
            pending[child] = left
            if not left:
                push(child)
    return order


def forward_order(root: Value) -> list[Value]:
    """Returns every node below ``root`` once, inputs before consumers, in reading order.

    A depth-first post-order over ``inputs`` in their order, so for
    ``(σ(w·a + b) − y)²`` it is ``w, a, w·a, b, …, y, …, root``: what one would
    write first comes first. Names, drawings and compiled code list nodes in
    this order; :func:`topological_order` is backward's order. Iterative, so
    any depth works.

    Args:
        root: The node to start from.

    Returns:
        The nodes, ``order[-1] is root``.
    """
    order: list[Value] = []
    seen = {root}
    stack: list[tuple[Value, int]] = [(root, 0)]
    while stack:
        v, i = stack[-1]
        if i < len(v.inputs):
            stack[-1] = (v, i + 1)
            child = v.inputs[i]
            if child not in seen:
                seen.add(child)
                stack.append((child, 0))
        else:
            stack.pop()
            order.append(v)
    return order


def consumer_counts(root: Value) -> dict[Value, int]:
    """Maps every node below ``root`` to its number of incoming edges from consumers.

    ``a * a`` counts two edges into ``a``; the root maps to 0. Nodes are dict
    keys by identity (``Value`` keeps ``object``'s hash and equality), which
    is cheaper than keying by ``id()``.

    Args:
        root: The node to start from.

    Returns:
        A dict with every node below ``root`` (and ``root``) as a key.
    """
    pending = {root: 0}
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        for child in pop().inputs:
            if child in pending:
                pending[child] += 1
            else:
                pending[child] = 1
                push(child)
    return pending
