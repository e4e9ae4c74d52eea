"""Events a platform delivers to the hub's hook URL (``/hooks/<platform>/<secret>``).

The hub keeps the parts every platform shares — the secret URL, a size limit, the raw body kept
as received, an answer at once, de-duplication by event id, the import from the queue. The
platform keeps what is its own, as a pure function: reading and verifying a body (a signature, a
site that must match) into events. A platform that delivers events declares a ``HookSpec`` and
names it in its ``SPEC.hooks_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class HookRejected(Exception):  # noqa: N818 — an answer, like Django's Http404
    """The body cannot be accepted: ``status`` is the HTTP answer, the message the reason (the
    body is kept with it)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class HookEvent:
    """One event in a delivered body.

    ``topic`` says what it is about: ``order`` (a store's order), ``order_canceled``,
    ``shipment``, ``inventory``. ``event_id`` is the platform's id for it ("" when it has none):
    a second delivery of the same id is kept but not imported again. ``external_id`` names the
    order (or SKU) it concerns, for people looking at deliveries.
    """

    topic: str
    payload: Mapping[str, Any]
    event_id: str = ""
    external_id: str = ""


# body bytes, request headers (lower-case names), the owner's cleaned settings → events;
# raises HookRejected.
HookParser = Callable[[bytes, Mapping[str, str], Mapping[str, Any]], list[HookEvent]]


@dataclass(frozen=True)
class HookSpec:
    """How a platform's deliveries are read, and how to set them up (shown on the Settings tab:
    plain text, one step per line)."""

    parse: HookParser
    setup_steps: tuple[str, ...] = field(default_factory=tuple)
    title: str = "Hook URL"
    # Members the platform needs in the answer to an accepted delivery (a sender that retries
    # until it reads, say, ``{"code": "200"}``), merged into the hub's own answer.
    accepted: Mapping[str, Any] = field(default_factory=dict)
