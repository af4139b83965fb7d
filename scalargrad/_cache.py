"""A bounded least-recently-used mapping for the package's memo tables.

The rule table and the code generator remember things per affine width, per
exponent and per template; a program that builds many widths or exponents
(``x ** random()``) must not grow them without limit. :class:`LRU` keeps the
``maxsize`` most recently used entries and forgets the rest. It is safe
under threads: one lock per table makes each ``get`` and ``put`` whole (two
threads building ``x ** 1.031`` never see an entry vanish between finding it
and marking it used).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["LRU"]

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A mapping that holds at most ``maxsize`` entries, dropping the least recently used.

    Args:
        maxsize: The most entries kept (at least 1).
    """

    __slots__ = ("_data", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"LRU: maxsize must be at least 1, got {maxsize!r}")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Returns the value for ``key`` (marking it recently used), or ``None``."""
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> V:
        """Stores ``value`` under ``key``, forgetting the oldest entry past ``maxsize``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)
            return value

    def __len__(self) -> int:
        with self._lock:  # never the moment inside put between storing and evicting
            return len(self._data)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def clear(self) -> None:
        """Forgets every entry."""
        with self._lock:
            self._data.clear()
