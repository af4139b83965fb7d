"""The floor of this design: minimal engines that build the same graphs as scalargrad.

Both keep what scalargrad keeps on a node — data, grad, the inputs and the
local derivatives as data — and nothing else: no labels, no finite-value
checks, no undo, no rule table. They differ in layout:

* ``F`` holds ``inputs`` and ``local_grads`` as tuples and orders backward by
  a depth-first post-order (the cheapest ordering measured for it; consumer
  counts in a dict were about 1.3× slower on the ``nn`` graph).
* ``C`` is laid out as scalargrad's ``Value``: a one- or two-input node keeps
  its inputs and local derivatives in its own slots (one GC-tracked object per
  node), an n-ary node keeps tuples, and backward counts consumers in a slot.

The benchmark uses whichever is faster on a workload as that workload's floor
(``C`` on raw binary ops, where the tuples cost most). Both build exactly
the graphs scalargrad builds: the ``nn`` graph (one affine node and one
activation per neuron, 2,580 nodes per step) and the raw-op graph
(micrograd-style neurons ``sum((w*x for …), b)`` of binary ``*``/``+`` nodes).
"""

from __future__ import annotations

import math
from typing import Any


class F:
    """A floor node with tuples: data, grad, inputs, local derivatives; nothing else."""

    __slots__ = ("data", "grad", "inputs", "local_grads")

    def __init__(
        self, data: float, inputs: tuple[F, ...] = (), local_grads: tuple[float, ...] = ()
    ) -> None:
        self.data = data
        self.grad = 0.0
        self.inputs = inputs
        self.local_grads = local_grads

    def __add__(self, other: Any) -> F:
        if other.__class__ is not F:
            other = F(other)
        return F(self.data + other.data, (self, other), (1.0, 1.0))

    def __radd__(self, other: Any) -> F:
        return F(other).__add__(self)

    def __mul__(self, other: Any) -> F:
        if other.__class__ is not F:
            other = F(other)
        return F(self.data * other.data, (self, other), (other.data, self.data))

    def __rmul__(self, other: Any) -> F:
        return F(other).__mul__(self)

    def __sub__(self, other: Any) -> F:
        if other.__class__ is not F:
            other = F(other)
        return F(self.data - other.data, (self, other), (1.0, -1.0))

    def __pow__(self, c: float) -> F:
        d = self.data
        return F(d**c, (self,), (c * d ** (c - 1),))

    def square(self) -> F:
        d = self.data
        return F(d * d, (self,), (2.0 * d,))

    def relu(self) -> F:
        d = self.data
        return F(d, (self,), (1.0,)) if d > 0.0 else F(0.0, (self,), (0.0,))

    def backward(self) -> None:
        """Reverse depth-first post-order: consumers before inputs, no recursion."""
        order = []
        seen = {self}
        add = seen.add
        stack = [(self, iter(self.inputs))]
        push, pop, emit = stack.append, stack.pop, order.append
        while stack:
            v, it = stack[-1]
            for c in it:
                if c not in seen:
                    add(c)
                    push((c, iter(c.inputs)))
                    break
            else:
                pop()
                emit(v)
        self.grad = 1.0
        for v in reversed(order):
            g = v.grad
            if g:
                for c, local in zip(v.inputs, v.local_grads):
                    c.grad += g * local


def affine(ws: list[Any], xs: list[Any], b: Any) -> Any:
    """``Σ w_k·a_k + b`` as one node (inputs interleaved as scalargrad's ``affine``)."""
    n = len(ws)
    items: list[Any] = [b] * (2 * n + 1)
    items[0:-1:2] = ws
    items[1:-1:2] = xs
    data = [v.data for v in items]
    wd, xd = data[0:-1:2], data[1:-1:2]
    grads = [1.0] * (2 * n + 1)
    grads[0:-1:2] = xd
    grads[1:-1:2] = wd
    value = math.fsum([*map(float.__mul__, wd, xd), b.data])
    if b.__class__ is C:
        return C._nary(value, tuple(items), tuple(grads))
    return F(value, tuple(items), tuple(grads))


