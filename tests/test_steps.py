"""Tests for scalargrad.steps: backward one node at a time (more in test_trace.py).

The oracles are derivatives worked by hand for each graph.
"""

from __future__ import annotations

import math

from scalargrad import Value
from scalargrad.names import display_names
from scalargrad.steps import backward_steps, local_formula, paths_over_one


def test_local_formulas_read_the_rule_with_the_graphs_names() -> None:
    w, a, b = Value(0.5, "w"), Value(0.7, "a"), Value(0.1, "b")
    z = (w * a + b).label_as("z")
    names = display_names(z)
    product = z.inputs[0]
    # z = w·a + b: ∂z/∂(w·a) = ∂z/∂b = 1; ∂(w·a)/∂w = a, ∂(w·a)/∂a = w
    assert [local_formula(z, i, names) for i in range(2)] == ["1", "1"]
    assert [local_formula(product, i, names) for i in range(2)] == ["a", "w"]
    s = Value(0.3, "s").sigmoid().label_as("σ")
    # ∂σ(s)/∂s = σ(s)(1 − σ(s)), written with the node's own name
    assert "σ" in local_formula(s, 0, display_names(s))


def test_paths_over_one_are_the_nodes_reaching_the_root_twice() -> None:
    x, y = Value(2.0, "x"), Value(3.0, "y")
    xy = x * y
    f = (xy + x).label_as("f")  # x reaches f directly and through x·y; y only through x·y
    assert paths_over_one(f) == {id(x)}
    g = (x * x).label_as("g")  # both edges of x·x: two paths
    assert paths_over_one(g) == {id(x)}
    assert paths_over_one(x) == set()


def test_steps_of_tanh_xy_plus_x_by_hand() -> None:
    x, y = Value(0.5, "x"), Value(-1.5, "y")
    f = ((x * y).tanh() + x).label_as("f")
    steps = list(backward_steps(f))
    assert [s.node.op for s in steps] == ["add", "tanh", "mul"]
    t = math.tanh(0.5 * -1.5)
    upstream_mul = 1.0 - t * t  # ∂f/∂(x·y) = 1 − tanh²(x·y)
    assert math.isclose(steps[2].upstream, upstream_mul, rel_tol=1e-13)
    assert [c.local_grad for c in steps[2].contributions] == [-1.5, 0.5]  # y, x
    # ∂f/∂x = 1 + (1 − tanh²(xy))·y, ∂f/∂y = (1 − tanh²(xy))·x
    assert math.isclose(x.grad, 1.0 + upstream_mul * -1.5, rel_tol=1e-13)
    assert math.isclose(y.grad, upstream_mul * 0.5, rel_tol=1e-13)
    # at the root, x's local derivative 1 is not the total: it carries the local mark
    root = steps[0]
    assert [root.local_text(c) for c in root.contributions] == [
        "∂f/∂tanh(x·y)", "∂f/∂x|local"]
