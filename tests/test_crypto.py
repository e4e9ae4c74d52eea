from __future__ import annotations

import os
import stat

import pytest

from dropstream import crypto


@pytest.fixture
def key_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DROPSTREAM_HOME", str(tmp_path))
    monkeypatch.delenv("DROPSTREAM_SECRET_KEY", raising=False)
    crypto.reset_cache()
    yield tmp_path
    crypto.reset_cache()


def test_a_key_file_is_created_with_mode_0600_when_no_secret_exists(key_home):
    assert crypto.ensure_key([]) == "created"
    mode = stat.S_IMODE(os.stat(key_home / "secret.key").st_mode)
    assert mode == 0o600


def test_a_missing_key_over_existing_secrets_is_refused_and_no_key_is_made(key_home):
    crypto.ensure_key([])
    stored = crypto.encrypt("hello")
    (key_home / "secret.key").unlink()
    with pytest.raises(crypto.SecretKeyError, match="key is missing"):
        crypto.ensure_key([stored])
    assert not (key_home / "secret.key").exists()


def test_a_wrong_key_is_refused(key_home, monkeypatch):
    crypto.ensure_key([])
    stored = crypto.encrypt("hello")
    monkeypatch.setenv("DROPSTREAM_SECRET_KEY", "another key")
    with pytest.raises(crypto.SecretKeyError, match="does not open the stored secrets"):
        crypto.ensure_key([stored])


def test_round_trip_and_mask(key_home):
    crypto.ensure_key([])
    stored = crypto.encrypt("abcdefgh12345678")
    assert stored.startswith("fernet:") and "abcdefgh" not in stored
    assert crypto.decrypt(stored) == "abcdefgh12345678"
    assert crypto.mask_secret("abcdefgh12345678") == "••••5678"
    assert crypto.mask_secret("short") == "••••"
