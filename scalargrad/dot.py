"""Running Graphviz's ``dot``: a time limit, a killed process group, one SVG per graph.

:func:`render` is the one place the package starts a process. ``dot`` runs in
a session of its own, so a layout that runs too long (or a Ctrl-C) kills the
whole group and reaps it: nothing is left running. A missing ``dot`` raises
:class:`~scalargrad.errors.DotNotFoundError` saying what to install.
:mod:`scalargrad.viz` builds the DOT text and re-exports these names.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
from numbers import Real

from .errors import DotNotFoundError, DotTimeoutError

__all__ = ["DEFAULT_DOT_TIMEOUT", "render", "split_svgs"]

DEFAULT_DOT_TIMEOUT = 120.0
"""Seconds :func:`render` lets ``dot`` lay out a graph before stopping it."""

_INSTALL = (
    "Graphviz's `dot` program was not found on PATH; the Python package `graphviz` alone "
    "cannot render. Install Graphviz: Debian/Ubuntu `sudo apt-get install graphviz`, "
    "Fedora `sudo dnf install graphviz`, macOS `brew install graphviz`, conda "
    "`conda install -c conda-forge graphviz`, Windows `winget install graphviz` (then "
    "restart the shell). DOT text (`.source`, or a .dot file) needs no Graphviz."
)


def render(source: str, fmt: str = "svg", *, timeout: float = DEFAULT_DOT_TIMEOUT) -> bytes:
    """Runs ``dot -T<fmt>`` on DOT text, with a time limit.

    ``dot`` runs in its own process group (session); when it takes longer
    than ``timeout`` the whole group is killed and reaped, so no layout is
    left running in the background, and :class:`DotTimeoutError` says how to
    raise the limit. The same happens when the wait is interrupted (Ctrl-C).

    Args:
        source: DOT text (``drawing.source``); several graphs give several outputs.
        fmt: A Graphviz output format (``svg``, ``png``, ``pdf``…).
        timeout: Seconds to wait for ``dot`` (``graphviz``'s ``pipe()`` has none).

    Returns:
        The rendered bytes.

    Raises:
        DotNotFoundError: ``dot`` is not installed; the message says what to install.
        DotTimeoutError: ``dot`` ran longer than ``timeout`` and was stopped.
        RuntimeError: ``dot`` failed.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, Real) or not 0 < timeout < math.inf:
        raise ValueError(f"render: timeout must be a positive number of seconds, got {timeout!r}")
    try:
        proc = subprocess.Popen(
            ["dot", f"-T{fmt}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
    except FileNotFoundError as err:
        raise DotNotFoundError(_INSTALL) from err
    try:
        out, err_text = proc.communicate(source.encode("utf-8"), timeout=float(timeout))
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise DotTimeoutError(
            f"dot -T{fmt} did not finish its layout within {float(timeout):g} s and was "
            f"stopped. Draw a smaller graph (fewer Values, or max_nodes), or allow more "
            f"time: timeout={max(2 * float(timeout), 60):g} (command line: --dot-timeout).",
            timeout=float(timeout), pid=proc.pid,
        ) from None
    except BaseException:  # Ctrl-C, or an error writing to dot: leave nothing running
        _stop(proc)
        raise
    if proc.returncode != 0:
        raise RuntimeError(
            f"dot -T{fmt} failed (exit {proc.returncode}): "
            f"{err_text.decode('utf-8', 'replace').strip()}"
        )
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kills ``dot``'s whole process group and waits for it, so no zombie or orphan remains."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Windows: no process groups; dot has no children of its own
            proc.kill()
    except (ProcessLookupError, PermissionError):  # it finished in the meantime
        pass
    proc.communicate()


def split_svgs(output: bytes) -> list[str]:
    """Splits the output of ``dot -Tsvg`` on several graphs into one SVG text per graph."""
    text = output.decode("utf-8")
    return ["<?xml" + part for part in text.split("<?xml")[1:]]
