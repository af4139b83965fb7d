r"""How the notes write things: the one number format, the minus sign, ∂-text, LaTeX.

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

**Brackets.** A name is bracketed after ``∂`` and inside a product unless it
is one token (:func:`is_atom`, by :func:`name_precedence`): ``∂f/∂(w·a + b)``
but ``∂C_0/∂a^(L)``. :func:`derivative_text` and :func:`latex_derivative`
write every ``∂…/∂…`` the library prints; :func:`latex_name` turns a name or
formula into LaTeX math. This module imports nothing from the package.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from .forms import ATOM, POWER, PRODUCT, SUM

__all__ = [
    "LETTERS",
    "LOCAL_MARK",
    "MINUS",
    "NOTES_LETTERS",
    "SIGNIFICANT",
    "derivative_text",
    "fmt",
    "format_number",
    "is_atom",
    "latex_derivative",
    "latex_name",
    "name_precedence",
    "outside_brackets",
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


def fmt(x: float, *, pad: bool = False) -> str:
    """A number as Python reads it back: :func:`format_number` with ``-``.

    The same digits as every displayed number (``0.45``, ``-0.004103``,
    ``1.235e-05``, ``0``, never ``-0``); only the sign is the hyphen-minus.
    Steps, explanations, drawings and the page display numbers with the
    formulas' minus sign U+2212 instead.

    Args:
        x: The number.
        pad: Keep trailing zeros (the same digits, always 4 of them).

    Returns:
        The text, with a ``-`` sign only for negative numbers.
    """
    return format_number(x, pad=pad, minus="-")


# --- brackets and ∂-text ------------------------------------------------------------


def outside_brackets(text: str) -> Iterator[tuple[int, str]]:
    """``(i, ch)`` for each character of ``text`` outside all ``()``, ``{}`` and ``[]``.

    The one scan at bracket depth 0 that bracketing rules read (names, factors).
    """
    depth = 0
    for i, ch in enumerate(text):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif not depth:
            yield i, ch


def name_precedence(name: str) -> float:
    """How tightly a name binds.

    On the printer's one scale (:mod:`scalargrad.forms`): ``SUM`` (1) for a sum
    or difference, just below it (0.9) for a leading minus, ``PRODUCT`` (2) for
    a product or quotient, ``POWER`` (3) for a power, ``ATOM`` (9) for a label
    or a call.

    Only operators outside parentheses and braces count, so labels such as
    ``a^(L-1)`` (LaTeX ``a^{(L-1)}``) and calls such as ``σ(z)`` are atoms.
    """
    lowest = ATOM
    if name[:1] in "−-":
        lowest = _LEADING_MINUS  # −x: bracketed after "+" too (a + (−x)), unlike a sum
    for i, ch in outside_brackets(name):
        if i == 0 and ch in "−-":
            continue
        elif ch in " +−-":
            return SUM
        elif ch in "·/*":
            lowest = min(lowest, PRODUCT)
        elif ch == "²" or (ch == "^" and name[i + 1 : i + 2] not in "({"):
            lowest = min(lowest, POWER)
    return lowest


# A name that starts with a minus binds less tightly than a sum (unlike a form's −x,
# NEGATION): "a + (−x)".
_LEADING_MINUS = SUM - 0.1


def is_atom(name: str) -> bool:
    """True when a name needs no brackets anywhere: a label, a number or a call (``σ(z)``)."""
    return name_precedence(name) >= ATOM


def _atom(name: str) -> str:
    """A name as it stands after ∂ or inside a product: parenthesised unless one token.

    A name is one token unless an operator appears outside its brackets
    (``a^(L) − y``, ``w·a``, ``x^2``, ``-1``); labels such as ``w_jk^(l)`` and
    calls such as ``σ(z)`` are tokens. The test is :func:`is_atom`, the one the
    rule table brackets formulas by, so names and formulas bracket alike.
    """
    return name if is_atom(name) else f"({name})"


def derivative_text(top: str, bottom: str, *, local: bool = False) -> str:
    """``∂top/∂bottom`` with each name bracketed unless it is one token: ``∂f/∂(w·a + b)``.

    The one bracketing rule for every ``∂…/∂…`` that steps, explanations, the
    command line and the step-through page print. ``local=True`` marks a
    local derivative that would otherwise read as the total one:
    ``∂f/∂x|local`` (:data:`LOCAL_MARK`).
    """
    return f"∂{_atom(top)}/∂{_atom(bottom)}{LOCAL_MARK if local else ''}"


def latex_derivative(top: str, bottom: str, *, local: bool = False) -> str:
    r"""The LaTeX of :func:`derivative_text`: ``\frac{\partial f}{\partial x}``.

    A marked local derivative reads ``\left.\frac{∂f}{∂x}\right|_{\text{local}}``.
    """
    frac = (f"\\frac{{\\partial {latex_name(_atom(top))}}}"
            f"{{\\partial {latex_name(_atom(bottom))}}}")
    return f"\\left.{frac}\\right|_{{\\text{{local}}}}" if local else frac


# --- LaTeX ----------------------------------------------------------------------------

_TOKEN = re.compile(r"([A-Za-z]+)([0-9]*)(?:_([A-Za-z0-9,]+))?(?:\^\(([^()]*)\))?")
_POWER = re.compile(r"\^([-−]?[0-9.]+(?:e[-−]?[0-9]+)?|[A-Za-z]+)")
_SYMBOLS = {"−": "-", "·": " \\cdot ", "σ": "\\sigma ", "²": "^2", "δ": "\\delta ",
            "Σ": "\\Sigma ", "∂": "\\partial "}
# LaTeX's special characters, escaped so that they print as themselves in math mode.
_SPECIALS = {"\\": "\\backslash ", "{": "\\{", "}": "\\}", "%": "\\%", "&": "\\&",
             "$": "\\$", "#": "\\#", "_": "\\_", "~": "\\sim ", "^": "\\wedge "}


def _latex_chars(text: str) -> str:
    """Plain characters in LaTeX math: the notes' symbols converted, specials escaped."""
    return "".join(_SYMBOLS.get(ch) or _SPECIALS.get(ch) or ch for ch in text)


def latex_name(text: str) -> str:
    r"""Converts a display name or formula text to LaTeX math: ``w_jk^(l)`` → ``w_{jk}^{(l)}``.

    The notes' notation is converted: ``name_sub^(sup)`` tokens, ``x^2`` and
    ``x^-1`` powers, and the symbols ``− · σ ² δ Σ ∂``. Every other character
    that is special to LaTeX (``\ { } % & $ # _ ~ ^``) is escaped, so any
    label (``rate%``, ``a&b``, ``cost$``, ``loss#1``) prints as written and
    cannot break the surrounding LaTeX. Labels are text, never raw LaTeX:
    write Greek letters as Unicode (``α``).
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m:
            base, digits, sub, sup = m.groups()
            out.append(base if len(base) == 1 else f"\\mathrm{{{base}}}")
            out.append(digits)
            if sub:
                out.append(f"_{{{sub}}}")
            if sup is not None:
                out.append(f"^{{({_latex_chars(sup)})}}")
            i = m.end()
            continue
        p = _POWER.match(text, i)
        if p and i:
            out.append(f"^{{{_latex_chars(p.group(1))}}}")
            i = p.end()
            continue
        out.append(_latex_chars(text[i]))
        i += 1
    return "".join(out)
