"""Loaded with ``-p tests.env`` (pyproject addopts) before pytest-django reads the settings:
every test process gets a private data directory and key, and an immediate queue."""

from __future__ import annotations

import os
import tempfile

os.environ["DROPSTREAM_HOME"] = tempfile.mkdtemp(prefix="dropstream-test-")
os.environ.setdefault("DROPSTREAM_SECRET_KEY", "test-key-not-for-production")
os.environ.setdefault("DROPSTREAM_QUEUE_IMMEDIATE", "true")
os.environ.setdefault("DROPSTREAM_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Every simulator serves on loopback: let the platforms' clients reach it (the tests of the
# address guard set their own policy).
os.environ.setdefault("DROPSTREAM_ALLOWED_STORE_HOSTS", "127.0.0.1,::1,localhost")
os.environ.setdefault("DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS", "127.0.0.1,::1,localhost")
