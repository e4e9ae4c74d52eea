"""Django's database cache with an atomic ``incr``.

Django's ``DatabaseCache.incr`` is ``get`` then ``set``: two processes counting the same key at
once both read 4 and both write 5, and a guesser running requests in parallel is undercounted.
Here the read and the write happen in one transaction that holds the row: ``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite the transaction itself takes the database's write lock at
``BEGIN IMMEDIATE`` (see ``config.database_config``), so increments queue instead of racing.

Redis (``DROPSTREAM_CACHE_URL=redis://…``) needs none of this: its INCR is atomic.
"""

from __future__ import annotations

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils.timezone import now as tz_now

TABLE = "dropstream_cache"


class AtomicDatabaseCache(DatabaseCache):
    def incr(self, key, delta: int = 1, version=None) -> int:
        """Add ``delta`` to the live value at ``key`` and return the sum; the expiry is kept.

        Raises ValueError when the key is missing or expired, as every Django cache does.
        """
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table = quote(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        # As DatabaseCache.has_key compares: whole seconds, naive UTC.
        now = connection.ops.adapt_datetimefield_value(
            tz_now().replace(microsecond=0, tzinfo=None))
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('value')} FROM {table} "  # noqa: S608 — names quoted, no input
                f"WHERE {quote('cache_key')} = %s AND {quote('expires')} > %s{lock}", [key, now])
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found.")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301 — ours
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {quote('value')} = %s "  # noqa: S608 — names quoted
                f"WHERE {quote('cache_key')} = %s", [encoded, key])
        return value
