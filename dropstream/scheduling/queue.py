"""The embedded queue's storage (``SqliteHuey`` in ``DROPSTREAM_HOME``).

Huey's SQLite storage offers fsync on every message or none at all; we want WAL with
``synchronous=NORMAL``, like the hub's own database: safe against a crashed process, no fsync
per message (the scheduler enqueues thousands at the top of an hour). A power cut may drop the
last few messages; the scheduler re-sends runs whose message was lost (``resend_lost_runs``).
No Django imports here: settings.py names this class.
"""

from __future__ import annotations

import sqlite3

from huey.storage import SqliteStorage


class SqliteQueueStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")  # NORMAL
        return conn
