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

    The order in which the notes read a network: level by level from the
    inputs, every op after all of its inputs, and each leaf just before the
    first op that uses it (leaves shared by several ops of that level — a
    layer's inputs — before the others, then as written). So ``nn.chain`` reads ``w^(1), a^(0),
    b^(1), z^(1), a^(1), w^(2), …, y, a^(3) − y, C_0``, an MLP reads its inputs,
    then layer 1's ``w``, ``b``, ``z``, ``a``, then layer 2's, and
    ``(σ(w·a + b) − y)²`` reads ``w, a, w·a, b, …, y, …, root``. Names,
    drawings, frames, the page and compiled code list nodes in this order;
    :func:`topological_order` is backward's order. Iterative (any depth works)
    and deterministic; linear time.

    Args:
        root: The node to start from.

    Returns:
        The nodes, ``order[-1] is root``.
    """
    # One depth-first pass over inputs (post-order: inputs before consumers) that also finds
    # each op's level (one more than its deepest input's; a leaf's is 0), the level of the
    # first ops that use each leaf, and how many edges into ops of that level use it.
    post: list[Value] = []
    level: dict[Value, int] = {root: 0}
    need: dict[Value, int] = {}
    uses: dict[Value, int] = {}
    stack: list[tuple[Value, int]] = [(root, 0)]
    emit, push, pop = post.append, stack.append, stack.pop
    while stack:
        v, i = stack[-1]
        inputs = v.inputs
        if i < len(inputs):
            stack[-1] = (v, i + 1)
            child = inputs[i]
            if child not in level:
                level[child] = 0
                push((child, 0))
            continue
        pop()
        emit(v)
        if inputs:
            h = 0
            for c in inputs:
                lc = level[c]
                if lc > h:
                    h = lc
            h += 1
            level[v] = h
            for c in inputs:
                if not c.inputs:
                    first = need.get(c, h + 1)
                    if h < first:
                        need[c] = h
                        uses[c] = 1
                    elif h == first:
                        uses[c] += 1
    if not root.inputs:
        return post
    # Ops at even slots 2·level, each leaf at the odd slot just before its first consumer.
    slots: list[list[Value]] = [[] for _ in range(2 * level[root] + 1)]
    for v in post:
        slots[2 * level[v] if v.inputs else 2 * need[v] - 1].append(v)
    order: list[Value] = []
    for k, slot in enumerate(slots):
        if k % 2 and len(slot) > 1:  # leaves: shared by a layer first (stable: else as written)
            slot.sort(key=lambda c: -uses[c])
        order.extend(slot)
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
