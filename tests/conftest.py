"""Test-wide set-up: an isolated data directory and key, the secret-leak check, fixtures."""

from __future__ import annotations

import os
import tempfile

# Before Django reads its settings: a private data directory and a fixed key per test process.
os.environ["DROPSTREAM_HOME"] = tempfile.mkdtemp(prefix="dropstream-test-")
os.environ.setdefault("DROPSTREAM_SECRET_KEY", "test-key-not-for-production")
os.environ.setdefault("DROPSTREAM_QUEUE_IMMEDIATE", "true")
os.environ.setdefault("DROPSTREAM_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

pytest_plugins = [
    "tests.fixtures.secret_leaks",
    "tests.fixtures.domain",
]
