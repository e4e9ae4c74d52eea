"""Errors raised by platform adapters, translated at the boundary from library errors.

The type says what the caller should do::

    PlatformError                 base; ``message`` is plain text for an operator
    ├── TransientError            retry later (the run, or the step, may succeed next time)
    │   ├── RateLimited           429; ``retry_after`` seconds when the server said
    │   ├── RemoteServerError     5xx
    │   ├── RemoteTimeout         connect or read timeout
    │   └── RemoteUnavailable     connection refused, reset, DNS failure
    ├── PermanentError            fail; a person must fix something first
    │   ├── CredentialsRejected   401/403, bad login; ``read_only`` when a write was refused
    │   ├── RemoteNotFound        404 of one record (an order, a file)
    │   │   └── AccountNotFound   nothing answers as this store/warehouse account at all
    │   ├── RemoteValidationError 422; ``fields`` maps field → messages
    │   ├── BadResponse           non-JSON or wrong shape; ``field`` names what was wrong
    │   ├── HostKeyMismatch       SFTP host key differs from the pinned one
    │   └── NotSupported          the platform cannot do this (e.g. DSFX cancel)
    └── OrderDataError            one order's data cannot be mapped; ``field`` names it

No message or ``repr`` ever carries a token or password: callers build messages from redacted
URLs only.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base of adapter errors. ``str(error)`` is the operator-facing message.

    ``quotes_remote`` is True when the message repeats what the remote said (an error body, its
    field messages, its size): fine in a run's error for the operator, never in the answer to a
    credentials test, which anybody who can type an address could otherwise use to read pages.
    """

    quotes_remote = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientError(PlatformError):
    """Worth retrying later."""


class RateLimited(TransientError):
    def __init__(self, message: str, *, retry_after: float | None = None, status: int = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class RemoteServerError(TransientError):
    pass


class RemoteTimeout(TransientError):
    pass


class RemoteUnavailable(TransientError):
    pass


class PermanentError(PlatformError):
    """Retrying will not help until a person changes something."""


class CredentialsRejected(PermanentError):
    def __init__(self, message: str, *, status: int | None = None, read_only: bool = False):
        super().__init__(message, status=status)
        self.read_only = read_only


class RemoteNotFound(PermanentError):
    pass


class AccountNotFound(RemoteNotFound):
    """The whole account is unknown where the settings point (a wrong subdomain or host)."""


class RemoteValidationError(PermanentError):
    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None,
                 status: int = 422) -> None:
        super().__init__(message, status=status)
        self.fields = fields or {}


class BadResponse(PermanentError):
    def __init__(self, message: str, *, field: str | None = None, status: int | None = None):
        super().__init__(message, status=status)
        self.field = field


class HostKeyMismatch(PermanentError):
    """``expected``/``presented`` are fingerprints; ``presented_key`` the key text to accept."""

    def __init__(self, message: str, *, host: str, expected: str, presented: str,
                 presented_key: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.expected = expected
        self.presented = presented
        self.presented_key = presented_key


class NotSupported(PermanentError):
    pass


def is_connection_level(error: PlatformError) -> bool:
    """Whether ``error`` is about the store or warehouse connection as a whole (a rejected
    login, an unknown account, a changed host key, the remote down or limiting), not about the
    one record being sent: the run stops and the records wait, unchanged, for the next one."""
    return isinstance(error, TransientError | CredentialsRejected | AccountNotFound
                      | HostKeyMismatch)


class OrderDataError(PlatformError):
    """One order's payload cannot be turned into a hub order; ``field`` is the dotted path."""

    def __init__(self, message: str, *, field: str, external_id: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.external_id = external_id
