"""Metering: every attempt of every request a platform makes is reported here (DESIGN.md
invariant 3)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MeteredCall:
    """One attempt at one request. ``endpoint`` is a template such as ``GET /orders/:id``."""

    platform: str
    method: str
    endpoint: str
    status: int | None  # None when no answer arrived (timeout, connection error)
    duration_ms: float
    attempt: int
    error: str = ""
    # The same for the "sending" notice and the outcome of one attempt (see ``announce``).
    call_id: str = ""


MeterSink = Callable[[MeteredCall], None]


def discard_meter(call: MeteredCall) -> None:
    """A sink for tools that do not record calls."""


def new_call_id() -> str:
    return uuid.uuid4().hex


def announce(sink: MeterSink, call: MeteredCall) -> None:
    """Tell ``sink`` an attempt is about to be sent, if it wants to know (``sink.sending``):
    a meter that journals it keeps the attempt even if the process dies before the answer.
    Transports call this before each attempt, with the ``call_id`` they report it under."""
    sending = getattr(sink, "sending", None)
    if sending is not None:
        sending(call)


def charge(sink: MeterSink, endpoint: str, credits: float) -> None:
    """Tell ``sink`` what the remote charged for an answered request on ``endpoint`` (a credit-
    metered API reports a cost per request), if it wants to know (``sink.charged``)."""
    charged = getattr(sink, "charged", None)
    if charged is not None and credits:
        charged(endpoint, credits)
