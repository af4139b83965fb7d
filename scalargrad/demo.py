"""The notes' worked example: a 3-layer one-neuron-per-layer sigmoid chain.

``scalargrad demo`` builds ``C_0 = (a^(3) − y)²`` with fixed numbers, runs
``backward()`` and prints every ``∂C_0/∂w^(l)``, ``∂C_0/∂b^(l)`` and
``∂C_0/∂a^(l)`` from the engine beside the hand formula of the first note
(:mod:`scalargrad.formulas`), with the match shown; then every backward step,
the chain rule for ``∂C_0/∂w^(1)``, and writes the drawing ``chain.svg``, the
step-through page ``chain_steps.html`` and the same page in practice mode,
``chain_practice.html`` (the student computes each step's gradient first).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from . import formulas
from .explanations import explain
from .nn import chain
from .page import save_steps_html
from .steps import backward_steps
from .viz import DotNotFoundError, write_drawing

__all__ = ["BIASES", "INPUT", "TARGET", "WEIGHTS", "run_demo"]

WEIGHTS = (0.5, -1.2, 0.8)
"""``w^(1), w^(2), w^(3)`` of the worked example."""
BIASES = (0.1, 0.2, -0.3)
"""``b^(1), b^(2), b^(3)``."""
INPUT = 0.7
"""The input ``a^(0)``."""
TARGET = 1.0
"""The target ``y``."""
X, Y = INPUT, TARGET  # deprecated names, not in __all__ (forms.X, forms.Y are placeholders)

_TOLERANCE = 1e-12


def _formula_text(kind: str, layer: int, last: int) -> str:
    first = "2(a^(L) − y)" if layer == last else f"∂C_0/∂a^({layer})"
    first = first.replace("(L)", f"({last})")
    tail = {"w": f"·a^({layer - 1})", "b": "·1", "a": f"·w^({layer})"}[kind]
    return f"{first}·σ'(z^({layer})){tail}"


def run_demo(
    out_dir: str | Path | None = None, stream: TextIO | None = None,
    *, errors: TextIO | None = None,
) -> int:
    """Runs the worked example, prints it and writes the drawings.

    Writing the files is part of the job: when they cannot be written (the
    directory cannot be created, is a file, is not writable, …) the reason is
    reported and the result is 1. The one exception is a machine without
    Graphviz's ``dot`` program and no ``out_dir`` asked for: then the lesson
    in the text is complete, the drawings are skipped with a message saying
    what to install, and the result stays 0. With an explicit ``out_dir``
    the caller asked for the files, so a missing ``dot`` is a failure too.

    Args:
        out_dir: Where to write ``chain.svg``, ``chain_steps.html`` and ``chain_practice.html``
            (default: the current directory; created if missing).
        stream: Where to print (default: standard output).
        errors: Where to report a failure to write the files (default: ``stream``).

    Returns:
        0 when every engine gradient matches its hand formula and the files
        were written (or skipped for want of ``dot`` with no ``out_dir``), else 1.
    """
    out = stream if stream is not None else sys.stdout
    net = chain(WEIGHTS, BIASES, INPUT, TARGET)
    net.cost.backward()
    hand = formulas.chain_gradients(WEIGHTS, BIASES, INPUT, TARGET)
    n = len(WEIGHTS)

    def line(text: str = "") -> None:
        print(text, file=out)

    line("scalargrad demo: the notes' chain, one neuron per layer")
    line(f"  z^(l) = w^(l)·a^(l-1) + b^(l),  a^(l) = σ(z^(l)),  C_0 = (a^({n}) − y)²")
    line()
    line("Forward pass")
    line(f"  a^(0) = x = {INPUT:g}    y = {TARGET:g}")
    for i in range(n):
        line(
            f"  l={i + 1}:  w^({i + 1}) = {WEIGHTS[i]:+.2f}  b^({i + 1}) = {BIASES[i]:+.2f}"
            f"  z^({i + 1}) = {net.z[i].data:+.6f}  a^({i + 1}) = {net.a[i + 1].data:.6f}"
        )
    line(f"  C_0 = {net.cost.data:.6f}")
    line()
    line("Backward pass: the engine's grad beside the first note's hand formula")
    header = f"  {'quantity':<14}{'engine':>14}   {'hand formula':<32}{'formula':>14}   match"
    line(header)
    line("  " + "─" * (len(header) - 2))
    ok = True
    for layer in range(n, 0, -1):
        i = layer - 1
        rows = [
            ("w", f"∂C_0/∂w^({layer})", net.w[i].grad, hand.dw[i]),
            ("b", f"∂C_0/∂b^({layer})", net.b[i].grad, hand.db[i]),
            ("a", f"∂C_0/∂a^({layer - 1})", net.a[i].grad, hand.da[i]),
        ]
        for kind, name, engine, formula in rows:
            diff = abs(engine - formula)
            good = diff <= _TOLERANCE * max(1.0, abs(formula))
            ok = ok and good
            mark = "✓" if good else "✗ MISMATCH"
            line(
                f"  {name:<14}{engine:>+14.8f}   {_formula_text(kind, layer, n):<32}"
                f"{formula:>+14.8f}   {mark} (|Δ| = {diff:.1e})"
            )
    line()
    line("All engine gradients equal the hand formulas." if ok else "MISMATCH: see ✗ above.")

    line()
    line("The backward pass step by step (each node once all its consumers have sent their share)")
    fresh = chain(WEIGHTS, BIASES, INPUT, TARGET)
    steps = list(backward_steps(fresh.cost))
    for step in steps:
        first, *rest = step.lines()
        line(f"  step {step.index + 1:>2}/{len(steps)}: {first}")
        for text in rest:
            line(f"           {text}")
    line()
    line("The chain rule for ∂C_0/∂w^(1), one factor per edge from C_0 down to w^(1)")
    for text in str(explain(net.cost, net.w[0])).splitlines():
        line(f"  {text}")

    where = Path.cwd() if out_dir is None else Path(out_dir)
    err_out = errors if errors is not None else out
    line()
    try:
        where.mkdir(parents=True, exist_ok=True)
        svg = write_drawing(net.cost, where / "chain.svg")
        page = save_steps_html(net.cost, where / "chain_steps.html")
        practice = save_steps_html(net.cost, where / "chain_practice.html", practice=True)
    except DotNotFoundError as err:
        if out_dir is None:
            line(f"Drawings skipped: {err}")
            return 0 if ok else 1
        print(f"scalargrad demo: cannot draw into {where}: {err}", file=err_out)
        return 1
    except (OSError, RuntimeError) as err:  # RuntimeError: dot itself failed
        reason = "it is a file, not a directory" if where.is_file() else str(err)
        print(f"scalargrad demo: cannot write the drawings into {where}: {reason}",
              file=err_out)
        return 1
    line(f"Wrote the drawing to   {svg}")
    line(f"Wrote the step page to {page}  (open it in a browser; ←/→ step through backward)")
    line(f"Wrote the practice page to {practice}  (the same, but you compute each gradient)")
    return 0 if ok else 1
