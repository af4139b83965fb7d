"""A drop-in for micrograd 0.1.0 whose Values are scalargrad Values.

Change one import line and a micrograd program (its ``demo.ipynb``, the
lecture's code) runs unchanged, with the same numbers::

    from micrograd.engine import Value           # before
    from scalargrad.micrograd.engine import Value  # after
    from scalargrad.micrograd.nn import MLP        # likewise for micrograd.nn

What is the same: the signatures (``Value(data, _children=(), _op='')``,
``Neuron(nin, nonlin=True)``, ``Layer(nin, nout, **kwargs)``,
``MLP(nin, nouts)``), the graph each operation builds (``a - b`` is
``a + (b * -1)``, ``a / b`` is ``a * b**-1``), hence every forward value bit for
bit; ``_prev``, ``_op`` (``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``), ``repr``,
``parameters()``, ``zero_grad()``; weights drawn with ``random.uniform(-1, 1)``
from the global :mod:`random` in the same order, so ``random.seed`` gives
micrograd's network. Gradients agree with micrograd's to rounding (the sums
at a node may be added in another order).

What scalargrad adds: each node is a :class:`scalargrad.Value`, so
:func:`scalargrad.draw`, :func:`scalargrad.explain`,
:func:`scalargrad.backward_steps` and :func:`scalargrad.save_steps_html` work
on it; ``MLP`` labels its weights ``w_jk^(l)`` and biases ``b_j^(l)``; the
lecture's ``tanh`` and ``exp`` exist.

Where micrograd 0.1.0 has a bug, this module differs on purpose:

* **A second ``backward()``.** micrograd resets the root's grad to 1 and
  re-sends every inner node's *accumulated* grad, so calling ``backward()``
  twice without ``zero_grad()`` over-counts (a leaf two ops below the root
  gets 3× its gradient instead of 2×). Here a second call adds exactly the
  same gradient again (every grad doubles), as in PyTorch.
* **Deep graphs.** micrograd's ``backward()`` sorts the graph recursively
  and raises RecursionError past about 1,000 operations in a chain; here
  there is no recursion, and a chain of 10⁶ operations goes backward.
* **Invalid arithmetic.** micrograd lets ``Value(-8) ** 0.5`` become a complex
  number and ``Value(0) ** -1`` raise ZeroDivisionError from inside; here
  both raise :class:`scalargrad.DomainError` naming the operation and
  operand, and a NaN or infinite result is refused instead of propagated.
  Dividing by a plain zero, ``Value(1.0) / 0``, is the same ``DomainError``
  as ``Value(1.0) / Value(0.0)`` (micrograd: Python's ZeroDivisionError from
  ``0 ** -1``); dividing by any other number builds micrograd's graph.
* **The wrong number of inputs.** micrograd's neurons ``zip`` weights with
  inputs, so ``MLP(2, …)`` called with 3 inputs silently ignores the third,
  and with 1 input silently leaves the second weights out. Here ``Neuron``,
  ``Layer`` and ``MLP`` refuse the call, as :class:`scalargrad.nn.MLP` does,
  with a ``ValueError`` naming both counts: "MLP(2, …) expects 2 inputs,
  got 3"; an input that is not a list (or tuple, or other iterable) of
  numbers or Values is a ``TypeError``.

Other differences: ``data`` and ``grad`` are always floats (micrograd keeps
``Value(0)`` an int, so ``repr`` shows ``0.0`` where micrograd shows ``0``);
a node's ``_backward`` is computed from its stored local derivatives and
cannot be replaced by a closure — ``Value(data, (x,), 'tanh')`` with one of
the supported ops builds the node instead.
"""

from . import engine, nn
from .engine import Value
from .nn import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value", "engine", "nn"]
