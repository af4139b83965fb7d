"""The benchmark workloads, one class per engine, all computing the same thing.

The MLP step: widths 2-16-16-1, ReLU hidden layers and a linear output (the
only nonlinearity micrograd 0.1.0 has), a fixed batch of 32 examples, the
mean squared error C = (1/32) Σ_k (a^(3) − y_k)², backward, and one SGD step
p ← p − lr·∂C/∂p. Every engine starts from the same weights (:func:`problem`)
and exposes ``step() -> loss``, ``grads()`` (∂C/∂p of the last step, in the
order of :func:`flat_params`) and ``params()`` (after the update).
"""

from __future__ import annotations

import importlib.util
import itertools
import random
import sys
from operator import mul
from pathlib import Path
from typing import Any

WIDTHS = (2, 16, 16, 1)
BATCH = 32
LR = 0.01


class Problem:
    """Initial weights ``W[l][j][k]``, biases ``B[l][j]`` and a batch ``(xs, ys)``."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, batch: int = BATCH, seed: int = 0):
        r = random.Random(seed)
        self.widths = widths
        self.W = [
            [[r.uniform(-1.0, 1.0) for _ in range(nin)] for _ in range(nout)]
            for nin, nout in itertools.pairwise(widths)
        ]
        self.B = [[r.uniform(-0.5, 0.5) for _ in range(nout)] for nout in widths[1:]]
        self.xs = [[r.uniform(-2.0, 2.0) for _ in range(widths[0])] for _ in range(batch)]
        self.ys = [r.uniform(-1.0, 1.0) for _ in range(batch)]


def flat_params(W: list[list[list[Any]]], B: list[list[Any]]) -> list[Any]:
    """Parameters in one fixed order: per layer, per neuron, its weights then its bias."""
    out: list[Any] = []
    for Wl, Bl in zip(W, B):
        for row, b in zip(Wl, Bl):
            out.extend(row)
            out.append(b)
    return out


# --- the lower bound: the formulas in plain floats, no graph -------------------------


class Floats:
    """Forward and backprop written out by hand (δ recursion of the notes)."""

    name = "floats"

    def __init__(self, p: Problem):
        self.W = [[list(row) for row in Wl] for Wl in p.W]
        self.B = [list(bl) for bl in p.B]
        self.xs, self.ys = p.xs, p.ys
        self._g: list[float] = []

    def step(self) -> float:
        W, B = self.W, self.B
        L = len(W)
        gW = [[[0.0] * len(row) for row in Wl] for Wl in W]
        gB = [[0.0] * len(bl) for bl in B]
        inv = 1.0 / len(self.xs)
        loss = 0.0
        for x, y in zip(self.xs, self.ys):
            acts = [x]
            a = x
            for li in range(L):
                z = [sum(map(mul, row, a)) + b for row, b in zip(W[li], B[li])]
                a = z if li == L - 1 else [v if v > 0.0 else 0.0 for v in z]
                acts.append(a)
            e = a[0] - y
            loss += e * e
            delta = [2.0 * e * inv]  # ∂C/∂z^(L) (linear output)
            for li in range(L - 1, -1, -1):
                prev = acts[li]
                gWl, gBl, Wl = gW[li], gB[li], W[li]
                for j, d in enumerate(delta):
                    row = gWl[j]
                    for k, ak in enumerate(prev):
                        row[k] += d * ak
                    gBl[j] += d
                if li:
                    delta = [
                        sum(map(mul, col, delta)) if ak > 0.0 else 0.0
                        for col, ak in zip(zip(*Wl), prev)
                    ]
        for Wl, gWl, Bl, gBl in zip(W, gW, B, gB):
            for row, grow in zip(Wl, gWl):
                for k, g in enumerate(grow):
                    row[k] -= LR * g
            for j, g in enumerate(gBl):
                Bl[j] -= LR * g
        self._g = flat_params(gW, gB)
        return loss * inv

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return flat_params(self.W, self.B)


# --- scalargrad, dynamic graph ---------------------------------------------------------


class Scalargrad:
    """``scalargrad.nn.MLP``; a new graph every step, then ``backward()``."""

    name = "scalargrad"

    def __init__(self, p: Problem):
        from scalargrad import nn

        self.nn = nn
        self.net = nn.MLP.from_weights(p.W, p.B, "relu", output="linear")
        self.param_values = self.net.parameters()
        self.xs, self.ys = p.xs, p.ys

    def loss_graph(self) -> Any:
        nn = self.nn
        costs = []
        for k, (x, y) in enumerate(zip(self.xs, self.ys)):
            costs.append(nn.squared_error(self.net(x), y, example=k))
        return nn.mean_cost(costs)

    def step(self) -> float:
        loss = self.loss_graph()
        for q in self.param_values:
            q.grad = 0.0
        loss.backward()
        self._g = [q.grad for q in self.param_values]
        self.nn.sgd_step(self.param_values, LR)
        return float(loss.data)

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return [q.data for q in self.param_values]


class Compiled:
    """``scalargrad.compile`` once per graph structure: one example's cost, the batch as data.

    The cost of one example ``C_k = (a^(3) − y)²`` is built once with the
    example's ``x`` and ``y`` as leaves and compiled with the parameters as
    inputs and those leaves as data. Each step is ``compiled.mean(params,
    rows)``: one replay per example, averaged (the batch cost ``C`` and
    ``∂C/∂p``), so this one compile serves every batch, of any size, and
    every parameter value.
    """

    name = "compiled"

    def __init__(self, p: Problem):
        import scalargrad
        from scalargrad import Value, nn

        net = nn.MLP.from_weights(p.W, p.B, "relu", output="linear")
        params = net.parameters()
        x = [Value(0.0, f"x_{i}") for i in range(len(p.xs[0]))]
        y = Value(0.0, "y")
        cost = nn.squared_error(net(x), y)  # type: ignore[arg-type]
        self.fn = scalargrad.compile(cost, params, data=[*x, y])
        self.rows = [(*x, y) for x, y in zip(p.xs, p.ys)]
        self.values = [q.data for q in params]
        self._g: list[float] = []

    def step(self) -> float:
        loss, g = self.fn.mean(self.values, self.rows)
        self.values = [v - LR * gi for v, gi in zip(self.values, g)]
        self._g = list(g)
        return loss

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return self.values


# --- micrograd 0.1.0 -----------------------------------------------------------------


class Micrograd:
    """micrograd's Value, built the way its ``nn`` builds (binary ``+`` chains)."""

    name = "micrograd"

    def __init__(self, p: Problem):
        from micrograd.engine import Value

        self.V = Value
        self.W = [[[Value(w) for w in row] for row in Wl] for Wl in p.W]
        self.B = [[Value(b) for b in bl] for bl in p.B]
        self.param_values = flat_params(self.W, self.B)
        self.xs, self.ys = p.xs, p.ys

    def step(self) -> float:
        L = len(self.W)
        costs = []
        for x, y in zip(self.xs, self.ys):
            a: list[Any] = x
            for li, (Wl, Bl) in enumerate(zip(self.W, self.B)):
                z = [sum((w * ai for w, ai in zip(row, a)), b) for row, b in zip(Wl, Bl)]
                a = z if li == L - 1 else [v.relu() for v in z]
            costs.append((a[0] - y) ** 2)
        loss = sum(costs) * (1.0 / len(costs))
        for q in self.param_values:
            q.grad = 0
        loss.backward()
        self._g = [float(q.grad) for q in self.param_values]
        for q in self.param_values:
            q.data -= LR * q.grad
        return float(loss.data)

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return [float(q.data) for q in self.param_values]


