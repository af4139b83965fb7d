r"""The text inside a drawing's Graphviz labels: escaping, typeset names, numbers, tables.

:mod:`scalargrad.viz` draws one box per Value and one small circle (or
table, for an op with many inputs) per op; this module writes what they say,
as Graphviz HTML-like labels:

* :func:`html_text` escapes any text so that it renders as written: quotes,
  backslashes, ``< > { } |``, newlines and non-ASCII can never inject DOT;
* :func:`graphviz_html_name` typesets a name in the notes' notation with real
  subscripts and superscripts (``w_00^(1)`` reads w₀₀⁽¹⁾);
* :func:`number_text` and :func:`number_cell` are
  :func:`~scalargrad.notation.format_number`'s text, the second fixed-width
  in a monospace font so that frames of one graph keep their node positions;
* :func:`box_label` is a Value's box (name, ``data``, ``grad``) and
  :func:`port_label` an op with one cell per input, holding ``∂out/∂in_k``.

The fonts and the colours of highlighted, receiving, partial and pending
gradients live here too, because the labels' text is drawn in them; the
drawing's node and arrow attributes use the same constants.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

from .names import typeset_parts
from .notation import format_number
from .rules import Rule, written_as

__all__ = [
    "HIGHLIGHT",
    "LOCAL",
    "MONO",
    "PARTIAL",
    "PENDING",
    "RECEIVER",
    "SANS",
    "box_label",
    "graphviz_html_name",
    "html_text",
    "number_cell",
    "number_text",
    "op_symbol",
    "port_label",
]

HIGHLIGHT = "#d62728"
"""The border of a highlighted node or arrow, and a practice question's ``?``."""

RECEIVER = "#ff9f1c"
"""The border of a Value that receives a step's gradient."""

PARTIAL = "#b35900"
"""A grad that is a partial sum (not every consumer has added its share yet)."""

PENDING = "#8a8a8a"
"""The "not yet" of a grad no gradient has reached."""

LOCAL = "#1f5fa8"
"""The local derivatives ``∂out/∂in`` on arrows and in an op's input cells."""

SANS = "DejaVu Sans"
"""The font of names and op symbols."""

MONO = "DejaVu Sans Mono"
"""The font of numbers: every digit the same width."""

_WIDTH = 10  # characters of every number in a box


def html_text(text: str) -> str:
    r"""Escapes text for a Graphviz HTML-like label so that it renders as written.

    ``& < > " ' ]`` become entities, backslashes are doubled (Graphviz would
    expand ``\N`` to the node's id and ``\G`` to the graph's name even here),
    newlines become ``<BR/>``, and characters
    Graphviz cannot take (control characters, lone surrogates) are shown as
    ``\xNN`` / ``\uNNNN`` escapes instead of breaking the file.
    """
    lines = []
    for line in re.split(r"\r\n|\r|\n", text):
        chars = []
        for ch in line:
            code = ord(ch)
            if ch == "\t":
                chars.append("    ")
            elif unicodedata.category(ch) in ("Cc", "Cs") or code in (0xFFFE, 0xFFFF):
                chars.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            else:
                chars.append(ch)
        # Graphviz expands \N, \G, \E, \T, \H even in HTML labels; \\ is a backslash.
        # A "]" right after a tag is a syntax error in Graphviz's HTML parser: &#93;.
        lines.append(html.escape("".join(chars).replace("\\", "\\\\"), quote=True)
                     .replace("]", "&#93;"))
    return "<BR/>".join(lines)


def graphviz_html_name(text: str, size: float = 14) -> str:
    """A name typeset for a Graphviz HTML-like label: real subscripts and superscripts.

    Names in the notes' notation get ``<SUB>``/``<SUP>`` in a smaller
    ``<FONT>`` (Graphviz draws scripts at full size otherwise):
    ``w_00^(1)`` reads w₀₀⁽¹⁾, ``a^(L-1)`` a⁽ᴸ⁻¹⁾, ``C_0`` C₀. Anything else
    is shown literally, escaped by :func:`html_text`
    (see :func:`scalargrad.names.typeset_parts`).

    Args:
        text: A display name (or text containing names).
        size: The point size of the surrounding text; scripts get 70% of it.
    """
    small = f"{size * 0.7:g}"
    out: list[str] = []
    for kind, chars in typeset_parts(text):
        body = html_text(chars)
        if kind == "text":
            # Graphviz drops a blank next to a script (a⁽³⁾− y): keep it as a no-break space
            out.append(body.replace(" ", "&#160;") if len(out) else body)
        else:
            tag = kind.upper()
            out.append(f'<FONT POINT-SIZE="{small}"><{tag}>{body}</{tag}></FONT>')
    return "".join(out)


