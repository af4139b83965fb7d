"""Tests of :mod:`scalargrad.copying`: ``copy.copy``, ``copy.deepcopy`` and ``pickle`` of Values.

Iterative at any depth, every field kept, several nodes of one graph copied
together stay one graph, and copies differentiate like the original (checked
against gradients written out by hand).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given

from scalargrad import Value, sum_values, topological_order
from scalargrad.testing import Expression, expressions


def _deep_chain(n: int) -> tuple[Value, Value]:
    """x → n ops cycling through mul by a constant, pow, tanh, affine and sum: every record kind."""
    from scalargrad.engine import affine

    x = Value(0.5, "x")
    v = x
    for i in range(n):
        k = i % 5
        if k == 0:
            v = v * 1.0000001
        elif k == 1:
            v = v**1.0
        elif k == 2:
            v = v.tanh()
        elif k == 3:
            v = affine([0.999], [v], 0.0)
        else:
            v = sum_values([v, v])  # a duplicate input: two edges to one node
            v = v * 0.5
    v.label = "top"
    return x, v


def _fields(v: Value) -> tuple[object, ...]:
    rule = v.rule
    return (v.data, v.grad, v.label, v.op, v.local_grads, v.is_constant, len(v.inputs),
            None if rule is None else (rule.exponent, rule.arity))


def _same_structure(a: Value, b: Value) -> None:
    """Walks both graphs in lockstep: same fields, same sharing, and no node in common."""
    oa, ob = topological_order(a), topological_order(b)
    assert len(oa) == len(ob)
    pos_a = {v: i for i, v in enumerate(oa)}
    pos_b = {v: i for i, v in enumerate(ob)}
    assert not set(map(id, oa)) & set(map(id, ob))
    for va, vb in zip(oa, ob):
        assert _fields(va) == _fields(vb)
        assert [pos_a[c] for c in va.inputs] == [pos_b[c] for c in vb.inputs]


def _with_limit(f: Callable[[], None]) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        f()
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.slow
def test_deep_chain_deepcopies_and_pickles_at_the_default_recursion_limit() -> None:
    import copy
    import pickle

    x, top = _deep_chain(100_000)
    top.backward()
    x_grad = x.grad
    assert x_grad != 0.0
    copies: list[Value] = []
    _with_limit(lambda: copies.append(copy.deepcopy(top)))
    _with_limit(lambda: copies.append(pickle.loads(pickle.dumps(top))))
    for c in copies:
        _same_structure(top, c)
        leaf = next(v for v in reversed(topological_order(c)) if v.label == "x")
        assert leaf.grad == x_grad
        # independent of the original: a second backward on the copy doubles only the copy
        c.backward()
        assert leaf.grad == 2 * x_grad and x.grad == x_grad
        leaf.data = 9.0
        assert x.data == 0.5


def test_deepcopy_and_pickle_keep_every_field_and_every_kind_of_node() -> None:
    import copy
    import pickle

    from scalargrad.engine import affine

    w, a, b = Value(0.5, "w"), Value(-1.5, "a"), Value(0.25, "b")
    z = affine([w, 2.0], [a, a], b, "z")  # a constant weight, a reused input
    cost = ((z.sigmoid() - 1) ** 3 + (1 / a).relu() + a.exp().log() + (-w).square()).label_as("C")
    cost.backward()
    copies = [copy.deepcopy(cost)]
    copies += [pickle.loads(pickle.dumps(cost, protocol=p)) for p in range(6)]
    for c in copies:
        _same_structure(cost, c)
        order = topological_order(c)
        assert any(v.is_constant for v in order) and any(v.op == "pow" for v in order)
        pow_node = next(v for v in order if v.op == "pow")
        assert pow_node.rule is not None and pow_node.rule.exponent == 3.0
        assert pow_node.rule.formulas == ("{c}·{x}^{c-1}",)
    # a leaf on its own, a constant on its own
    constant = next(v for v in topological_order(cost) if v.is_constant)
    for leaf in (w, constant):
        for c in (copy.deepcopy(leaf), pickle.loads(pickle.dumps(leaf))):
            assert c is not leaf and _fields(c) == _fields(leaf)


def test_copies_of_a_graph_differentiate_like_the_original() -> None:
    """An unpickled C = (w·a − y)² still goes backward: ∂C/∂w = 2(w·a − y)·a by hand."""
    import pickle

    w, a, y = Value(0.5, "w"), Value(3.0, "a"), Value(1.0, "y")
    cost = (w * a - y).square()
    w2_cost = pickle.loads(pickle.dumps([cost, w]))
    cost2, w2 = w2_cost
    cost2.backward()
    assert w2.grad == 2 * (0.5 * 3.0 - 1.0) * 3.0
    assert w.grad == 0.0


def test_pickling_cost_and_weight_together_keeps_the_weight_inside_the_graph() -> None:
    import pickle

    w, a, b = Value(0.5, "w"), Value(0.7, "a"), Value(0.1, "b")
    z = w * a + b
    cost = (z - 1.0).square()
    for items in ([cost, w], [w, cost], [cost, w, b, cost]):
        back = pickle.loads(pickle.dumps(items))
        c2 = back[items.index(cost)]
        w2 = back[items.index(w)]
        leaves = [v for v in topological_order(c2) if not v.inputs]
        assert any(v is w2 for v in leaves)
        assert back.count(c2) == items.count(cost)  # the same root twice stays one object
        c2.backward()
        assert w2.grad == 2 * (0.5 * 0.7 + 0.1 - 1.0) * 0.7


def test_deepcopy_of_several_nodes_of_one_graph_keeps_them_connected() -> None:
    import copy

    w, a = Value(0.5, "w"), Value(0.7, "a")
    z = w * a
    cost = (z + 1.0).square()
    for items in ([cost, w, z], [w, z, cost], [z, cost, w]):
        back = copy.deepcopy(items)
        c2, w2, z2 = back[items.index(cost)], back[items.index(w)], back[items.index(z)]
        assert z2 is c2.inputs[0].inputs[0]
        assert w2 is z2.inputs[0]
        assert w2 is not w and z2 is not z and c2 is not cost


def test_deepcopy_of_an_mlp_trains_like_the_original() -> None:
    import copy

    from scalargrad import nn

    net = nn.MLP(2, [3, 3, 1], seed=1)
    twin = copy.deepcopy(net)
    assert not set(map(id, net.parameters())) & set(map(id, twin.parameters()))
    results = []
    for model in (net, twin):
        cost = nn.squared_error(model([0.3, -0.8]), 1.0)  # type: ignore[arg-type]
        cost.backward()
        results.append((cost.data, [p.grad for p in model.parameters()]))
    assert results[0] == results[1]
    assert any(g != 0.0 for g in results[0][1])
    twin.parameters()[0].data += 1.0
    assert net.parameters()[0].data != twin.parameters()[0].data


def test_shallow_copy_is_a_new_node_over_the_same_inputs() -> None:
    import copy

    w, a = Value(0.5, "w"), Value(0.7, "a")
    z = (w * a).label_as("z")
    z2 = copy.copy(z)
    assert z2 is not z and _fields(z2) == _fields(z)
    assert z2.inputs[0] is w and z2.inputs[1] is a
    z2.backward()  # a second consumer of the same inputs
    assert w.grad == 0.7 and a.grad == 0.5 and z.grad == 0.0


def test_unpickling_rejects_an_unknown_op() -> None:
    from scalargrad.copying import _rebuild_graph, _rebuild_leaf

    leaf = _rebuild_leaf(Value, 1.0, 0.0, "x", False)
    with pytest.raises(ValueError, match="unknown op 'cube'"):
        _rebuild_graph(Value, (leaf,), (("cube", None, (0,), 1.0, 0.0, "", (3.0,)),))
    with pytest.raises(ValueError, match="'mul' node with 1 inputs"):
        _rebuild_graph(Value, (leaf,), (("mul", None, (0,), 1.0, 0.0, "", (3.0,)),))




@given(expressions(max_nodes=10, variables=3))
def test_random_graphs_round_trip_and_differentiate_the_same(expr: Expression) -> None:
    import copy
    import pickle

    graph = expr.build()
    root, leaves = graph.root, graph.leaves
    saved = pickle.dumps([root, *leaves])
    twin = copy.deepcopy([root, *leaves])
    root.backward()
    want = [v.grad for v in leaves]
    for other in (twin, pickle.loads(saved)):
        other_root, *other_leaves = other
        assert not set(map(id, other_leaves)) & set(map(id, leaves))
        assert [v.grad for v in other_leaves] == [0.0] * len(leaves)  # copied before backward
        other_root.backward()
        assert [v.grad for v in other_leaves] == want


# --- hand-made pickles: only scalargrad's own reconstructors, hostile records ---------


class _Call:
    """Pickles as ``f(*args)``: a hand-made pickle that calls only the given reconstructor."""

    def __init__(self, f: Callable[..., object], *args: object) -> None:
        self.f, self.args = f, args

    def __reduce__(self) -> tuple[object, ...]:
        return self.f, self.args


def _leaf_pickle(data: object, grad: object = 0.0, label: object = "x",
                 constant: object = False) -> bytes:
    import pickle

    from scalargrad.copying import _rebuild_leaf

    return pickle.dumps(_Call(_rebuild_leaf, Value, data, grad, label, constant))


def _graph_pickle(leaves: tuple[object, ...], *records: tuple[object, ...]) -> bytes:
    import pickle

    from scalargrad.copying import _rebuild_graph

    return pickle.dumps(_Call(_rebuild_graph, Value, leaves, records))


def _refused(blob: bytes, match: str) -> None:
    import pickle

    with pytest.raises(pickle.UnpicklingError, match=match) as err:
        pickle.loads(blob)
    assert isinstance(err.value, ValueError)  # the older, documented kind too


def test_a_hand_made_pickle_of_a_good_graph_loads() -> None:
    """The helpers themselves are right: a well-formed record gives the node it describes."""
    import pickle

    x = Value(3.0, "x")
    y = pickle.loads(_graph_pickle((x,), ("mul", None, (0, 0), 9.0, 0.0, "y", (3.0, 3.0))))
    assert (y.data, y.label, y.op, y.local_grads) == (9.0, "y", "mul", (3.0, 3.0))
    y.backward()
    assert y.inputs[0].grad == 6.0  # d(x²)/dx = 2x at 3, by hand
    leaf = pickle.loads(_leaf_pickle(2, 1, "w"))  # ints are numbers, as in Value(2)
    assert (leaf.data, leaf.grad, leaf.label) == (2.0, 1.0, "w")
    assert type(leaf.data) is float and type(leaf.grad) is float


@pytest.mark.parametrize("data, grad, match", [
    (math.nan, 0.0, r"the data of the leaf 'x' must be finite, got nan"),
    (math.inf, 0.0, r"the data of the leaf 'x' must be finite, got inf"),
    (1.0, -math.inf, r"the grad of the leaf 'x' must be finite, got -inf"),
    ("1.0", 0.0, r"the data of the leaf 'x' must be an int or a float, not str"),
    (True, 0.0, r"must be an int or a float, not bool"),
    pytest.param(10**400, 0.0, r"the data of the leaf 'x' is an int too large for a float",
                 id="10**400"),
])
def test_unpickling_refuses_a_leaf_the_constructor_would_refuse(
    data: object, grad: object, match: str
) -> None:
    _refused(_leaf_pickle(data, grad), match)


def test_unpickling_refuses_a_bad_label_flag_or_class() -> None:
    import pickle

    from scalargrad.copying import _rebuild_leaf

    _refused(_leaf_pickle(1.0, 0.0, 7), r"a leaf's label must be a str, not int")
    _refused(_leaf_pickle(1.0, 0.0, "x", "yes"), r"constant flag must be a bool")
    _refused(pickle.dumps(_Call(_rebuild_leaf, dict, 1.0, 0.0, "x", False)),
             r"is not a Value class")


@pytest.mark.parametrize("leaves, record, match", [
    ((), ("mul", None, (0, 1), 1.0, 0.0, "", (1.0, 1.0)),
     r"record 0 \('mul'\): input index 0 is not one of the 0 nodes before it"),
    ((1.0, 2.0), ("mul", None, (0, 1), 2.0, 0.0, "", (2.0, 1.0)),
     r"leaf 0 is a float \(1\.0\), not a Value"),
    (None, ("mul", None, (0, -1), 1.0, 0.0, "y", (1.0, 1.0)),
     r"record 0 \('mul' node 'y'\): input index -1 is not one of the 1 nodes before it \(0\.\.0\)"),
    (None, ("mul", None, (0, 5), 1.0, 0.0, "", (1.0, 1.0)),
     r"input index 5 is not one of the 1 nodes before it \(0\.\.0\)"),
    (None, ("mul", None, (0, 0.0), 1.0, 0.0, "", (1.0, 1.0)),
     r"input index 0\.0 is not one of the 1 nodes"),
    (None, ("tanh", None, (0,), math.nan, 0.0, "", (1.0,)),
     r"the data of record 0 \('tanh'\) must be finite, got nan"),
    (None, ("tanh", None, (0,), 0.5, math.inf, "", (1.0,)),
     r"the grad of record 0 \('tanh'\) must be finite, got inf"),
    (None, ("tanh", None, (0,), 0.5, 0.0, "", ("0.75",)),
     r"local derivative 0 of record 0 \('tanh'\) must be an int or a float, not str"),
    (None, ("tanh", None, (0,), 0.5, 0.0, "", (math.nan,)),
     r"local derivative 0 of record 0 \('tanh'\) must be finite"),
    (None, ("tanh", None, (0,), 0.5, 0.0, b"t", (1.0,)),
     r"record 0 \('tanh'\): the label must be a str, not bytes"),
    (None, ("tanh", None, (), 0.5, 0.0, "", ()), r"record 0 \('tanh'\) has no inputs"),
    (None, ("tanh", 2.0, (0,), 0.5, 0.0, "", (1.0,)), r"unknown op 'tanh' with parameter 2\.0"),
    (None, ("pow", None, (0,), 0.5, 0.0, "", (1.0,)), r"a pow node needs its exponent"),
    (None, ("pow", math.inf, (0,), 0.5, 0.0, "", (1.0,)),
     r"a pow node's exponent must be finite, got inf"),
    (None, ("pow", 2.0, (0, 0), 0.5, 0.0, "", (1.0, 1.0)), r"'pow' takes 1"),
    (None, ("affine", 10**7, (0, 0, 0), 0.5, 0.0, "", (1.0, 1.0, 1.0)),
     r"an affine node's parameter is its number of inputs, 3 here"),
    (None, ("affine", 2, (0, 0), 0.5, 0.0, "", (1.0, 1.0)), r"2n \+ 1 inputs .* not 2"),
    (None, ("mul", None, (0, 0)), r"record 0 must be a tuple of 7 fields"),
    (None, (7, None, (0,), 0.5, 0.0, "", (1.0,)), r"record 0's op must be a str, not int"),
])
def test_unpickling_refuses_a_record_the_constructor_would_refuse(
    leaves: tuple[object, ...] | None, record: tuple[object, ...], match: str
) -> None:
    x = Value(0.5, "x")
    _refused(_graph_pickle((x,) if leaves is None else leaves, record), match)


def test_a_negative_index_is_never_wired_to_another_node() -> None:
    """Today's bug: index -1 silently meant 'the last node so far'."""
    x, w = Value(0.5, "x"), Value(2.0, "w")
    good = ("mul", None, (0, 1), 1.0, 0.0, "p", (2.0, 0.5))
    _refused(_graph_pickle((x, w), good, ("tanh", None, (-1,), 0.76, 0.0, "", (0.42,))),
             r"record 1 \('tanh'\): input index -1 is not one of the 3 nodes before it")


def test_a_huge_affine_record_fails_before_allocating_anything() -> None:
    """A 200-byte record asking for 10**7 inputs, under a 256 MB address-space limit.

    Today's code builds ``affine_rule(5_000_000)`` first (3.8 GB, 49 s); under the
    limit that is a MemoryError, not the error naming the record.
    """
    import subprocess

    script = f"""
import pickle, resource, sys
from scalargrad import Value
from scalargrad.copying import _rebuild_graph
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_copying import _Call
x = Value(0.5, "x")
blob = pickle.dumps(_Call(_rebuild_graph, Value, (x,),
                          (("affine", 10**7, (0, 0, 0), 0.5, 0.0, "", (1.0, 1.0, 1.0)),)))
assert len(blob) < 400, len(blob)
size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size + 256 * 2**20, resource.RLIM_INFINITY))
try:
    pickle.loads(blob)
except pickle.UnpicklingError as err:
    print("refused:", err)
except MemoryError:
    print("MemoryError")
"""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the address space")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("refused:") and "10000000" in r.stdout, r.stdout
