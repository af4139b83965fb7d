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
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, Literal, TextIO

from . import __version__, demo
from .engine import Value, forward_order
from .errors import (
    CheckArgumentError,
    DomainError,
    DotTimeoutError,
    DrawingTooLargeError,
    ParseError,
    TooManyPathsError,
    VariableError,
)
from .explanations import DEFAULT_MAX_FACTORS, explain
from .higher import hessian, second_derivative_text
from .names import display_names, where
from .notation import derivative_text, format_number
from .page import DEFAULT_PAGE_MAX_NODES, save_steps_html
from .parse import functions, parse
from .practice import (
    ABS_TOL,
    REL_TOL,
    Question,
    Send,
    questions,
    read_number,
    step_numbers,
    worked_lines,
)
from .steps import Step, backward_steps
from .testing.derivation import check_derivative, pick_seed
from .viz import ARROWS_PER_VALUE, DEFAULT_MAX_NODES, DRAWING_SUFFIXES, write_drawing

__all__ = ["main"]

def _epilog() -> str:
    """The help's last paragraph; the functions are the rule table's (with ``--ops``'s)."""
    return (
        "Expressions use numbers, names, + - * / **, unary -, parentheses and "
        f"{' '.join(functions())}. Put -- before an expression that starts with \"-\": "
        'scalargrad grad -- "-x**2" x=3. Exit status: 0 ok, 1 domain error, 2 usage error.'
    )


