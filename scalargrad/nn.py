"""Neurons, layers and networks built from Values, labelled in the notes' notation.

Layer ``l`` (1 … L) computes, for each neuron ``j``::

    z_j^(l) = Σ_k w_jk^(l) a_k^(l-1) + b_j^(l)        (one ``affine`` node)
    a_j^(l) = f(z_j^(l))                               (f = σ by default)

and the cost of one example is ``C_0 = Σ_j (a_j^(L) − y_j)²``. Every node the
network builds carries that label (``w_jk^(l)``, ``b_j^(l)``, ``z_j^(l)``,
``a_j^(l)``, inputs ``a_k^(0)``), and a network whose layers are all one
neuron wide uses the notes' single-neuron notation (``w^(l)``, ``a^(L-1)``…),
so drawings and explanations read like the notes.

Because ``a_k^(l-1)`` feeds every ``z_j^(l)``, backward adds one contribution
per ``j`` into its grad: the notes' sum over ``j`` is gradient accumulation.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import cast

from .engine import Number, Value, _affine_node, affine, sum_values
from .rules import Rule, affine_rule, rule

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Chain",
    "Layer",
    "Module",
    "Neuron",
    "chain",
    "mean_cost",
    "sgd_step",
    "squared_error",
]

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "linear": lambda z: z,
}
"""Activation name → function. ``linear`` returns ``z`` itself (no extra node)."""

_FUSED: dict[Callable[[Value], Value], Rule] = {
    Value.sigmoid: rule("sigmoid"),
    Value.tanh: rule("tanh"),
    Value.relu: rule("relu"),
}
"""The activations whose node ``_affine_node`` builds with ``z`` (the same node, one call less)."""


def _activation(name: str) -> Callable[[Value], Value]:
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r} (must be one of {sorted(ACTIVATIONS)})"
        ) from None


def _index(*ix: int) -> str:
    return "".join(map(str, ix)) if all(i < 10 for i in ix) else ",".join(map(str, ix))


def label(kind: str, layer: int | None = None, *ix: int, single: bool = False) -> str:
    """Returns a label in the notes' notation.

    Args:
        kind: ``"w"``, ``"b"``, ``"z"``, ``"a"`` or ``"y"``.
        layer: The layer ``l`` (None for ``y``).
        *ix: The neuron indices (``j``, or ``j, k`` for a weight).
        single: Use the one-neuron-per-layer notation (no indices).

    Returns:
        E.g. ``label("w", 2, 0, 1) == "w_01^(2)"``,
        ``label("a", 1, single=True) == "a^(1)"``.
    """
    return _label(kind, layer, ix, single)


@functools.lru_cache(maxsize=4096)  # every step labels its inputs and targets again
def _label(kind: str, layer: int | None, ix: tuple[int, ...], single: bool) -> str:
    sub = "" if single or not ix else "_" + _index(*ix)
    sup = "" if layer is None else f"^({layer})"
    return f"{kind}{sub}{sup}"


def _rng(seed: int | None, rng: random.Random | None) -> random.Random:
    if rng is not None and seed is not None:
        raise ValueError("give either seed= or rng=, not both")
    if rng is not None:
        return rng
    if isinstance(seed, Integral) and not isinstance(seed, bool):
        seed = int(seed)  # a numpy integer seeds like the same int
    return random.Random(seed)


def _check_width(name: str, n: object) -> int:
    """A layer width: any whole number ≥ 1 (int or numpy integer; not bool)."""
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"{name} must be a positive whole number (an int or a numpy "
                         f"integer), got {type(n).__name__} ({n!r})")
    return int(n)


def _as_inputs(xs: Sequence[Value | Number], nin: int, layer: int, single: bool) -> list[Value]:
    if xs.__class__ is list:  # the usual case, without the ABC checks below
        pass
    elif isinstance(xs, (Value, Real)):
        xs = [cast("Value | Number", xs)]
    if not (xs.__class__ is list or isinstance(xs, Sequence)) or isinstance(xs, (str, bytes)):
        raise TypeError(
            f"layer {layer} expects a list of {nin} numbers or Values, "
            f"not {type(xs).__name__} ({xs!r})"
        )
    if len(xs) != nin:
        raise ValueError(f"layer {layer} expects {nin} inputs, got {len(xs)}")
    return [
        x if x.__class__ is Value or isinstance(x, Value)
        else _leaf(x, label("a", layer - 1, k, single=single))
        for k, x in enumerate(xs)
    ]


def _leaf(x: Number, name: str, where: str = "") -> Value:
    """A labelled leaf for a plain number; a bad number's error names the label."""
    try:
        return Value(x, name)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}{name}: {err}") from None