# --- PyTorch scalar autograd (optional) --------------------------------------------


class Torch:
    """One 0-d float64 tensor per number; ``torch.stack(...).sum()`` for each z."""

    name = "torch"

    def __init__(self, p: Problem):
        import torch

        torch.set_num_threads(1)
        self.torch = torch

        def leaf(v: float) -> Any:
            return torch.tensor(v, dtype=torch.float64, requires_grad=True)

        self.W = [[[leaf(w) for w in row] for row in Wl] for Wl in p.W]
        self.B = [[leaf(b) for b in bl] for bl in p.B]
        self.param_values = flat_params(self.W, self.B)
        self.xs = [[torch.tensor(v, dtype=torch.float64) for v in x] for x in p.xs]
        self.ys = p.ys

    def step(self) -> float:
        torch = self.torch
        L = len(self.W)
        costs = []
        for x, y in zip(self.xs, self.ys):
            a: list[Any] = x
            for li, (Wl, Bl) in enumerate(zip(self.W, self.B)):
                z = [
                    torch.stack([w * ai for w, ai in zip(row, a)]).sum() + b
                    for row, b in zip(Wl, Bl)
                ]
                a = z if li == L - 1 else [torch.relu(v) for v in z]
            costs.append((a[0] - y) ** 2)
        loss = torch.stack(costs).sum() * (1.0 / len(costs))
        loss.backward()
        self._g = [float(q.grad) for q in self.param_values]
        with torch.no_grad():
            for q in self.param_values:
                q -= LR * q.grad
                q.grad = None
        return float(loss.detach())

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return [float(q.detach()) for q in self.param_values]


