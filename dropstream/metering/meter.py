"""The hub's request meter: every attempt an adapter reports becomes an ApiCall row.

A kill must not lose a request that was sent (DESIGN.md invariant 3), yet a database write per
request would sit on the hot path of every import. So each attempt is written first to a journal
file of the meter's own, one JSON line when it is sent and one when it ends (an ``os.write`` to
the page cache: a few microseconds, and it survives ``kill -9``), while the rows go to the
database in bulk, ``buffer_size`` at a time and at the run's end. A process that dies leaves its
journal behind; ``recover_journals`` — called by the scheduler's tick and before every run —
turns the journals of dead processes into rows. Every row carries the attempt's ``call_id``
(unique), so a row already written is never written twice, and an attempt sent but never
answered becomes a row with no status.

Journals live in ``$DROPSTREAM_HOME/meter/``, named ``<host>~<pid>~<token>~<meter>.jsonl``: only a
process on the same host can tell whether the owner is still alive, so each host recovers its
own (a worker restarted on its host does it at once).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from dropstream.bulk import insert_rows
from dropstream.logs import redact
from dropstream.metering.models import ApiCall
from dropstream.platforms.base import MeteredCall

logger = logging.getLogger(__name__)

_HOST = socket.gethostname().replace("~", "-")[:60]
_PROCESS_TOKEN = uuid.uuid4().hex[:8]
# A journal this old is recovered even when a process with its pid runs (the pid was reused).
ORPHAN_AFTER = timedelta(days=1)
UNANSWERED = "no answer was recorded: the process stopped while the request was in flight"


def journal_folder() -> Path:
    return Path(settings.HOME) / "meter"


class DbMeter:
    """A MeterSink bound to a connection, store and channel (see the module docstring).

    Rows are buffered and written in bulk once ``buffer_size`` have gathered (0, the default,
    writes each call as it happens); ``close()`` writes the rest and deletes the journal, and
    every run calls it at its end. Calls may come from worker threads (concurrent detail reads);
    only the thread that created the meter writes to the database, so a worker never opens a
    database connection of its own. ``by_endpoint`` counts this run's calls for its summary.
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
        # Credits a credit-metered remote charged this run, by endpoint (``charged``).
        self.credits: Counter[str] = Counter()
        self._pending: list[ApiCall] = []
        self._lock = threading.Lock()
        self._owner = threading.get_ident()
        self._journal: int | None = None
        self._journal_path = journal_folder() / (
            f"{_HOST}~{os.getpid()}~{_PROCESS_TOKEN}~{uuid.uuid4().hex[:12]}.jsonl")

    # -- the sink --------------------------------------------------------------------------

    def sending(self, call: MeteredCall) -> None:
        """An attempt is about to go out: journal it, so a kill before its answer keeps it."""
        self._write({"t": "sent", **_fields(call), "at": timezone.now().isoformat()})

    def charged(self, endpoint: str, credits: float) -> None:
        """The remote charged ``credits`` for a request on ``endpoint`` (platforms.charge)."""
        with self._lock:
            self.credits[endpoint] += credits

    def __call__(self, call: MeteredCall) -> None:
        now = timezone.now()
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
            call_id=call.call_id or uuid.uuid4().hex,
            at=now,
        )
        self._write({"t": "done", **_fields(call), "id": row.call_id, "error": row.error,
                     "at": now.isoformat()})
        with self._lock:
            self.by_endpoint[call.endpoint] += 1
            self._pending.append(row)
            due = len(self._pending) > self.buffer_size
        if due and threading.get_ident() == self._owner:
            self.flush()

    # -- writing rows ----------------------------------------------------------------------

    def flush(self) -> int:
        """Write every buffered row (owner thread only; a no-op elsewhere). Returns how many."""
        if threading.get_ident() != self._owner:
            return 0
        with self._lock:
            rows, self._pending = self._pending, []
        if rows:
            try:
                insert_rows(rows, ignore_conflicts=True)
            except Exception:
                with self._lock:  # kept for the next flush; the journal has them anyway
                    self._pending[:0] = rows
                raise
        return len(rows)

    def close(self) -> None:
        """Write the rest and drop the journal. If the rows cannot be written, the journal is
        kept for ``recover_journals`` and the error is raised."""
        self.flush()
        with self._lock:
            if self._journal is not None:
                os.close(self._journal)
                self._journal = None
                self._journal_path.unlink(missing_ok=True)

    @property
    def pending(self) -> int:
        """Rows reported but not yet written."""
        with self._lock:
            return len(self._pending)

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())

    def _write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._journal is None:
                self._journal = self._open_journal()
            os.write(self._journal, line)

    def _open_journal(self) -> int:
        self._journal_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        header = {"t": "meter", "connection": getattr(self.connection, "pk", None),
                  "store": getattr(self.store, "pk", None), "channel": self.channel}
        os.write(fd, (json.dumps(header) + "\n").encode())
        return fd