def total(vs: list[Any]) -> Any:
    """One n-ary sum node."""
    value = math.fsum([v.data for v in vs])
    if vs[0].__class__ is C:
        return C._nary(value, tuple(vs), (1.0,) * len(vs))
    return F(value, tuple(vs), (1.0,) * len(vs))


_NARY: Any = object()


class C:
    """A floor node laid out as scalargrad's Value (inputs in slots; counts in a slot)."""

    __slots__ = ("data", "grad", "x", "y", "gx", "gy", "n")

    def __init__(self, data: float) -> None:
        self.data = data
        self.grad = 0.0
        self.x = None
        self.y = None
        self.n = 0

    @staticmethod
    def _node(data: float, x: C, y: C | None, gx: float, gy: float) -> C:
        out = _new(C)
        out.data = data
        out.grad = 0.0
        out.x = x
        out.y = y
        out.gx = gx
        out.gy = gy
        out.n = 0
        return out

    @staticmethod
    def _nary(data: float, inputs: tuple[C, ...], grads: tuple[float, ...]) -> C:
        out = _new(C)
        out.data = data
        out.grad = 0.0
        out.x = inputs
        out.y = _NARY
        out.gx = grads
        out.n = 0
        return out

    def __add__(self, other: Any) -> C:
        if other.__class__ is not C:
            other = C(other)
        return _node(self.data + other.data, self, other, 1.0, 1.0)

    def __radd__(self, other: Any) -> C:
        return C(other).__add__(self)

    def __mul__(self, other: Any) -> C:
        if other.__class__ is not C:
            other = C(other)
        return _node(self.data * other.data, self, other, other.data, self.data)

    def __rmul__(self, other: Any) -> C:
        return C(other).__mul__(self)

    def __sub__(self, other: Any) -> C:
        if other.__class__ is not C:
            other = C(other)
        return _node(self.data - other.data, self, other, 1.0, -1.0)

    def __pow__(self, c: float) -> C:
        d = self.data
        return _node(d**c, self, None, c * d ** (c - 1), 0.0)

    def square(self) -> C:
        d = self.data
        return _node(d * d, self, None, 2.0 * d, 0.0)

    def relu(self) -> C:
        d = self.data
        return _node(d, self, None, 1.0, 0.0) if d > 0.0 else _node(0.0, self, None, 0.0, 0.0)

    @property
    def inputs(self) -> tuple[C, ...]:
        y = self.y
        if y is None:
            return () if self.x is None else (self.x,)
        return self.x if y is _NARY else (self.x, y)  # type: ignore[return-value]

    def backward(self) -> None:
        """Kahn's algorithm with the consumer counts in a slot (as scalargrad)."""
        stack = [self]
        pop, push = stack.pop, stack.append
        while stack:
            v = pop()
            y = v.y
            if y is None:
                kids: Any = () if v.x is None else (v.x,)
            elif y is _NARY:
                kids = v.x
            else:
                kids = (v.x, y)
            for c in kids:
                k = c.n
                if k:
                    c.n = k + 1
                else:
                    c.n = 1
                    push(c)
        self.grad = 1.0
        ready = [self]
        pop, push = ready.pop, ready.append
        while ready:
            v = pop()
            g = v.grad
            y = v.y
            if y is None:
                x = v.x
                if x is None:
                    continue
                x.grad += g * v.gx
                k = x.n - 1
                x.n = k
                if not k:
                    push(x)
            elif y is _NARY:
                for x, local in zip(v.x, v.gx):
                    x.grad += g * local
                    k = x.n - 1
                    x.n = k
                    if not k:
                        push(x)
            else:
                x = v.x
                x.grad += g * v.gx
                y.grad += g * v.gy
                k = y.n - 1
                y.n = k
                if not k:
                    push(y)
                k = x.n - 1
                x.n = k
                if not k:
                    push(x)


_new = C.__new__
_node = C._node
