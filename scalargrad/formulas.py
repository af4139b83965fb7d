"""The notes' hand-derived formulas, in plain floats (no Values, no graph).

These are the reference the engine is checked against and that a teacher puts
beside it. Everything is written out as in the notes:

One neuron per layer (first note), ``z^(l) = w^(l) a^(l-1) + b^(l)``,
``a^(l) = σ(z^(l))``, ``C_0 = (a^(L) − y)²``::

    ∂C_0/∂a^(L)   = 2(a^(L) − y)
    ∂C_0/∂w^(l)   = ∂C_0/∂a^(l) · σ'(z^(l)) · a^(l-1)
    ∂C_0/∂b^(l)   = ∂C_0/∂a^(l) · σ'(z^(l)) · 1
    ∂C_0/∂a^(l-1) = ∂C_0/∂a^(l) · σ'(z^(l)) · w^(l)

Many neurons (first note, end): ``∂C_0/∂a_k^(L-1) = Σ_j ∂C_0/∂a_j^(L) · σ'(z_j^(L)) · w_jk^(L)``.

Matrix form (second note)::

    δ^L     = f'(z^L) ∘ ∇_a C
    δ^(l-1) = f'(z^(l-1)) ∘ (W^l)ᵀ δ^l
    ∇_W^l C = δ^l (a^(l-1))ᵀ,   ∇_b^l C = δ^l,   ∇_x C = (W^1)ᵀ δ^1
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "ACTIVATION_DERIVATIVES",
    "ChainGrads",
    "MatrixGrads",
    "backprop",
    "chain_forward",
    "chain_gradients",
    "mean_grads",
    "sigmoid",
    "sigmoid_prime",
    "sum_over_j",
    "sum_over_j_terms",
]

Matrix = list[list[float]]


def sigmoid(z: float) -> float:
    """``σ(z) = 1 / (1 + e^(−z))``, computed without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sigmoid_prime(z: float) -> float:
    """``σ'(z) = σ(z)(1 − σ(z))`` (second note, "Differentiating activation functions")."""
    s = sigmoid(z)
    return s * (1.0 - s)


ACTIVATION_DERIVATIVES: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
    "linear": (lambda z: z, lambda z: 1.0),
}
"""Activation name → ``(f, f')`` in plain floats (:data:`scalargrad.nn.ACTIVATIONS`: on Values)."""

ACTIVATIONS = ACTIVATION_DERIVATIVES
"""Deprecated: the old name of :data:`ACTIVATION_DERIVATIVES` (not in ``__all__``)."""


def _act(name: str) -> tuple[Callable[[float], float], Callable[[float], float]]:
    try:
        return ACTIVATION_DERIVATIVES[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r} (must be one of {sorted(ACTIVATION_DERIVATIVES)})"
        ) from None


@dataclass(frozen=True)
class ChainGrads:
    """Gradients of ``C_0`` for the one-neuron-per-layer chain.

    Attributes:
        cost: ``C_0 = (a^(L) − y)²``.
        z: ``[z^(1), …, z^(L)]``.
        a: ``[a^(0), …, a^(L)]``.
        dw: ``[∂C_0/∂w^(1), …, ∂C_0/∂w^(L)]``.
        db: ``[∂C_0/∂b^(1), …, ∂C_0/∂b^(L)]``.
        da: ``[∂C_0/∂a^(0), …, ∂C_0/∂a^(L)]``.
    """

    cost: float
    z: list[float]
    a: list[float]
    dw: list[float]
    db: list[float]
    da: list[float]


def chain_forward(
    weights: Sequence[float], biases: Sequence[float], x: float, activation: str = "sigmoid"
) -> tuple[list[float], list[float]]:
    """Forward pass of the chain: returns ``(z, a)`` with ``a[0] = x``."""
    f, _ = _act(activation)
    zs: list[float] = []
    acts = [float(x)]
    for w, b in zip(weights, biases, strict=True):
        zs.append(w * acts[-1] + b)
        acts.append(f(zs[-1]))
    return zs, acts


