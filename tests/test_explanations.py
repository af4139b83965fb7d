"""Tests for scalargrad.explanations: the chain rule as a sum over paths (more in test_trace.py).

The oracles are the paths and derivatives of each graph, worked by hand.
"""

from __future__ import annotations

import pytest

from scalargrad import Value
from scalargrad.errors import TooManyPathsError
from scalargrad.explanations import DEFAULT_MAX_FACTORS, explain


def test_x_times_x_plus_x_has_three_paths_summing_to_2x_plus_1() -> None:
    x = Value(1.5, "x")
    f = (x * x + x).label_as("f")
    e = explain(f, x)
    # f = x·x + x: through each edge of x·x (x each) and directly (1)
    assert sorted(p.product for p in e.paths) == [1.0, 1.5, 1.5]
    assert e.total == 2 * 1.5 + 1
    assert [len(p.factors) for p in e.paths] == [2, 2, 1]
    assert str(e).startswith("∂f/∂x = ")


def test_a_long_chain_is_refused_by_its_factor_count() -> None:
    x = Value(0.1, "x")
    v = x
    for _ in range(DEFAULT_MAX_FACTORS + 1):  # one path of DEFAULT_MAX_FACTORS + 1 factors
        v = v + 1.0
    with pytest.raises(TooManyPathsError, match=f"max_factors={DEFAULT_MAX_FACTORS}") as info:
        explain(v, x)
    assert info.value.factors == DEFAULT_MAX_FACTORS + 1 and info.value.paths == 1


def test_a_unit_factor_folds_into_the_factor_above_it() -> None:
    # g = y·(x + u): ∂g/∂(x + u) · ∂(x + u)/∂x = y · 1 reads ∂g/∂x = y (x is labelled)
    x, y, u = Value(2.0, "x"), Value(0.5, "y"), Value(3.0)
    g = (y * (x + u)).label_as("g")
    assert str(explain(g, x)).splitlines() == ["∂g/∂x = y", "      = 0.5"]
    # f = x·(u + 1): the last factor ∂(u + 1)/∂u = 1 folds too, into ∂f/∂u = x = 2,
    # though u is an unlabelled leaf (its made-up name is defined below the algebra)
    f = (x * (u + 1.0)).label_as("f")
    e = explain(f, u)
    assert str(e).splitlines() == ["∂f/∂u = x", "      = 2", "where u = 3 (an unlabelled input)"]
    assert e.total == 2.0 and len(e.paths[0].factors) == 2
