"""The ``scalargrad`` command: ``demo``, ``grad``, ``step`` and ``check``.

Examples::

    scalargrad grad "(sigmoid(w*a + b) - y)**2" w=0.5 a=0.71 b=0.1 y=1 --explain w
    scalargrad step "square(sigmoid(w*a + b) - y)" w=0.5 a=0.71 b=0.1 y=1
    scalargrad step --practice "square(sigmoid(w*a + b) - y)" w=0.5 a=0.71 b=0.1 y=1
    scalargrad demo --out figures/
    scalargrad check "(sigmoid(w*a + b) - y)**2" --wrt w "2*(sigmoid(w*a + b) - y)*a"

``step`` reads single key presses in a terminal (the terminal is put in
cbreak mode with :mod:`termios`/:mod:`tty` and restored afterwards): Enter,
space or ``n`` shows the next step, ``b`` goes back, ``q`` quits. When
standard input is not a terminal it prints every step and exits.
``step --practice`` asks for each step's gradient ``∂f/∂node`` first (a line
of input: a number such as ``-0.25`` or ``1/4``, ``r`` to reveal, ``q`` to
quit), says which factor is off when an answer is wrong, and keeps a tally;
``--contributions`` also asks what each step sends down each input arrow;
``grad --html FILE --practice`` writes the page in the same practice mode.

Exit status: 0 success, 1 a domain error or another failure while computing
(the engine's message, no traceback), 2 a usage error (bad arguments, an
expression the parser refuses, missing or unused variables). ``check`` exits
0 when every claimed derivative holds, 1 when one has a counterexample and 2
on a usage error or when too many drawn points were outside the domain.

This module reads the command line (the options, ``--ops``, the exit
statuses) and runs one command; the commands are ``scalargrad._cli_grad``,
``_cli_step`` and ``_cli_check``, with what they share in ``_cli_common``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__, demo
from ._cli_check import run_check
from ._cli_common import _UsageError
from ._cli_grad import run_grad
from ._cli_step import run_step
from .errors import DomainError, ParseError, TooManyPathsError, VariableError
from .explanations import DEFAULT_MAX_FACTORS
from .page import DEFAULT_PAGE_MAX_NODES
from .parse import allowed
from .viz import ARROWS_PER_VALUE, DEFAULT_MAX_NODES, DRAWING_SUFFIXES

__all__ = ["main"]


def _epilog() -> str:
    """The help's last paragraph; the functions are the rule table's (with ``--ops``'s)."""
    return (
        f"Expressions use {allowed()}. Put -- before an expression that starts with \"-\": "
        'scalargrad grad -- "-x**2" x=3. Exit status: 0 ok, 1 domain error, 2 usage error.'
    )


HTML_SUFFIXES = (".html", ".htm")
"""What ``--html`` writes."""


def _positive_int(text: str) -> int:
    """An argparse type: a whole number ≥ 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


MAX_HESSIAN = 30
"""The most variables ``grad --hessian`` prints second derivatives for (``--max-hessian``):
30 variables are 465 lines; 1,000 would be 500,500."""

DOT_TIMEOUT = 60.0
"""Seconds ``--draw`` and ``--html`` give Graphviz's ``dot`` by default (``--dot-timeout``)."""


def _positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < x < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return x


def _suffixed(text: str, suffixes: tuple[str, ...], what: str) -> str:
    suffix = os.path.splitext(text)[1].lower()
    if suffix not in suffixes:
        raise argparse.ArgumentTypeError(
            f"{text!r}: cannot write {what} to a {suffix or 'suffix-less'} file; "
            f"end the name with {', '.join(suffixes[:-1])} or {suffixes[-1]}"
        )
    return text


def _drawing_file(text: str) -> str:
    """An argparse type: a file name whose suffix says the drawing's format."""
    return _suffixed(text, DRAWING_SUFFIXES, "a drawing")


def _html_file(text: str) -> str:
    """An argparse type: an ``.html`` file name."""
    return _suffixed(text, HTML_SUFFIXES, "the step-through page")


def _version() -> str:
    """``scalargrad 0.1.0 from /path/to/scalargrad (Python 3.11.7)``, as pip says it."""
    where = os.path.dirname(os.path.abspath(__file__))
    return f"scalargrad {__version__} from {where} (Python {sys.version.split()[0]})"


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="scalargrad",
        description="Step through backpropagation on your own expression, one chain-rule "
        "term at a time.",
        epilog=_epilog(),
    )
    parser.add_argument("--version", action="version", version=_version(),
                        help="show the version, where it is installed and exit")
    sub = parser.add_subparsers(dest="command", metavar="{demo,grad,step,check}", required=True)
    demo = sub.add_parser("demo", help="the notes' worked chain, checked against hand formulas")
    demo.add_argument("--out", metavar="DIR", help="where the demo writes its files")
    grad = sub.add_parser("grad", help="value and gradients of an expression", epilog=_epilog())
    step = sub.add_parser("step", help="walk the backward pass one key press at a time",
                          epilog=_epilog())
    for p in (grad, step):
        p.add_argument("expr", metavar="EXPR", help='e.g. "(sigmoid(w*a + b) - y)**2"')
        p.add_argument("assignments", metavar="NAME=VALUE", nargs="*",
                       help="a number for every variable, e.g. w=0.5")
    grad.add_argument("--steps", action="store_true", help="print every backward step")
    grad.add_argument("--explain", metavar="NAME", help="explain ∂f/∂NAME as a sum over paths")
    grad.add_argument("--hessian", action="store_true",
                      help="also print every second derivative ∂²f/∂u∂v (reverse over reverse)")
    grad.add_argument("--max-hessian", type=_positive_int, default=MAX_HESSIAN, metavar="N",
                      help="with --hessian: refuse more variables than this (n variables "
                      f"print n(n+1)/2 lines; default {MAX_HESSIAN})")
    grad.add_argument("--max-paths", type=_positive_int, default=1000, metavar="N",
                      help="refuse to explain more paths than this (default 1000)")
    grad.add_argument("--max-factors", type=_positive_int, default=DEFAULT_MAX_FACTORS,
                      metavar="N", help="refuse to explain more factors than this, counted "
                      f"over all paths: the size of the text (default {DEFAULT_MAX_FACTORS})")
    grad.add_argument("--draw", metavar="FILE", type=_drawing_file,
                      help="draw the graph (.svg .png .pdf .dot .gv)")
    grad.add_argument("--html", metavar="FILE", type=_html_file,
                      help="write a step-through HTML page (.html)")
    grad.add_argument("--practice", action="store_true",
                      help="with --html: the page asks for each step's gradient first")
    step.add_argument("--practice", action="store_true",
                      help="compute each step's gradient yourself; it is checked")
    step.add_argument("--contributions", action="store_true",
                      help="with --practice: then what each step sends down each arrow")
    grad.add_argument("--max-nodes", type=_positive_int, metavar="N",
                      help="refuse to draw graphs with more Values than this (default "
                      f"{DEFAULT_MAX_NODES} for --draw, {DEFAULT_PAGE_MAX_NODES} for --html)")
    grad.add_argument("--max-edges", type=_positive_int, metavar="N",
                      help="refuse to draw graphs with more arrows into ops than this, an "
                      f"input used twice counted twice (default {ARROWS_PER_VALUE} per Value "
                      "of --max-nodes); dense sums are what makes Graphviz slow")
    grad.add_argument("--dot-timeout", type=_positive_seconds, default=DOT_TIMEOUT,
                      metavar="SECONDS", help="stop Graphviz's layout for --draw/--html "
                      f"after this long (default {DOT_TIMEOUT:g})")
    check = _check_parser(sub)
    for p in (demo, grad, step, check):
        p.add_argument("--ops", metavar="FILE_OR_MODULE", action="append",
                       help="load your own ops (a .py file or a module that calls "
                       "scalargrad.define_op) before anything else; may be repeated")
    return parser, {"demo": demo, "grad": grad, "step": step, "check": check}


