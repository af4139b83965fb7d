"""The teaching path's one reading of a graph: its tape, reading order, names and steps.

A drawing of backward's steps and the step page both need the graph's
reading order, its display names and one replay of backward as
:class:`~scalargrad.steps.Step` records. :class:`Walk` computes each of them
once, when first asked for, and :func:`~scalargrad.viz.frames` and
:func:`~scalargrad.page.steps_html` read them from it.
"""

from __future__ import annotations

from .engine import Value
from .graph import Tape, forward_order
from .names import naming
from .steps import Step, _steps

__all__ = ["Walk"]


class Walk:
    """``root``'s graph read once for teaching: tape, reading order, names, steps.

    Every attribute is computed on first use and kept, so a caller that only
    checks ``len(walk.order)`` pays for nothing else. The graph must not
    change while the walk is used (nodes are immutable; grads are what the
    replay reads, and it restores them).

    Attributes:
        root: The node differentiated (usually the cost).

    Example:
        >>> from scalargrad import Value
        >>> from scalargrad.walk import Walk
        >>> x = Value(3.0, "x")
        >>> walk = Walk((x * x).label_as("y"))
        >>> [walk.names[id(v)] for v in walk.order], len(walk.steps)
        (['x', 'y'], 1)
        >>> walk.final[id(x)], x.grad  # the replay leaves the grads as they were
        (6.0, 0.0)
    """

    def __init__(self, root: Value) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Walk needs a Value, not {type(root).__name__}")
        self.root = root
        self._tape: Tape[Value] | None = None
        self._order: list[Value] | None = None
        self._naming: tuple[dict[int, str], dict[str, Value]] | None = None
        self._steps: list[Step] | None = None
        self._finals: list[tuple[bool, ...]] = []
        self._final: dict[int, float] = {}

    @property
    def tape(self) -> Tape[Value]:
        """The graph in backward's order (:class:`~scalargrad.graph.Tape`)."""
        if self._tape is None:
            self._tape = Tape.of(self.root)
        return self._tape

    @property
    def order(self) -> list[Value]:
        """The nodes in reading order (:func:`~scalargrad.graph.forward_order`)."""
        if self._order is None:
            self._order = forward_order(self.root)
        return self._order

    @property
    def naming(self) -> tuple[dict[int, str], dict[str, Value]]:
        """The display names and the made-up names' nodes (:func:`~scalargrad.names.naming`)."""
        if self._naming is None:
            self._naming = naming(self.root, self.order)
        return self._naming

    @property
    def names(self) -> dict[int, str]:
        """Display names by ``id(node)`` (:func:`~scalargrad.names.display_names`)."""
        return self.naming[0]

    @property
    def steps(self) -> list[Step]:
        """Backward's steps, replayed once from zero grads; the graph's grads are restored.

        Raises:
            DomainError: A step's contribution is not finite.
        """
        if self._steps is None:
            self._replay()
        assert self._steps is not None
        return self._steps

    @property
    def finals(self) -> list[tuple[bool, ...]]:
        """For each step, for each contribution: whether it was the input's last one.

        After a final contribution the input's gradient is final; before it
        the input holds a partial sum (not every consumer has sent).
        """
        self.steps  # noqa: B018  (the replay fills it)
        return self._finals

    @property
    def final(self) -> dict[int, float]:
        """``∂root/∂node`` by ``id(node)`` for every node, from the replay."""
        self.steps  # noqa: B018
        return self._final

    def _replay(self) -> None:
        nodes = self.tape.nodes
        saved = [v.grad for v in nodes]
        finals: list[tuple[bool, ...]] = []
        try:
            for v in nodes:
                v.grad = 0.0
            steps = list(_steps(self.root, self.tape, self.names, finals))
            final = {id(v): v.grad for v in nodes}
        finally:
            for v, g in zip(nodes, saved):
                v.grad = g
        self._steps, self._finals, self._final = steps, finals, final
