"""Tests of scalargrad.layout: the size guard, arrows drawn from copies, layer ranks.

Oracles: counts of Values and arrows made by hand (chains, sums over repeated
inputs, windows of sums), the derivative of a deep tanh chain derived by hand,
CPU-time ratios of the real ``dot`` to a small graph measured in the same test,
and positions in the SVG the real ``dot`` produced.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
from drawings import (
    centre,
    classroom,
    needs_dot,
    slow_layout_graph,
    svg_nodes,
    tanh_chain,
)

from scalargrad import Value, sum_values, topological_order, viz
from scalargrad.errors import DrawingTooLargeError
from scalargrad.layout import plan
from scalargrad.nn import MLP, squared_error
from scalargrad.viz import draw, draw_steps, forward_order, frames, render

# --- the size guard ----------------------------------------------------------------------


def test_size_limit_names_the_count_and_the_way_out() -> None:
    x = Value(0.5, "x")
    for _ in range(200):
        x = x * 1.0001  # 1 + 200·2 = 401 Values
    with pytest.raises(DrawingTooLargeError) as err:
        draw(x)
    message = str(err.value)
    assert "401 Values" in message and "max_nodes=400" in message
    assert "max_nodes=401" in message and "max_nodes=None" in message
    # 200 ops × (2 input arrows + 1 op → value arrow)
    assert draw(x, max_nodes=401).source.count(" -> ") == 600
    assert draw(x, max_nodes=None).source.count(" -> ") == 600


def _chain(n: int) -> Value:
    x = Value(0.5, "x")
    for _ in range(n):
        x = x * 1.0001  # 2n + 1 Values
    return x


def _refusal(root: Value) -> DrawingTooLargeError:
    try:
        draw(root)
    except DrawingTooLargeError as err:
        return err
    raise AssertionError("draw accepted a graph over the limit")


def _cpu_per_refusal(root: Value, calls: int, blocks: int = 5) -> float:
    """The least CPU time per refusal over ``blocks`` runs of ``calls`` refusals."""
    import gc
    import time

    best = math.inf
    gc.disable()  # a collection over the other, huge graph must not land in one run only
    try:
        for _ in range(blocks):
            start = time.process_time()
            for _ in range(calls):
                _refusal(root)
            best = min(best, (time.process_time() - start) / calls)
    finally:
        gc.enable()
    return best


def test_refusing_a_huge_graph_costs_about_what_counting_to_the_limit_costs() -> None:
    """The guard stops counting at twice the limit instead of walking 200,001 Values.

    The baseline is refusing a graph just over the default limit of 400 (403
    Values), measured in the same test: refusing 200,001 Values must cost
    about as much (the count goes to 801, twice the baseline's), not 500 times
    as much as a full walk does.
    """
    small, huge = _chain(201), _chain(100_000)
    assert _refusal(small).exact and _refusal(small).count == 403
    err = _refusal(huge)
    assert not err.exact and 801 <= err.count < 900 and err.limit == 400
    message = str(err)
    assert "at least" in message and "counting stopped there" in message
    assert "max_nodes=None" in message
    base = _cpu_per_refusal(small, 200)
    once = _cpu_per_refusal(huge, 1, blocks=1)  # a full walk fails here already, quickly
    assert once < 50 * base + 0.005, (once, base)
    assert _cpu_per_refusal(huge, 50) < 4 * base


def test_a_graph_of_up_to_twice_the_limit_is_counted_exactly() -> None:
    x = _chain(400)  # 801 Values: exactly twice the limit of 400, plus one
    err = _refusal(_chain(399))  # 799 Values
    assert err.exact and err.count == 799 and "has 799 Values" in str(err)
    err = _refusal(x)
    assert not err.exact and "at least 801 Values" in str(err)
    wide = sum_values([Value(float(k), f"v{k}") for k in range(2000)])  # one node, 2,001 Values
    err = _refusal(wide)
    assert not err.exact and err.count > 800 and f"at least {err.count} Values" in str(err)
    assert draw(_chain(199), max_nodes=399).source.count(" -> ") == 3 * 199  # 399: accepted


def test_max_nodes_takes_a_numpy_integer() -> None:
    np = pytest.importorskip("numpy")
    x = Value(1.0, "x")
    assert "x" in draw(x * 2, max_nodes=np.int64(3)).source  # 3 Values: x, 2, x·2
    with pytest.raises(DrawingTooLargeError, match="max_nodes=2"):
        draw(x * 2, max_nodes=np.int32(2))


# ------------------------------------------------- the arrow limit: dense fan-in (#19 item 12)


def _arrows(root: Value) -> int:
    """Arrows into ops, counted by hand: every input of every op, repeats included."""
    return sum(len(v.inputs) for v in topological_order(root))


def _sums_over_repeats(sums: int, leaves: int, arrows: int) -> Value:
    """``sums`` Σ nodes, each over the same ``leaves`` repeated: ``arrows`` arrows in all."""
    xs = [Value(0.01 * j, f"x{j}") for j in range(leaves)]
    each = (arrows - sums) // sums  # the top Σ takes one arrow from each
    return sum_values([sum_values((xs * (each // leaves + 1))[:each]) for _ in range(sums)])


def _window(values: int, k: int) -> Value:
    """``values`` Values, each after the first ``k`` the Σ of the ``k`` before it."""
    vs = [Value(0.1 * j, f"x{j}") for j in range(k)]
    while len(vs) < values:
        vs.append(sum_values(vs[-k:]))
    return vs[-1]


def _densest_accepted() -> list[Value]:
    """The slowest graphs measured that the default limits accept (dense fan-in at the limit)."""
    from scalargrad.layout import ARROWS_PER_VALUE, DEFAULT_MAX_NODES

    limit = ARROWS_PER_VALUE * DEFAULT_MAX_NODES
    return [
        _sums_over_repeats(2, 100, limit),  # 103 Values: 1.1 s of dot at 1,200 arrows
        _sums_over_repeats(3, 200, limit),
        sum_values((slow_layout_graph().inputs * 20)[:limit]),  # one Σ, 117 Values
        _window(DEFAULT_MAX_NODES, limit // DEFAULT_MAX_NODES),  # 400 Values, 3 arrows each
    ]


def _dot_cpu(root: Value) -> float:
    """CPU seconds the dot child process spends rendering ``root``'s drawing to SVG."""
    import resource

    source = draw(root).source
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    render(source, "svg", timeout=120.0)  # a regression times out rather than hanging
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


@needs_dot
def test_every_graph_the_limits_accept_draws_within_a_bounded_ratio_of_a_small_one() -> None:
    """dot CPU of the densest accepted graphs ≤ 150 × a 9-Value graph's, in this test.

    150 × the small graph is about 2 s of dot on the development machine; the
    densest accepted graphs took 0.4-1.1 s, and the same shapes at twice the
    arrows (a doubled limit) 4.4 s, at 6,960 arrows minutes.
    """
    from scalargrad.layout import ARROWS_PER_VALUE, DEFAULT_MAX_NODES

    limit = ARROWS_PER_VALUE * DEFAULT_MAX_NODES
    small, _ = classroom()
    base = min(_dot_cpu(small) for _ in range(5))
    for root in _densest_accepted():
        n, arrows = len(topological_order(root)), _arrows(root)
        assert n <= DEFAULT_MAX_NODES and limit - 10 <= arrows <= limit, (n, arrows)
        took = _dot_cpu(root)  # draw(root) with the default limits: accepted
        assert took < 150 * base, (n, arrows, took, base)


def test_one_arrow_over_the_limit_is_refused_and_says_how_to_draw_it() -> None:
    from scalargrad.layout import ARROWS_PER_VALUE, DEFAULT_MAX_NODES

    limit = ARROWS_PER_VALUE * DEFAULT_MAX_NODES
    assert limit == 1200
    leaves = slow_layout_graph().inputs[:116]
    root = sum_values((leaves * 20)[: limit + 1])  # 117 Values, 1,201 arrows
    assert _arrows(root) == 1201
    with pytest.raises(DrawingTooLargeError) as info:
        draw(root)
    err = info.value
    assert (err.what, err.count, err.limit, err.exact) == ("arrows", 1201, 1200, True)
    message = str(err)
    assert "1201 arrows" in message and "max_edges=1200" in message
    assert "max_edges=1201" in message and "max_edges=None" in message
    assert "max_nodes" not in message  # the Values are within their limit
    assert draw(root, max_edges=1201).source.count(" -> ") == 1201 + 1  # and the op's arrow
    assert " -> " in draw(root, max_edges=None).source
    # derived from max_nodes: 3 per Value, and no arrow limit with no node limit
    assert " -> " in draw(root, max_nodes=401).source  # 1,203 arrows allowed
    assert " -> " in draw(root, max_nodes=None).source
    with pytest.raises(DrawingTooLargeError, match="max_edges=351"):
        draw(root, max_nodes=117, max_edges=351)
    with pytest.raises(DrawingTooLargeError, match="more than max_edges=1200"):
        frames(root)  # the step frames and the page are guarded alike
    for bad in (0, -1, 1.5, True, "many"):
        with pytest.raises(ValueError, match="max_edges"):
            draw(root, max_edges=bad)  # type: ignore[arg-type]


def test_the_time_limit_graph_is_refused_by_the_arrow_limit() -> None:
    root = slow_layout_graph()  # 117 Values, under max_nodes, 6,960 arrows
    with pytest.raises(DrawingTooLargeError) as info:
        draw(root)
    err = info.value
    assert err.what == "arrows" and err.limit == 1200
    assert not err.exact and 2400 < err.count <= 6960  # counting stopped past twice the limit
    assert f"at least {err.count} arrows" in str(err) and "max_edges=None" in str(err)


def test_counting_arrows_stops_at_twice_the_limit() -> None:
    x = Value(0.0, "x")
    for _ in range(100_000):  # 100,001 Values, 1,000,000 arrows: each Σ repeats x ten times
        x = sum_values([x] * 10)
    err = _refusal(x)  # 2,400 arrows are reached at 241 Values, before 801 Values
    assert (err.what, err.limit, err.exact) == ("arrows", 1200, False)
    assert 2400 < err.count <= 2410 and f"at least {err.count} arrows" in str(err)
    with pytest.raises(DrawingTooLargeError) as info:
        draw(x, max_nodes=None, max_edges=50)
    err = info.value
    assert err.what == "arrows" and not err.exact
    assert 100 < err.count <= 110  # one Σ past twice the limit, not the million


# ------------------------------------ long arrows are drawn from copies (#19 item 12)


def _flat_sum(terms: int) -> tuple[Value, Value]:
    """x·0.5 + x·0.5 + …: ``x`` feeds products that end up at every level; 3·terms Values."""
    x = Value(0.5, "x")
    v = x * 0.5
    for _ in range(terms - 1):
        v = v + x * 0.5
    return x, v


@needs_dot
def test_a_leaf_feeding_every_level_draws_about_as_fast_as_a_small_graph() -> None:
    """The issue's 117 Values (29 levels) and a 100-term sum, timed against a 9-Value graph.

    Both took ~40 s of dot (one virtual node per rank for each arrow from x:
    quadratic in the depth). Now dot's CPU time may grow at most about
    linearly with the number of Values: twice the per-Value cost of the
    small graph, with dot's start-up counted against the large graphs.
    """
    small, _ = classroom()
    n_small = len(topological_order(small))
    base = min(_dot_cpu(small) for _ in range(5))
    for levels in (29,):
        _, root = tanh_chain(levels)
        assert len(topological_order(root)) == 117
        took = _dot_cpu(root)
        assert took < 2 * base * 117 / n_small, (took, base)
    _, root = _flat_sum(100)
    n = len(topological_order(root))
    assert n == 300
    took = _dot_cpu(root)
    assert took < 2 * base * n / n_small, (took, base)


def test_an_arrow_across_many_levels_starts_at_a_dashed_copy() -> None:
    x, root = tanh_chain(29)
    root.backward()
    source = draw(root).source
    assert len(re.findall(r"^\tn\d+ \[", source, re.M)) == 117  # one box per Value, as ever
    x_box = "n0"
    adds = [i for i, v in enumerate(forward_order(root)) if v.op == "add"]
    assert len(adds) == 29
    direct, copied = [], []
    for i in adds:
        (line,) = re.findall(rf"^\t(\w+) -> o{i} \[(?=.*id=e{i}_1\b)(.*)\]$", source, re.M)
        tail, attrs = line
        shown = re.search(r"label=<([^<>]*)>", attrs)
        assert shown and float(shown[1]) == 1.0  # ∂(u + x)/∂x = 1 on the arrow, wherever it starts
        (direct if tail == x_box else copied).append((i, tail))
    # x's box feeds the first levels; every later "+" gets its own copy of x beside it
    assert len(direct) == 1 and len(copied) == 28
    for i, tail in copied:
        assert tail == f"g0_{i}"
        (node,) = re.findall(rf"^\t{tail} \[(.*)\]$", source, re.M)
        assert "label=<x>" in node and "dashed" in node and 'class="copy input"' in node
    # 29 arrows leave x or one of its copies into the "+" ops, and 1 into the first ×
    assert len(re.findall(r"^\t(?:n0|g0_\d+) -> o", source, re.M)) == 30
    # and the grad in x's box is the sum over all of them, by hand:
    # d/dx of v_k = tanh(0.9·v_(k-1) + x): v_k' = (1 − v_k²)(0.9·v_(k-1)' + 1), v_0' = 1
    v, dv = 0.5, 1.0
    for _ in range(29):
        v_next = math.tanh(0.9 * v + 0.5)
        dv = (1 - v_next**2) * (0.9 * dv + 1)
        v = v_next
    assert x.grad == pytest.approx(dv, rel=1e-12)


def test_small_graphs_have_no_copies() -> None:
    x, y = Value(0.5, "x"), Value(-2.0, "y")
    net = MLP.from_weights([[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], [[0.7, -0.8, 0.9]]],
                           [[0.1, 0.2, 0.3], [0.4]])
    mlp_cost = squared_error(net([0.5, -1.0]), [0.25])
    for root in ((x * y).tanh() + x, tanh_chain(1)[1], classroom()[0], mlp_cost):
        source = draw(root).source
        assert not re.findall(r"^\tg\d+_\d+ ", source, re.M)
        assert "weight" not in source and "nslimit" not in source


# --- layer ranks -----------------------------------------------------------------------


def test_layers_of_an_mlp_are_grouped_with_same_rank() -> None:
    net = MLP.from_weights(
        [[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], [[0.7, -0.8, 0.9], [0.2, 0.1, -0.3]]],
        [[0.0, 0.1, -0.1], [0.05, -0.05]],
    )
    out = net([0.5, -1.0])
    assert isinstance(out, list)
    cost = squared_error(out, [1.0, 0.0])
    source = draw(cost).source
    groups = re.findall(r"\{\n\t\trank=same\n(.*?)\n\t\}", source, re.S)
    ids = {n.label: f"n{i}" for i, n in enumerate(forward_order(cost)) if n.label}
    found = [set(re.findall(r"^\t\t(n\d+)$", g, re.M)) for g in groups]
    # a layer's weights and biases share one rank (each neuron's beside its Σ node)
    for kind, layer, count in [("a", 0, 2), ("a", 1, 3), ("z", 1, 3), ("a", 2, 2), ("z", 2, 2),
                               ("wb", 1, 6 + 3), ("wb", 2, 6 + 2)]:
        members = {nid for lab, nid in ids.items()
                   if lab.startswith(tuple(kind)) and lab.endswith(f"^({layer})")}
        assert len(members) == count and members in found, (kind, layer)


@needs_dot
def test_mlp_layers_line_up_in_the_rendered_svg() -> None:
    net = MLP.from_weights([[[0.1, -0.2], [0.3, 0.4]], [[0.7, -0.8]]], [[0.0, 0.1], [0.05]])
    out = net([0.5, -1.0])
    assert isinstance(out, Value)
    cost = squared_error([out], [1.0])
    nodes = svg_nodes(draw(cost).svg())
    ids = {n.label: f"n{i}" for i, n in enumerate(forward_order(cost)) if n.label}
    for lab in ("a_0^(0)", "a_0^(1)", "z_0^(1)"):
        pair = [centre(nodes[ids[lab]]), centre(nodes[ids[lab.replace("_0", "_1")]])]
        assert pair[0][0] == pair[1][0], lab  # LR: same rank, same x


def _wide_net_cost() -> Value:
    """A 3-4-3 network: wide enough that dot reorders neurons unless told not to."""
    ws = [[[0.1 * (j + 1) - 0.2 * k for k in range(3)] for j in range(4)],
          [[0.3 - 0.1 * (j + k) for k in range(4)] for j in range(3)]]
    net = MLP.from_weights(ws, [[0.1 * j for j in range(4)], [-0.1 * j for j in range(3)]])
    out = net([0.5, -1.0, 0.25])
    assert isinstance(out, list)
    return squared_error(out, [1.0, 0.0, 0.5])


def test_each_layer_group_lists_its_neurons_in_order_j() -> None:
    cost = _wide_net_cost()
    source = draw(cost).source
    label_of = {f"n{i}": v.label for i, v in enumerate(forward_order(cost))}
    for block in re.findall(r"\{\n\t\trank=same\n(.*?)\n\t\}", source, re.S):
        members = re.findall(r"^\t\t(n\d+)$", block, re.M)
        chain = re.findall(r"^\t\t(n\d+) -> (n\d+) \[style=invis\]$", block, re.M)
        assert chain == list(itertools.pairwise(members))  # an invisible edge per neighbour
        subs = [re.match(r"([wbza])_(\d+)\^", label_of[m]) for m in members]
        # neuron j first, then (parameters) its weights w_jk in order k, then its bias b_j
        keys = [(int(m.group(2)[0]), m.group(1) == "b", *map(int, m.group(2)[1:]))
                for m in subs if m]
        assert len(keys) == len(members) and keys == sorted(keys), [label_of[m] for m in members]


@needs_dot
def test_neurons_are_drawn_in_order_j_within_each_layer() -> None:
    cost = _wide_net_cost()
    ids = {n.label: f"n{i}" for i, n in enumerate(forward_order(cost)) if n.label}
    for svg in (draw(cost).svg(), *(d.svg() for d in draw_steps(cost)[::4])):
        nodes = svg_nodes(svg)
        for kind, layer, count in [("a", 0, 3), ("z", 1, 4), ("a", 1, 4), ("z", 2, 3),
                                   ("a", 2, 3)]:
            at = [centre(nodes[ids[f"{kind}_{j}^({layer})"]]) for j in range(count)]
            assert len({x for x, _ in at}) == 1, (kind, layer)  # LR: one rank, same x
            ys = [y for _, y in at]
            assert ys == sorted(ys) and len(set(ys)) == count, (kind, layer, ys)  # j downwards


def test_a_neurons_parameters_sit_next_to_it_in_index_order() -> None:
    net = MLP(2, [3, 1], seed=1)
    cost = squared_error(net([0.5, -1.0]), [1.0])
    source = draw(cost).source
    order = forward_order(cost)
    # one rank for layer 1's parameters, neuron by neuron: w_00, w_01, b_0, w_10, …
    ranks = re.findall(r"\{\n\t\trank=same\n((?:\t\tn\d+\n)+)", source)
    names = [[order[int(n)].label for n in re.findall(r"n(\d+)", r)] for r in ranks]
    assert ["w_00^(1)", "w_01^(1)", "b_0^(1)", "w_10^(1)", "w_11^(1)", "b_1^(1)",
            "w_20^(1)", "w_21^(1)", "b_2^(1)"] in names
    # the inputs and the activations reach a Σ node one rank later than its parameters
    for i, v in enumerate(order):
        if v.op == "affine":
            for k, c in enumerate(v.inputs):
                line = re.search(rf"^\tn\d+ -> o{i}:i{k}:w \[(.*)\]$", source, re.M)
                assert line, (i, k)
                assert ("minlen=2" in line.group(1)) == (not c.label.startswith(("w", "b")))


# --- the plan, derived by hand ------------------------------------------------------------


def test_viz_re_exports_the_limits() -> None:
    from scalargrad import layout

    assert viz.DEFAULT_MAX_NODES is layout.DEFAULT_MAX_NODES == 400
    assert viz.ARROWS_PER_VALUE is layout.ARROWS_PER_VALUE == 3


def test_the_plan_of_a_small_graph_is_the_one_derived_by_hand() -> None:
    # C = tanh(tanh(tanh(x·y + x))) + x, with x = a_1^(1) and y = a_0^(1) (one layer group)
    x, y = Value(0.5, "a_1^(1)"), Value(-1.0, "a_0^(1)")
    u = x * y
    v = u + x
    t1 = v.tanh()
    t2 = t1.tanh()
    t3 = t2.tanh()
    c = t3 + x
    order = forward_order(c)
    index = {id(n): i for i, n in enumerate(order)}
    at = {name: index[id(n)] for name, n in
          {"x": x, "y": y, "u": u, "v": v, "t1": t1, "t2": t2, "t3": t3, "c": c}.items()}
    layout = plan(order, index)
    # earliest levels: leaves 0, then one more than the deepest input
    want = {"x": 0, "y": 0, "u": 1, "v": 2, "t1": 3, "t2": 4, "t3": 5, "c": 6}
    assert {name: layout.levels[i] for name, i in at.items()} == want
    # x is used by u, v and c (each once, in reading order); the root by nothing
    assert layout.consumers[at["x"]] == [at["u"], at["v"], at["c"]]
    assert layout.consumers[at["y"]] == [at["u"]] and layout.consumers[at["c"]] == []
    # x's first consumer u is at level 1 and c at 6: 5 levels later, more than 3, so that
    # arrow starts at a copy; v (1 level later) takes the arrow from x's box
    assert layout.far == {(at["x"], at["c"])}
    # levels crossed: every arrow 1, except v ← x (x sits just before u, 2 levels before v),
    # and the copied c ← x counts 1: 8 × 1 + 2 = 10
    assert layout.span == 10 and not layout.budgeted
    # one rank for layer 1's activations, in order j: a_0 (y) before a_1 (x)
    assert layout.groups == [("same", [at["y"], at["x"]])]


def test_a_wide_sum_over_repeated_inputs_gets_an_iteration_budget() -> None:
    root = slow_layout_graph()  # one Σ over 116 leaves × 60: 6,960 arrows of one level each
    order = forward_order(root)
    layout = plan(order, {id(n): i for i, n in enumerate(order)})
    assert layout.span == 6960 and layout.budgeted and layout.far == frozenset()
    assert "nslimit=0.2" in draw(root, max_edges=None).source
