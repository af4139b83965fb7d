"""Copying and pickling whole graphs without recursion.

:class:`~scalargrad.engine.Value`'s ``__copy__``, ``__deepcopy__`` and
``__reduce__`` call the functions here. Deep copies and pickles walk the graph
iteratively, so a chain a million nodes deep copies and pickles at the default
recursion limit, and several nodes of one graph copied or pickled together
stay one graph. Nodes are made through ``Value._restore`` (the engine owns the
node layout); this module needs nothing from the engine at import time, so
there is no import circle.

Unpickling checks what it builds, as the constructor would: every leaf's and
record's numbers are finite floats (or ints), labels are strs, each record
names a known op with the right number of inputs, and every input index is
an earlier node; a record that fails raises :class:`pickle.UnpicklingError`
(also a :class:`ValueError`) naming the record, before any rule sized by it
is made (a 200-byte ``("affine", 10**7, …)`` record is refused at once).
"""

from __future__ import annotations

import math
import pickle
import reprlib
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

from .graph import forward_order
from .rules import CONSTANT, RULES, Rule, affine_rule, pow_rule

if TYPE_CHECKING:
    from .engine import Value

__all__ = ["deep_copy", "reduce_value", "shallow_copy"]


def shallow_copy(v: Value) -> Value:
    """A new node with ``v``'s data, grad, label and op over the *same* inputs."""
    return v.__class__._restore(v.data, v.grad, v.label, v.inputs, v.local_grads, v._rule)


def deep_copy(root: Value, memo: dict[int, Any]) -> Value:
    """Copies the graph below ``root`` in one iterative pass (see ``Value.__deepcopy__``).

    Args:
        root: The node to copy.
        memo: :func:`copy.deepcopy`'s memo: nodes already copied are reused and
            every new copy is registered.

    Returns:
        The copy of ``root``.
    """
    found = memo.get(id(root))
    if found is not None:
        return found  # type: ignore[no-any-return]
    # Post-order over inputs (as forward_order), not entering nodes already copied.
    stack: list[tuple[Value, int]] = [(root, 0)]
    seen = {id(root)}
    while stack:
        v, i = stack[-1]
        inputs = v.inputs
        if i < len(inputs):
            stack[-1] = (v, i + 1)
            child = inputs[i]
            key = id(child)
            if key not in seen and key not in memo:
                seen.add(key)
                stack.append((child, 0))
            continue
        stack.pop()
        memo[id(v)] = v.__class__._restore(
            v.data, v.grad, v.label,
            tuple([memo[id(c)] for c in inputs]) if inputs else (),
            v.local_grads, v._rule,
        )
    return memo[id(root)]  # type: ignore[no-any-return]


def reduce_value(v: Value) -> tuple[Any, ...]:
    """``v.__reduce__()``: a leaf as its fields, an op node as leaves plus flat records.

    See ``Value.__reduce__`` for the format.
    """
    cls = v.__class__
    rule = v._rule
    if not v.inputs:
        return _rebuild_leaf, (cls, v.data, v.grad, v.label, rule is CONSTANT)
    order = forward_order(v)
    leaves = [u for u in order if not u.inputs]
    index = {u: i for i, u in enumerate(leaves)}
    records = []
    for u in order:
        inputs = u.inputs
        if not inputs:
            continue
        index[u] = len(index)
        r = u._rule
        assert r is not None
        param = r.exponent if r.name == "pow" else (r.arity if r.name == "affine" else None)
        records.append((
            r.name, param, tuple([index[c] for c in inputs]),
            u.data, u.grad, u.label, u.local_grads,
        ))
    return _rebuild_graph, (cls, tuple(leaves), tuple(records))


class _CorruptPickleError(pickle.UnpicklingError, ValueError):
    """A pickled Value's record is not something the engine could have built.

    Raised while unpickling, before anything sized by the bad record is made;
    the message names the record and what is wrong with it. It is both a
    :class:`pickle.UnpicklingError` and a :class:`ValueError`.
    """


def _number(x: object, what: str) -> float:
    """``x`` as a finite float, checked as ``Value(x)`` would check it."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _CorruptPickleError(f"unpickling a Value: {what} must be an int or a float, "
                                 f"not {type(x).__name__} ({_short(x)})")
    try:
        f = float(x)
    except OverflowError:
        raise _CorruptPickleError(f"unpickling a Value: {what} is an int too large for a "
                                 "float") from None
    if not math.isfinite(f):
        raise _CorruptPickleError(f"unpickling a Value: {what} must be finite, got {f!r}")
    return f


def _short(x: object) -> str:
    """``repr(x)``, cut to 60 characters (a hostile record may hold anything)."""
    text = reprlib.repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _value_type() -> type[Value]:
    """The engine's Value class, read from the loaded engine (which imports this module)."""
    return sys.modules[__package__ + ".engine"].Value  # type: ignore[no-any-return]


def _value_class(cls: object) -> type[Value]:
    Value = _value_type()
    if not (isinstance(cls, type) and issubclass(cls, Value)):
        raise _CorruptPickleError(f"unpickling a Value: {_short(cls)} is not a Value class")
    return cls


def _rebuild_leaf(cls: type[Value], data: float, grad: float, label: str,
                  constant: bool) -> Value:
    """Unpickles a leaf (see ``Value.__reduce__``), checked as ``Value(data, label)`` checks.

    Raises:
        pickle.UnpicklingError: (also a ValueError) ``cls`` is not a Value class, ``data`` or
            ``grad`` is not a finite number, ``label`` is not a str or
            ``constant`` not a bool.
    """
    cls = _value_class(cls)
    if not isinstance(label, str):
        raise _CorruptPickleError(f"unpickling a Value: a leaf's label must be a str, not "
                                 f"{type(label).__name__}")
    what = f"the leaf {label!r}" if label else "an unlabelled leaf"
    x = _number(data, f"the data of {what}")
    g = _number(grad, f"the grad of {what}")
    if not isinstance(constant, bool):
        raise _CorruptPickleError(f"unpickling a Value: {what}'s constant flag must be a bool, "
                                 f"not {type(constant).__name__}")
    return cls._restore(x, g, label, (), (), CONSTANT if constant else None)


