"""Where steps and explanations used to live: a re-export of their new homes.

:mod:`scalargrad.steps` holds :func:`backward_steps` and its records,
:mod:`scalargrad.explanations` the sum over paths (:func:`explain`), and
:mod:`scalargrad.notation` the number format, ∂-text and LaTeX. Every name
``scalargrad.trace`` gave is still importable from here (notebooks and older
code import it); new code imports from the modules above.
"""

from __future__ import annotations

from .errors import TooManyPathsError
from .explanations import (
    DEFAULT_MAX_FACTORS,
    Explanation,
    Factor,
    Path,
    explain,
)
from .notation import (
    SIGNIFICANT,
    derivative_text,
    fmt,
    latex_derivative,
    latex_name,
)
from .steps import (
    Contribution,
    Step,
    _steps,  # noqa: F401  (the step replay; tests count its calls)
    backward_steps,
    paths_over_one,
)

__all__ = [
    "DEFAULT_MAX_FACTORS",
    "SIGNIFICANT",
    "Contribution",
    "Explanation",
    "Factor",
    "Path",
    "Step",
    "TooManyPathsError",
    "backward_steps",
    "derivative_text",
    "explain",
    "fmt",
    "latex_derivative",
    "latex_name",
    "paths_over_one",
]
