"""Trust on first use of an SFTP server's host key, for the adapters that read files over SFTP
(DSFX, X12): the key the server first presents is pinned in the connection's state
(``host_key``); a different one later stops the run (``HostKeyMismatch``) and waits in
``pending_host_key`` until a person checks with the warehouse and accepts it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from dropstream.platforms.errors import HostKeyMismatch, PlatformError
from dropstream.platforms.transport.sftp import fingerprint
from dropstream.platforms.values import PendingChange


class HostKeyTrust:
    """Mixed into an adapter with a ``context.state``; ``HOST_KEY_TITLE``,
    ``HOST_KEY_WAITING`` and ``HOST_KEY_OWNER`` say, in the platform's words, what changed, what
    waits and whom to ask."""

    HOST_KEY_TITLE: ClassVar[str]
    HOST_KEY_WAITING: ClassVar[str]
    HOST_KEY_OWNER: ClassVar[str] = "the warehouse"
    context: Any

    def _pin_host_key(self, key_text: str) -> None:
        """The transport's ``on_new_host_key``: the first key presented is the one expected."""
        self.context.state["host_key"] = key_text

    def note_failure(self, error: PlatformError) -> None:
        """Keep a changed host key the server presented, for a person to accept."""
        if isinstance(error, HostKeyMismatch) and error.presented_key:
            self.context.state["pending_host_key"] = error.presented_key

    @classmethod
    def pending_change(cls, state: Mapping[str, Any]) -> PendingChange | None:
        presented = str(state.get("pending_host_key") or "")
        if not presented:
            return None
        return PendingChange(
            title=cls.HOST_KEY_TITLE,
            message=(f"{cls.HOST_KEY_WAITING} wait until you check with {cls.HOST_KEY_OWNER} "
                     "that the server really changed, then trust the new key. Until then the "
                     "password is never sent to it."),
            details=(("Trusted", fingerprint(str(state.get("host_key") or "")) or "(none)"),
                     ("Presented now", fingerprint(presented) or "(unreadable key)")),
            action="Trust the new host key")

    @classmethod
    def accept_pending_change(cls, state: dict[str, Any]) -> None:
        presented = str(state.get("pending_host_key") or "")
        if not presented:
            raise ValueError("no new host key is waiting to be accepted")
        state["host_key"], state["pending_host_key"] = presented, ""