def number_cell(x: float) -> str:
    """A number in exactly ten characters: ``       0.5``, ``   −0.1309``.

    The text is :func:`~scalargrad.notation.format_number`'s, the same as the
    steps beside the drawing; the fixed width keeps node positions identical
    from frame to frame.
    """
    return format_number(x, width=_WIDTH)


def number_text(x: float) -> str:
    """The number as drawings show it on an arrow: the steps' text, ``0.5``, ``−0.1309``."""
    return format_number(x)


def op_symbol(rule: Rule) -> str:
    """An op's symbol in its circle; ``x**2`` shows as ``x.square()`` does, ``²``."""
    return written_as(rule).symbol


def _mono(text: str, colour: str = "") -> str:
    """``text`` escaped in :data:`MONO`, blanks kept (no-break spaces), in ``colour``."""
    attrs = f' COLOR="{colour}"' if colour else ""
    body = html_text(text).replace(" ", "&#160;")
    return f'<FONT FACE="{MONO}"{attrs}>{body}</FONT>'


def box_label(name: str, data: float, grad: tuple[float, str] | None, show_grad: bool) -> str:
    """A Value's box: its typeset name over its ``data`` and (with ``show_grad``) ``grad`` rows.

    Args:
        name: The display name.
        data: The forward value.
        grad: ``(grad, state)``: ``"final"`` in black, ``"partial"`` in
            :data:`PARTIAL`, ``"ask"`` a bold ``?`` in :data:`HIGHLIGHT` (a
            practice question); ``None`` is "not yet" in :data:`PENDING`.
        show_grad: Include the ``grad`` row.

    Returns:
        The label, ``<…>`` included.
    """
    rows = [
        f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="14">{graphviz_html_name(name)}</FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT COLOR="#555555">data </FONT></TD>'
        f'<TD ALIGN="RIGHT">{_mono(number_cell(data))}</TD></TR>',
    ]
    if show_grad:
        if grad is None:
            value = _mono("not yet".rjust(_WIDTH), PENDING)
        elif grad[1] == "ask":
            value = f"<B>{_mono('?'.rjust(_WIDTH), HIGHLIGHT)}</B>"
        else:
            value = _mono(number_cell(grad[0]), PARTIAL if grad[1] == "partial" else "")
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="#555555">grad </FONT></TD>'
            f'<TD ALIGN="RIGHT">{value}</TD></TR>'
        )
    body = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def port_label(symbol: str, locals_: Sequence[float], show: bool, rankdir: str,
               lit: bool) -> str:
    """An op with many inputs: a cell (port ``i<k>``) per input, holding ``∂out/∂in_k``.

    Each arrow ends at its own cell, so every local derivative sits on its own
    arrow however many inputs the op has (a neuron's Σ node has 2n + 1). The
    cells face the arrows: left of the symbol for ``rankdir="LR"``, right for
    ``"RL"``, above for ``"TB"``, below for ``"BT"``.

    Args:
        symbol: The op's symbol (``Σ``).
        locals_: ``∂out/∂in_k`` for each input ``k``.
        show: Write the numbers (else the cells are blank).
        rankdir: The drawing's direction.
        lit: Highlighted: a thick :data:`HIGHLIGHT` border.

    Returns:
        The label, ``<…>`` included.
    """
    colour = HIGHLIGHT if lit else "#555555"
    cells = []
    for k, local in enumerate(locals_):
        text = _mono(number_text(local), LOCAL) if show else " "
        cells.append(f'<TD PORT="i{k}" ALIGN="RIGHT" CELLPADDING="1">'
                     f'<FONT POINT-SIZE="10">{text}</FONT></TD>')
    head = (f'<TD ROWSPAN="{len(cells)}" BGCOLOR="#f2f2f2"><FONT POINT-SIZE="12">'
            f"{html_text(symbol)}</FONT></TD>")
    if rankdir in ("LR", "RL"):
        first = f"{cells[0]}{head}" if rankdir == "LR" else f"{head}{cells[0]}"
        rows = [first, *cells[1:]]
    else:
        head = head.replace(f'ROWSPAN="{len(cells)}"', f'COLSPAN="{len(cells)}"')
        rows = ["".join(cells), head] if rankdir == "TB" else [head, "".join(cells)]
    body = "".join(f"<TR>{r}</TR>" for r in rows)
    width = "3" if lit else "1"
    return (f'<<TABLE BORDER="{width}" CELLBORDER="1" CELLSPACING="0" COLOR="{colour}" '
            f'STYLE="ROUNDED" BGCOLOR="white">{body}</TABLE>>')
