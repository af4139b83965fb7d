"""Tests of :mod:`scalargrad._cache`: the bounded LRU behind the package's memo tables."""

from __future__ import annotations

import pytest

from scalargrad._cache import LRU


def test_keeps_the_most_recently_used_entries() -> None:
    cache: LRU[int, str] = LRU(3)
    for k in range(3):
        cache.put(k, str(k))
    assert cache.get(0) == "0"  # 0 is now the most recent; 1 is the oldest
    cache.put(3, "3")
    assert len(cache) == 3
    assert 1 not in cache and all(k in cache for k in (0, 2, 3))
    assert cache.get(1) is None


def test_never_holds_more_than_maxsize() -> None:
    cache: LRU[int, int] = LRU(5)
    for k in range(1000):
        assert cache.put(k, k * k) == k * k
        assert len(cache) <= 5
    assert [cache.get(k) for k in range(995, 1000)] == [k * k for k in range(995, 1000)]
    cache.clear()
    assert len(cache) == 0


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize must be at least 1, got 0"):
        LRU(0)