_Record: TypeAlias = tuple[str, "float | int | None", tuple[int, ...], float, float, str,
                           tuple[float, ...]]


def _rebuild_graph(cls: type[Value], leaves: tuple[Value, ...],
                   records: tuple[_Record, ...]) -> Value:
    """Unpickles a graph from its leaves and flat op records; returns the last (the root).

    See ``Value.__reduce__``. Rules are looked up by name: ``RULES``,
    ``pow_rule(exponent)``, ``affine_rule(arity // 2)``. Every record is
    checked as the constructor would check the node (a known op with the
    right number of inputs, each an earlier node, finite numbers, a str
    label) before its rule is looked up or made, so a record can never ask
    for a rule sized by a number it does not back with inputs.

    Raises:
        pickle.UnpicklingError: (also a ValueError) A record names an unknown op, gives the wrong
            number of inputs or local derivatives, an input index that is not
            an earlier node, a number that is not finite, or a label that is
            not a str; or a leaf is not a Value.
    """
    Value = _value_type()
    cls = _value_class(cls)
    if not isinstance(leaves, (tuple, list)) or not isinstance(records, (tuple, list)):
        raise _CorruptPickleError("unpickling a Value: leaves and records must be tuples")
    if not records:
        raise _CorruptPickleError("unpickling a Value: a graph with no op records")
    for k, leaf in enumerate(leaves):
        if not isinstance(leaf, Value):
            raise _CorruptPickleError(f"unpickling a Value: leaf {k} is a "
                                     f"{type(leaf).__name__} ({_short(leaf)}), not a Value")
    nodes = list(leaves)
    for k, record in enumerate(records):
        name, param, idx, data, grad, label, local_grads = _check_record(k, record, len(nodes))
        rule = _rule(name, param, len(idx))
        nodes.append(cls._restore(data, grad, label, tuple([nodes[i] for i in idx]),
                                  local_grads, rule))
    return nodes[-1]


def _check_record(k: int, record: object, known: int) -> _Record:
    """Record ``k`` checked field by field against the ``known`` nodes before it.

    Returns the record with its numbers as floats and its sequences as tuples.
    """
    if not isinstance(record, tuple) or len(record) != 7:
        raise _CorruptPickleError(f"unpickling a Value: record {k} must be a tuple of 7 fields "
                                 f"(op, parameter, inputs, data, grad, label, local grads), "
                                 f"got {_short(record)}")
    name, param, idx, data, grad, label, local_grads = record
    if not isinstance(name, str):
        raise _CorruptPickleError(f"unpickling a Value: record {k}'s op must be a str, not "
                                 f"{type(name).__name__}")
    where = f"record {k} ({name!r})"
    if not isinstance(label, str):
        raise _CorruptPickleError(f"unpickling a Value: {where}: the label must be a str, not "
                                 f"{type(label).__name__}")
    if label:
        where = f"record {k} ({name!r} node {label!r})"
    if not isinstance(idx, (tuple, list)) or not isinstance(local_grads, (tuple, list)):
        raise _CorruptPickleError(f"unpickling a Value: {where}: inputs and local derivatives "
                                 f"must be tuples")
    if not idx:
        raise _CorruptPickleError(f"unpickling a Value: {where} has no inputs")
    if len(local_grads) != len(idx):
        raise _CorruptPickleError(
            f"unpickling a Value: a {name!r} node with {len(idx)} inputs and "
            f"{len(local_grads)} local derivatives ({where})"
        )
    for i in idx:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < known:
            raise _CorruptPickleError(
                f"unpickling a Value: {where}: input index {_short(i)} is not one of the "
                f"{known} nodes before it (0..{known - 1})"
            )
    x = _number(data, f"the data of {where}")
    g = _number(grad, f"the grad of {where}")
    locals_ = tuple([_number(d, f"local derivative {j} of {where}")
                     for j, d in enumerate(local_grads)])
    return name, param, tuple(idx), x, g, label, locals_


def _rule(name: str, param: object, arity: int) -> Rule:
    """The rule a checked record names, made only once its input count fits it."""
    wrong = (f"unpickling a Value: unknown op {name!r} with parameter {_short(param)}")
    if name == "affine":
        if isinstance(param, bool) or not isinstance(param, int) or param != arity:
            raise _CorruptPickleError(
                f"{wrong}: an affine node's parameter is its number of inputs, {arity} here"
            )
        if arity < 3 or arity % 2 == 0:
            raise _CorruptPickleError(f"unpickling a Value: an 'affine' node has 2n + 1 inputs "
                                     f"(n ≥ 1 weight–input pairs and a bias), not {arity}")
        return affine_rule(arity // 2)
    if name == "pow":
        if param is None:
            raise _CorruptPickleError(f"{wrong}: a pow node needs its exponent")
        rule = pow_rule(_number(param, "a pow node's exponent"))
    elif name in RULES and param is None:
        rule = RULES[name]
    else:
        raise _CorruptPickleError(wrong)
    if rule.arity is not None and rule.arity != arity:
        raise _CorruptPickleError(
            f"unpickling a Value: a {name!r} node with {arity} inputs and {arity} local "
            f"derivatives ({name!r} takes {rule.arity})"
        )
    return rule