def _ops_arguments(args: list[str]) -> list[str]:
    """The values of ``--ops`` (before any ``--``), read ahead of argparse."""
    found = []
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == "--ops" and i + 1 < len(args):
            found.append(args[i + 1])
        elif a.startswith("--ops="):
            found.append(a[len("--ops="):])
    return found


def _load_ops(source: str) -> None:
    """Runs a file or imports a module of ``define_op`` calls (once per process).

    Raises:
        _UsageError: No such file or module, or running it raised.
    """
    import hashlib
    import importlib
    import importlib.util

    is_path = source.endswith(".py") or os.sep in source or "/" in source
    try:
        if not is_path:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.append(os.getcwd())  # a module beside the user, as python -m finds it
            importlib.import_module(source)
            return
        path = os.path.abspath(source)
        if not os.path.isfile(path):
            raise _UsageError(f"--ops {source}: no such file")
        key = "_scalargrad_ops_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        if key in sys.modules:  # already loaded by this process: its ops exist
            return
        spec = importlib.util.spec_from_file_location(key, path)
        if spec is None or spec.loader is None:
            raise _UsageError(f"--ops {source}: cannot load it as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
    except _UsageError:
        raise
    except Exception as err:
        if (isinstance(err, ModuleNotFoundError) and not is_path
                and err.name == source.split(".")[0]):
            raise _UsageError(f"--ops {source}: no such module (give a .py file or a module "
                             "on the Python path)") from None
        raise _UsageError(f"--ops {source}: loading it raised {type(err).__name__}: "
                         f"{err}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 on a domain or computing error, 2 on a usage error.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["check"]:
        args_list = _protect_claims(args_list)
    try:  # the user's ops first: the help and the parser list them
        for source in _ops_arguments(args_list):
            _load_ops(source)
    except _UsageError as err:
        command = args_list[0] if args_list and not args_list[0].startswith("-") else ""
        return _usage_error(f"scalargrad{' ' + command if command else ''}: error: {err}")
    parser, subs = _parser()
    dash = _leading_minus(args_list)
    if dash is not None:
        return _usage_error(dash)
    try:
        if args_list and args_list[0] in subs and "--" not in args_list:
            # Intermixed: options may come before, between or after NAME=VALUE pairs
            # (argparse's intermixed mode mishandles "--", so that case parses plainly).
            args = subs[args_list[0]].parse_intermixed_args(args_list[1:])
            args.command = args_list[0]
        else:
            args = parser.parse_args(args_list)
    except SystemExit as stop:  # argparse's --help (0) and usage errors (2)
        return stop.code if isinstance(stop.code, int) else 2
    prog = f"scalargrad {args.command}"
    try:
        return _COMMANDS[args.command](args)
    except (_UsageError, ParseError, VariableError) as err:
        return _usage_error(f"{prog}: error: {err}")
    except (DomainError, TooManyPathsError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _demo(args: argparse.Namespace) -> int:
    return demo.run_demo(out_dir=args.out, stream=sys.stdout, errors=sys.stderr)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _demo, "grad": run_grad, "step": run_step, "check": run_check,
}
"""What runs each command (``_cli_grad``, ``_cli_step``, ``_cli_check``)."""


def _usage_error(message: str) -> int:
    """Prints a usage error to standard error; returns its exit status, 2."""
    print(message, file=sys.stderr)
    return 2


_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # what argparse reads as a number


def _leading_minus(args: list[str]) -> str | None:
    """The error for an expression that starts with ``-`` given without ``--``, else None.

    argparse would read ``-x**2`` as an unknown option and say only
    "unrecognized arguments"; the fix, ``--``, is what the user needs to hear.
    """
    if len(args) < 2 or args[0] not in ("grad", "step"):
        return None
    for token in args[1:]:
        if token == "--":
            return None
        if (token.startswith("-") and not token.startswith("--") and token != "-h"
                and not _NEGATIVE_NUMBER.match(token)):
            pairs = [t for t in args[1:] if "=" in t and not t.startswith("-")]
            example = shlex.join([token, *pairs] if pairs else [token, "NAME=VALUE"])
            return (f"scalargrad {args[0]}: error: {token!r} starts with '-', so it reads as an "
                    f"option. Put -- before an expression that starts with '-' (options go "
                    f"before the --): scalargrad {args[0]} -- {example}")
    return None


# --- scalargrad check --------------------------------------------------------------------

_CHECK_EPILOG = (
    "Hypothesis draws every variable from its range (default -3..3; NAME=LO..HI to change it, "
    "NAME=VALUE to fix it), compares each claimed derivative with the engine's gradient and, "
    "on a disagreement, prints the simplest counterexample it can find (round numbers, range "
    "ends), both values and the engine's chain rule at that point. Values agree when "
    "|claim - engine| <= 1e-7*max(|claim|, |engine|) + 1e-10*M, M the largest of 1, "
    "|claim|, |engine| and every |variable| at the point. Points where the expression or a "
    "claim is undefined (log of a negative number, division by 0), or where the expression "
    "has a kink (relu at exactly 0: one-sided slopes that differ down to the spacing of "
    "floats there), are skipped and counted; more than half skipped, or a kink the rounding "
    "of the expression hides, is inconclusive. Under CI=true the default seed is 0. "
    "Exit status: 0 every claim holds, 1 a counterexample, 2 usage error or inconclusive."
)


def _check_parser(sub: Any) -> argparse.ArgumentParser:
    check: argparse.ArgumentParser = sub.add_parser(
        "check", help="check your own formula for a derivative; Hypothesis finds the "
        "smallest counterexample", epilog=_CHECK_EPILOG,
        description="Check hand-derived derivatives of EXPR against the engine.",
    )
    check.add_argument("expr", metavar="EXPR", help='e.g. "(sigmoid(w*a + b) - y)**2"')
    check.add_argument("assignments", metavar="NAME=LO..HI|NAME=VALUE", nargs="*",
                       help="a range to draw a variable from (w=-1..1) or a fixed value (y=1)")
    check.add_argument("--wrt", nargs=2, action="append", required=True,
                       metavar=("NAME", "CLAIM"),
                       help='the variable and your formula for ∂EXPR/∂NAME, e.g. --wrt w '
                       '"2*(sigmoid(w*a + b) - y)*a"; repeat for several claims')
    check.add_argument("--examples", type=_examples, default=200, metavar="N",
                       help=f"points to draw per claim (default 200, at most {_MAX_EXAMPLES:,})")
    check.add_argument("--seed", type=int, metavar="S",
                       help="make the run reproducible (printed with every verdict)")
    return check


_MAX_EXAMPLES = 100_000  # scalargrad.testing.derivation.MAX_EXAMPLES (not imported: fast start)


def _examples(text: str) -> int:
    """An argparse type: a whole number from 1 to ``_MAX_EXAMPLES``."""
    n = _positive_int(text)
    if n > _MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(
            f"at most {_MAX_EXAMPLES:,} points per claim, got {n:,}")
    return n


def _protect_claims(args: list[str]) -> list[str]:
    """Prefixes a space to ``--wrt`` claims that start with "-" so argparse keeps them."""
    out = list(args)
    for i, a in enumerate(out[:-2]):
        if a == "--wrt" and out[i + 2].startswith("-"):
            out[i + 2] = " " + out[i + 2]
    return out
