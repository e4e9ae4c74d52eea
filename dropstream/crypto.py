"""Secrets at rest: Fernet encryption of adapter secrets, and masking for display.

The key comes from ``DROPSTREAM_SECRET_KEY`` (or ``DROPSTREAM_SECRET_KEY_FILE``), else from
``<DROPSTREAM_HOME>/secret.key``, which ``ensure_key`` creates with mode 0600 — but only while no
encrypted value exists: a fresh key over existing secrets would make them unreadable for good.

Errors::

    SecretKeyError          the key is missing, unreadable or does not open existing secrets
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from dropstream.config import data_home, env_str

CIPHERTEXT_PREFIX = "fernet:"
MASK = "••••"
KEY_FILE_NAME = "secret.key"


class SecretKeyError(Exception):
    """The encryption key is missing or wrong; the message says where it was looked for."""


def key_file_path() -> Path:
    return data_home() / KEY_FILE_NAME


def _fernet_key_from_text(text: str) -> bytes:
    """Accept a Fernet key as is; derive one from any other passphrase."""
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, base64.binascii.Error):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def key_source() -> str:
    """Where the key is read from, for `dropstream check` and error messages."""
    if env_str("DROPSTREAM_SECRET_KEY"):
        return "DROPSTREAM_SECRET_KEY"
    return str(key_file_path())


def read_key() -> bytes | None:
    """Return the configured key, or None when neither the variable nor the key file exists."""
    configured = env_str("DROPSTREAM_SECRET_KEY")
    if configured:
        return _fernet_key_from_text(configured)
    path = key_file_path()
    try:
        return _fernet_key_from_text(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretKeyError(f"the key file {path} cannot be read ({exc}); fix its permissions") from exc


def create_key_file() -> Path:
    """Write a new random key to the key file with mode 0600 and return its path."""
    path = key_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    reset_cache()
    return path


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = read_key()
    if key is None:
        raise SecretKeyError(
            f"no encryption key: {key_file_path()} does not exist and DROPSTREAM_SECRET_KEY is "
            "not set; run `dropstream init` or restore the key"
        )
    return Fernet(key)


def reset_cache() -> None:
    _fernet.cache_clear()


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(CIPHERTEXT_PREFIX)


def encrypt(plaintext: str) -> str:
    """Return the stored form of ``plaintext`` (prefix + Fernet token)."""
    return CIPHERTEXT_PREFIX + _fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    """Return the plaintext of a stored value; raise SecretKeyError if the key does not open it."""
    if not is_encrypted(stored):
        return stored
    try:
        return _fernet().decrypt(stored[len(CIPHERTEXT_PREFIX):].encode()).decode()
    except InvalidToken:
        raise SecretKeyError(
            f"the encryption key from {key_source()} does not open the stored secrets; restore the "
            "key that encrypted them (a new key cannot read old secrets)"
        ) from None


def mask_secret(value: str | None) -> str:
    """``••••1234`` for a long secret, ``••••`` for a short one, ``""`` for none."""
    if not value:
        return ""
    return MASK + value[-4:] if len(value) >= 12 else MASK


def ensure_key(stored_secrets: Iterable[str]) -> str:
    """Make sure a usable key exists and opens ``stored_secrets``; return what was done.

    Creates the key file only when there is no key and nothing encrypted exists yet.
    Raises SecretKeyError otherwise, changing nothing.
    """
    sample = next((value for value in stored_secrets if is_encrypted(value)), None)
    reset_cache()
    if read_key() is None:
        if sample is not None:
            raise SecretKeyError(
                f"encrypted secrets exist but the key is missing ({key_file_path()} not found and "
                "DROPSTREAM_SECRET_KEY not set); restore the key file or set the variable — a new "
                "key would make the stored secrets unreadable"
            )
        create_key_file()
        return "created"
    if sample is not None:
        decrypt(sample)
    return "ok"
