"""Row-by-row UPDATEs sent as one ``executemany``.

``bulk_update`` builds one CASE expression per field over the whole batch, which SQLite
evaluates slowly for thousands of rows; the scheduler writes every due channel's next time at
the top of each hour, so it uses this instead (psycopg pipelines executemany too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction


def update_many(model: type[models.Model], fields: Sequence[str],
                rows: Iterable[tuple[Any, ...]]) -> int:
    """For each ``(value, …, pk)`` in ``rows`` set ``fields`` of that row; returns the count."""
    rows = list(rows)
    if not rows:
        return 0
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    # Only model metadata (quoted names) is formatted in; every value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [tuple(f.get_db_prep_save(value, connection) for f, value in zip(columns, row[:-1],
                                                                               strict=True))
              + (row[-1],) for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(rows)
