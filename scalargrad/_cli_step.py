"""``scalargrad step``: the backward pass one key press at a time, or practised step by step.

In a terminal, standard input is put in cbreak mode (:mod:`termios`/:mod:`tty`,
restored afterwards) and single keys are read: Enter, space or ``n`` shows the
next step, ``b`` goes back, ``q`` quits. When standard input is not a terminal
every step is printed. ``--practice`` asks for each step's gradient first, one
line of input per answer (``--contributions``: then what the step sends down
each input arrow). :mod:`scalargrad.cli` parses the options and calls
:func:`run_step`.
"""

from __future__ import annotations

import argparse
import os
import sys

from ._cli_common import _UsageError, evaluate, print_grads, print_step, print_where
from .engine import Value
from .notation import format_number
from .practice import ABS_TOL, REL_TOL, Question, Send, questions, read_number, step_numbers
from .steps import Step, backward_steps

__all__ = ["run_step"]


def run_step(args: argparse.Namespace) -> int:
    """Runs ``scalargrad step``; returns the exit status.

    Args:
        args: The parsed command line (see ``scalargrad step --help``).

    Returns:
        0 when done or quit, 130 when interrupted (Ctrl-C).

    Raises:
        _UsageError: ``--contributions`` without ``--practice``, or bad arguments.
    """
    root, leaves, name = evaluate(args)
    steps = list(backward_steps(root))  # the whole pass, replayed one step at a time
    if not steps:
        print(f"{name} is a leaf: there is nothing to step through.")
        print_grads(name, leaves, sys.stdout)
        return 0
    if args.contributions and not args.practice:
        raise _UsageError("--contributions goes with --practice")
    if args.practice:
        return _practice(steps, name, leaves, args.contributions)
    if not _stdin_is_a_terminal():
        for s in steps:
            print_step(s, len(steps), sys.stdout)
        print_where(steps, sys.stdout)
        print()
        print_grads(name, leaves, sys.stdout)
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
    print_where(steps, out)
    print(file=out)
    try:
        tty.setcbreak(fd)
        print_step(steps[i], len(steps), out)
        while True:
            print("[Enter] next  [b] back  [q] quit ", end="", file=out, flush=True)
            key = os.read(fd, 1)
            print(file=out)
            if key in (b"\r", b"\n", b" ", b"n"):
                if i + 1 == len(steps):
                    print("backward done.", file=out)
                    print_grads(root_name, leaves, out)
                    return 0
                i += 1
                print_step(steps[i], len(steps), out)
            elif key == b"b":
                if i == 0:
                    print("(this is the first step)", file=out)
                else:
                    i -= 1
                    print_step(steps[i], len(steps), out)
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
    print_where(steps, out)
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
            print_step(q.step, len(steps), out, numbers)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {tally()}.", file=out)
        return 130
    print(f"\nbackward done: {tally()}.", file=out)
    print_grads(root_name, leaves, out)
    return 0
