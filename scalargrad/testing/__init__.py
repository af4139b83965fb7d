"""Gradient checks and Hypothesis strategies for your own property tests.

Three tools for checking a derivation against the engine::

    from scalargrad.testing import gradcheck, assert_grads_equal, chains

``gradcheck(fn, inputs)`` compares every input's gradient from ``backward()``
with a central finite difference ``(f(x + h) − f(x − h)) / 2h``.
``assert_grads_equal(engine, formula)`` compares the engine's grads with your
hand formula and names each label that disagrees. The Hypothesis strategies
:func:`expressions`, :func:`chains` and :func:`networks` draw random graphs,
the notes' one-neuron-per-layer chain and many-neuron networks, so a property
test of the notes' formula takes five lines::

    @given(chains(min_depth=1, max_depth=6))
    def test_notes_formula(ex):
        c = ex.build(); c.cost.backward()
        a, z = c.a[-1].data, c.z[-1].data                    # a^(L), z^(L)
        assert_grads_equal(c.w[-1:], [2 * (a - ex.y) * sigmoid_prime(z) * c.a[-2].data])

(``sigmoid_prime`` from :mod:`scalargrad.formulas`, or written by hand.)

Hypothesis is optional: this module imports it only when a strategy function
is called (install the ``test`` extra).

The package has one module per job: :mod:`~scalargrad.testing.checks`
(``gradcheck``, ``assert_grads_equal``), :mod:`~scalargrad.testing.examples`
(the drawn expressions, chains and networks) and
:mod:`~scalargrad.testing.strategies` (the Hypothesis strategies) and
:mod:`~scalargrad.testing.derivation` (``check_derivative``: your own formula
for a derivative against the engine, with Hypothesis's smallest counterexample).
"""

from __future__ import annotations

from .checks import GradcheckResult, InputCheck, assert_grads_equal, gradcheck
from .derivation import CheckArgumentError, DerivativeCheck, check_derivative
from .examples import (
    OPS,
    ChainExample,
    Expression,
    ExpressionGraph,
    NetworkExample,
    NetworkGraph,
    Record,
)
from .strategies import chains, expressions, networks

__all__ = [
    "OPS",
    "ChainExample",
    "CheckArgumentError",
    "DerivativeCheck",
    "Expression",
    "ExpressionGraph",
    "GradcheckResult",
    "InputCheck",
    "NetworkExample",
    "NetworkGraph",
    "Record",
    "assert_grads_equal",
    "chains",
    "check_derivative",
    "expressions",
    "gradcheck",
    "networks",
]
