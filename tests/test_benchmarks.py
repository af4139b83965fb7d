"""The benchmark's engines all compute the same training step (no timing here)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


workloads = _load("workloads")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("cls", workloads.available_engines(), ids=lambda c: c.name)
def test_engine_matches_floats(cls):
    problem = workloads.Problem(widths=(2, 4, 3, 1), batch=5, seed=3)
    ref, eng = workloads.Floats(problem), cls(problem)
    for _ in range(2):  # the second step starts from the updated parameters
        loss_ref, loss = ref.step(), eng.step()
        assert close(loss, loss_ref)
        assert len(eng.grads()) == len(ref.grads()) == 4 * (2 + 1) + 3 * (4 + 1) + 1 * (3 + 1)
        assert all(close(g, h) for g, h in zip(eng.grads(), ref.grads()))
        assert all(close(p, q) for p, q in zip(eng.params(), ref.params()))


def test_floats_gradient_is_the_derivative():
    # Independent of every engine: central differences of the loss in plain floats.
    problem = workloads.Problem(widths=(2, 3, 1), batch=4, seed=1)
    grads = workloads.Floats(problem)
    grads.step()
    g = grads.grads()

    def loss_at(i: int, h: float) -> float:
        p = workloads.Problem(widths=(2, 3, 1), batch=4, seed=1)
        flat = workloads.flat_params(p.W, p.B)
        # rebuild W and B with parameter i shifted by h
        shifted = [v + (h if k == i else 0.0) for k, v in enumerate(flat)]
        it = iter(shifted)
        p.W = [[[0.0] * len(r) for r in Wl] for Wl in p.W]
        p.B = [[0.0] * len(b) for b in p.B]
        for Wl, Bl in zip(p.W, p.B):
            for row, j in zip(Wl, range(len(Bl))):
                for k in range(len(row)):
                    row[k] = next(it)
                Bl[j] = next(it)
        return workloads.Floats(p).step()

    h = 1e-6
    for i in range(len(g)):
        fd = (loss_at(i, h) - loss_at(i, -h)) / (2 * h)
        assert math.isclose(fd, g[i], rel_tol=1e-5, abs_tol=1e-7), i


def test_the_benchmark_graph_has_the_stated_size():
    sg = workloads.Scalargrad(workloads.Problem())
    from scalargrad import topological_order

    # One affine node z_j^(l) and one activation per neuron: 70 nodes per example
    # (2 inputs, 32 + 32 + 1 neuron nodes, y, a − y, its square) × 32, plus the
    # 337 parameters, the sum over examples, 1/n and the mean: 2,580.
    assert len(topological_order(sg.loss_graph())) == 2_580


def _count(root) -> int:
    """Nodes below root, by a plain search over ``inputs`` (micrograd: ``_prev``)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        v = stack.pop()
        for c in (v.inputs if hasattr(v, "inputs") else v._prev):
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    return len(seen)


def test_the_floor_engine_builds_the_same_graphs_as_scalargrad():
    # The floor is only a fair reference if it does the same work: the same nodes
    # (2,580 for the nn step) and, for raw ops, the graph micrograd's nn builds too.
    problem = workloads.Problem()
    assert _count(workloads.Floor(problem).loss_graph()) == 2_580
    raw = _count(workloads.ScalargradRaw(problem).loss_graph())
    assert raw == _count(workloads.FloorRaw(problem).loss_graph())
    # By hand: 337 parameters; per example, layer 1 has 16 × (2 constant inputs, 2 products,
    # 2 adds) and 16 relus, layer 2 16 × (16 products, 16 adds) and 16 relus, layer 3 16
    # products and 16 adds, then the constant y, a − y and its square: 675 nodes. Then
    # sum(costs) = 0 + C_0 + … (a constant 0 and 32 adds) and · (1/32) (a constant, a mul).
    per_example = 16 * 6 + 16 + 16 * 32 + 16 + 32 + 3
    assert per_example == 675
    assert raw == 337 + 32 * per_example + 33 + 2 == 21_972


@pytest.mark.parametrize("kind", ["F", "C"])
def test_floor_backward_is_the_chain_rule(kind):
    # Independent of every engine: ∂/∂x of (x·w + x)² = 2(x·w + x)(w + 1), and x·x has two edges.
    node = getattr(workloads._floor(), kind)
    x, w = node(1.5), node(-0.5)
    y = (x * w + x).square()
    y.backward()
    assert close(x.grad, 2 * (1.5 * -0.5 + 1.5) * (-0.5 + 1))
    assert close(w.grad, 2 * (1.5 * -0.5 + 1.5) * 1.5)
    a = node(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    b = node(2.0)
    s = workloads._floor().total([b, b * 3.0, b])  # an n-ary node with a repeated input
    s.backward()
    assert b.grad == 5.0
