"""The one thread-race harness of the tests: ``race`` runs work in threads that start together.

A race in the engine, the caches or the micrograd drop-in shows only when threads
really interleave, so the threads wait at a barrier and the interpreter switches
between them every microsecond (``sys.setswitchinterval``); the old interval is
restored afterwards.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


def race(work: Callable[[int], None], n: int = 2) -> list[BaseException]:
    """Runs ``work(0)`` … ``work(n − 1)`` in ``n`` threads at once; returns what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(n)  # all at once: a thread must not finish before the next starts

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as err:  # reported by the calling thread
            errors.append(err)

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    return errors


def in_threads(work: Callable[[int], None], n: int = 2) -> None:
    """:func:`race`, failing the test if any thread raised."""
    errors = race(work, n)
    assert not errors, errors
