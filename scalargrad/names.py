"""Display names for nodes: the same name for a node in steps, explanations and drawings.

A node is shown by, in order of preference:

1. its ``label`` (``"w^(L)"``, ``"C_0"``);
2. for a constant the engine made from a plain number, that number (``"2"``);
3. for an unlabelled op node whose inputs all have names, its short expression
   (``"a^(L) − y"``) when that stays within :data:`MAX_EXPR` characters;
4. otherwise a short letter name ``a, b, c, …, z, a1, b1, …`` given in forward
   topological order (inputs before consumers, left operands first, so two
   unlabelled leaves added read ``a + b``), skipping any name already used as
   a label.

Everything depends only on the graph, so the names are deterministic.
"""

from __future__ import annotations

from .engine import Value, forward_order

__all__ = ["MAX_EXPR", "display_names", "format_number"]

MAX_EXPR = 24
"""Longest inline expression used as the name of an unlabelled node."""


def format_number(x: float) -> str:
    """Formats a number compactly for names and text: ``2``, ``0.5``, ``1e-08``."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _letters() -> list[str]:
    return [chr(c) for c in range(ord("a"), ord("z") + 1)]


def display_names(root: Value) -> dict[int, str]:
    """Names every node of ``root``'s graph, keyed by ``id(node)``.

    Args:
        root: The graph's root (usually the cost).

    Returns:
        A dict from ``id(node)`` to its display name.
    """
    order = forward_order(root)
    taken = {v.label for v in order if v.label}
    names: dict[int, str] = {}
    letters = _letters()
    counter = 0

    def next_letter() -> str:
        nonlocal counter
        while True:
            suffix = "" if counter < 26 else str(counter // 26)
            name = letters[counter % 26] + suffix
            counter += 1
            if name not in taken:
                return name

    for v in order:
        if v.label:
            names[id(v)] = v.label
        elif v.is_constant:
            names[id(v)] = format_number(v.data)
        elif v.inputs:
            rule = v.rule
            assert rule is not None
            text = rule.render(rule.expr, [names[id(c)] for c in v.inputs])
            names[id(v)] = text if len(text) <= MAX_EXPR else next_letter()
        else:
            names[id(v)] = next_letter()
    return names
