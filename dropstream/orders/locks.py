"""One numbering of a warehouse's orders at a time (PostgreSQL).

``prepare.make_numbers_unique`` reads the numbers other orders at the warehouse have and
suffixes a clash. Two transactions numbering for one warehouse at once — two stores sharing
it, each connection's sales run in its own process, or a store's importing connection
preparing orders its rules routed to another connection while that connection's own run
prepares there too — would each read the other's numbers as free (neither has committed) and
both keep the same one: the warehouse then holds two orders under one number and its
shipments name an ambiguous order.

Under this lock the read and the write of the numbers happen for one transaction of the
warehouse at a time. It is a transaction-level advisory lock: it is released when the
numbering transaction commits or rolls back (a run that dies releases it with its database
session), so the next one reads numbers that are committed. SQLite needs none: every write
transaction there takes the database's write lock at BEGIN (``transaction_mode`` IMMEDIATE in
``dropstream.config``), which serialises them already.
"""

from __future__ import annotations

import zlib

from django.db import connection

# The advisory lock's first key (PostgreSQL's two-key form), the warehouse id the second; in
# the style of ``inventory.locks``, whose class key differs.
_LOCK_CLASS = zlib.crc32(b"dropstream.warehouse_numbers") & 0x7FFFFFFF


def lock_warehouse_numbers(warehouse_id: int) -> None:
    """Wait for, and hold until the current transaction ends, the right to number orders for
    the warehouse. Call it inside the transaction that reads and writes the numbers."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        # Outside a transaction the lock would be released at once and protect nothing.
        raise RuntimeError("lock_warehouse_numbers needs the numbering transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       (_LOCK_CLASS, warehouse_id & 0x7FFFFFFF))
