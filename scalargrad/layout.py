"""What Graphviz's ``dot`` is given to lay out: the size guard, levels, copies, layer ranks.

``dot``'s layout time grows much faster than the graph, so a drawing is
planned before any DOT text is written:

* :func:`check_size` refuses a graph over the node or arrow limit
  (:data:`DEFAULT_MAX_NODES` Values, :data:`ARROWS_PER_VALUE` arrows per
  Value), with a message naming the count and the way out, after a walk that
  stops at twice either limit;
* :func:`plan` reads the drawn order once into a :class:`Layout`: each
  node's consumers and earliest level, which arrows are drawn from a dashed
  copy of their input's box (a Value used again many levels after its first
  use, whose one long arrow would cost ``dot`` time growing with the square
  of the depth), how many levels the arrows cross (above a threshold ``dot``
  gets an iteration budget), and the layer groups: every ``z_j^(l)``,
  ``a_j^(l)``, and each layer's parameters, on one rank in the notes' index
  order.

:mod:`scalargrad.viz` turns the plan into a :class:`graphviz.Digraph`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import NamedTuple

from .engine import Value
from .errors import DrawingTooLargeError
from .graph import count_up_to

__all__ = ["ARROWS_PER_VALUE", "DEFAULT_MAX_NODES", "Layout", "check_size", "plan"]

DEFAULT_MAX_NODES = 400
"""Largest graph :func:`~scalargrad.viz.draw` accepts by default (``dot``: 1 s per 1,000 Values)."""

ARROWS_PER_VALUE = 3
"""By default a drawing may have this many arrows into ops per Value of ``max_nodes``.

The node limit alone lets through dense fan-in: 400 Values each summing the
previous 10 (3,900 arrows) took 3-5 s of ``dot`` CPU, and one Σ over 6,960
repeated inputs minutes. At 3 × 400 = 1,200 arrows the worst graphs measured
(Σ nodes over repeated inputs, windows of sums) took 0.4-1.1 s of ``dot``
CPU, about ten times a 200-op chain; ordinary graphs have 1-2 arrows per
Value (an MLP about 1.5).
"""

_NN_LABEL = re.compile(r"([wbza])(?:_([0-9,]+))?\^\(([^()]+)\)")


# --- the size guard -------------------------------------------------------------------


def check_size(root: Value, max_nodes: object, max_edges: object) -> None:
    """Checks both limits and raises when ``root``'s graph is over either.

    Args:
        root: The node to draw from.
        max_nodes: Most Values (a positive int, or ``None``: no limit).
        max_edges: Most arrows into ops (every input of every op, a repeated
            input once per use, as drawn): a positive int, ``None`` (no
            limit) or ``"auto"``, :data:`ARROWS_PER_VALUE` × ``max_nodes``
            (no limit when ``max_nodes`` is ``None``).

    Raises:
        ValueError: A limit is not a positive int (nor ``None``, nor ``"auto"``).
        DrawingTooLargeError: The graph is over a limit (its ``what`` says which).
    """
    nodes, arrows = _limits(max_nodes, max_edges)
    if nodes is not None or arrows is not None:
        _refuse_beyond(root, nodes, arrows)


def _limits(max_nodes: object, max_edges: object) -> tuple[int | None, int | None]:
    """Checks both limits; ``"auto"`` arrows are :data:`ARROWS_PER_VALUE` × ``max_nodes``."""
    def check(limit: object, name: str) -> int | None:
        if limit is None:
            return None
        if isinstance(limit, bool) or not isinstance(limit, Integral) or limit < 1:
            raise ValueError(f"{name} must be a positive int or None, got {limit!r}")
        return int(limit)  # a numpy integer counts like an int

    nodes = check(max_nodes, "max_nodes")
    if isinstance(max_edges, str) and max_edges == "auto":
        return nodes, None if nodes is None else ARROWS_PER_VALUE * nodes
    return nodes, check(max_edges, 'max_edges (or "auto")')


def _refuse_beyond(root: Value, limit: int | None, arrow_limit: int | None) -> None:
    """Raises :class:`DrawingTooLargeError` when ``root``'s graph is over either limit.

    ``limit`` bounds the Values, ``arrow_limit`` the arrows into ops (every
    input of every op, a repeated input once per use, as drawn); ``None``
    is no bound. One walk counts both and stops at twice either limit, so
    refusing a graph of millions costs about as much as counting to the
    limit: up to twice the limit the message gives the exact count, beyond
    it "at least" the count reached.
    """
    count, arrows, exact = count_up_to(root, math.inf if limit is None else 2 * limit,
                                       math.inf if arrow_limit is None else 2 * arrow_limit)
    name = root.label or "this Value"
    if limit is not None and count > limit:
        if exact:
            raise DrawingTooLargeError(
                f"the graph of {name} has {count} Values, more than max_nodes={limit}; dot "
                f"needs about a second per 1,000 Values and much longer beyond (minutes at "
                f"10,000). Draw one example rather than a batch, or pass max_nodes={count} "
                f"(or max_nodes=None) to draw it anyway.", count, limit,
            )
        raise DrawingTooLargeError(
            f"the graph of {name} has at least {count} Values (counting stopped there), "
            f"more than twice max_nodes={limit}; dot needs about a second per 1,000 Values "
            f"and much longer beyond (minutes at 10,000). Draw one example rather than a "
            f"batch, or pass max_nodes=None to draw it anyway.", count, limit, exact=False,
        )
    if arrow_limit is None or arrows <= arrow_limit:
        return
    why = "dot's layout time grows much faster than the arrows: one Σ over 7,000 takes minutes"
    if exact:
        raise DrawingTooLargeError(
            f"the graph of {name} has {arrows} arrows into its ops (an input used twice "
            f"counts twice), more than max_edges={arrow_limit} ({why}). Draw a smaller "
            f"graph, or pass max_edges={arrows} (or max_edges=None) to draw it anyway.",
            arrows, arrow_limit, what="arrows",
        )
    raise DrawingTooLargeError(
        f"the graph of {name} has at least {arrows} arrows into its ops (counting stopped "
        f"there), more than twice max_edges={arrow_limit} ({why}). Draw a smaller graph, "
        f"or pass max_edges=None to draw it anyway.", arrows, arrow_limit, exact=False,
        what="arrows",
    )


# --- the plan -------------------------------------------------------------------------


_FAR = 3
"""Levels an arrow may span beyond a node's first use before it is drawn from a copy."""

