"""``scalargrad check``: hand-derived derivatives checked against the engine by Hypothesis.

:mod:`scalargrad.cli` parses the options and calls :func:`run_check`, which
reads the ranges, refuses every usage error before drawing a single point, and
runs :func:`scalargrad.testing.derivation.check_derivative` once per claim.
The testing package (and with it Hypothesis) is imported only then, so that
the other commands, ``--help`` and a usage error start and end without it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from ._cli_common import _UsageError, split_assignment
from .errors import CheckArgumentError
from .parse import parse

__all__ = ["run_check"]


def run_check(args: argparse.Namespace) -> int:
    """Runs ``scalargrad check``; returns the exit status.

    Args:
        args: The parsed command line (see ``scalargrad check --help``).

    Returns:
        0 when every claim holds, 1 when one has a counterexample, 2 when one
        is inconclusive (and none fails).

    Raises:
        _UsageError: A bad range, a claim about a variable the expression does
            not have, or a claim using one; or the checker refuses the ranges
            (or Hypothesis is not installed).
    """
    expression = parse(args.expr)
    names = expression.variables
    uses = f"(variables of {expression.text!r}: {', '.join(names) or 'none'})"
    ranges = _ranges(args.assignments)
    for name in ranges:
        if name not in names:
            raise _UsageError(f"{name}=...: no such variable {uses}")
    claims = [(name, parse(text)) for name, text in args.wrt]  # every usage error first
    for name, claim in claims:
        if name not in names:
            raise _UsageError(f"--wrt {name}: no such variable {uses}")
        foreign = [n for n in claim.variables if n not in names]
        if foreign:
            raise _UsageError(f"--wrt {name} {claim.text!r}: the claim uses "
                             f"{', '.join(foreign)}, which the expression does not have {uses}")
    from .testing.derivation import check_derivative, pick_seed  # only now: a fast start

    seed = pick_seed(args.seed)
    print(f"f = {expression.text}")
    status = 0
    for name, claim in claims:
        try:
            result = check_derivative(expression.text, name, claim.text, ranges=ranges,
                                      examples=args.examples, seed=seed)
        except (CheckArgumentError, ImportError) as err:
            raise _UsageError(str(err)) from None
        print(result.report(), flush=True)
        if result.verdict == "fails":
            status = 1
        elif result.verdict == "inconclusive" and status == 0:
            status = 2
    return status


def _ranges(items: Sequence[str]) -> dict[str, tuple[float, float] | float]:
    """Parses ``NAME=LO..HI`` and ``NAME=VALUE`` arguments."""
    ranges: dict[str, tuple[float, float] | float] = {}
    for item in items:
        name, text = split_assignment(item, "NAME=LO..HI or NAME=VALUE (e.g. w=-1..1, y=1)")
        if "..." in text:  # 1...2: 1..0.2 or 1...2? Neither is what anyone types on purpose
            raise _UsageError(f"{item!r}: a range is LO..HI with exactly two dots between the "
                             f"numbers (e.g. {name}=1..2, or {name}=1..0.2)")
        parts = text.split("..")
        if len(parts) > 2:
            raise _UsageError(f"{item!r}: a range is LO..HI with one '..' (e.g. w=-1..1)")
        try:
            bounds = [float(p) for p in parts]
        except ValueError:
            raise _UsageError(f"{name}={text!r}: not a number or a range LO..HI") from None
        if not all(math.isfinite(b) for b in bounds):
            raise _UsageError(f"{name}={text}: the values must be finite numbers")
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise _UsageError(f"{name}={text}: the range is empty (LO > HI)")
        if name in ranges:
            raise _UsageError(f"{name} is given twice")
        ranges[name] = (bounds[0], bounds[1]) if len(bounds) == 2 else bounds[0]
    return ranges
