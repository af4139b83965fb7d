"""Shared test set-up: Hypothesis profiles and the ``patch_rule`` fixture.

``ci`` (loaded when the CI environment variable is set, as CI does) is
deterministic with no deadline and no example database; ``dev`` is the default
locally, also without a deadline (finite-difference checks take milliseconds).
Choose one with ``HYPOTHESIS_PROFILE=thorough pytest`` for a longer run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

Forward = Callable[..., tuple[float, tuple[float, ...]]]

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("thorough", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def patch_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Forward], None]]:
    """Replaces a rule's forward in RULES and in the engine's cached rule constants."""
    import scalargrad.engine as engine
    from scalargrad.rules import RULES

    def patch(name: str, forward: Forward) -> None:
        old = RULES[name]
        new = dataclasses.replace(old, forward=forward)
        monkeypatch.setitem(RULES, name, new)
        for attr, val in list(vars(engine).items()):  # the engine may cache rules or forwards
            if val is old:
                monkeypatch.setattr(engine, attr, new)
            elif val is old.forward:
                monkeypatch.setattr(engine, attr, forward)

    yield patch