_SPAN = 1000
"""Above this :attr:`Layout.span`, ``dot``'s positioning pass is given an iteration budget."""


class Layout(NamedTuple):
    """How one graph is laid out, by index in the drawn order (inputs first, the root last)."""

    consumers: list[list[int]]
    """For each node, the indices of the ops that use it (each once, in order)."""
    levels: list[int]
    """Each node's earliest level: 0 for a leaf, else one more than its deepest input's."""
    far: frozenset[tuple[int, int]]
    """The (input, consumer) pairs whose arrow starts at a dashed copy of the input's box."""
    span: int
    """About how many levels all arrows cross: the virtual nodes ``dot`` will position."""
    groups: list[tuple[str, list[int]]]
    """``("same", indices)`` per layer group of more than one node, in the notes' index order."""

    @property
    def budgeted(self) -> bool:
        """Whether ``dot``'s positioning needs an iteration budget (``nslimit``)."""
        return self.span > _SPAN


def plan(order: Sequence[Value], index: Mapping[int, int]) -> Layout:
    """Reads the drawn order once into a :class:`Layout`.

    Args:
        order: The nodes in reading order, inputs first, the root last.
        index: ``id(node)`` → its position in ``order``.

    Returns:
        The consumers, earliest levels, copied arrows, span and layer groups.
    """
    consumers: list[list[int]] = [[] for _ in order]  # index → consumer indices
    for i, v in enumerate(order):
        for c in dict.fromkeys(id(c) for c in v.inputs):
            consumers[index[c]].append(i)
    early, late = _levels(order, index, consumers)
    far = _far_inputs((early, late), consumers)
    span = _span(order, index, early, late, far)
    return Layout(consumers, early, far, span, _layer_groups(order))


