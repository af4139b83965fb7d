r"""How the notes write things: the one number format, the minus sign, made-up names.

Every number the library shows (steps, explanations, drawings, the page,
practice, the command line) comes from :func:`format_number`; its variants
(a fixed-width cell of a drawing, a constant's name, the hyphen-minus Python
reads back) are parameters, not other functions.

**One minus.** The formulas write a difference and a negative number with
the minus sign U+2212 (``a^(L) − y``, ``−1``), so displayed numbers do too:
``∂C_0/∂y = −1 = −1``, never ``−1 = -1`` on one line. Text meant to be read
back by Python (a practice answer to copy, the command line's full-precision
results) passes ``minus="-"``. The parser reads both.

**Made-up names.** A node with no label and no short expression gets a name
from :data:`LETTERS`: letters the notes never use for a quantity of their own
(``w a b z y C δ`` are the notes'; ``c d e f g`` micrograd's example
variables, ``e`` Euler's number and ``f`` the command line's root; ``i j k l
n`` indices and counts; ``x`` the usual input), skipping any label in the
graph. Every text that uses one defines it (``where u = …``).

**Local and total derivatives.** ``∂f/∂x`` is the total derivative of the
root ``f``. A local derivative (one edge, the other inputs held fixed) is
written with the same symbol only when it *is* the total, because ``x``
reaches ``f`` by that edge alone (the notes' ``∂C_0/∂a^(L)``). Otherwise it
carries :data:`LOCAL_MARK`: ``∂f/∂x|local``, LaTeX
``\\left.\\frac{∂f}{∂x}\\right|_{\\text{local}}``.
"""

from __future__ import annotations

import math

__all__ = [
    "LETTERS",
    "LOCAL_MARK",
    "MINUS",
    "NOTES_LETTERS",
    "SIGNIFICANT",
    "format_number",
]

SIGNIFICANT = 4
"""Significant digits of every number the library shows (text, drawings, the page)."""

MINUS = "\u2212"
"""The minus sign of displayed formulas and numbers (U+2212), as the notes typeset it."""

LOCAL_MARK = "|local"
"""Appended to a local derivative whose symbol would otherwise read as the total one."""

NOTES_LETTERS = frozenset({"w", "a", "b", "z", "y", "C", "δ"})
"""Letters the notes use for their own quantities: never a made-up name."""

LETTERS = ("u", "v", "p", "q", "r", "s", "t", "h", "m")
"""Made-up names for unlabelled nodes, in order; then ``u1, v1, …, m1, u2, …``.

Not the notes' letters, nor ``a`` … ``g`` (micrograd's README example names its
variables ``a`` … ``g`` without labels), ``e``, ``i j k l n`` (indices, counts) or ``x``.
"""


def format_number(x: float, *, pad: bool = False, width: int = 0, constant: bool = False,
                  minus: str = MINUS, digits: int = 6) -> str:
    """The one number format of steps, explanations, drawings, the page and practice.

    :data:`SIGNIFICANT` (4) significant digits; fixed-point for magnitudes in
    ``[1e-4, 1e5)``, scientific only outside: ``0.45``, ``−0.004103``,
    ``12346``, ``1.235e−05``, and ``0`` (never ``−0``). Trailing zeros are
    dropped only when the number *is* the shorter text (``0.25``, ``1``,
    ``−1.2``); a rounded number keeps its four digits (``−0.03320``,
    ``0.4200``, ``1.000`` for 0.99996), so no value looks less precise than it
    is and a drawing's box shows the same text as the step beside it.

    Args:
        x: The number.
        pad: Keep trailing zeros always (every number with its 4 digits).
        width: Right-justify in this many characters (a drawing's number
            cell, so that boxes keep their size from frame to frame).
        constant: The number as a constant's name in a formula: exact up to
            ``digits`` significant digits, ``2``, ``0.5``, ``0.333333``, ``1e−08``
            (an integer below 10¹⁵ in full).
        digits: With ``constant``, the significant digits of a non-integer:
            6 in formulas; 10 for a result to read back (a checker's
            counterexample, the command line's results).
        minus: The sign of a negative number (and of a negative exponent):
            :data:`MINUS` for display, ``"-"`` for text Python reads back.

    Returns:
        The text.
    """
    x = float(x) + 0.0  # -0.0 → 0.0
    if not math.isfinite(x):
        text = repr(x)
    elif constant:
        text = str(int(x)) if x == int(x) and abs(x) < 1e15 else f"{x:.{digits}g}"
    else:
        text = _significant(x, pad)
    if minus != "-":
        text = text.replace("-", minus)
    return text.rjust(width) if width else text


def _significant(x: float, pad: bool) -> str:
    if x == 0.0:
        return f"{0:.{SIGNIFICANT - 1}f}" if pad else "0"
    rounded = float(f"{x:.{SIGNIFICANT - 1}e}")  # decide after rounding: 9.9996 → 10.00
    if not 1e-4 <= abs(rounded) < 1e5:
        text = f"{x:.{SIGNIFICANT - 1}e}"
        if rounded == x and not pad:
            mantissa, _, exponent = text.partition("e")
            text = f"{_strip(mantissa)}e{exponent}"
        return text
    decimals = max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{x:.{decimals}f}"
    return _strip(text) if float(text) == x and not pad else text


def _strip(text: str) -> str:
    """Drops trailing zeros after a decimal point (and the point itself): ``0.5000`` → ``0.5``."""
    return text.rstrip("0").rstrip(".") if "." in text else text
