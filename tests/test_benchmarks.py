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
