"""Walks over a computation graph: backward's order, reading order, and the reverse walk.

Both orders are iterative (a chain a million nodes deep needs no recursion)
and deterministic: they depend only on the order of each node's ``inputs``.
They read nodes only through ``inputs`` (and :class:`Tape` through
``local_grads``), so this module needs nothing from
:mod:`scalargrad.engine` at run time.

A :class:`Tape` is a graph read once: backward's order, each node's inputs
as positions on the tape, its local derivatives and its consumer counts.
:func:`reverse` is the one reverse iteration over a tape, in backward's
order and with backward's accumulation: ``∂root/∂u += ∂root/∂v · ∂v/∂u``,
added in the order the consumers are processed, and a consumer whose
``∂root/∂v`` is 0 sends nothing. ``grad`` (floats and Values), the steps,
the frames and the compiled replay's diagnosis are all this walk;
:meth:`Value.backward` is the same loop fused into the nodes' slots for
speed, and a property test checks that the two agree bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .engine import Value

__all__ = [
    "Sent", "Tape", "consumer_counts", "count_up_to", "forward_order", "reverse",
    "topological_order",
]

N = TypeVar("N")
_LOCAL_GRADS = attrgetter("local_grads")


def topological_order(root: Value) -> list[Value]:
    """Returns every node below ``root`` once, root first, consumers before inputs.

    This is the order backward processes nodes in. It is Kahn's algorithm: a
    node is released only when every consumer has been released, i.e. when
    all of them have sent their share of its gradient. It uses no recursion
    and is deterministic (it depends only on the order of ``inputs``).

    Args:
        root: The node to start from (usually the cost).

    Returns:
        The nodes, ``order[0] is root``.
    """
    nodes, _, order, _ = _kahn(root)
    return list(map(nodes.__getitem__, order))


def _kahn(root: Value) -> tuple[list[Value], list[tuple[int, ...]], list[int], list[int]]:
    """Kahn's algorithm over numbered nodes (each node's ``inputs`` is read once).

    Returns ``(nodes, inputs, order, counts)``: the nodes numbered as found
    (``nodes[0] is root``), each one's inputs as numbers (duplicates kept),
    backward's order as numbers, and each one's consumer count. Counting and
    releasing on lists of numbers is cheaper than in a dict keyed by node
    (a wide node's inputs are numbered in one ``itemgetter`` call). Nodes
    are numbered breadth first; backward's order depends only on the counts
    and on the order of each node's ``inputs``, not on the numbering.
    """
    # Pass 1: number every node and its inputs.
    ids = {root: 0}
    nodes = [root]
    found = nodes.append
    ins_ids: list[tuple[int, ...]] = []
    keep = ins_ids.append
    n = 1
    for v in nodes:  # grows while it is read: every node is read once
        ins = v.inputs
        size = len(ins)
        if size == 2:
            c, e = ins
            if c not in ids:
                ids[c] = n
                n += 1
                found(c)
            if e not in ids:
                ids[e] = n
                n += 1
                found(e)
            keep((ids[c], ids[e]))
        elif size > 2:
            for c in ins:
                if c not in ids:
                    ids[c] = n
                    n += 1
                    found(c)
            keep(itemgetter(*ins)(ids))
        elif ins:
            c = ins[0]
            if c not in ids:
                ids[c] = n
                n += 1
                found(c)
            keep((ids[c],))
        else:
            keep(())
    # Count, for every node, how many edges come into it from consumers.
    left = [0] * n
    for numbers in ins_ids:
        for i in numbers:
            left[i] += 1
    counts = left[:]
    # Pass 2: release a node once all its consumers have been released.
    order: list[int] = []
    ready = [0]
    pop, push, emit = ready.pop, ready.append, order.append
    while ready:
        j = pop()
        emit(j)
        for i in reversed(ins_ids[j]):
            m = left[i] - 1
            left[i] = m
            if not m:
                push(i)
    return nodes, ins_ids, order, counts


def forward_order(root: Value) -> list[Value]:
    """Returns every node below ``root`` once, inputs before consumers, in reading order.

    The order in which the notes read a network: level by level from the
    inputs, every op after all of its inputs, and each leaf just before the
    first op that uses it (leaves shared by several ops of that level — a
    layer's inputs — before the others, then as written). So ``nn.chain`` reads ``w^(1), a^(0),
    b^(1), z^(1), a^(1), w^(2), …, y, a^(3) − y, C_0``, an MLP reads its inputs,
    then layer 1's ``w``, ``b``, ``z``, ``a``, then layer 2's, and
    ``(σ(w·a + b) − y)²`` reads ``w, a, w·a, b, …, y, …, root``. Names,
    drawings, frames, the page and compiled code list nodes in this order;
    :func:`topological_order` is backward's order. Iterative (any depth works)
    and deterministic; linear time.

    Args:
        root: The node to start from.

    Returns:
        The nodes, ``order[-1] is root``.
    """
    # One depth-first pass over inputs (post-order: inputs before consumers) that also finds
    # each op's level (one more than its deepest input's; a leaf's is 0), the level of the
    # first ops that use each leaf, and how many edges into ops of that level use it.
    post: list[Value] = []
    level: dict[Value, int] = {root: 0}
    need: dict[Value, int] = {}
    uses: dict[Value, int] = {}
    stack: list[tuple[Value, int]] = [(root, 0)]
    emit, push, pop = post.append, stack.append, stack.pop
    while stack:
        v, i = stack[-1]
        inputs = v.inputs
        if i < len(inputs):
            stack[-1] = (v, i + 1)
            child = inputs[i]
            if child not in level:
                level[child] = 0
                push((child, 0))
            continue
        pop()
        emit(v)
        if inputs:
            h = 0
            for c in inputs:
                lc = level[c]
                if lc > h:
                    h = lc
            h += 1
            level[v] = h
            for c in inputs:
                if not c.inputs:
                    first = need.get(c, h + 1)
                    if h < first:
                        need[c] = h
                        uses[c] = 1
                    elif h == first:
                        uses[c] += 1
    if not root.inputs:
        return post
    # Ops at even slots 2·level, each leaf at the odd slot just before its first consumer.
    slots: list[list[Value]] = [[] for _ in range(2 * level[root] + 1)]
    for v in post:
        slots[2 * level[v] if v.inputs else 2 * need[v] - 1].append(v)
    order: list[Value] = []
    for k, slot in enumerate(slots):
        if k % 2 and len(slot) > 1:  # leaves: shared by a layer first (stable: else as written)
            slot.sort(key=lambda c: -uses[c])
        order.extend(slot)
    return order


def count_up_to(
    root: Value, max_nodes: float, max_arrows: float = math.inf,
) -> tuple[int, int, bool]:
    """Counts the nodes and the arrows of ``root``'s graph, stopping past a bound.

    The size guards (drawings, gradient graphs) refuse a graph of millions
    after counting about as far as their limit, not the whole graph.

    Args:
        root: The node to start from.
        max_nodes: Stop once more nodes than this are found (``math.inf``:
            count them all).
        max_arrows: Stop once more arrows than this are found; an arrow is
            one input of one node, a repeated input once per use.

    Returns:
        ``(nodes, arrows, complete)``: the counts reached (``root``
        included), and whether that was the whole graph (then both counts
        are exact).
    """
    seen = {id(root)}
    stack = [root]
    arrows = 0
    push, pop, add = stack.append, stack.pop, seen.add
    while stack and len(seen) <= max_nodes and arrows <= max_arrows:
        inputs = pop().inputs
        arrows += len(inputs)
        for c in inputs:
            if id(c) not in seen:
                add(id(c))
                push(c)
    return len(seen), arrows, not stack


def consumer_counts(root: Value) -> dict[Value, int]:
    """Maps every node below ``root`` to its number of incoming edges from consumers.

    ``a * a`` counts two edges into ``a``; the root maps to 0. Nodes are dict
    keys by identity (``Value`` keeps ``object``'s hash and equality), which
    is cheaper than keying by ``id()``.

    Args:
        root: The node to start from.

    Returns:
        A dict with every node below ``root`` (and ``root``) as a key.
    """
    nodes, _, _, counts = _kahn(root)
    return dict(zip(nodes, counts))


class Tape(Generic[N]):
    """A graph read once: backward's order, input positions, local derivatives, consumer counts.

    Position ``k`` is the ``k``-th node backward processes (``nodes[0]`` is
    the root); every input's position is larger than its consumers'.
    ``Tape.of(root)`` reads a graph of Values; the compiled replay builds a
    tape of its own records with the constructor.

    Attributes:
        nodes: The nodes in backward's order (consumers before inputs).
        inputs: For each position, its inputs' positions, in input order
            (duplicates kept: ``a * a`` lists ``a`` twice).
        local_grads: For each position, ``∂node/∂input`` per input, in the
            same order.
        consumers: For each position, how many edges come into it from
            consumers (``a * a`` counts two; the root 0).

    Args:
        nodes: As above (any objects; ``position`` needs them hashable).
        inputs: As above.
        local_grads: As above.
        position: Node → position, when the caller has it.
        consumers: As above, when the caller has counted them.
    """

    __slots__ = ("_position", "consumers", "inputs", "local_grads", "nodes")

    def __init__(
        self,
        nodes: list[N],
        inputs: list[tuple[int, ...]],
        local_grads: Sequence[Sequence[float]],
        position: dict[N, int] | None = None,
        consumers: list[int] | None = None,
    ) -> None:
        self.nodes = nodes
        self.inputs = inputs
        self.local_grads = local_grads
        self._position = position
        if consumers is None:
            consumers = [0] * len(nodes)
            for ins in inputs:
                for c in ins:
                    consumers[c] += 1
        self.consumers = consumers

    @staticmethod
    def of(root: Value) -> Tape[Value]:
        """Reads ``root``'s graph once (each node's ``inputs`` and ``local_grads`` once).

        Args:
            root: The node to start from (usually the cost).

        Returns:
            The tape, ``nodes[0] is root``, ``nodes == topological_order(root)``.
        """
        nodes, ins_ids, order, counts = _kahn(root)
        at = [0] * len(order)  # number → position
        for k, d in enumerate(order):
            at[d] = k
        # Each node's input numbers become positions (a wide node's in one itemgetter call).
        # Each numbers tuple is dropped as its replacement is made, so that no more than one
        # tuple per node is alive at once: every surviving container counts towards the
        # cyclic collector's next run, and twice as many made hvp's float pass trigger a
        # full collection of the whole heap (both graphs) where the old fused loop did not.
        inputs: list[tuple[int, ...]] = []
        keep = inputs.append
        for d in order:
            ins = ins_ids[d]
            ins_ids[d] = ()
            size = len(ins)
            if size == 2:
                keep((at[ins[0]], at[ins[1]]))
            elif size > 2:
                keep(itemgetter(*ins)(at))
            elif ins:
                keep((at[ins[0]],))
            else:
                keep(())
        taped = list(map(nodes.__getitem__, order))
        return Tape(taped, inputs, list(map(_LOCAL_GRADS, taped)), None,
                    list(map(counts.__getitem__, order)))

    @property
    def position(self) -> dict[N, int]:
        """Node → position (Values are dict keys by identity); made on first use."""
        if self._position is None:
            self._position = dict(zip(self.nodes, range(len(self.nodes))))
        return self._position

    @property
    def root(self) -> N:
        """The node the tape starts from (position 0)."""
        return self.nodes[0]


Sent = tuple[int, int, Any, Any, Any, bool]
"""What one node sends down one input edge in :func:`reverse` (a plain tuple, for speed).

``(index, input, amount, before, after, final)``: the input's position in
the node's inputs and on the tape; ``upstream · ∂node/∂input`` (added only
when upstream is not 0); the input's accumulated ``∂root/∂input`` before
and after this edge (equal when nothing was sent); and whether this is the
last edge into the input, so that its ``∂root/∂input`` is final.
"""


def reverse(
    tape: Tape[Any],
    seed: Any = 1.0,
    *,
    needed: Sequence[bool] | None = None,
    send: Callable[[Any, int, int], Any] | None = None,
    add: Callable[[Any, Any], Any] | None = None,
    total: Callable[[int, Any], Any] | None = None,
    start: Any = 0.0,
    record: bool = True,
) -> Iterator[tuple[int, Any, Sequence[Sent]]]:
    """The reverse walk: yields ``(position, upstream, sent)`` for every node, in backward's order.

    ``upstream`` is ``∂root/∂node``, final when it is yielded (every consumer
    has sent its share): ``seed`` for the root, else what the consumers
    sent, accumulated in the order they were processed. ``sent`` has one
    :data:`Sent` per input edge, in input order (``[]`` for a leaf), already
    added to the input's accumulator. A node whose ``upstream`` is 0 sends
    nothing (as in backward), so a zero can never turn into a NaN. By
    default the numbers are floats: ``amount = upstream · local_grads[k][i]``
    and accumulating is ``+`` from 0.0, which gives backward's floats bit
    for bit. ``send``, ``add``, ``total`` and ``start`` give other number
    types (``grad(create_graph=True)`` walks with Values).

    With ``record=False`` the walk is the same (the same order, amounts,
    sums and zero rule, so the same upstreams bit for bit) but keeps no
    :data:`Sent` records and no final flags: ``sent`` is always ``()``. It
    is the fast mode for callers that want only each node's upstream
    (``grad``'s two passes); with the default floats and no ``needed``
    each edge is the one statement ``acc[c] += upstream · local``, which
    is what makes ``grad`` about as fast as a loop fused into Kahn's.

    Args:
        tape: The graph.
        seed: ``∂root/∂root``.
        needed: Walk only positions marked True (the nodes that depend on
            the variables asked for); no edge sends into the others. Every
            consumer of a needed node must be needed.
        send: ``send(upstream, k, i)`` is the amount node ``k`` sends down
            input edge ``i``.
        add: ``add(accumulated, amount)`` is the new accumulated value.
        total: ``total(k, accumulated)`` is node ``k``'s upstream (not for the root).
        start: What every node has accumulated before any edge (immutable).
        record: False: yield ``()`` as ``sent`` (see above).

    Yields:
        ``(k, upstream, sent)`` for each position walked (``sent`` a list of
        :data:`Sent`, or ``()`` with ``record=False``).
    """
    inputs, local_grads = tape.inputs, tape.local_grads
    acc = [start] * len(inputs)
    left = list(tape.consumers) if record else []
    # The plain mode: default numbers, every node, no records. Each edge is then the one
    # statement acc[c] = acc[c] + g·local: the same sums in the same order as the loop
    # below (which adds `before + amount`), without its per-edge bookkeeping.
    plain = needed is None and send is None and add is None and not record
    nothing: tuple[Sent, ...] = ()
    k = -1
    for ins in inputs:
        k += 1
        if needed is not None and not needed[k]:
            continue
        g = seed if not k else acc[k] if total is None else total(k, acc[k])
        if plain:
            if g and ins:  # as backward(): a zero upstream sends nothing
                n = len(ins)
                if n == 1:
                    c = ins[0]
                    acc[c] = acc[c] + g * local_grads[k][0]
                elif n == 2:
                    c, d = ins
                    lc, ld = local_grads[k]
                    acc[c] = acc[c] + g * lc
                    acc[d] = acc[d] + g * ld  # after c's: a * a adds twice, in input order
                else:
                    for c, local in zip(ins, local_grads[k]):
                        acc[c] = acc[c] + g * local
            yield k, g, nothing
            continue
        sent: list[Sent] = []
        if ins:
            locals_ = local_grads[k]
            i = -1
            for c in ins:
                i += 1
                if needed is not None and not needed[c]:
                    continue
                amount = g * locals_[i] if send is None else send(g, k, i)
                before = acc[c]
                if g:  # as backward(): a zero upstream sends nothing
                    after = acc[c] = before + amount if add is None else add(before, amount)
                else:
                    after = before
                if record:
                    n = left[c] - 1
                    left[c] = n
                    sent.append((i, c, amount, before, after, not n))
        yield k, g, sent if record else nothing