def _fields(call: MeteredCall) -> dict[str, Any]:
    return {"id": call.call_id, "platform": call.platform, "method": call.method,
            "endpoint": call.endpoint[:200], "status": call.status,
            "ms": call.duration_ms, "attempt": call.attempt}


# ---------------------------------------------------------------------------------------------
# Recovering the journals of processes that died
# ---------------------------------------------------------------------------------------------


def _owner_alive(path: Path) -> bool:
    host, _, rest = path.name.partition("~")
    pid_text, _, rest = rest.partition("~")
    token = rest.partition("~")[0]
    if host != _HOST or not pid_text.isdigit():
        return True  # another host's journal: that host recovers it
    if int(pid_text) == os.getpid():
        return token == _PROCESS_TOKEN  # a forked child keeps the pid of no one
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    age = datetime.now(UTC) - datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return age < ORPHAN_AFTER


def rows_from_journal(text: str) -> list[ApiCall]:
    """The ApiCall rows a journal stands for: each finished attempt, and each attempt that was
    sent and never answered. A torn last line (the kill came mid-write) is skipped."""
    header: dict[str, Any] = {}
    done: dict[str, dict[str, Any]] = {}
    sent: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = record.get("t")
        if kind == "meter":
            header = record
        elif kind == "done" and record.get("id"):
            done[record["id"]] = record
        elif kind == "sent" and record.get("id"):
            sent[record["id"]] = record
    rows = []
    for call_id, record in {**sent, **done}.items():
        answered = call_id in done
        rows.append(ApiCall(
            connection_id=header.get("connection"), store_id=header.get("store"),
            channel=header.get("channel") or "", platform=record.get("platform") or "",
            method=record.get("method") or "", endpoint=record.get("endpoint") or "",
            status_code=record.get("status") if answered else None,
            duration_ms=record.get("ms") or 0, attempt=record.get("attempt") or 1,
            error=(record.get("error") or "") if answered else UNANSWERED,
            call_id=call_id, at=datetime.fromisoformat(record["at"])))
    return rows


def recover_journals() -> int:
    """Write the rows of journals left by dead processes on this host and delete the journals.
    Returns how many rows were new to the database. Never raises: a journal that cannot be
    read or written stays for the next call."""
    folder = journal_folder()
    if not folder.is_dir():
        return 0
    written = 0
    for path in sorted(folder.glob("*.jsonl")):
        try:
            if _owner_alive(path):
                continue
            rows = rows_from_journal(path.read_text(errors="replace"))
            for start in range(0, len(rows), 500):
                chunk = rows[start:start + 500]
                known = set(ApiCall.objects.filter(call_id__in=[r.call_id for r in chunk])
                            .values_list("call_id", flat=True))
                fresh = [row for row in chunk if row.call_id not in known]
                ApiCall.objects.bulk_create(fresh, ignore_conflicts=True)
                written += len(fresh)
            path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue  # another process (a worker, the scheduler) recovered it a moment ago
        except Exception:  # noqa: BLE001 — the next tick tries again
            logger.exception("could not recover the request journal %s", path.name)
    if written:
        logger.warning("recovered %s metered request(s) from the journals of stopped processes",
                       written)
    return written
