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

import re
from typing import TYPE_CHECKING

from .graph import forward_order
from .notation import format_number as _format_number
from .rules import RULES

if TYPE_CHECKING:
    from .engine import Value

__all__ = ["MAX_EXPR", "display_names", "format_number", "typeset_parts"]

MAX_EXPR = 24
"""Longest inline expression used as the name of an unlabelled node."""


def format_number(x: float) -> str:
    """A constant's name: :func:`scalargrad.notation.format_number` with ``constant=True``.

    ``2``, ``0.5``, ``0.333333``, ``1e−08``, ``−3``: the minus of the formulas
    the name appears in.
    """
    return _format_number(x, constant=True)


# One letter (Latin or Greek) with a subscript and/or a bracketed superscript, as the
# notes write names: w_00^(1), a^(L-1), C_0, z_j^(l), δ^(l). Nothing around it may be a
# letter, digit, "_" or "^" (so my_var_name and x^2 stay as typed).
_TYPESET = re.compile(
    r"(?<![\w^])([A-Za-zα-ωΑ-Ω])(?:_([A-Za-z0-9,]{1,8}))?(?:\^\(([A-Za-z0-9+\-− ]{1,8})\))?"
    r"(?![\w^])"
)


def typeset_parts(text: str) -> list[tuple[str, str]]:
    """Splits text into parts to typeset: ``("text" | "sub" | "sup", characters)``.

    Every name of the notes' form (one letter, an optional subscript after
    ``_``, an optional superscript in brackets after ``^``) gets its
    subscript and superscript as separate parts: ``"w_00^(1)"`` →
    ``[("text", "w"), ("sub", "00"), ("sup", "(1)")]``. Everything else is
    literal text, so a label of any other form is shown exactly as typed.
    Joining the parts' characters gives the text back without ``_`` and ``^``.

    Args:
        text: A display name, or any text containing names (a step's line).

    Returns:
        The parts, in order; adjacent literal characters form one part.
    """
    parts: list[tuple[str, str]] = []

    def add(kind: str, chars: str) -> None:
        if parts and kind == "text" and parts[-1][0] == "text":
            parts[-1] = ("text", parts[-1][1] + chars)
        elif chars:
            parts.append((kind, chars))

    end = 0
    for m in _TYPESET.finditer(text):
        base, sub, sup = m.groups()
        if sub is None and sup is None:
            continue
        add("text", text[end:m.start()] + base)
        if sub is not None:
            add("sub", sub)
        if sup is not None:
            add("sup", f"({sup})")
        end = m.end()
    add("text", text[end:])
    return parts


def _fits(parts: list[str]) -> bool:
    """False when names this long cannot make an expression of at most MAX_EXPR characters."""
    total = 0
    for part in parts:
        total += len(part)
        if total > MAX_EXPR:
            return False
    return True


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
            if rule.exponent == 2:  # x**2 reads as x.square() does: x²
                rule = RULES["square"]
            parts = [names[id(c)] for c in v.inputs]
            # the text holds every input name: skip rendering one that cannot fit
            text = rule.render(rule.expr, parts) if _fits(parts) else ""
            names[id(v)] = text if 0 < len(text) <= MAX_EXPR else next_letter()
        else:
            names[id(v)] = next_letter()
    return names