def chain_gradients(
    weights: Sequence[float],
    biases: Sequence[float],
    x: float,
    y: float,
    activation: str = "sigmoid",
) -> ChainGrads:
    """The first note's chain rule, layer by layer from L down to 1.

    ``∂C_0/∂w^(l) = ∂C_0/∂a^(l) · σ'(z^(l)) · a^(l-1)``, and the same with the
    last factor ``1`` for ``b^(l)`` and ``w^(l)`` for ``a^(l-1)``, starting
    from ``∂C_0/∂a^(L) = 2(a^(L) − y)``.

    Args:
        weights: ``w^(1) … w^(L)``.
        biases: ``b^(1) … b^(L)``.
        x: The input ``a^(0)``.
        y: The target.
        activation: ``"sigmoid"`` (the notes), ``"tanh"``, ``"relu"`` or ``"linear"``.

    Returns:
        The cost and every ``∂C_0/∂w^(l)``, ``∂C_0/∂b^(l)``, ``∂C_0/∂a^(l)``.
    """
    _, fprime = _act(activation)
    zs, acts = chain_forward(weights, biases, x, activation)
    n = len(weights)
    da = [0.0] * (n + 1)
    dw = [0.0] * n
    db = [0.0] * n
    da[n] = 2.0 * (acts[n] - y)
    for i in range(n - 1, -1, -1):  # layer l = i + 1
        dz = da[i + 1] * fprime(zs[i])
        dw[i] = dz * acts[i]
        db[i] = dz * 1.0
        da[i] = dz * weights[i]
    return ChainGrads((acts[n] - y) ** 2, zs, acts, dw, db, da)


def sum_over_j_terms(
    w_last: Sequence[Sequence[float]],
    z_last: Sequence[float],
    a_last: Sequence[float],
    y: Sequence[float],
    activation: str = "sigmoid",
) -> list[list[float]]:
    """The terms of the sum over ``j``: ``terms[k][j] = 2(a_j − y_j) · σ'(z_j) · w_jk``.

    Args:
        w_last: ``W^L``, with ``w_last[j][k] = w_jk^(L)``.
        z_last: ``z_j^(L)``.
        a_last: ``a_j^(L)``.
        y: The targets ``y_j``.
        activation: See :func:`chain_gradients`.

    Returns:
        One list per ``k``, one term per ``j``.
    """
    _, fprime = _act(activation)
    nk = len(w_last[0])
    return [
        [2.0 * (a_last[j] - y[j]) * fprime(z_last[j]) * w_last[j][k] for j in range(len(y))]
        for k in range(nk)
    ]


def sum_over_j(
    w_last: Sequence[Sequence[float]],
    z_last: Sequence[float],
    a_last: Sequence[float],
    y: Sequence[float],
    activation: str = "sigmoid",
) -> list[float]:
    """``∂C_0/∂a_k^(L-1) = Σ_j 2(a_j^(L) − y_j) · σ'(z_j^(L)) · w_jk^(L)`` for every ``k``."""
    return [math.fsum(t) for t in sum_over_j_terms(w_last, z_last, a_last, y, activation)]


@dataclass(frozen=True)
class MatrixGrads:
    """The second note's quantities for one example.

    Attributes:
        cost: ``Σ_j (a_j − y_j)²`` or ``½‖a − y‖²``.
        z: ``z^l`` for ``l = 1 … L`` (``z[0]`` is ``z^1``).
        a: ``a^l`` for ``l = 0 … L`` (``a[0]`` is ``x``).
        deltas: ``δ^l = ∂C/∂z^l`` for ``l = 1 … L`` (``deltas[0]`` is ``δ^1``).
        grad_W: ``∇_{W^l} C = δ^l (a^(l-1))ᵀ`` (``grad_W[0]`` is for ``W^1``).
        grad_b: ``∇_{b^l} C = δ^l``.
        grad_x: ``∇_x C = (W^1)ᵀ δ^1``.
    """

    cost: float
    z: list[list[float]]
    a: list[list[float]]
    deltas: list[list[float]]
    grad_W: list[Matrix]
    grad_b: list[list[float]]
    grad_x: list[float]


