"""Shared test set-up: Hypothesis profiles.

``ci`` (loaded when the CI environment variable is set, as CI does) is
deterministic with no deadline and no example database; ``dev`` is the default
locally, also without a deadline (finite-difference checks take milliseconds).
Choose one with ``HYPOTHESIS_PROFILE=thorough pytest`` for a longer run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
