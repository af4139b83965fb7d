"""``scalargrad grad``: an expression's value and gradients, and what else was asked for.

``--steps`` prints the backward pass one node at a time, ``--explain NAME``
the chain rule for ``∂f/∂NAME`` as a sum over paths, ``--hessian`` every
second derivative, ``--draw FILE`` the graph and ``--html FILE`` the
step-through page (``--practice``: in practice mode). :mod:`scalargrad.cli`
parses the options and calls :func:`run_grad`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Literal

from ._cli_common import _UsageError, evaluate, print_grads, print_step, print_where, result_text
from .engine import Value, forward_order
from .errors import DotTimeoutError, DrawingTooLargeError, TooManyPathsError
from .explanations import explain
from .higher import hessian, second_derivative_text
from .names import display_names
from .notation import derivative_text
from .page import DEFAULT_PAGE_MAX_NODES, save_steps_html
from .steps import backward_steps
from .viz import DEFAULT_MAX_NODES, write_drawing

__all__ = ["run_grad"]

_PROG = "scalargrad grad"


def _fail(message: str) -> int:
    """Prints ``scalargrad grad: message`` to standard error; returns exit status 1."""
    print(f"{_PROG}: {message}", file=sys.stderr)
    return 1


def run_grad(args: argparse.Namespace) -> int:
    """Runs ``scalargrad grad``; returns the exit status.

    Args:
        args: The parsed command line (see ``scalargrad grad --help``).

    Returns:
        0 on success, 1 when an explanation is too large or a drawing failed.

    Raises:
        _UsageError: Bad arguments, or a limit (``--max-hessian``,
            ``--max-nodes``, ``--max-edges``) refuses the work.
    """
    if args.practice and args.html is None:
        raise _UsageError("--practice needs --html FILE (the practice page); "
                         "for practice in the terminal use: scalargrad step --practice")
    root, leaves, name = evaluate(args)
    if args.hessian and len(leaves) > args.max_hessian:
        _print_hessian(root, name, leaves, args.max_hessian)  # refuses before any work
    if args.steps:
        steps = list(backward_steps(root))  # this is the backward pass
    else:
        root.backward()
    print_grads(name, leaves, sys.stdout)
    if args.hessian:
        _print_hessian(root, name, leaves, args.max_hessian)
    if args.steps:
        print("\nbackward, step by step:")
        for s in steps:
            print_step(s, len(steps), sys.stdout)
        print_where(steps, sys.stdout)
    if args.explain is not None:
        try:
            text = explain(root, leaves[args.explain], max_paths=args.max_paths,
                           max_factors=args.max_factors)
        except TooManyPathsError as err:
            flag = "--" + err.option.replace("_", "-")
            return _fail(f"--explain {args.explain}: there are {err.what}, more than {flag} "
                         f"{err.limit}. Pass {flag} {err.needed} to print them all, or "
                         f"explain a variable nearer the root.")
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


def _print_hessian(root: Value, root_name: str, leaves: dict[str, Value], limit: int) -> None:
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
            print(f"{text} = {result_text(h[i][j])}")
    _warn_kinks(root)


def _warn_kinks(root: Value) -> None:
    """Says so when a relu sits exactly at its kink: no derivative there, one side's is used."""
    shown = display_names(root)
    kinks = [shown[id(v)] for v in forward_order(root) if v.op == "relu" and v.inputs[0].data == 0]
    if kinks:
        listed = ", ".join(kinks[:5]) + (f" and {len(kinks) - 5} more" if len(kinks) > 5 else "")
        print(f"{_PROG}: warning: {listed} {'is' if len(kinks) == 1 else 'are'} at the "
              f"kink (input exactly 0), where relu has no derivative: the engine takes "
              f"relu'(0) = 0, the derivative from the left, so these derivatives are one side's "
              f"and may differ on the other (move the point off 0 to see both)",
              file=sys.stderr)


def _write(option: str, root: Value, target: str, max_nodes: int | None, practice: bool,
           timeout: float, max_edges: int | None) -> int:
    """Writes ``--draw`` or ``--html``; returns the exit status.

    Raises:
        _UsageError: The graph has more Values or arrows than the limit.
    """
    edges: int | Literal["auto"] = "auto" if max_edges is None else max_edges
    try:
        if option == "draw":
            path = write_drawing(root, target, max_nodes=max_nodes or DEFAULT_MAX_NODES,
                                 timeout=timeout, max_edges=edges)
        else:
            path = save_steps_html(root, target, max_nodes=max_nodes or DEFAULT_PAGE_MAX_NODES,
                                   practice=practice, timeout=timeout, max_edges=edges)
    except DrawingTooLargeError as err:
        raise _UsageError(f"--{option} {target}: {_too_large(err)}") from None
    except DotTimeoutError as err:
        return _fail(f"--{option} {target}: Graphviz's dot did not finish the layout within "
                     f"{err.timeout:g} s and was stopped (nothing was written). Pass "
                     f"--dot-timeout {max(2 * err.timeout, 60):g} to allow more time, or draw "
                     f"a smaller expression.")
    except (OSError, RuntimeError) as err:  # unwritable path, dot missing or failing
        return _fail(f"--{option} {target}: {err}")
    print(f"wrote {path}")
    return 0


def _too_large(err: DrawingTooLargeError) -> str:
    """How much larger than its limit the graph is, why that matters and the option to pass."""
    if err.what == "arrows":
        things, flag, whole = "arrows into its ops", "--max-edges", "the graph's arrows"
        why = (" (an input used twice counts twice); dot's layout time grows much faster than "
               "the arrows (one sum over 7,000 takes minutes)")
    else:
        things, flag, whole = "Values", "--max-nodes", "the graph"
        why = "; dot needs about a second per 1,000 Values (and much longer beyond)"
    if err.exact:
        has, way_out = f"{err.count} {things}", f"Pass {flag} {err.count} to draw it anyway."
    else:
        has = f"at least {err.count} {things} (counting stopped there)"
        way_out = (f"Draw a smaller expression, or pass a {flag} as large as {whole} to draw "
                   f"it anyway.")
    return f"the graph has {has}, more than the limit of {err.limit}{why}. {way_out}"
