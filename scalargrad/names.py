"""Display names for nodes: the same name for a node in steps, explanations and drawings.

A node is shown by, in order of preference:

1. its ``label`` (``"w^(L)"``, ``"C_0"``);
2. for a constant the engine made from a plain number, that number (``"2"``);
3. for an unlabelled op node whose inputs all have names, its short expression
   (``"a^(L) − y"``) when that stays within :data:`MAX_EXPR` characters;
4. otherwise a made-up name ``u, v, p, q, r, s, t, h, m, u1, v1, …``
   (:data:`scalargrad.notation.LETTERS`: never a letter the notes use, ``w a
   b z y C δ``) given in forward topological order (inputs before consumers,
   left operands first, so two unlabelled leaves added read ``u + v``),
   skipping any name already used as a label. Every text that uses one
   defines it: :func:`abbreviations`, :func:`where`.

Everything depends only on the graph, so the names are deterministic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .graph import forward_order
from .notation import LETTERS, MINUS
from .notation import format_number as _format_number
from .rules import Rule, written_as

if TYPE_CHECKING:
    from .engine import Value

__all__ = [
    "MAX_EXPR", "abbreviations", "constant_name", "display_names", "plain_name", "typeset_parts",
    "where",
]

MAX_EXPR = 24
"""Longest inline expression used as the name of an unlabelled node."""


def constant_name(x: float) -> str:
    """A constant's name: :func:`scalargrad.notation.format_number` with ``constant=True``.

    ``2``, ``0.5``, ``0.333333``, ``1e−08``, ``−3``: the minus of the formulas
    the name appears in.
    """
    return _format_number(x, constant=True)


format_number = constant_name
"""Deprecated: the old name of :func:`constant_name` (not in ``__all__``:
:func:`scalargrad.notation.format_number` is the one number format)."""


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


def expression_text(rule: Rule, inputs: Sequence[str]) -> str:
    """An op node's name from its inputs' names: ``σ(w·a + b)``, ``x²`` (also for ``x**2``)."""
    rule = written_as(rule)
    return rule.render(rule.expr, inputs, minus=MINUS)


_SUB = str.maketrans("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_SUP = str.maketrans("0123456789+-−=()LlnijkABDEGHIJKMNOPRTUWabcdefghkmoprstuvwxyz",
                     "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᴸˡⁿⁱʲᵏᴬᴮᴰᴱᴳᴴᴵᴶᴷᴹᴺᴼᴾᴿᵀᵁᵂᵃᵇᶜᵈᵉᶠᵍʰᵏᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻ")


def plain_name(text: str) -> str:
    """Names typeset in plain text, for a window's title: ``C_0`` → ``C₀``, ``w^(L)`` → ``w⁽ᴸ⁾``.

    A subscript or superscript with a character Unicode has no small form of
    keeps its ``_`` / ``^`` spelling, so nothing is lost.
    """
    out = []
    for kind, chars in typeset_parts(text):
        table, mark = (_SUB, "_") if kind == "sub" else (_SUP, "^")
        small = chars.translate(table) if kind != "text" else chars
        if kind != "text" and any(a == b and not a.isspace() for a, b in zip(chars, small)):
            small = mark + chars  # a character with no small form: as typed
        out.append(small)
    return "".join(out)


def _fits(parts: list[str]) -> bool:
    """False when names this long cannot make an expression of at most MAX_EXPR characters."""
    total = 0
    for part in parts:
        total += len(part)
        if total > MAX_EXPR:
            return False
    return True


def _made_up_names() -> Iterator[str]:
    """``u, v, p, q, r, s, t, h, m``, then ``u1, v1, …, m1, u2, …``: never a notes letter."""
    yield from LETTERS
    for n in itertools.count(1):
        for letter in LETTERS:
            yield f"{letter}{n}"


def display_names(root: Value, order: Sequence[Value] | None = None) -> dict[int, str]:
    """Names every node of ``root``'s graph, keyed by ``id(node)``.

    Args:
        root: The graph's root (usually the cost).
        order: ``forward_order(root)`` when the caller has it already.

    Returns:
        A dict from ``id(node)`` to its display name.
    """
    return naming(root, order)[0]


def naming(
    root: Value, order: Sequence[Value] | None = None
) -> tuple[dict[int, str], dict[str, Value]]:
    """The display names by ``id(node)``, and the nodes whose names were made up, by name.

    Args:
        root: The graph's root.
        order: ``forward_order(root)`` when the caller has it already.

    Returns:
        ``(names, made)``: what :func:`display_names` returns, and the made-up
        names' nodes, which :func:`abbreviations` defines.
    """
    if order is None:
        order = forward_order(root)
    taken = {v.label for v in order if v.label}
    names: dict[int, str] = {}
    made: dict[str, Value] = {}
    letters = (name for name in _made_up_names() if name not in taken)

    for v in order:
        if v.label:
            names[id(v)] = v.label
        elif v.is_constant:
            names[id(v)] = constant_name(v.data)
        elif v.inputs:
            rule = v.rule
            assert rule is not None
            parts = [names[id(c)] for c in v.inputs]
            # the text holds every input name: skip rendering one that cannot fit
            text = expression_text(rule, parts) if _fits(parts) else ""
            if 0 < len(text) <= MAX_EXPR:
                names[id(v)] = text
            else:
                names[id(v)] = name = next(letters)
                made[name] = v
        else:
            names[id(v)] = name = next(letters)
            made[name] = v
    return names, made


UNLABELLED_INPUT = " (an unlabelled input)"
"""How a definition says that a made-up name stands for a leaf with no label."""


# A made-up name standing as a name in a text (2u, σ(u), u², u1; not sum, not a_u)
_MADE_UP = re.compile(r"(?<![A-Za-z_^])([a-z][0-9]*)(?![A-Za-z0-9_])")


def _used(text: str) -> set[str]:
    """Every word of ``text`` shaped like a made-up name: one pass, however many names."""
    return set(_MADE_UP.findall(text))


def abbreviations(
    root: Value, text: str, named: tuple[dict[int, str], dict[str, Value]] | None = None
) -> list[str]:
    """The definitions of the made-up names ``text`` uses: ``["u = σ(w2·σ(…) + b2) − y"]``.

    A node with no label and no short expression is shown by a made-up name
    (``u``, ``v``, …); every text that uses one defines it. A definition
    writes the node's op with its inputs' names, so it may use other made-up
    names: those are defined too (after it). An unlabelled leaf reads
    ``u = 1.5 (an unlabelled input)``.

    Args:
        root: The graph's root; the names are :func:`display_names`'s.
        text: Any text naming nodes of the graph (steps, an explanation).
        named: ``naming(root)`` when the caller has it already (a page defines
            the names of every step from one naming of the graph).

    Returns:
        One ``name = definition`` per made-up name used, in order of first need.
    """
    names, made = naming(root) if named is None else named
    used = _used(text)
    wanted = [name for name in made if name in used]
    done: set[str] = set()
    out: list[str] = []
    while wanted:
        name = wanted.pop(0)
        if name in done:
            continue
        done.add(name)
        v = made[name]
        if not v.inputs:
            out.append(f"{name} = {_format_number(v.data)}{UNLABELLED_INPUT}")
            continue
        rule = v.rule
        assert rule is not None
        definition = expression_text(rule, [names[id(c)] for c in v.inputs])
        out.append(f"{name} = {definition}")
        wanted.extend(n for n in sorted(_used(definition)) if n in made and n not in done)
    return out


def where(
    root: Value, text: str, named: tuple[dict[int, str], dict[str, Value]] | None = None
) -> str:
    """``"where u = σ(…) − y, v = …"`` for the made-up names in ``text``; ``""`` if none.

    ``named`` is :func:`naming`'s result when the caller has it (see :func:`abbreviations`).
    """
    defs = abbreviations(root, text, named)
    return "where " + "; ".join(defs) if defs else ""