# --- the floor of this design (benchmarks/floor.py) -----------------------------------


def _floor() -> Any:
    """``benchmarks/floor.py``, loaded by path (the benchmarks are not a package)."""
    name = "scalargrad_benchmarks_floor"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("floor.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]



class Floor:
    """``floor.F`` building scalargrad's ``nn`` graph (2,580 nodes): the floor of the nn step.

    (``floor.C``, laid out as scalargrad's Value, measured the same within noise here.)
    """

    name = "floor"

    def __init__(self, p: Problem):
        floor = _floor()
        self.fl = floor
        self.W = [[[floor.F(w) for w in row] for row in Wl] for Wl in p.W]
        self.B = [[floor.F(b) for b in bl] for bl in p.B]
        self.param_values = flat_params(self.W, self.B)
        self.xs, self.ys = p.xs, p.ys

    def loss_graph(self) -> Any:
        fl = self.fl
        F, affine = fl.F, fl.affine
        L = len(self.W)
        costs = []
        for x, y in zip(self.xs, self.ys):
            a = [F(v) for v in x]
            for li, (Wl, Bl) in enumerate(zip(self.W, self.B)):
                z = [affine(row, a, b) for row, b in zip(Wl, Bl)]
                a = z if li == L - 1 else [v.relu() for v in z]
            costs.append((a[0] - F(y)).square())
        return fl.total(costs) * (1.0 / len(costs))

    def step(self) -> float:
        loss = self.loss_graph()
        for q in self.param_values:
            q.grad = 0.0
        loss.backward()
        self._g = [q.grad for q in self.param_values]
        for q in self.param_values:
            q.data -= LR * q.grad
        return float(loss.data)

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return [q.data for q in self.param_values]


# --- raw ops: neurons written micrograd's way, sum((w*x for …), b) ---------------------


def raw_loss(W: list[Any], B: list[Any], xs: list[list[float]], ys: list[float]) -> Any:
    """The MLP loss from binary ``*``/``+`` nodes, as micrograd's ``nn`` builds it."""
    L = len(W)
    costs = []
    for x, y in zip(xs, ys):
        a: list[Any] = x
        for li, (Wl, Bl) in enumerate(zip(W, B)):
            z = [sum((w * ai for w, ai in zip(row, a)), b) for row, b in zip(Wl, Bl)]
            a = z if li == L - 1 else [v.relu() for v in z]
        costs.append((a[0] - y) ** 2)
    return sum(costs) * (1.0 / len(costs))


class Raw:
    """A raw-op engine: parameters of class ``cls``, the loss from :func:`raw_loss`."""

    name = "raw"

    def __init__(self, p: Problem, cls: Any):
        self.W = [[[cls(w) for w in row] for row in Wl] for Wl in p.W]
        self.B = [[cls(b) for b in bl] for bl in p.B]
        self.param_values = flat_params(self.W, self.B)
        self.xs, self.ys = p.xs, p.ys

    def loss_graph(self) -> Any:
        return raw_loss(self.W, self.B, self.xs, self.ys)

    def step(self) -> float:
        loss = self.loss_graph()
        for q in self.param_values:
            q.grad = 0.0
        loss.backward()
        self._g = [q.grad for q in self.param_values]
        for q in self.param_values:
            q.data -= LR * q.grad
        return float(loss.data)

    def grads(self) -> list[float]:
        return self._g

    def params(self) -> list[float]:
        return [q.data for q in self.param_values]


class ScalargradRaw(Raw):
    """``scalargrad.Value`` with raw binary ops (no ``affine``, no ``nn``)."""

    name = "scalargrad raw ops"

    def __init__(self, p: Problem):
        from scalargrad import Value

        super().__init__(p, Value)


class FloorRaw(Raw):
    """The floor on the same raw-op graph: ``floor.C``, laid out as scalargrad's Value.

    (``floor.F``, with tuples, is about 1.5× slower here: it is not the floor of raw ops.)
    """

    name = "floor raw ops"

    def __init__(self, p: Problem):
        floor = _floor()
        super().__init__(p, floor.C)


def available_engines() -> list[type]:
    """The engine classes whose libraries import here (torch is optional)."""
    engines: list[type] = [Floats, Scalargrad, Floor, ScalargradRaw, FloorRaw, Compiled]
    for cls, mod in ((Micrograd, "micrograd"), (Torch, "torch")):
        if importlib.util.find_spec(mod) is not None:  # found, not imported
            engines.append(cls)
    return engines