def _levels(order: Sequence[Value], index: Mapping[int, int],
            consumers: Sequence[Sequence[int]]) -> tuple[list[int], list[int]]:
    """Each node's earliest and latest level (``order`` has inputs first, the root last).

    Earliest: 0 for a leaf, else one more than its deepest input's. Latest:
    the root's earliest level for the root, else one less than its earliest
    consumer's. ``dot`` ranks every node somewhere between the two.
    """
    early = [0] * len(order)
    for i, v in enumerate(order):
        inputs = v.inputs
        if inputs:
            early[i] = 1 + max([early[index[id(c)]] for c in inputs])
    late = [0] * len(order)
    top = early[-1] if early else 0
    for i in range(len(order) - 1, -1, -1):
        users = consumers[i]
        late[i] = min([late[u] for u in users]) - 1 if users else top
    return early, late


def _far_inputs(levels: Sequence[Sequence[int]],
                consumers: Sequence[Sequence[int]]) -> frozenset[tuple[int, int]]:
    """The (input, consumer) pairs whose arrow is drawn from a copy of the input's box.

    A node used again many levels after its first use (``x`` in
    ``tanh(tanh(x·0.9 + x)·0.9 + x)…``, or in ``x·0.5 + x·0.5 + …``) would
    need an arrow across every level in between; ``dot`` routes each such
    arrow through one virtual node per rank, and laying those out grows with
    the square of the depth (29 levels: ~40 s; 100 terms: ~40 s). So an
    arrow to a consumer more than :data:`_FAR` levels after the node's first
    consumer, counted in earliest or in latest levels (:func:`_levels`),
    starts at a dashed copy of the box drawn next to that consumer. The
    first consumer's arrow always starts at the box itself.
    """
    far: set[tuple[int, int]] = set()
    for c, users in enumerate(consumers):
        if len(users) > 1:
            for level in levels:
                first = min([level[i] for i in users])
                far.update((c, i) for i in users if level[i] - first > _FAR)
    return frozenset(far)


def _span(order: Sequence[Value], index: Mapping[int, int], early: Sequence[int],
          late: Sequence[int], far: frozenset[tuple[int, int]]) -> int:
    """About how many levels all arrows cross: the virtual nodes ``dot`` will position.

    Each arrow counts the larger of its lengths in earliest levels (a leaf
    sitting just before its first consumer) and in latest levels; an arrow
    from a copy counts 1. Dense graphs (many arrows into wide Σ nodes) reach
    thousands even with copies; above :data:`_SPAN` the drawing sets
    ``nslimit`` so that placing the nodes stays within seconds.
    """
    place = list(early)
    for j, v in enumerate(order):
        if not v.inputs:
            place[j] = late[j]  # a leaf: just before its first consumer
    total = 0
    for i, v in enumerate(order):
        for c in v.inputs:
            j = index[id(c)]
            total += 1 if (j, i) in far else max(early[i] - place[j], late[i] - late[j])
    return total


def _indices(sub: str) -> tuple[int, ...]:
    """The indices of a label's subscript: ``"01"`` → (0, 1), ``"1,12"`` → (1, 12)."""
    parts = sub.split(",") if "," in sub else list(sub)
    return tuple(int(p) for p in parts if p)


def _layer_groups(order: Sequence[Value]) -> list[tuple[str, list[int]]]:
    """Layer groups, one rank each, members in the notes' index order.

    Every ``z_j^(l)``; every ``a_j^(l)``; and each layer's parameters neuron
    by neuron (``w_j0, w_j1, …, b_j``, then neuron ``j + 1``), so that a
    neuron's weights and bias sit next to its Σ node, as in the notes'
    diagrams.
    """
    groups: dict[tuple[str, str], list[tuple[tuple[int, ...], int]]] = {}
    for i, v in enumerate(order):
        m = _NN_LABEL.fullmatch(v.label)
        if m:
            kind, sub, layer = m.groups()
            ix = _indices(sub or "")
            if kind in "wb":
                key: tuple[int, ...] = (*ix[:1], kind == "b", *ix[1:])
                groups.setdefault(("wb", layer), []).append((key, i))
            else:
                groups.setdefault((kind, layer), []).append((ix, i))
    out: list[tuple[str, list[int]]] = []
    for members in groups.values():
        ids = [i for _, i in sorted(members)]
        if len(ids) > 1:
            out.append(("same", ids))
    return out
