"""Row-by-row UPDATEs by primary key, many at once.

Django's ``bulk_update`` builds one CASE expression per field over the whole batch, which costs
more than the writes (SQLite evaluates it slowly for thousands of rows). Here SQLite gets one
``executemany`` of a plain ``UPDATE … WHERE id = %s`` (in-process: cheap per row), and
PostgreSQL one statement joining the table to ``UNNEST`` of one array per column, so a round
of posted shipments or due channels is one round trip and one plan, not one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router, transaction

# Columns whose values psycopg cannot send inside a typed array as prepared here.
_NOT_IN_ARRAYS = (models.JSONField,)


def update_many(model: type[models.Model], fields: Sequence[str],
                rows: Iterable[tuple[Any, ...]]) -> int:
    """For each ``(value, …, pk)`` in ``rows`` set ``fields`` of that row; returns the count."""
    rows = list(rows)
    if not rows:
        return 0
    db = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    values = [tuple(f.get_db_prep_save(value, db) for f, value in zip(columns, row[:-1],
                                                                      strict=True))
              + (row[-1],) for row in rows]
    quote = db.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    # Only model metadata (quoted names, column types) is formatted into the text; every
    # value is a parameter.
    with transaction.atomic(using=db.alias, savepoint=False), db.cursor() as cursor:
        if db.vendor == "postgresql" and not any(isinstance(f, _NOT_IN_ARRAYS)
                                                 for f in columns):
            names = [quote(f.column) for f in columns]
            arrays = ", ".join(f"%s::{f.db_type(db)}[]" for f in [*columns, meta.pk])
            sql = (f"UPDATE {table} SET "  # noqa: S608
                   + ", ".join(f"{name} = v.{name}" for name in names)
                   + f" FROM UNNEST({arrays}) AS v({', '.join(names)}, {pk})"
                   + f" WHERE {table}.{pk} = v.{pk}")
            cursor.execute(sql, [list(column) for column in zip(*values, strict=True)])
        else:
            sql = (f"UPDATE {table} SET "  # noqa: S608
                   + ", ".join(f"{quote(f.column)} = %s" for f in columns)
                   + f" WHERE {pk} = %s")
            cursor.executemany(sql, values)
    return len(rows)


def update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """``update_many`` for saved instances of one model: write their ``fields`` as they are."""
    if not objs:
        return 0
    meta = type(objs[0])._meta
    attnames = [meta.get_field(name).attname for name in fields]
    return update_many(type(objs[0]), fields,
                       ((*(getattr(obj, name) for name in attnames), obj.pk) for obj in objs))
