"""The hub's request meter: every attempt an adapter reports becomes an ApiCall row."""

from __future__ import annotations

from collections import Counter

from dropstream.logs import redact
from dropstream.platforms.base import MeteredCall
from dropstream.scheduling.models import ApiCall


class DbMeter:
    """A MeterSink bound to a connection, store and channel.

    Rows are written as calls happen (autocommit), so a run killed half-way still leaves every
    request it made on the bill. ``by_endpoint`` counts this run's calls for its summary.
    """

    def __init__(self, *, connection=None, store=None, channel: str = "") -> None:
        self.connection = connection
        self.store = store if store is not None else getattr(connection, "store", None)
        self.channel = channel
        self.by_endpoint: Counter[str] = Counter()

    def __call__(self, call: MeteredCall) -> None:
        self.by_endpoint[call.endpoint] += 1
        ApiCall.objects.create(
            connection=self.connection,
            store=self.store,
            channel=self.channel,
            platform=call.platform,
            method=call.method,
            endpoint=call.endpoint[:200],
            status_code=call.status,
            duration_ms=call.duration_ms,
            attempt=call.attempt,
            error=redact(call.error)[:300],
        )

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())