class _UsageError(Exception):
    """A problem with the command line (exit status 2)."""


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
                      help="refuse to draw graphs with more Values than this "
                      "(default 400 for --draw, 150 for --html)")
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
    except ModuleNotFoundError as err:
        if not is_path and err.name == source.split(".")[0]:
            raise _UsageError(f"--ops {source}: no such module (give a .py file or a module "
                              "on the Python path)") from None
        raise _UsageError(f"--ops {source}: loading it raised {type(err).__name__}: "
                          f"{err}") from None
    except Exception as err:
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
        print(f"scalargrad{' ' + command if command else ''}: error: {err}", file=sys.stderr)
        return 2
    parser, subs = _parser()
    dash = _leading_minus(args_list)
    if dash is not None:
        print(dash, file=sys.stderr)
        return 2
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
        if args.command == "demo":
            return _demo(args)
        if args.command == "check":
            return _check(args)
        return _grad(args) if args.command == "grad" else _step(args)
    except (_UsageError, ParseError, VariableError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except (DomainError, TooManyPathsError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


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


def _demo(args: argparse.Namespace) -> int:
    return demo.run_demo(out_dir=args.out, stream=sys.stdout, errors=sys.stderr)


def _assignments(items: Sequence[str]) -> dict[str, float]:
    """Parses ``NAME=VALUE`` arguments into numbers."""
    values: dict[str, float] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = unicodedata.normalize("NFKC", name.strip())  # as Python reads identifiers
        if not eq or not name.isidentifier():
            raise _UsageError(f"{item!r} is not NAME=VALUE (e.g. w=0.5)")
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


def _build(args: argparse.Namespace) -> tuple[Value, dict[str, Value], str]:
    """Parses, evaluates and names the root; returns (root, leaves, root name)."""
    expression = parse(args.expr)
    root, leaves = expression.evaluate(_assignments(args.assignments))
    if not root.label:
        taken = set(leaves)
        root.label = next(n for n in ("f", "out", "result", "f_0", "f_1") if n not in taken)
    explain_name = getattr(args, "explain", None)
    if explain_name is not None and explain_name not in leaves:
        raise _UsageError(f"--explain {explain_name}: no such variable "
                          f"(variables: {', '.join(leaves) or 'none'})")
    print(f"{root.label} = {expression.text}")
    print(f"{' ' * len(root.label)} = {_result(root.data)}")
    return root, leaves, root.label


def _result(x: float) -> str:
    """A result as Python reads it back: the one number format's 10-digit constant (``-0.25``)."""
    return format_number(x, constant=True, digits=10, minus="-")


def _print_grads(root_name: str, leaves: dict[str, Value], out: TextIO) -> None:
    if not leaves:
        print("(no variables)", file=out)
    for name, leaf in leaves.items():
        print(f"{derivative_text(root_name, name)} = {_result(leaf.grad)}", file=out)


def _print_hessian(root: Value, root_name: str, leaves: dict[str, Value],
                   limit: int = MAX_HESSIAN) -> None:
    """``∂²f/∂u∂v`` for every pair of variables (the matrix is symmetric: each pair once)."""
    names = list(leaves)
    if len(names) > limit:
        n = len(names)
        raise _UsageError(
            f"--hessian: {n:,} variables have {n * (n + 1) // 2:,} second derivatives to print, "
            f"more than --max-hessian {limit} variables allows; pass --max-hessian {n} to "
            f"print them all"
        )
    h = hessian(root, [leaves[n] for n in names])
    print("\nsecond derivatives (the Hessian is symmetric: each pair once):")
    for i, u in enumerate(names):
        for j in range(i, len(names)):
            text = second_derivative_text(root_name, (u, names[j]))
            print(f"{text} = {_result(h[i][j])}")
    _warn_kinks(root)


def _warn_kinks(root: Value) -> None:
    """Says so when a relu sits exactly at its kink: no derivative there, one side's is used."""
    shown = display_names(root)
    kinks = [shown[id(v)] for v in forward_order(root) if v.op == "relu" and v.inputs[0].data == 0]
    if kinks:
        listed = ", ".join(kinks[:5]) + (f" and {len(kinks) - 5} more" if len(kinks) > 5 else "")
        print(f"scalargrad grad: warning: {listed} {'is' if len(kinks) == 1 else 'are'} at the "
              f"kink (input exactly 0), where relu has no derivative: the engine takes "
              f"relu'(0) = 0, the derivative from the left, so these derivatives are one side's "
              f"and may differ on the other (move the point off 0 to see both)",
              file=sys.stderr)


def _print_step(step: Step, total: int, out: TextIO,
                numbers: dict[int, int] | None = None) -> None:
    """Prints a step's lines; in practice (``numbers``) without what a later question asks."""
    if numbers is None:
        first, *rest = step.lines()
    else:  # what it sent to a node still to be asked is withheld (its gradient, often)
        first, *rest = (held or line for line, held, _ in worked_lines(step, numbers))
    print(f"step {step.index + 1}/{total}: {first}", file=out)
    for line in rest:
        print(f"    {line}", file=out)


def _print_where(steps: list[Step], out: TextIO) -> None:
    """Defines the made-up names (``u``, ``v``, …) that the steps' text uses, if any."""
    if steps:
        defined = where(steps[0].node, "\n".join(line for s in steps for line in s.lines()))
        if defined:
            print(defined, file=out)


def _grad(args: argparse.Namespace) -> int:
    if args.practice and args.html is None:
        raise _UsageError("--practice needs --html FILE (the practice page); "
                          "for practice in the terminal use: scalargrad step --practice")
    root, leaves, name = _build(args)
    if args.hessian and len(leaves) > args.max_hessian:
        _print_hessian(root, name, leaves, args.max_hessian)  # refuses before any work
    if args.steps:
        steps = list(backward_steps(root))  # this is the backward pass
    else:
        root.backward()
    _print_grads(name, leaves, sys.stdout)
    if args.hessian:
        _print_hessian(root, name, leaves, args.max_hessian)
    if args.steps:
        print("\nbackward, step by step:")
        for s in steps:
            _print_step(s, len(steps), sys.stdout)
        _print_where(steps, sys.stdout)
    if args.explain is not None:
        try:
            text = explain(root, leaves[args.explain], max_paths=args.max_paths,
                           max_factors=args.max_factors)
        except TooManyPathsError as err:
            flag = "--" + err.option.replace("_", "-")
            print(f"scalargrad grad: --explain {args.explain}: there are {err.what}, more "
                  f"than {flag} {err.limit}. Pass {flag} {err.needed} to print them all, or "
                  f"explain a variable nearer the root.", file=sys.stderr)
            return 1
        print(f"\nchain rule for {derivative_text(name, args.explain)}:")
        print(text)
    for option in ("draw", "html"):
        target = getattr(args, option)
        if target is not None:
            status = _write(option, root, target, args.max_nodes, args.practice,
                            args.dot_timeout, args.max_edges)
            if status:
                return status
    return 0


def _write(option: str, root: Value, target: str, max_nodes: int | None,
           practice: bool = False, timeout: float = DOT_TIMEOUT,
           max_edges: int | None = None) -> int:
    """Writes ``--draw`` or ``--html``."""
    edges: int | Literal["auto"] = "auto" if max_edges is None else max_edges
    try:
        if option == "draw":
            path = write_drawing(root, target, max_nodes=max_nodes or DEFAULT_MAX_NODES,
                                 timeout=timeout, max_edges=edges)
        else:
            path = save_steps_html(root, target, max_nodes=max_nodes or DEFAULT_PAGE_MAX_NODES,
                                   practice=practice, timeout=timeout, max_edges=edges)
    except DrawingTooLargeError as err:
        if err.what == "arrows":
            has, way_out = (
                (f"{err.count} arrows into its ops", f"Pass --max-edges {err.count} to draw "
                 "it anyway.")
                if err.exact else
                (f"at least {err.count} arrows into its ops (counting stopped there)",
                 "Draw a smaller expression, or pass a --max-edges as large as the graph's "
                 "arrows to draw it anyway.")
            )
            raise _UsageError(
                f"--{option} {target}: the graph has {has}, more than the limit of "
                f"{err.limit} (an input used twice counts twice); dot's layout time grows "
                f"much faster than the arrows (one sum over 7,000 takes minutes). {way_out}"
            ) from None
        has, way_out = (
            (f"{err.count} Values", f"Pass --max-nodes {err.count} to draw it anyway.")
            if err.exact else
            (f"at least {err.count} Values (counting stopped there)",
             "Draw a smaller expression, or pass a --max-nodes as large as the graph to "
             "draw it anyway.")
        )
        raise _UsageError(
            f"--{option} {target}: the graph has {has}, more than the limit of "
            f"{err.limit}; dot needs about a second per 1,000 Values (and much longer "
            f"beyond). {way_out}"
        ) from None
    except DotTimeoutError as err:
        print(f"scalargrad grad: --{option} {target}: Graphviz's dot did not finish the layout "
              f"within {err.timeout:g} s and was stopped (nothing was written). Pass "
              f"--dot-timeout {max(2 * err.timeout, 60):g} to allow more time, or draw a "
              f"smaller expression.", file=sys.stderr)
        return 1
    except (OSError, RuntimeError) as err:  # unwritable path, dot missing or failing
        print(f"scalargrad grad: --{option} {target}: {err}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _step(args: argparse.Namespace) -> int:
    root, leaves, name = _build(args)
    steps = list(backward_steps(root))  # the whole pass, replayed one step at a time
    if not steps:
        print(f"{name} is a leaf: there is nothing to step through.")
        _print_grads(name, leaves, sys.stdout)
        return 0
    if args.contributions and not args.practice:
        raise _UsageError("--contributions goes with --practice")
    if args.practice:
        return _practice(steps, name, leaves, args.contributions)
    if not _stdin_is_a_terminal():
        for s in steps:
            _print_step(s, len(steps), sys.stdout)
        _print_where(steps, sys.stdout)
        print()
        _print_grads(name, leaves, sys.stdout)
        return 0
    return _interactive(steps, name, leaves)


def _stdin_is_a_terminal() -> bool:
    """True when keys can be read from a terminal; False when stdin is a file, a pipe or closed."""
    stdin = sys.stdin
    if stdin is None:  # started with stdin closed (<&-)
        return False
    try:
        return stdin.isatty()
    except (ValueError, OSError):  # a closed or broken stream
        return False


def _interactive(steps: list[Step], root_name: str, leaves: dict[str, Value]) -> int:
    """Shows one step per key press: Enter/space/n next, b back, q quit."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    out = sys.stdout
    i = 0
    print(f"{len(steps)} backward steps. Keys: Enter next, b back, q quit.", file=out)
    _print_where(steps, out)
    print(file=out)
    try:
        tty.setcbreak(fd)
        _print_step(steps[i], len(steps), out)
        while True:
            print("[Enter] next  [b] back  [q] quit ", end="", file=out, flush=True)
            key = os.read(fd, 1)
            print(file=out)
            if key in (b"\r", b"\n", b" ", b"n"):
                if i + 1 == len(steps):
                    print("backward done.", file=out)
                    _print_grads(root_name, leaves, out)
                    return 0
                i += 1
                _print_step(steps[i], len(steps), out)
            elif key == b"b":
                if i == 0:
                    print("(this is the first step)", file=out)
                else:
                    i -= 1
                    _print_step(steps[i], len(steps), out)
            elif key in (b"q", b"\x04", b""):  # q, Ctrl-D, end of input
                print("quit.", file=out)
                return 0
    except KeyboardInterrupt:
        print("\ninterrupted.", file=out)
        return 130
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        out.flush()


def _practice(steps: list[Step], root_name: str, leaves: dict[str, Value],
              contributions: bool = False) -> int:
    """Asks for each step's gradient, one line of input per answer; ``r`` reveals, ``q`` quits.

    With ``contributions`` it then asks what the step sends down each input arrow.
    """
    out = sys.stdout
    right = revealed = 0

    def tally() -> str:
        return f"right {right}, revealed {revealed}, of {len(steps)} steps"

    def ask(item: Question | Send) -> str:
        """Asks until right, revealed or quit; returns "right", "revealed" or "quit"."""
        while True:
            try:
                typed = input("> ").strip()
            except (EOFError, RuntimeError):  # end of input, or stdin closed (<&-)
                typed = "q"
            if typed.lower() in ("q", "quit"):
                return "quit"
            if typed.lower() in ("r", "reveal"):
                print(f"revealed: {item.prompt[:-1]}{format_number(item.answer)}", file=out)
                return "revealed"
            value = read_number(typed)
            if value is None:
                shown = typed if len(typed) <= 40 else f"{typed[:40]}… ({len(typed)} characters)"
                print(f"couldn't read {shown!r} as a number: type a number (e.g. -0.25, "
                      f"2.5e-3 or 1/4; one sign at most), r to reveal, q to quit", file=out)
                continue
            verdict = item.check(value)
            print(verdict.message, file=out)
            if verdict.right:
                return "right"
            for line in item.working():
                print(f"    {line}", file=out)
            print("try again, r to reveal, q to quit", file=out)

    print(f"Practice: {len(steps)} backward steps. For each, type the gradient (a number such "
          f"as -0.25, 2.5e-3 or 1/4), r to reveal it, q to quit. An answer is right within a "
          f"relative {REL_TOL:g} or an absolute {ABS_TOL:g} (the absolute only when the "
          f"exact value is 0).", file=out)
    _print_where(steps, out)
    numbers = step_numbers(steps)
    try:
        for q in questions(steps):
            print(f"\nstep {q.number}/{len(steps)}: {q.prompt}", file=out)
            outcome = ask(q)
            if outcome == "quit":
                print(f"quit: {tally()}.", file=out)
                return 0
            right += outcome == "right"
            revealed += outcome == "revealed"
            for send in q.sends() if contributions else []:
                print(send.prompt, file=out)
                if ask(send) == "quit":
                    print(f"quit: {tally()}.", file=out)
                    return 0
            _print_step(q.step, len(steps), out, numbers)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {tally()}.", file=out)
        return 130
    print(f"\nbackward done: {tally()}.", file=out)
    _print_grads(root_name, leaves, out)
    return 0


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


def _ranges(items: Sequence[str]) -> dict[str, tuple[float, float] | float]:
    """Parses ``NAME=LO..HI`` and ``NAME=VALUE`` arguments."""
    ranges: dict[str, tuple[float, float] | float] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = unicodedata.normalize("NFKC", name.strip())  # as NAME=VALUE and Python read it
        if not eq or not name.isidentifier():
            raise _UsageError(f"{item!r} is not NAME=LO..HI or NAME=VALUE (e.g. w=-1..1, y=1)")
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


def _check(args: argparse.Namespace) -> int:
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