class Module:
    """What every part of a network shares: its ``parameters()`` and ``zero_grad()``."""

    def parameters(self) -> list[Value]:
        """Returns the trainable Values (weights and biases)."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        """Sets every parameter's grad to 0."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """One neuron: ``a_j^(l) = f(Σ_k w_jk^(l) a_k^(l-1) + b_j^(l))``.

    Local derivatives recorded in the graph: ``∂z/∂w_jk = a_k``,
    ``∂z/∂a_k = w_jk``, ``∂z/∂b_j = 1`` and ``∂a/∂z = f'(z)``.

    Args:
        nin: Number of inputs ``k``.
        activation: ``"sigmoid"`` (default, as in the notes), ``"tanh"``,
            ``"relu"`` or ``"linear"``.
        seed: Seed for the initial weights (reproducible).
        rng: A ``random.Random`` to draw from instead of ``seed``.
        layer: This neuron's layer ``l`` (for labels).
        index: This neuron's index ``j`` in its layer (for labels).
        single: Label in the one-neuron-per-layer notation.

    Weights start uniform in ±√(3/nin) (variance 1/nin); the bias starts at 0.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "sigmoid",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        layer: int = 1,
        index: int = 0,
        single: bool = False,
    ) -> None:
        self.nin = nin = _check_width("nin", nin)
        self.activation = activation
        self._f = _activation(activation)
        self._act = _FUSED.get(self._f)
        self.layer = layer
        self.index = index
        self.single = single
        r = _rng(seed, rng)
        bound = math.sqrt(3.0 / nin)
        self.w = [
            Value(r.uniform(-bound, bound), label("w", layer, index, k, single=single))
            for k in range(nin)
        ]
        self.b = Value(0.0, label("b", layer, index, single=single))
        self._z_label = label("z", layer, index, single=single)
        self._a_label = label("a", layer, index, single=single)
        self._rule = affine_rule(nin)  # looked up once, not once per call

    def __call__(self, xs: Sequence[Value | Number]) -> Value:
        """Returns ``a_j^(l)`` for inputs ``a_k^(l-1)`` (floats or Values)."""
        inputs = _as_inputs(xs, self.nin, self.layer, self.single)
        return self._forward(inputs)

    def _forward(self, inputs: Sequence[Value]) -> Value:
        w = self.w
        if len(w) == self.nin:  # the rule looked up at __init__ fits
            if self._act is not None:  # z and a = f(z) in one call
                return _affine_node(self._rule, w, inputs, self.b, self._z_label,
                                    self._act, self._a_label)
            z = _affine_node(self._rule, w, inputs, self.b, self._z_label)
        else:
            z = affine(w, inputs, self.b, self._z_label)
        a = self._f(z)
        if a is not z:
            a.label = self._a_label
        return a

    def parameters(self) -> list[Value]:
        """Returns ``[w_j0, …, w_j(n-1), b_j]``."""
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"Neuron(nin={self.nin}, activation={self.activation!r}, layer={self.layer})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs: layer ``l`` of the notes.

    Args:
        nin: Number of inputs (the width of layer ``l − 1``).
        nout: Number of neurons (the width ``n_l``).
        activation: See :class:`Neuron`.
        seed: Seed for the initial weights.
        rng: A ``random.Random`` to draw from instead of ``seed``.
        layer: The layer index ``l`` (for labels).
        single: Label in the one-neuron-per-layer notation.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "sigmoid",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        layer: int = 1,
        single: bool = False,
    ) -> None:
        nin, nout = _check_width("nin", nin), _check_width("nout", nout)
        r = _rng(seed, rng)
        self.layer = layer
        self.neurons = [
            Neuron(nin, activation, rng=r, layer=layer, index=j, single=single)
            for j in range(nout)
        ]

    def __call__(self, xs: Sequence[Value | Number]) -> list[Value]:
        """Returns ``[a_0^(l), …]`` for the inputs ``a_k^(l-1)``."""
        first = self.neurons[0]
        return self._forward(_as_inputs(xs, first.nin, self.layer, first.single))

    def _forward(self, inputs: Sequence[Value]) -> list[Value]:
        """:meth:`__call__` on inputs already checked (Values, as many as ``nin``)."""
        out: list[Value] = []
        emit = out.append
        for n in self.neurons:  # Neuron._forward's fused case inlined (one call less each)
            w = n.w
            act = n._act
            if act is not None and len(w) == n.nin:
                emit(_affine_node(n._rule, w, inputs, n.b, n._z_label, act, n._a_label))
            else:
                emit(n._forward(inputs))
        return out

    def parameters(self) -> list[Value]:
        """Returns every neuron's parameters, neuron by neuron."""
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer(l={self.layer}, [{', '.join(repr(n) for n in self.neurons)}])"


