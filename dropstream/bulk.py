"""Many rows written at once, for the tables every order, shipment and request adds to.

Updates by primary key: Django's ``bulk_update`` builds one CASE expression per field over the
whole batch, which costs more than the writes (SQLite evaluates it slowly for thousands of
rows). Here SQLite gets one ``executemany`` of a plain ``UPDATE … WHERE id = %s`` (in-process:
cheap per row), and PostgreSQL one statement joining the table to ``UNNEST`` of one array per
column, so a round of posted shipments or due channels is one round trip and one plan.

Inserts (``insert_rows``): ``bulk_create`` spends ~0.04-0.07 ms of CPU per row in the query
compiler (each value through ``field_as_sql``, ``prepare_value`` and ``pre_save``), more than
the database takes to write it; activity rows, intents, shipment lines and metered requests —
rows whose ids nobody reads back — go in here for a quarter of that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router, transaction

# Columns whose values psycopg cannot send inside a typed array as prepared here.
_NOT_IN_ARRAYS = (models.JSONField,)
# Fields whose value the driver takes once it is of the field's own type (as the field's
# get_prep_value makes it: a typed array cannot mix an int 0 into a column of floats).
_PLAIN: tuple[tuple[type[models.Field], type], ...] = (
    (models.CharField, str), (models.TextField, str), (models.BooleanField, bool),
    (models.FloatField, float), (models.IntegerField, int))
INSERT_BATCH = 1000


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


def insert_rows(objs: Sequence[models.Model], *, ignore_conflicts: bool = False) -> int:
    """INSERT unsaved instances of one model (their primary keys stay unset); returns how many
    were sent. ``ignore_conflicts`` skips a row a unique column already holds (a metered call
    recovered from its journal twice)."""
    if not objs:
        return 0
    model = type(objs[0])
    db = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [[_value(field, obj, db) for obj in objs] for field in fields]
    quote = db.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    table = quote(model._meta.db_table)
    with transaction.atomic(using=db.alias, savepoint=False), db.cursor() as cursor:
        if db.vendor == "postgresql":
            # JSON goes as text, cast back in the SELECT: one typed array per column.
            arrays = ", ".join("%s::text[]" if isinstance(f, models.JSONField)
                               else f"%s::{f.db_type(db)}[]" for f in fields)
            picks = ", ".join(f"v{i}::jsonb" if isinstance(f, models.JSONField) else f"v{i}"
                              for i, f in enumerate(fields))
            aliases = ", ".join(f"v{i}" for i in range(len(fields)))
            sql = (f"INSERT INTO {table} ({names}) SELECT {picks} "  # noqa: S608
                   f"FROM UNNEST({arrays}) AS v({aliases})"
                   + (" ON CONFLICT DO NOTHING" if ignore_conflicts else ""))
            for start in range(0, len(objs), INSERT_BATCH):
                cursor.execute(sql, [column[start:start + INSERT_BATCH] for column in columns])
        else:
            verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
            marks = ", ".join("%s" for _ in fields)
            sql = f"{verb} INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, list(zip(*columns, strict=True)))
    return len(objs)


def _value(field: models.Field, obj: models.Model, db: Any) -> Any:
    if isinstance(field, models.JSONField):
        value = getattr(obj, field.attname)
        return None if value is None else json.dumps(value, cls=field.encoder)
    if isinstance(field, models.ForeignKey):
        return getattr(obj, field.attname)
    for kind, python_type in _PLAIN:
        if isinstance(field, kind):
            value = getattr(obj, field.attname)
            return value if value is None or type(value) is python_type \
                else python_type(value)
    return field.get_db_prep_save(field.pre_save(obj, True), db)
