"""What the ``scalargrad`` commands share: the usage error, ``NAME=VALUE`` and the printouts.

:mod:`scalargrad.cli` reads the command line and hands it to one command
(``_cli_grad``, ``_cli_step``, ``_cli_check``); they raise :class:`_UsageError`
for a problem with what the user typed (exit status 2; private, as it never
leaves the command line: ``main`` prints it), and ``grad`` and
``step`` evaluate the expression and print its value, gradients and backward
steps the same way, with the functions here.
"""

from __future__ import annotations

import argparse
import math
import unicodedata
from collections.abc import Sequence
from typing import TextIO

from .engine import Value
from .names import where
from .notation import derivative_text, format_number
from .parse import parse
from .practice import worked_lines
from .steps import Step

__all__ = [
    "assignments",
    "evaluate",
    "print_grads",
    "print_step",
    "print_where",
    "result_text",
    "split_assignment",
]


class _UsageError(Exception):
    """A problem with the command line (exit status 2)."""


def split_assignment(item: str, usage: str) -> tuple[str, str]:
    """``NAME=TEXT`` as (name, text), the name NFKC-normalised as Python reads identifiers.

    Args:
        item: One argument, e.g. ``w=0.5``.
        usage: What the argument should look like, for the error.

    Raises:
        _UsageError: No ``=``, or what is before it is not a name.
    """
    name, eq, text = item.partition("=")
    name = unicodedata.normalize("NFKC", name.strip())
    if not eq or not name.isidentifier():
        raise _UsageError(f"{item!r} is not {usage}")
    return name, text


def assignments(items: Sequence[str]) -> dict[str, float]:
    """Parses ``NAME=VALUE`` arguments into numbers.

    Raises:
        _UsageError: An argument is not ``NAME=VALUE`` with a finite number, or a
            name is given twice.
    """
    values: dict[str, float] = {}
    for item in items:
        name, text = split_assignment(item, "NAME=VALUE (e.g. w=0.5)")
        try:
            x = float(text)
        except ValueError:
            raise _UsageError(f"{name}={text!r}: the value is not a number") from None
        if not math.isfinite(x):
            raise _UsageError(f"{name}={text}: the value must be a finite number")
        if name in values:
            raise _UsageError(f"{name} is given twice")
        values[name] = x
    return values


def evaluate(args: argparse.Namespace) -> tuple[Value, dict[str, Value], str]:
    """Parses, evaluates and names the root, and prints its value.

    Args:
        args: ``expr``, ``assignments`` and, for ``grad``, ``explain``.

    Returns:
        The root, the leaves by variable name and the root's name.

    Raises:
        _UsageError: Bad ``NAME=VALUE`` arguments, or ``--explain`` names no variable.
    """
    expression = parse(args.expr)
    root, leaves = expression.evaluate(assignments(args.assignments))
    if not root.label:
        taken = set(leaves)
        root.label = next(n for n in ("f", "out", "result", "f_0", "f_1") if n not in taken)
    explain_name = getattr(args, "explain", None)
    if explain_name is not None and explain_name not in leaves:
        raise _UsageError(f"--explain {explain_name}: no such variable "
                         f"(variables: {', '.join(leaves) or 'none'})")
    print(f"{root.label} = {expression.text}")
    print(f"{' ' * len(root.label)} = {result_text(root.data)}")
    return root, leaves, root.label


def result_text(x: float) -> str:
    """A result as Python reads it back: the one number format's 10-digit constant (``-0.25``)."""
    return format_number(x, constant=True, digits=10, minus="-")


def print_grads(root_name: str, leaves: dict[str, Value], out: TextIO) -> None:
    """One ``∂f/∂name = number`` line per variable (``(no variables)`` when there are none)."""
    if not leaves:
        print("(no variables)", file=out)
    for name, leaf in leaves.items():
        print(f"{derivative_text(root_name, name)} = {result_text(leaf.grad)}", file=out)


def print_step(step: Step, total: int, out: TextIO,
               numbers: dict[int, int] | None = None) -> None:
    """Prints a step's lines; in practice (``numbers``) without what a later question asks."""
    if numbers is None:
        first, *rest = step.lines()
    else:  # what it sent to a node still to be asked is withheld (its gradient, often)
        first, *rest = (held or line for line, held, _ in worked_lines(step, numbers))
    print(f"step {step.index + 1}/{total}: {first}", file=out)
    for line in rest:
        print(f"    {line}", file=out)


def print_where(steps: list[Step], out: TextIO) -> None:
    """Defines the made-up names (``u``, ``v``, …) that the steps' text uses, if any."""
    if steps:
        defined = where(steps[0].node, "\n".join(line for s in steps for line in s.lines()))
        if defined:
            print(defined, file=out)