class MLP(Module):
    """A multi-layer perceptron: layers ``l = 1 … L``.

    Args:
        nin: Number of inputs ``a_k^(0)``.
        nouts: Widths ``n_1 … n_L`` of the layers.
        activation: Activation of every layer (see :class:`Neuron`).
        seed: Seed for the initial weights (same seed, same network).
        rng: A ``random.Random`` to draw from instead of ``seed``.
        output: Activation of the last layer ``L`` only (default: ``activation``),
            e.g. ``MLP(2, [16, 16, 1], "relu", output="linear")`` for regression.

    Calling the network on ``nin`` floats or Values returns ``a^(L)``: a Value
    when ``n_L == 1``, else a list.

    Example:
        >>> net = MLP(2, [3, 1], seed=0)
        >>> out = net([1.0, -1.0])
        >>> out.label
        'a_0^(2)'
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "sigmoid",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        output: str | None = None,
    ) -> None:
        nin = _check_width("nin", nin)
        if not isinstance(nouts, Sequence) or isinstance(nouts, str):
            raise ValueError(f"nouts must be a list of layer widths, got {nouts!r}")
        widths = [nin, *(_check_width("layer width", n) for n in nouts)]
        if len(widths) < 2:
            raise ValueError("an MLP needs at least one layer (nouts is empty)")
        r = _rng(seed, rng)
        single = all(n == 1 for n in widths)
        self.widths = widths
        last = len(widths) - 2
        acts = [activation] * last + [activation if output is None else output]
        self.layers = [
            Layer(widths[i], widths[i + 1], acts[i], rng=r, layer=i + 1, single=single)
            for i in range(len(widths) - 1)
        ]

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Sequence[Sequence[float]]],
        biases: Sequence[Sequence[float]],
        activation: str = "sigmoid",
        *,
        output: str | None = None,
    ) -> MLP:
        """Builds a network with given parameters.

        Args:
            weights: ``weights[l-1][j][k]`` is ``w_jk^(l)``.
            biases: ``biases[l-1][j]`` is ``b_j^(l)``.
            activation: See :class:`Neuron`.
            output: Activation of the last layer (default: ``activation``).

        Returns:
            The network.

        Raises:
            ValueError: The shapes do not fit together.
        """
        if not weights or len(weights) != len(biases):
            raise ValueError(
                f"need one weight matrix and one bias vector per layer, got "
                f"{len(weights)} and {len(biases)}"
            )
        for li, wl in enumerate(weights, start=1):
            if not wl or any(not row for row in wl):
                raise ValueError(
                    f"layer {li} is empty: every layer needs at least one neuron "
                    f"and every neuron at least one weight"
                )
        nin = len(weights[0][0]) if weights[0] else 0
        nouts = [len(w) for w in weights]
        net = cls(max(nin, 1), [max(n, 1) for n in nouts], activation, seed=0, output=output)
        for li, (layer, wl, bl) in enumerate(zip(net.layers, weights, biases), start=1):
            prev = net.widths[li - 1]
            if len(wl) != len(layer.neurons) or len(bl) != len(layer.neurons):
                raise ValueError(f"layer {li}: {len(wl)} weight rows but {len(bl)} biases")
            for j, (neuron, row) in enumerate(zip(layer.neurons, wl)):
                if len(row) != prev:
                    raise ValueError(
                        f"layer {li}, neuron {j}: {len(row)} weights but the layer has "
                        f"{prev} inputs"
                    )
                for w, x in zip(neuron.w, row):
                    w.data = _leaf(x, w.label, "from_weights: ").data
                neuron.b.data = _leaf(bl[j], neuron.b.label, "from_weights: ").data
        return net

    def __call__(self, xs: Sequence[Value | Number]) -> Value | list[Value]:
        """Returns ``a^(L)`` for inputs ``a_k^(0)``."""
        layers = self.layers
        out = layers[0](xs)  # checks the inputs; a later layer reads the Values made here
        for layer in layers[1:]:  # (a layer swapped for one of another width: its own error)
            out = layer._forward(out) if len(out) == layer.neurons[0].nin else layer(out)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Returns every parameter, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP(widths={self.widths})"


def squared_error(
    outputs: Value | Sequence[Value],
    targets: Value | Number | Sequence[Value | Number],
    *,
    half: bool = False,
    example: int = 0,
) -> Value:
    """The cost of one example: ``C_0 = Σ_j (a_j^(L) − y_j)²``.

    ``∂C_0/∂a_j^(L) = 2(a_j^(L) − y_j)``. With ``half=True`` it is the second
    note's ``½‖a^L − y‖²`` instead, whose gradient is ``a^L − y``.

    Args:
        outputs: ``a^(L)``: one Value or a list.
        targets: ``y``: numbers or Values, as many as outputs.
        half: Use ``½‖a − y‖²``.
        example: The example index ``k`` in the label ``C_k`` (default 0).

    Returns:
        The cost node, labelled ``C_0`` (``C_k``).
    """
    outs: list[Value]
    ys: list[Value | Number]
    if outputs.__class__ is Value or isinstance(outputs, Value):
        outs = [outputs]
    elif isinstance(outputs, Iterable) and not isinstance(outputs, (str, bytes)):
        outs = list(outputs)
    else:
        raise TypeError(f"squared_error: outputs must be a Value or a list of Values (the "
                        f"network's a_j^(L)), not {type(outputs).__name__} ({outputs!r})")
    if targets.__class__ in (float, int, Value) or isinstance(targets, (Value, Real)):
        ys = [targets]
    elif isinstance(targets, Iterable) and not isinstance(targets, (str, bytes)):
        ys = list(targets)
    else:
        raise TypeError(f"squared_error: targets must be a number, a Value or a list of them "
                        f"(y_j), not {type(targets).__name__} ({targets!r})")
    if not outs:
        raise ValueError("squared_error needs at least one output")
    if len(outs) != len(ys):
        raise ValueError(f"squared_error: {len(outs)} outputs but {len(ys)} targets")
    for j, a in enumerate(outs):
        if a.__class__ is not Value and not isinstance(a, Value):
            raise TypeError(
                f"squared_error: output {j} must be a Value (the network's a_j^(L)), "
                f"not {type(a).__name__}"
            )
    single = len(ys) == 1
    terms = [
        (a - (y if y.__class__ is Value or isinstance(y, Value) else _leaf(
            y, label("y", None, j, single=single), "squared_error: "))).square()
        for j, (a, y) in enumerate(zip(outs, ys))
    ]
    cost = terms[0] if single else sum_values(terms)
    if half:
        cost = 0.5 * cost
    cost.label = f"C_{example}"
    return cost


def mean_cost(costs: Sequence[Value]) -> Value:
    """The mean over examples: ``C = (1/n) Σ_k C_k``, so ``∂C/∂w = (1/n) Σ_k ∂C_k/∂w``.

    Args:
        costs: One cost per example.

    Returns:
        The mean, labelled ``C``.
    """
    if not costs:
        raise ValueError("mean_cost needs at least one cost")
    out = sum_values(costs) * (1.0 / len(costs))
    out.label = "C"
    return out


def sgd_step(params: Sequence[Value], lr: float) -> None:
    """One step of plain gradient descent: ``p ← p − lr · ∂C/∂p``.

    Args:
        params: The parameters (e.g. ``net.parameters()``).
        lr: The learning rate, a positive finite number.
    """
    if isinstance(lr, bool) or not isinstance(lr, Real) or not 0 < lr < math.inf:
        raise ValueError(f"sgd_step: learning rate must be a positive finite number, got {lr!r}")
    lr = float(lr)
    params = list(params)  # checked in full before anything changes
    new_data = [p._data - lr * p._grad if p.__class__ is Value else p.data - lr * p.grad
                for p in params]  # (a Value's own slots: what its properties read)
    for p, new in zip(params, new_data):
        if new - new != 0.0:
            raise ValueError(
                f"sgd_step: parameter {p.label or '(unlabelled)'} would become {new!r} "
                f"(data {p.data!r}, grad {p.grad!r}, lr {lr!r}); lower the learning rate "
                f"(no parameter was changed)"
            )
    for p, new in zip(params, new_data):
        if p.__class__ is Value:
            p._data = new  # checked finite just above
        else:
            p.data = new


@dataclass(frozen=True)
class Chain:
    """The notes' one-neuron-per-layer chain and its cost.

    Attributes:
        cost: ``C_0 = (a^(L) − y)²``.
        w: ``[w^(1), …, w^(L)]``.
        b: ``[b^(1), …, b^(L)]``.
        z: ``[z^(1), …, z^(L)]``.
        a: ``[a^(0), a^(1), …, a^(L)]`` (``a^(0)`` is the input x).
        y: The target.
    """

    cost: Value
    w: list[Value]
    b: list[Value]
    z: list[Value]
    a: list[Value]
    y: Value


def chain(
    weights: Sequence[float],
    biases: Sequence[float],
    x: float,
    y: float,
    activation: str = "sigmoid",
) -> Chain:
    """Builds the notes' chain ``a^(l) = f(w^(l) a^(l-1) + b^(l))`` and ``C_0 = (a^(L) − y)²``.

    The graph is the one :class:`MLP` builds for widths ``[1, 1, …, 1]``.

    Args:
        weights: ``w^(1) … w^(L)``.
        biases: ``b^(1) … b^(L)``.
        x: The input ``a^(0)``.
        y: The target.
        activation: See :class:`Neuron`.

    Returns:
        A :class:`Chain` whose ``cost`` is ready for ``backward()``.
    """
    if not weights or len(weights) != len(biases):
        raise ValueError(
            f"chain: need as many biases as weights (at least one), got "
            f"{len(weights)} weights and {len(biases)} biases"
        )
    net = MLP.from_weights([[[w]] for w in weights], [[b] for b in biases], activation)
    a = [Value(x, label("a", 0, single=True))]
    zs: list[Value] = []
    for layer in net.layers:
        out = layer.neurons[0]._forward([a[-1]])
        zs.append(out if out.op == "affine" else out.inputs[0])
        a.append(out)
    target = Value(y, "y")
    cost = squared_error(a[-1], target)
    return Chain(
        cost=cost,
        w=[layer.neurons[0].w[0] for layer in net.layers],
        b=[layer.neurons[0].b for layer in net.layers],
        z=zs,
        a=a,
        y=target,
    )
