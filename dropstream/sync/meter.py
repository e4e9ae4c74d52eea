"""The hub's request meter: every attempt an adapter reports becomes an ApiCall row."""

from __future__ import annotations

import threading
from collections import Counter

from dropstream.logs import redact
from dropstream.platforms.base import MeteredCall
from dropstream.scheduling.models import ApiCall


class DbMeter:
    """A MeterSink bound to a connection, store and channel.

    Rows are buffered and written in bulk once ``buffer_size`` have gathered (0, the default,
    writes each call as it happens), so a run killed half-way loses at most ``buffer_size`` rows
    of its bill; ``flush()`` writes the rest and every run calls it at its end.

    Calls may come from worker threads (concurrent detail reads); only the thread that created
    the meter writes to the database, so a worker never opens a database connection of its own.
    Rows reported by workers wait for the owner's next call or ``flush()``.
    ``by_endpoint`` counts this run's calls for its summary.
    """

    def __init__(self, *, connection=None, store=None, channel: str = "",
                 buffer_size: int = 0, billed: bool = True) -> None:
        self.connection = connection
        # Warehouse operations are metered too, but against no store: they are not on the
        # store's bill (``billed=False``).
        self.store = (store if store is not None else getattr(connection, "store", None)) \
            if billed else None
        self.channel = channel
        self.buffer_size = max(0, buffer_size)
        self.by_endpoint: Counter[str] = Counter()
        self._pending: list[ApiCall] = []
        self._lock = threading.Lock()
        self._owner = threading.get_ident()

    def __call__(self, call: MeteredCall) -> None:
        row = ApiCall(
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
        with self._lock:
            self.by_endpoint[call.endpoint] += 1
            self._pending.append(row)
            due = len(self._pending) > self.buffer_size
        if due and threading.get_ident() == self._owner:
            self.flush()

    def flush(self) -> int:
        """Write every buffered row (owner thread only; a no-op elsewhere). Returns how many."""
        if threading.get_ident() != self._owner:
            return 0
        with self._lock:
            rows, self._pending = self._pending, []
        if rows:
            ApiCall.objects.bulk_create(rows, batch_size=500)
        return len(rows)

    @property
    def pending(self) -> int:
        """Rows reported but not yet written."""
        with self._lock:
            return len(self._pending)

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())
