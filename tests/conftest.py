"""Test-wide set-up: an isolated data directory and key, the secret-leak check, fixtures."""

from __future__ import annotations

import os

# The environment is set by tests/env.py, loaded first with -p (see pyproject addopts).
import pytest
from hypothesis import settings

# The suite's property tests are derandomized: the same examples on every run, so CI fails on a
# change, never on a dice roll. Exploring is benchmarks/fuzz.py's job (or
# HYPOTHESIS_PROFILE=explore), and what it finds becomes an @example or a corpus file.
settings.register_profile("suite", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

pytest_plugins = [
    "tests.fixtures.secret_leaks",
    "tests.fixtures.domain",
    "tests.fixtures.sftp",
    "tests.fixtures.brightsites",
    "tests.fixtures.http_server",
    "tests.fixtures.processes",
]


@pytest.fixture(autouse=True)
def _forget_login_failures(request, django_db_blocker):
    """Log-in failure counts live in the database cache table, which a transactional test's
    flush leaves alone (it is no model): forget them, so a test that locked 127.0.0.1 does not
    lock the tests after it. Rolled back with everything else in an ordinary ``db`` test."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server"))
    if not transactional:
        return
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    if isinstance(caches["default"], DatabaseCache):  # never FLUSHDB a shared Redis
        with django_db_blocker.unblock():
            caches["default"].clear()
