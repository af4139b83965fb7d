"""Tests of :mod:`scalargrad.formulas` against oracles written here.

The oracles are independent of the module under test:

* plain-float forward functions written in this file, differentiated by
  central finite differences;
* the notes' formulas re-derived by hand in this file, in a different shape
  from ``formulas.py`` (an explicit product of every factor from layer L down
  to layer l instead of a backward loop; explicit index loops instead of
  matrix-vector helpers);
* values computed by hand in comments, and a published worked example
  (Matt Mazur, "A Step by Step Backpropagation Example", 2015).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalargrad import formulas as F

# --- the oracles: activations, forward passes, finite differences -------------


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# f and f' written independently of formulas.py (tanh' as 1/cosh², not 1 − tanh²).
ACT: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "sigmoid": (_sig, lambda z: math.exp(-z) / (1.0 + math.exp(-z)) ** 2),
    "tanh": (math.tanh, lambda z: 1.0 / math.cosh(z) ** 2),
    "relu": (lambda z: z if z > 0 else 0.0, lambda z: 1.0 if z > 0 else 0.0),
    "linear": (lambda z: z, lambda z: 1.0),
}
SMOOTH = ("sigmoid", "tanh", "linear")
H = 1e-6


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-7) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def central_diff(f: Callable[[float], float], x: float, h: float = H) -> float:
    """(f(x + h) − f(x − h)) / 2h."""
    return (f(x + h) - f(x - h)) / (2.0 * h)


def chain_cost(ws: Sequence[float], bs: Sequence[float], x: float, y: float, act: str) -> float:
    """C_0 = (a^(L) − y)² for the one-neuron-per-layer chain, plain floats."""
    f = ACT[act][0]
    a = x
    for w, b in zip(ws, bs):
        a = f(w * a + b)
    return (a - y) ** 2


def chain_zs_as(
    ws: Sequence[float], bs: Sequence[float], x: float, act: str
) -> tuple[list[float], list[float]]:
    f = ACT[act][0]
    zs, acts = [], [x]
    for w, b in zip(ws, bs):
        zs.append(w * acts[-1] + b)
        acts.append(f(zs[-1]))
    return zs, acts


def hand_chain(
    ws: Sequence[float], bs: Sequence[float], x: float, y: float, act: str
) -> tuple[list[float], list[float], list[float]]:
    """The notes' chain rule as one explicit product per parameter.

    ∂C0/∂w^(l) = 2(a^(L) − y) · [Π_{m=L}^{l+1} f'(z^(m)) w^(m)] · f'(z^(l)) · a^(l−1)
    ∂C0/∂b^(l) = the same with the last factor 1,
    ∂C0/∂a^(l) = 2(a^(L) − y) · Π_{m=L}^{l+1} f'(z^(m)) w^(m).

    Returns (dw, db, da) with dw[l-1], db[l-1] for l = 1..L and da[l] for l = 0..L.
    """
    fp = ACT[act][1]
    zs, acts = chain_zs_as(ws, bs, x, act)
    L = len(ws)
    top = 2.0 * (acts[L] - y)

    def down_to(li: int) -> list[float]:
        # factors ∂a^(m)/∂a^(m-1) = f'(z^(m)) w^(m) for m = L, L-1, …, l+1
        return [fp(zs[m - 1]) * ws[m - 1] for m in range(L, li, -1)]

    dw = [math.prod([top, *down_to(li), fp(zs[li - 1]), acts[li - 1]]) for li in range(1, L + 1)]
    db = [math.prod([top, *down_to(li), fp(zs[li - 1]), 1.0]) for li in range(1, L + 1)]
    da = [math.prod([top, *down_to(li)]) for li in range(0, L + 1)]
    return dw, db, da


Matrix = list[list[float]]


def net_forward(
    Ws: Sequence[Matrix], bs: Sequence[list[float]], x: Sequence[float], act: str
) -> tuple[list[list[float]], list[list[float]]]:
    """z_j^(l) = Σ_k w_jk^(l) a_k^(l−1) + b_j^(l), a_j^(l) = f(z_j^(l)), with index loops."""
    f = ACT[act][0]
    zs: list[list[float]] = []
    acts = [list(x)]
    for W, b in zip(Ws, bs):
        z = []
        for j in range(len(W)):
            s = b[j]
            for k in range(len(W[j])):
                s += W[j][k] * acts[-1][k]
            z.append(s)
        zs.append(z)
        acts.append([f(v) for v in z])
    return zs, acts


def cost_of(out: Sequence[float], y: Sequence[float], half: bool) -> float:
    s = sum((a - t) ** 2 for a, t in zip(out, y))
    return 0.5 * s if half else s


def net_cost(Ws: Sequence[Matrix], bs: Sequence[list[float]], x: Sequence[float],
             y: Sequence[float], act: str, half: bool) -> float:
    return cost_of(net_forward(Ws, bs, x, act)[1][-1], y, half)


def cost_from_z(Ws: Sequence[Matrix], bs: Sequence[list[float]], li: int, z: Sequence[float],
                y: Sequence[float], act: str, half: bool) -> float:
    """The cost as a function of z^l (layers l+1 … L run forward from f(z^l))."""
    f = ACT[act][0]
    a = [f(v) for v in z]
    _, acts = net_forward(Ws[li:], bs[li:], a, act)
    return cost_of(acts[-1], y, half)


def perturbed(m: Sequence[float], i: int, d: float) -> list[float]:
    out = list(m)
    out[i] += d
    return out


def deep_copy(Ws: Sequence[Matrix]) -> list[Matrix]:
    return [[list(r) for r in W] for W in Ws]


# --- strategies ---------------------------------------------------------------

moderate = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
acts = st.sampled_from(sorted(ACT))


@st.composite
def chains(draw: st.DrawFn, activation: st.SearchStrategy[str] = acts) -> tuple:
    L = draw(st.integers(1, 6))
    ws = draw(st.lists(moderate, min_size=L, max_size=L))
    bs = draw(st.lists(moderate, min_size=L, max_size=L))
    return ws, bs, draw(moderate), draw(moderate), draw(activation)


@st.composite
def networks(draw: st.DrawFn, max_layers: int = 3, max_width: int = 4) -> tuple:
    widths = draw(st.lists(st.integers(1, max_width), min_size=2, max_size=max_layers + 1))
    Ws = [
        [draw(st.lists(moderate, min_size=widths[i], max_size=widths[i]))
         for _ in range(widths[i + 1])]
        for i in range(len(widths) - 1)
    ]
    bs = [draw(st.lists(moderate, min_size=n, max_size=n)) for n in widths[1:]]
    x = draw(st.lists(moderate, min_size=widths[0], max_size=widths[0]))
    y = draw(st.lists(st.floats(-1, 1), min_size=widths[-1], max_size=widths[-1]))
    return Ws, bs, x, y


def away_from_kinks(zs: Sequence[float] | Sequence[list[float]]) -> bool:
    flat = [v for z in zs for v in (z if isinstance(z, list) else [z])]
    return all(abs(v) > 1e-3 for v in flat)


# --- sigmoid ------------------------------------------------------------------


def test_sigmoid_known_values() -> None:
    assert F.sigmoid(0.0) == 0.5
    assert F.sigmoid_prime(0.0) == 0.25
    # σ(1) = 1 / (1 + e^−1) = 0.7310585786300049
    assert F.sigmoid(1.0) == pytest.approx(0.7310585786300049, rel=1e-15)
    assert F.sigmoid(-1.0) == pytest.approx(1.0 - 0.7310585786300049, rel=1e-15)
    # no overflow at the extremes
    assert F.sigmoid(-1000.0) == 0.0
    assert F.sigmoid(1000.0) == 1.0
    assert F.sigmoid_prime(-1000.0) == 0.0
    assert F.sigmoid_prime(1000.0) == 0.0


@given(st.floats(-30.0, 30.0))
def test_sigmoid_and_its_derivative(z: float) -> None:
    assert close(F.sigmoid(z), _sig(z), rel=1e-12, abs_=1e-300)
    assert close(F.sigmoid_prime(z), ACT["sigmoid"][1](z), rel=1e-9, abs_=1e-15)
    assert close(F.sigmoid_prime(z), central_diff(F.sigmoid, z, 1e-5), rel=1e-6, abs_=1e-9)


# --- the one-neuron chain ----------------------------------------------------------


def test_chain_known_values_by_hand() -> None:
    # Two sigmoid layers chosen so that every z is 0 (σ = 1/2, σ' = 1/4):
    #   x = 0.5; w1 = 2, b1 = −1 → z1 = 0, a1 = 0.5;  w2 = 4, b2 = −2 → z2 = 0, a2 = 0.5
    #   y = 1.5 → C0 = (0.5 − 1.5)² = 1,  ∂C0/∂a2 = 2(a2 − y) = −2
    #   ∂C0/∂z2 = −2 · 1/4 = −0.5 → ∂C0/∂w2 = −0.5 · a1 = −0.25, ∂C0/∂b2 = −0.5,
    #   ∂C0/∂a1 = −0.5 · w2 = −2 → ∂C0/∂z1 = −2 · 1/4 = −0.5 → ∂C0/∂w1 = −0.5 · x = −0.25,
    #   ∂C0/∂b1 = −0.5, ∂C0/∂a0 = −0.5 · w1 = −1. All exact in binary floating point.
    g = F.chain_gradients([2.0, 4.0], [-1.0, -2.0], 0.5, 1.5)
    assert g.cost == 1.0
    assert g.z == [0.0, 0.0]
    assert g.a == [0.5, 0.5, 0.5]
    assert g.dw == [-0.25, -0.25]
    assert g.db == [-0.5, -0.5]
    assert g.da == [-1.0, -2.0, -2.0]


def test_chain_known_values_linear() -> None:
    # f(z) = z: x = 0.5, w = (2, 3), b = (1, −1), y = 4
    #   z1 = a1 = 2·0.5 + 1 = 2,  z2 = a2 = 3·2 − 1 = 5,  C0 = (5 − 4)² = 1
    #   ∂C0/∂a2 = 2,  ∂C0/∂w2 = 2·a1 = 4,  ∂C0/∂b2 = 2,  ∂C0/∂a1 = 2·w2 = 6,
    #   ∂C0/∂w1 = 6·x = 3,  ∂C0/∂b1 = 6,  ∂C0/∂a0 = 6·w1 = 12
    g = F.chain_gradients([2.0, 3.0], [1.0, -1.0], 0.5, 4.0, activation="linear")
    assert (g.cost, g.z, g.a) == (1.0, [2.0, 5.0], [0.5, 2.0, 5.0])
    assert (g.dw, g.db, g.da) == ([3.0, 4.0], [6.0, 2.0], [12.0, 6.0, 2.0])


def test_chain_last_layer_is_the_notes_formula() -> None:
    # ∂C0/∂w^(L) = 2(a^(L) − y) σ'(z^(L)) a^(L−1), with numbers.
    ws, bs, x, y = [0.3, -1.2, 0.8], [0.1, 0.4, -0.5], 0.9, 0.25
    g = F.chain_gradients(ws, bs, x, y)
    a_prev = _sig(-1.2 * _sig(0.3 * 0.9 + 0.1) + 0.4)
    z_last = 0.8 * a_prev - 0.5
    a_last = _sig(z_last)
    sp = _sig(z_last) * (1 - _sig(z_last))
    assert g.dw[-1] == pytest.approx(2 * (a_last - y) * sp * a_prev, rel=1e-12)
    assert g.db[-1] == pytest.approx(2 * (a_last - y) * sp, rel=1e-12)
    assert g.da[-2] == pytest.approx(2 * (a_last - y) * sp * 0.8, rel=1e-12)
    assert g.cost == pytest.approx((a_last - y) ** 2, rel=1e-12)


@given(chains())
def test_chain_gradients_equal_the_explicit_products(case: tuple) -> None:
    ws, bs, x, y, act = case
    g = F.chain_gradients(ws, bs, x, y, activation=act)
    zs, a = chain_zs_as(ws, bs, x, act)
    dw, db, da = hand_chain(ws, bs, x, y, act)
    L = len(ws)
    assert len(g.dw) == len(g.db) == L and len(g.da) == L + 1
    assert all(close(u, v, 1e-12, 1e-15) for u, v in zip(g.z, zs))
    assert all(close(u, v, 1e-12, 1e-15) for u, v in zip(g.a, a))
    assert close(g.cost, (a[-1] - y) ** 2, 1e-12, 1e-15)
    for li in range(L):
        assert close(g.dw[li], dw[li], 1e-9, 1e-14), ("dw", li + 1)
        assert close(g.db[li], db[li], 1e-9, 1e-14), ("db", li + 1)
    for li in range(L + 1):
        assert close(g.da[li], da[li], 1e-9, 1e-14), ("da", li)


@given(chains(st.sampled_from(SMOOTH)) | chains(st.just("relu")))
def test_chain_gradients_equal_finite_differences(case: tuple) -> None:
    ws, bs, x, y, act = case
    g = F.chain_gradients(ws, bs, x, y, activation=act)
    if act == "relu" and not away_from_kinks(g.z):
        return  # a central difference straddling a kink measures neither side
    L = len(ws)
    for li in range(L):
        fd_w = central_diff(
            lambda t, i=li: chain_cost(perturbed(ws, i, t - ws[i]), bs, x, y, act), ws[li])
        fd_b = central_diff(
            lambda t, i=li: chain_cost(ws, perturbed(bs, i, t - bs[i]), x, y, act), bs[li])
        assert close(g.dw[li], fd_w, 1e-5, 1e-7), ("w", li + 1, g.dw[li], fd_w)
        assert close(g.db[li], fd_b, 1e-5, 1e-7), ("b", li + 1, g.db[li], fd_b)
    fd_x = central_diff(lambda t: chain_cost(ws, bs, t, y, act), x)
    assert close(g.da[0], fd_x, 1e-5, 1e-7)
    assert g.da[L] == 2.0 * (g.a[L] - y)


def test_chain_unknown_activation() -> None:
    with pytest.raises(ValueError, match="sigmod"):
        F.chain_gradients([1.0], [0.0], 1.0, 0.0, activation="sigmod")


# --- the sum over j --------------------------------------------------------------


@st.composite
def last_layers(draw: st.DrawFn) -> tuple:
    nk = draw(st.integers(1, 5))
    nj = draw(st.integers(1, 5))
    W = [draw(st.lists(moderate, min_size=nk, max_size=nk)) for _ in range(nj)]
    b = draw(st.lists(moderate, min_size=nj, max_size=nj))
    a_prev = draw(st.lists(moderate, min_size=nk, max_size=nk))
    y = draw(st.lists(moderate, min_size=nj, max_size=nj))
    return W, b, a_prev, y, draw(acts)


@given(last_layers())
def test_sum_over_j(case: tuple) -> None:
    W, b, a_prev, y, act = case
    f, fp = ACT[act]
    nj, nk = len(W), len(a_prev)
    z = [sum(W[j][k] * a_prev[k] for k in range(nk)) + b[j] for j in range(nj)]
    a = [f(v) for v in z]
    terms = F.sum_over_j_terms(W, z, a, y, activation=act)
    total = F.sum_over_j(W, z, a, y, activation=act)
    assert len(terms) == nk and all(len(t) == nj for t in terms) and len(total) == nk
    for k in range(nk):
        for j in range(nj):
            # ∂C0/∂a_j^(L) · ∂a_j^(L)/∂z_j^(L) · ∂z_j^(L)/∂a_k^(L−1)
            hand = 2.0 * (a[j] - y[j]) * fp(z[j]) * W[j][k]
            assert close(terms[k][j], hand, 1e-9, 1e-14)
        # the sum over j equals the sum of its terms
        assert close(total[k], math.fsum(terms[k]), 1e-12, 1e-14)
    # and it is ∂C0/∂a_k^(L−1) of C0(a^(L−1)) = Σ_j (f(Σ_k w_jk a_k + b_j) − y_j)²
    if act == "relu" and not away_from_kinks(z):
        return
    for k in range(nk):
        fd = central_diff(
            lambda t, k=k: net_cost([W], [b], perturbed(a_prev, k, t - a_prev[k]), y, act, False),
            a_prev[k],
        )
        assert close(total[k], fd, 1e-5, 1e-7), (k, total[k], fd)


def test_sum_over_j_known_value() -> None:
    # linear, two neurons j = 0, 1 reading one a_0^(L−1) = 1:
    #   w = (2, −3), b = 0 → a = (2, −3); y = (1, 1)
    #   terms: 2(2 − 1)·1·2 = 4 and 2(−3 − 1)·1·(−3) = 24; sum 28
    W = [[2.0], [-3.0]]
    terms = F.sum_over_j_terms(W, [2.0, -3.0], [2.0, -3.0], [1.0, 1.0], activation="linear")
    assert terms == [[4.0, 24.0]]
    assert F.sum_over_j(W, [2.0, -3.0], [2.0, -3.0], [1.0, 1.0], activation="linear") == [28.0]


# --- the matrix form -------------------------------------------------------------


def test_backprop_published_example() -> None:
    # Matt Mazur, "A Step by Step Backpropagation Example" (2015): inputs 0.05, 0.10,
    # W1 = [[.15, .20], [.25, .30]], b1 = .35, W2 = [[.40, .45], [.50, .55]], b2 = .60,
    # targets 0.01, 0.99, E = Σ ½(target − out)². Published: out_h1 = 0.593269992,
    # out_o1 = 0.75136507, out_o2 = 0.772928465, E_total = 0.298371109,
    # ∂E/∂w5 = 0.082167041 and, after one step with η = 0.5, w6+ = 0.408666186,
    # w7+ = 0.511301270, w8+ = 0.561370121, w1+ = 0.149780716, w2+ = 0.19956143,
    # w3+ = 0.24975114, w4+ = 0.29950229.
    W1 = [[0.15, 0.20], [0.25, 0.30]]
    W2 = [[0.40, 0.45], [0.50, 0.55]]
    r = F.backprop([W1, W2], [[0.35, 0.35], [0.60, 0.60]], [0.05, 0.10], [0.01, 0.99],
                   half=True)
    assert r.a[1][0] == pytest.approx(0.593269992, abs=1e-9)
    assert r.a[2] == pytest.approx([0.75136507, 0.772928465], abs=1e-8)
    assert r.cost == pytest.approx(0.298371109, abs=1e-9)
    assert r.grad_W[1][0][0] == pytest.approx(0.082167041, abs=1e-9)
    step = [[w - 0.5 * g for w, g in zip(wr, gr)] for wr, gr in zip(W2, r.grad_W[1])]
    assert step[0][1] == pytest.approx(0.408666186, abs=1e-9)
    assert step[1] == pytest.approx([0.511301270, 0.561370121], abs=1e-9)
    step = [[w - 0.5 * g for w, g in zip(wr, gr)] for wr, gr in zip(W1, r.grad_W[0])]
    assert step[0] == pytest.approx([0.149780716, 0.19956143], abs=1e-8)
    assert step[1] == pytest.approx([0.24975114, 0.29950229], abs=1e-8)
    # the full cost Σ(a − y)² is twice the half cost, and so are its gradients
    full = F.backprop([W1, W2], [[0.35, 0.35], [0.60, 0.60]], [0.05, 0.10], [0.01, 0.99])
    assert full.cost == pytest.approx(2 * 0.298371109, abs=2e-9)
    assert full.grad_W[1][0][0] == pytest.approx(2 * 0.082167041, abs=2e-9)


def hand_deltas(Ws: Sequence[Matrix], bs: Sequence[list[float]], x: Sequence[float],
                y: Sequence[float], act: str, half: bool) -> list[list[float]]:
    """δ^L = f'(z^L) ∘ ∇_a C and δ^(l−1)_k = f'(z_k^(l−1)) Σ_i W^l_ik δ^l_i, with loops."""
    fp = ACT[act][1]
    zs, a = net_forward(Ws, bs, x, act)
    L = len(Ws)
    grad_a = [(1.0 if half else 2.0) * (a[L][j] - y[j]) for j in range(len(y))]
    deltas: list[list[float]] = [[0.0] for _ in range(L)]
    deltas[L - 1] = [fp(zs[L - 1][j]) * grad_a[j] for j in range(len(y))]
    for li in range(L - 1, 0, -1):  # deltas[l] is δ^(l+1); compute δ^l into deltas[l-1]
        W = Ws[li]
        deltas[li - 1] = [
            fp(zs[li - 1][k]) * sum(W[i][k] * deltas[li][i] for i in range(len(W)))
            for k in range(len(W[0]))
        ]
    return deltas


@given(networks(), acts, st.booleans())
def test_backprop_matrix_identities(net: tuple, act: str, half: bool) -> None:
    Ws, bs, x, y = net
    r = F.backprop(Ws, bs, x, y, half=half, activation=act)
    zs, a = net_forward(Ws, bs, x, act)
    L = len(Ws)
    assert len(r.deltas) == len(r.grad_W) == len(r.grad_b) == len(r.z) == L
    assert len(r.a) == L + 1 and len(r.grad_x) == len(x)
    assert close(r.cost, cost_of(a[-1], y, half), 1e-12, 1e-14)
    for li in range(L):
        assert all(close(u, v, 1e-12, 1e-14) for u, v in zip(r.z[li], zs[li]))
        assert all(close(u, v, 1e-12, 1e-14) for u, v in zip(r.a[li + 1], a[li + 1]))
    # δ^L = f'(z^L) ∘ ∇_a C with ∇_a C = a − y (½‖a − y‖²) or 2(a − y) (Σ(a − y)²)
    fp = ACT[act][1]
    for j in range(len(y)):
        grad_a = (a[-1][j] - y[j]) * (1.0 if half else 2.0)
        assert close(r.deltas[-1][j], fp(zs[-1][j]) * grad_a, 1e-9, 1e-14)
    # the δ recursion, written with index loops
    for li, (mine, theirs) in enumerate(zip(hand_deltas(Ws, bs, x, y, act, half), r.deltas)):
        assert len(mine) == len(theirs)
        assert all(close(u, v, 1e-9, 1e-13) for u, v in zip(mine, theirs)), li + 1
    for li in range(L):
        # ∇_W^l C = δ^l (a^(l−1))ᵀ: g_ij = δ_i^l a_j^(l−1), and ∇_b^l C = δ^l
        G = r.grad_W[li]
        assert len(G) == len(Ws[li]) and all(len(row) == len(Ws[li][0]) for row in G)
        for i in range(len(G)):
            for j in range(len(G[i])):
                assert G[i][j] == r.deltas[li][i] * r.a[li][j]
        assert r.grad_b[li] == r.deltas[li]
    # ∇_x C = (W^1)ᵀ δ^1
    W1 = Ws[0]
    for k in range(len(x)):
        hand = sum(W1[i][k] * r.deltas[0][i] for i in range(len(W1)))
        assert close(r.grad_x[k], hand, 1e-9, 1e-14)


@given(networks(), st.sampled_from(SMOOTH) | st.just("relu"), st.booleans())
def test_backprop_equals_finite_differences(net: tuple, act: str, half: bool) -> None:
    Ws, bs, x, y = net
    r = F.backprop(Ws, bs, x, y, half=half, activation=act)
    if act == "relu" and not away_from_kinks(r.z):
        return
    for li, W in enumerate(Ws):
        for j in range(len(W)):
            for k in range(len(W[j])):
                def cost_w(t: float, li: int = li, j: int = j, k: int = k) -> float:
                    Wp = deep_copy(Ws)
                    Wp[li][j][k] = t
                    return net_cost(Wp, bs, x, y, act, half)
                fd = central_diff(cost_w, W[j][k])
                assert close(r.grad_W[li][j][k], fd, 1e-5, 1e-7), ("W", li + 1, j, k)
            def cost_b(t: float, li: int = li, j: int = j) -> float:
                bp = [list(b) for b in bs]
                bp[li][j] = t
                return net_cost(Ws, bp, x, y, act, half)
            assert close(r.grad_b[li][j], central_diff(cost_b, bs[li][j]), 1e-5, 1e-7)
            # δ_j^l = ∂C/∂z_j^l
            fd_z = central_diff(
                lambda t, li=li, j=j: cost_from_z(
                    Ws, bs, li + 1, perturbed(r.z[li], j, t - r.z[li][j]), y, act, half),
                r.z[li][j],
            )
            assert close(r.deltas[li][j], fd_z, 1e-5, 1e-7), ("delta", li + 1, j)
    for k in range(len(x)):
        fd = central_diff(
            lambda t, k=k: net_cost(Ws, bs, perturbed(x, k, t - x[k]), y, act, half), x[k])
        assert close(r.grad_x[k], fd, 1e-5, 1e-7), ("x", k)


@given(chains())
def test_backprop_on_a_chain_is_the_chain_rule(case: tuple) -> None:
    # widths all 1: the second note's matrices are 1×1 and it must agree with the first note.
    ws, bs, x, y, act = case
    r = F.backprop([[[w]] for w in ws], [[b] for b in bs], [x], [y], activation=act)
    g = F.chain_gradients(ws, bs, x, y, activation=act)
    assert close(r.cost, g.cost, 1e-12, 1e-15)
    for li in range(len(ws)):
        assert close(r.grad_W[li][0][0], g.dw[li], 1e-9, 1e-14)
        assert close(r.grad_b[li][0], g.db[li], 1e-9, 1e-14)
    assert close(r.grad_x[0], g.da[0], 1e-9, 1e-14)


@given(last_layers())
def test_backprop_one_layer_grad_x_is_the_sum_over_j(case: tuple) -> None:
    W, b, a_prev, y, act = case
    r = F.backprop([W], [b], a_prev, y, activation=act)
    s = F.sum_over_j(W, r.z[0], r.a[1], y, activation=act)
    assert all(close(u, v, 1e-9, 1e-14) for u, v in zip(r.grad_x, s))


def test_backprop_unknown_activation() -> None:
    with pytest.raises(ValueError, match="sigmod"):
        F.backprop([[[1.0]]], [[0.0]], [1.0], [0.0], activation="sigmod")


# --- the mean over examples ------------------------------------------------------


@given(networks(max_layers=2, max_width=3), st.integers(1, 4), acts, st.booleans(),
       st.data())
def test_mean_grads(net: tuple, n: int, act: str, half: bool, data: st.DataObject) -> None:
    Ws, bs, x0, y0 = net
    xs = [x0] + [data.draw(st.lists(moderate, min_size=len(x0), max_size=len(x0)))
                 for _ in range(n - 1)]
    ys = [y0] + [data.draw(st.lists(moderate, min_size=len(y0), max_size=len(y0)))
                 for _ in range(n - 1)]
    results = [F.backprop(Ws, bs, x, y, half=half, activation=act) for x, y in zip(xs, ys)]
    cost, gW, gb = F.mean_grads(results)
    # C = (1/n) Σ_k C_k and ∂C/∂w = (1/n) Σ_k ∂C_k/∂w
    assert close(cost, sum(net_cost(Ws, bs, x, y, act, half) for x, y in zip(xs, ys)) / n,
                 1e-12, 1e-14)
    for li, W in enumerate(Ws):
        for j in range(len(W)):
            for k in range(len(W[j])):
                mean = sum(r.grad_W[li][j][k] for r in results) / n
                assert close(gW[li][j][k], mean, 1e-12, 1e-15)
            assert close(gb[li][j], sum(r.grad_b[li][j] for r in results) / n, 1e-12, 1e-15)
    if act == "relu" and not all(away_from_kinks(r.z) for r in results):
        return
    li, j, k = len(Ws) - 1, 0, 0  # one weight against a finite difference of the mean cost

    def mean_cost(t: float) -> float:
        Wp = deep_copy(Ws)
        Wp[li][j][k] = t
        return sum(net_cost(Wp, bs, x, y, act, half) for x, y in zip(xs, ys)) / n

    assert close(gW[li][j][k], central_diff(mean_cost, Ws[li][j][k]), 1e-5, 1e-7)


def test_mean_grads_of_nothing() -> None:
    with pytest.raises(ValueError, match="at least one"):
        F.mean_grads([])
