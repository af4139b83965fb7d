"""Tests of :mod:`scalargrad._cache`: the bounded LRU behind the package's memo tables."""

from __future__ import annotations

import pytest
from threads import race

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


def test_a_table_is_safe_under_threads() -> None:
    # threads that look up and store keys a small table keeps evicting: an entry found by
    # one thread and evicted by another before it is marked used was a KeyError
    cache: LRU[int, int] = LRU(4)

    def work(i: int) -> None:
        for k in range(20000):
            key = (k * 7 + i) % 9
            found = cache.get(key)
            assert found is None or found == key * key
            if found is None:
                cache.put(key, key * key)
            assert len(cache) <= 4

    assert race(work, 4) == []
    assert len(cache) <= 4


def test_pow_rules_can_be_built_in_two_threads() -> None:
    # x ** 1.031 and many other exponents, built in threads while the 256-entry rule table
    # churns: every node is right (x^c and c·x^(c−1), by hand) and nothing raises
    from scalargrad import Value

    x = Value(2.0, "x")

    def work(i: int) -> None:
        for k in range(1500):
            c = 1.031 if k % 3 == 0 else 1.0 + (k * 4 + i) / 997
            y = x ** c
            assert y.data == pytest.approx(2.0**c) and y.local_grads[0] == pytest.approx(
                c * 2.0 ** (c - 1))

    assert race(work, 4) == []
