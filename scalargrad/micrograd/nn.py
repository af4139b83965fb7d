"""``micrograd.nn`` on scalargrad: ``Module``, ``Neuron``, ``Layer``, ``MLP``.

The same classes, signatures, ``repr`` and random draws as micrograd 0.1.0:
weights come from ``random.uniform(-1, 1)`` on the global :mod:`random`
module, in the same order, so ``random.seed(1337)`` reproduces micrograd's
network; biases start at 0; hidden layers are ReLU and the last layer is
linear. A neuron computes ``z = b + w_0·x_0 + w_1·x_1 + …`` left to right, as
micrograd's ``sum(..., self.b)`` does, so every forward value is micrograd's.

Unlike micrograd, ``MLP`` labels its parameters in the notes' notation
(``w_jk^(l)``, ``b_j^(l)``), so drawings and explanations name them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ..nn import label
from .engine import Number, Value

__all__ = ["MLP", "Layer", "Module", "Neuron"]


def _inputs(x: object, nin: int, who: str) -> Sequence[Value | Number]:
    """``x`` as a list of exactly ``nin`` inputs, or a clear error naming both counts."""
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(f"{who} expects a list of {nin} numbers or Values, "
                        f"not {type(x).__name__}")
    xs = x if isinstance(x, list) else list(x)
    if len(xs) != nin:
        lost = "the extra inputs" if len(xs) > nin else "the weights of the missing inputs"
        raise ValueError(f"{who} expects {nin} inputs, got {len(xs)} (micrograd would "
                         f"silently ignore {lost})")
    return xs


class Module:
    """The base class: ``parameters()`` and ``zero_grad()``."""

    def zero_grad(self) -> None:
        """Sets every parameter's grad to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """Returns the trainable Values (none for the base class)."""
        return []


class Neuron(Module):
    """``relu(b + Σ_k w_k·x_k)`` (or without the relu when ``nonlin`` is false).

    Local derivatives in the graph: ∂(w·x)/∂w = x, ∂(w·x)/∂x = w, each ``+``
    passes 1, ∂relu(z)/∂z = [z > 0].

    Args:
        nin: Number of inputs.
        nonlin: Apply ReLU (True) or stay linear (False).
    """

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | Number]) -> Value:
        """Returns ``relu(b + Σ_k w_k·x_k)`` (without relu when linear).

        Raises:
            ValueError: ``x`` does not hold exactly ``nin`` inputs (micrograd's
                ``zip`` silently drops the extra inputs or weights).
            TypeError: ``x`` is not a sequence.
        """
        x = _inputs(x, len(self.w), repr(self))
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        """Returns ``w + [b]``."""
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs.

    Args:
        nin: Number of inputs of each neuron.
        nout: Number of neurons.
        **kwargs: Passed to every :class:`Neuron` (``nonlin=``).
    """

    def __init__(self, nin: int, nout: int, **kwargs: bool) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        """Returns each neuron's output (the Value itself when there is one neuron).

        Raises:
            ValueError: ``x`` does not hold exactly ``nin`` inputs.
        """
        if self.neurons:
            x = _inputs(x, len(self.neurons[0].w), f"a Layer of {len(self.neurons)} neurons")
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Returns every neuron's parameters, neuron by neuron."""
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nouts``: ReLU hidden layers and a linear output layer.

    Args:
        nin: Number of inputs.
        nouts: The width of each layer, the last one being the output.
    """

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        sz = [nin, *nouts]
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
        ]
        for lnum, layer in enumerate(self.layers, 1):
            for j, n in enumerate(layer.neurons):
                for k, w in enumerate(n.w):
                    w.label = label("w", lnum, j, k)
                n.b.label = label("b", lnum, j)

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        """Runs the layers in turn; one output gives the Value itself.

        Raises:
            ValueError: ``x`` does not hold exactly ``nin`` inputs (micrograd
                silently ignores extra inputs and unused weights; here, as in
                :class:`scalargrad.nn.MLP`, the call is refused).
        """
        if self.layers:
            nin = len(self.layers[0].neurons[0].w) if self.layers[0].neurons else 0
            x = _inputs(x, nin, f"MLP({nin}, …)")
        out: Sequence[Value | Number] | Value = x
        for layer in self.layers:
            out = layer(out)  # type: ignore[arg-type]
        return out  # type: ignore[return-value]

    def parameters(self) -> list[Value]:
        """Returns every layer's parameters, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
