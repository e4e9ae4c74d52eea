"""Test-wide set-up: an isolated data directory and key, the secret-leak check, fixtures."""

from __future__ import annotations

# The environment is set by tests/env.py, loaded first with -p (see pyproject addopts).

pytest_plugins = [
    "tests.fixtures.secret_leaks",
    "tests.fixtures.domain",
    "tests.fixtures.sftp",
    "tests.fixtures.brightsites",
    "tests.fixtures.http_server",
    "tests.fixtures.processes",
]