def _matvec(m: Sequence[Sequence[float]], v: Sequence[float]) -> list[float]:
    return [math.fsum(r * x for r, x in zip(row, v, strict=True)) for row in m]


def _transpose(m: Sequence[Sequence[float]]) -> Matrix:
    return [list(col) for col in zip(*m)]


def backprop(
    weights: Sequence[Sequence[Sequence[float]]],
    biases: Sequence[Sequence[float]],
    x: Sequence[float],
    y: Sequence[float],
    *,
    half: bool = False,
    activation: str = "sigmoid",
) -> MatrixGrads:
    """The second note's matrix backpropagation for one example.

    ``z^l = W^l a^(l-1) + b^l`` (bias = a weight on a constant input 1),
    ``δ^L = f'(z^L) ∘ ∇_a C`` with ``∇_a C = 2(a − y)`` for ``Σ(a − y)²`` or
    ``a − y`` for ``½‖a − y‖²``; ``δ^(l-1) = f'(z^(l-1)) ∘ (W^l)ᵀ δ^l``;
    ``∇_{W^l} C = δ^l (a^(l-1))ᵀ``, i.e. ``g_ij = δ^l_i a^(l-1)_j``.

    Args:
        weights: ``weights[l-1][j][k] = w_jk^(l)``.
        biases: ``biases[l-1][j] = b_j^(l)``.
        x: The input ``a^0``.
        y: The target.
        half: Use ``½‖a − y‖²`` (second note) instead of ``Σ_j (a_j − y_j)²`` (first note).
        activation: See :func:`chain_gradients`.

    Returns:
        The :class:`MatrixGrads`.
    """
    f, fprime = _act(activation)
    acts = [list(map(float, x))]
    zs: list[list[float]] = []
    for w, b in zip(weights, biases, strict=True):
        zs.append([s + bj for s, bj in zip(_matvec(w, acts[-1]), b, strict=True)])
        acts.append([f(z) for z in zs[-1]])
    out = acts[-1]
    diff = [a - t for a, t in zip(out, y, strict=True)]
    scale = 1.0 if half else 2.0
    cost = (0.5 if half else 1.0) * math.fsum(d * d for d in diff)
    n = len(weights)
    deltas: list[list[float]] = [[] for _ in range(n)]
    deltas[n - 1] = [fprime(z) * scale * d for z, d in zip(zs[n - 1], diff)]
    for i in range(n - 1, 0, -1):  # δ^(l-1) from δ^l, l = i + 1
        back = _matvec(_transpose(weights[i]), deltas[i])
        deltas[i - 1] = [fprime(z) * g for z, g in zip(zs[i - 1], back)]
    grad_W = [[[d * a for a in acts[i]] for d in deltas[i]] for i in range(n)]
    grad_b = [list(d) for d in deltas]
    grad_x = _matvec(_transpose(weights[0]), deltas[0])
    return MatrixGrads(cost, zs, acts, deltas, grad_W, grad_b, grad_x)


def mean_grads(results: Sequence[MatrixGrads]) -> tuple[float, list[Matrix], list[list[float]]]:
    """The mean over ``n`` examples: ``∂C/∂w = (1/n) Σ_k ∂C_k/∂w`` (first note).

    Args:
        results: One :func:`backprop` result per example.

    Returns:
        ``(mean cost, mean ∇_W C per layer, mean ∇_b C per layer)``.
    """
    if not results:
        raise ValueError("mean_grads needs at least one example")
    n = len(results)
    cost = math.fsum(r.cost for r in results) / n
    grad_W = [
        [
            [math.fsum(r.grad_W[li][j][k] for r in results) / n for k in range(len(row))]
            for j, row in enumerate(layer)
        ]
        for li, layer in enumerate(results[0].grad_W)
    ]
    grad_b = [
        [math.fsum(r.grad_b[li][j] for r in results) / n for j in range(len(layer))]
        for li, layer in enumerate(results[0].grad_b)
    ]
    return cost, grad_W, grad_b
