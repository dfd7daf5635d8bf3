"""Hypothesis profiles for the suite (loaded by ``tests/conftest.py`` before any test module).

- ``ci`` (the default): derandomised — the same examples on every run and every machine, so a
  red CI run is reproducible and a green one is not luck; no example database.
- ``nightly``: random seeds and ten times the examples of each test (``ALVH_HYPOTHESIS_PROFILE=
  nightly pytest -m "unit or data or process"``), for a scheduled run that searches wider.

Tests that set their own example count write ``max_examples=examples(n)``: ``n`` in CI, ``10 n``
nightly."""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE_ENV = "ALVH_HYPOTHESIS_PROFILE"
NIGHTLY_FACTOR = 10

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "nightly", derandomize=False, max_examples=100 * NIGHTLY_FACTOR, deadline=None, print_blob=True
)


def profile_name() -> str:
    name = os.environ.get(PROFILE_ENV, "ci")
    if name not in ("ci", "nightly"):
        raise ValueError(f"{PROFILE_ENV}={name!r}: the profiles are 'ci' and 'nightly'")
    return name


def load() -> str:
    name = profile_name()
    settings.load_profile(name)
    return name


def examples(n: int) -> int:
    """A test's own example count under the active profile."""
    return n * NIGHTLY_FACTOR if profile_name() == "nightly" else n
