"""scalargrad: an exact scalar reverse-mode autodiff engine for learning and checking backprop.

The public API::

    from scalargrad import Value, DomainError
    w, a, b, y = Value(0.5, "w^(L)"), Value(0.7, "a^(L-1)"), Value(0.1, "b^(L)"), Value(1.0, "y")
    cost = ((w * a + b).sigmoid() - y).square()
    cost.backward()
    w.grad  # = 2(a^(L) − y)·σ'(z^(L))·a^(L−1)
"""

from .codegen import Compiled
from .codegen import compile_graph as compile  # noqa: F401  (public, not in __all__)
from .engine import Value, affine, sum_values
from .errors import (
    CheckArgumentError,
    DomainError,
    DotNotFoundError,
    DotTimeoutError,
    DrawingTooLargeError,
    GraphTooLargeError,
    ParseError,
    PlaygroundError,
    TooManyPathsError,
    VariableError,
)
from .explanations import Explanation, explain
from .graph import forward_order, topological_order
from .higher import grad, hessian, hvp
from .ops import Op, OpArityError, OpDefinitionError, OpNameError, OpSymbolError, define_op
from .page import save_steps_html, show_steps
from .rules import RULES, Rule
from .steps import Step, backward_steps
from .viz import draw, draw_steps, write_drawing

__version__ = "0.1.0"

# ``scalargrad.compile`` is public but left out of ``__all__`` so that
# ``from scalargrad import *`` never shadows the builtin ``compile``.
__all__ = [
    "RULES",
    "CheckArgumentError",
    "Compiled",
    "DomainError",
    "DotNotFoundError",
    "DotTimeoutError",
    "DrawingTooLargeError",
    "Explanation",
    "GraphTooLargeError",
    "Op",
    "OpArityError",
    "OpDefinitionError",
    "OpNameError",
    "OpSymbolError",
    "ParseError",
    "PlaygroundError",
    "Rule",
    "Step",
    "TooManyPathsError",
    "Value",
    "VariableError",
    "__version__",
    "affine",
    "backward_steps",
    "define_op",
    "draw",
    "draw_steps",
    "explain",
    "forward_order",
    "grad",
    "hessian",
    "hvp",
    "save_steps_html",
    "show_steps",
    "sum_values",
    "topological_order",
    "write_drawing",
]
